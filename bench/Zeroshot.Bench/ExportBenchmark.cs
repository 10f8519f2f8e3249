using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Zeroshot.Agents.Config;
using Zeroshot.Agents.Health;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;
using Zeroshot.Export;
using Zeroshot.Metrics;

namespace Zeroshot.Bench;

/// <summary>
/// The metrics exporter's cost to the process that hosts it: 10 running agents (10 clusters of one, each cluster's
/// snapshot replaced once a second as a supervisor's tick does), scraped over HTTP by Prometheus' rhythm of one scrape per
/// 15 s. Whole-process CPU time (<see cref="Process.TotalProcessorTime"/>) over the same window without the exporter and
/// with it; then the cost of one scrape alone, over many scrapes back to back (the scraper's HttpClient is in this
/// process too, so the figure is an upper bound); then what <c>serve-metrics</c> adds on top: parsing each supervisor's
/// snapshot message (10 a second).
/// Usage: export [--agents 10] [--seconds 60] [--interval 15] [--scrapes 300]
/// </summary>
internal static class ExportBenchmark
{
    public static int Run(string[] args)
    {
        int agents = TreeSamplingBenchmark.Arg(args, "--agents", 10);
        int seconds = TreeSamplingBenchmark.Arg(args, "--seconds", 60);
        int interval = TreeSamplingBenchmark.Arg(args, "--interval", 15);
        int scrapes = TreeSamplingBenchmark.Arg(args, "--scrapes", 300);
        const double Target = 0.05; // % of one core

        var snapshots = Enumerable.Range(0, agents).Select(i => Snapshot($"cluster-{i:00}", i, 0)).ToArray();
        var store = new ClusterMetricsStore();
        foreach (var s in snapshots) store.Update(s);

        int port = FreePort();
        // A client per phase: a kept-alive connection to an exporter that was disposed would be reset when the next one
        // gets the same port.
        var http = Client();
        var url = new Uri($"http://127.0.0.1:{port}/metrics");

        // Warm up the JIT on both paths first, so neither window pays for compiling the other's code.
        using (var warm = MetricsExporter.Start(store, new ListenAddress("127.0.0.1", port), null))
        {
            for (int i = 0; i < 20; i++)
            {
                _ = http.GetStringAsync(url).GetAwaiter().GetResult();
                _ = WindowClient.GetStringAsync(url).GetAwaiter().GetResult();
                Thread.Sleep(320);
            }
        }
        http.Dispose();
        port = FreePort();
        url = new Uri($"http://127.0.0.1:{port}/metrics");

        double without = Window(store, snapshots, seconds, null, interval, url);
        double with = Window(store, snapshots, seconds, new ListenAddress("127.0.0.1", port), interval, url);
        // Again, interleaved, so a noisy neighbour does not favour one side.
        double without2 = Window(store, snapshots, seconds, null, interval, url);
        port = FreePort();
        url = new Uri($"http://127.0.0.1:{port}/metrics");
        double with2 = Window(store, snapshots, seconds, new ListenAddress("127.0.0.1", port), interval, url);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{agents} agents, updated every second, {seconds} s windows: process CPU without the exporter {without:0.0000} % / {without2:0.0000} % of one core, with it and a scrape every {interval} s {with:0.0000} % / {with2:0.0000} %: the exporter adds {with - without:0.0000} % / {with2 - without2:0.0000} % (target < {Target} %)"));

        // The exporter listening, never scraped: what it costs while idle.
        if (TreeSamplingBenchmark.Arg(args, "--idle", 1) == 0) return 0;
        port = FreePort();
        double idle = Window(store, snapshots, seconds, new ListenAddress("127.0.0.1", port), 0, new Uri($"http://127.0.0.1:{port}/metrics"));
        double without3 = Window(store, snapshots, seconds, null, interval, url);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"the exporter listening, never scraped: {idle:0.0000} % against {without3:0.0000} % without it"));

        // One scrape alone, many one after another (each past the exporter's 300 ms response cache, after a new tick).
        port = FreePort();
        url = new Uri($"http://127.0.0.1:{port}/metrics");
        using (var exporter = MetricsExporter.Start(store, new ListenAddress("127.0.0.1", port), null))
        using (http = Client())
        {
            string body = "";
            for (int i = 0; i < 20; i++) body = http.GetStringAsync(url).GetAwaiter().GetResult();
            var samples = new List<double>();
            for (int i = 0; i < scrapes; i++)
            {
                store.Update(Snapshot(snapshots[i % agents].Id, i % agents, i + 1)); // a new tick: the readings are recomputed
                Thread.Sleep(310); // past the response cache
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                body = http.GetStringAsync(url).GetAwaiter().GetResult();
                samples.Add((Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds);
            }
            samples.Sort();
            double mean = samples.Average();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"one scrape ({Encoding.UTF8.GetByteCount(body)} B, {body.Split('\n').Count(l => l.StartsWith("zeroshot_", StringComparison.Ordinal))} series), whole process incl. the HttpClient: mean {mean:0.000} ms CPU, p50 {samples[samples.Count / 2]:0.000}, p95 {samples[(int)(samples.Count * 0.95)]:0.000}; at one scrape per {interval} s that is {mean / (interval * 1000.0) * 100:0.0000} % of one core (target < {Target} %)"));
        }

        // serve-metrics also parses each supervisor's snapshot message: one per cluster per second.
        var message = Encoding.UTF8.GetBytes("{\"snapshot\":" + Encoding.UTF8.GetString(LiveJson.ToUtf8(snapshots[0])) + "}");
        for (int i = 0; i < 2000; i++) _ = LiveJson.ReadMessage(message);
        var before = CpuClock.ThreadCpu();
        const int Parses = 20000;
        for (int i = 0; i < Parses; i++) store.Update(LiveJson.ReadMessage(message).Snapshot!);
        double perParseUs = (CpuClock.ThreadCpu() - before).TotalMicroseconds / Parses;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"serve-metrics: one snapshot message ({message.Length} B, 1 agent) parsed and swapped in: {perParseUs:0.0} µs CPU; {agents} a second: {perParseUs * agents / 1e4:0.0000} % of one core (the socket reads not included)"));
        return 0;
    }

    /// <summary>Process CPU in % of one core over <paramref name="seconds"/>: snapshots replaced every second, and with an exporter a scrape every <paramref name="interval"/> s.</summary>
    /// <summary>The windows' scraper, warmed up once, so its own first-request costs are in neither window.</summary>
    private static readonly HttpClient WindowClient = Client();

    private static double Window(ClusterMetricsStore store, ClusterSnapshot[] snapshots, int seconds, ListenAddress? listen, int interval, Uri url)
    {
        var http = WindowClient;
        using var exporter = listen is null ? null : MetricsExporter.Start(store, listen, null);
        GC.Collect();
        var wall = Stopwatch.StartNew();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        for (int second = 0; second < seconds; second++)
        {
            for (int i = 0; i < snapshots.Length; i++) store.Update(Snapshot(snapshots[i].Id, i, second));
            if (exporter is not null && interval > 0 && second % interval == 0) _ = http.GetStringAsync(url).GetAwaiter().GetResult();
            var next = TimeSpan.FromSeconds(second + 1) - wall.Elapsed;
            if (next > TimeSpan.Zero) Thread.Sleep(next);
        }
        return (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds / wall.Elapsed.TotalSeconds * 100;
    }

    /// <summary>
    /// A scraper that opens a connection per scrape, as after Prometheus' 15 s pause (the listener does not keep an idle
    /// connection that long): the accept and the handshake are in the figure.
    /// </summary>
    private static HttpClient Client()
    {
        var client = new HttpClient();
        client.DefaultRequestHeaders.ConnectionClose = true;
        return client;
    }

    private static readonly DateTimeOffset Start = DateTimeOffset.UtcNow;

    /// <summary>A cluster of one running agent at tick <paramref name="tick"/>: counters grown, a live sample, a health verdict.</summary>
    private static ClusterSnapshot Snapshot(string id, int index, int tick)
    {
        var sample = new TreeSample
        {
            Timestamp = Start.AddSeconds(tick), Pid = 1000 + index, Exists = true, CpuPercent = 12.5, MemoryMB = 180 + index,
            IoReadBytesPerSec = 1000, IoWriteBytesPerSec = 5000, NetRxBytesPerSec = 20000, NetTxBytesPerSec = 3000,
        };
        var agent = new AgentSnapshot("worker", AgentRole.Worker, "claude", "claude-sonnet-4-5-20250929", AgentState.Running, 1000 + index, 1, null,
            Start.AddSeconds(tick), AgentActivity.Model, null, new TokenCounts(100 + tick, 50 * tick, 1000 * tick, 200), 0.01m * tick, false, null, null, sample)
        {
            Totals = new AgentTotals(0.125 * tick, 1000.0 * tick, 5000.0 * tick, 20000.0 * tick, 3000.0 * tick),
            Health = new HealthSnapshot(HealthVerdict.WaitingOnModel, Start, ["bytes arriving"]),
        };
        return ClusterSnapshot.Create(id, ClusterKind.Cluster, id, ClusterState.Running, 1, 3, Start, [agent]);
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
