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
/// 15 s. Whole-process CPU time (CLOCK_PROCESS_CPUTIME_ID) in the third of the interval after each scrape against the
/// third after that; then the cost of one scrape alone, over many scrapes back to back (the scraper's HttpClient is in this
/// process too, so the figure is an upper bound); then what <c>serve-metrics</c> adds on top: parsing each supervisor's
/// snapshot message (10 a second).
/// Usage: export [--agents 10] [--cycles 40] [--interval 15] [--scrapes 300]
/// </summary>
internal static class ExportBenchmark
{
    public static int Run(string[] args)
    {
        int agents = TreeSamplingBenchmark.Arg(args, "--agents", 10);
        int cycles = TreeSamplingBenchmark.Arg(args, "--cycles", 40);
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

        // Cycles of `interval` s with the exporter listening and every snapshot replaced each second: a scrape at the
        // start of each, then this process's CPU over the next third of the cycle (the scrape's work, the scraper's own
        // HttpClient included: an upper bound) against the third after it.
        port = FreePort();
        url = new Uri($"http://127.0.0.1:{port}/metrics");
        using (MetricsExporter.Start(store, new ListenAddress("127.0.0.1", port), null))
        {
            var window = TimeSpan.FromSeconds(interval / 3.0);
            var withScrape = new List<double>();
            var without = new List<double>();
            int tick = 0;
            for (int cycle = 0; cycle < cycles; cycle++)
            {
                var clock = Stopwatch.StartNew();
                var cpu0 = CpuClock.ProcessCpu();
                _ = WindowClient.GetStringAsync(url).GetAwaiter().GetResult();
                Ticks(store, snapshots, clock, window, ref tick);
                var cpu1 = CpuClock.ProcessCpu();
                Ticks(store, snapshots, clock, 2 * window, ref tick);
                var cpu2 = CpuClock.ProcessCpu();
                Ticks(store, snapshots, clock, TimeSpan.FromSeconds(interval), ref tick);
                withScrape.Add((cpu1 - cpu0).TotalMilliseconds);
                without.Add((cpu2 - cpu1).TotalMilliseconds);
            }
            var diffs = withScrape.Zip(without, (a, b) => a - b).ToList();
            double mean = diffs.Average();
            double se = Math.Sqrt(diffs.Sum(d => (d - mean) * (d - mean)) / (diffs.Count - 1) / diffs.Count);
            double percent = mean / (interval * 1000.0) * 100;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{agents} agents, updated every second, {cycles} scrapes {interval} s apart: the {window.TotalSeconds:0} s after a scrape cost {mean:0.00} ± {se:0.00} ms more CPU than the {window.TotalSeconds:0} s after those (95 % upper bound {mean + 2 * se:0.00} ms) = {percent:0.0000} % of one core (≤ {(mean + 2 * se) / (interval * 1000.0) * 100:0.0000} %; target < {Target} %); between scrapes this process used {without.Average() / window.TotalMilliseconds * 100:0.000} %"));
        }

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

    /// <summary>The scraper, warmed up once, so its own first-request costs are in no window.</summary>
    private static readonly HttpClient WindowClient = Client();

    /// <summary>Replaces every snapshot once a second (a supervisor's tick) until <paramref name="until"/>.</summary>
    private static void Ticks(ClusterMetricsStore store, ClusterSnapshot[] snapshots, Stopwatch clock, TimeSpan until, ref int tick)
    {
        while (true)
        {
            var next = TimeSpan.FromSeconds(Math.Floor(clock.Elapsed.TotalSeconds) + 1);
            if (next > until) next = until;
            var left = next - clock.Elapsed;
            if (left > TimeSpan.Zero) Thread.Sleep(left);
            if (clock.Elapsed >= until) return;
            tick++;
            for (int i = 0; i < snapshots.Length; i++) store.Update(Snapshot(snapshots[i].Id, i, tick));
        }
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
