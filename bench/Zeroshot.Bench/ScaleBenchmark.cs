using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Zeroshot.Bench;

/// <summary>
/// Zeroshot at scale, measured on the Native AOT binary users get: whole-process CPU (utime+stime from
/// /proc/PID/stat, as % of one core, over a window after a warm-up) and RSS of detached supervisors
/// (<c>zeroshot run FILE --detach</c>: the hidden <c>__supervise</c> process) sampling at their default 1 Hz.
/// <b>10</b>: one supervisor of 10 agents; <b>200</b>: one supervisor of 200 agents (sleeping <c>command</c> agents,
/// with <c>--sim N</c> of them low-CPU <c>sim</c> agents instead); <b>20x10</b>: 20 supervisors of 10 agents each, total
/// and per supervisor; <b>start</b>: <c>zeroshot list</c> and <c>zeroshot status ID</c>, start to exit, wall time with
/// ~20 clusters in the store. Every agent is a worker without <c>after</c>, so all of a cluster's agents run at once.
/// <b>serve-metrics</b> (only when asked): <c>zeroshot serve-metrics</c> over <c>--clusters</c> one-agent clusters, what
/// following them costs and what a Prometheus scrape every <c>--interval</c> s adds; <b>metrics-listen</b> (only when
/// asked): the same for the exporter inside a foreground <c>run --metrics-listen</c> of 10 agents.
/// Usage: scale [--binary PATH] [--window 60] [--warmup 10] [--runs 30] [--sim 20] [--only 10|200|20x10|start|serve-metrics|metrics-listen]
///   [--clusters 10] [--scrapes 40] [--interval 15] [--refresh-interval N]
/// </summary>
internal static class ScaleBenchmark
{
    private static readonly List<string> Started = [];
    private static readonly object Gate = new();
    private static string _binary = "";
    private static Dictionary<string, string> _env = [];

    public static int Run(string[] args)
    {
        string? binary = Option(args, "--binary");
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        binary ??= Path.Combine(home, ".local", "bin", "zeroshot");
        if (!File.Exists(binary))
        {
            Console.Error.WriteLine($"scale: no zeroshot binary at {binary} (bash install.sh, or --binary PATH)");
            return 2;
        }
        int window = TreeSamplingBenchmark.Arg(args, "--window", 60);
        int warmup = TreeSamplingBenchmark.Arg(args, "--warmup", 10);
        int runs = TreeSamplingBenchmark.Arg(args, "--runs", 30);
        int sim = TreeSamplingBenchmark.Arg(args, "--sim", 20);
        string? only = Option(args, "--only");

        string dir = Directory.CreateTempSubdirectory("zs-scale-").FullName;
        _binary = binary;
        _env = AttachBenchmark.Harness.Environment(dir);
        _env["HOME"] = Path.Combine(dir, "user");
        Directory.CreateDirectory(_env["HOME"]);
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            Console.Error.WriteLine("scale: interrupted, killing the clusters started");
            Cleanup();
            Environment.Exit(130);
        };
        Console.CancelKeyPress += onCancel;
        EventHandler onExit = (_, _) => Cleanup();
        AppDomain.CurrentDomain.ProcessExit += onExit;

        var rows = new List<string[]>();
        Console.WriteLine(F($"scale: {binary} ({Capture(["--version"]).Trim()}), {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC, {Environment.ProcessorCount} CPUs, warm-up {warmup} s, window {window} s, load {Load()}"));
        Console.WriteLine(F($"peer: {(Which("pm2") is { } pm2 ? $"pm2 at {pm2} (not measured here)" : "pm2 not installed: no peer figure")}"));
        try
        {
            if (only is null or "10")
            {
                var ids = StartClusters(dir, "ten", 1, 10, 0);
                var r = Measure(ids, warmup, window);
                Stop(ids);
                rows.Add([F($"1 supervisor, 10 agents (sleep), 1 Hz sampling, {window} s (load {r.Load0} → {r.Load1})"), F($"{r.CpuPercent:0.000} % CPU, {r.Memory}"), "≤ 0.1 %, RSS ≤ 20 MB"]);
            }
            if (only is null or "200")
            {
                var ids = StartClusters(dir, "twohundred", 1, 200, 0);
                var r = Measure(ids, warmup, window);
                Stop(ids);
                rows.Add([F($"1 supervisor, 200 agents (sleep), {window} s (load {r.Load0} → {r.Load1})"), F($"{r.CpuPercent:0.000} % CPU, {r.Memory}"), "≤ 1 %"]);
                if (sim > 0)
                {
                    ids = StartClusters(dir, "mixed", 1, 200, sim);
                    r = Measure(ids, warmup, window);
                    Stop(ids);
                    rows.Add([F($"1 supervisor, 200 agents ({200 - sim} sleep + {sim} sim, cpu 0, no network), {window} s (load {r.Load0} → {r.Load1})"), F($"{r.CpuPercent:0.000} % CPU, {r.Memory}"), "≤ 1 %"]);
                }
            }
            List<string>? kept = null;
            if (only is null or "20x10")
            {
                kept = StartClusters(dir, "twenty", 20, 10, 0);
                var r = Measure(kept, warmup, window);
                rows.Add([F($"20 supervisors × 10 agents (sleep), all 20 processes, {window} s (load {r.Load0} → {r.Load1})"),
                    F($"{r.CpuPercent * 20:0.000} % CPU in all, {r.CpuPercent:0.000} % per supervisor (min {r.PerSupervisor.Min():0.000}, max {r.PerSupervisor.Max():0.000}); RSS {r.RssMb.Sum():0} MB in all, {r.RssMb.Average():0.0} MB each; PSS {r.PssMb.Sum():0} MB in all, {r.PssMb.Average():0.0} MB each (anon {r.AnonMb.Average():0.0})"),
                    "≤ 0.1 % each"]);
            }
            if (only is null or "start")
            {
                // ~20 clusters in the store: the 20 running ones above, else 20 of one sleeping agent.
                kept ??= StartClusters(dir, "listed", 20, 1, 0);
                Thread.Sleep(2000);
                int listed = Capture(["list"]).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
                foreach (var (label, cmd) in new[] { ("zeroshot list", new[] { "list" }), ("zeroshot status ID", new[] { "status", kept[0] }), ("zeroshot status ID --json", new[] { "status", kept[0], "--json" }) })
                {
                    for (int i = 0; i < 3; i++) Capture(cmd); // page cache warm
                    var ms = new List<double>();
                    for (int i = 0; i < runs; i++)
                    {
                        var clock = Stopwatch.StartNew();
                        Capture(cmd);
                        ms.Add(clock.Elapsed.TotalMilliseconds);
                    }
                    ms.Sort();
                    rows.Add([F($"{label}, start to exit, {runs} runs, {listed} lines listed ({kept.Count} running clusters; load {Load()})"),
                        F($"median {ms[ms.Count / 2]:0.0} ms, p90 {ms[(int)(ms.Count * 0.9)]:0.0} ms (min {ms[0]:0.0}, max {ms[^1]:0.0})"), "≤ 10 ms"]);
                }
            }
            if (kept is not null) Stop(kept);
            if (only is "serve-metrics")
            {
                int clusters = TreeSamplingBenchmark.Arg(args, "--clusters", 10);
                var ids = StartClusters(dir, "exported", clusters, 1, 0);
                string? refresh = Option(args, "--refresh-interval");
                string label = F($"`serve-metrics` ({(refresh is null ? "default refresh" : $"--refresh-interval {refresh}")}) over {ids.Count} one-agent clusters");
                rows.AddRange(Exporter(label, port => refresh is null
                    ? ["serve-metrics", "--listen", F($"127.0.0.1:{port}")]
                    : ["serve-metrics", "--listen", F($"127.0.0.1:{port}"), "--refresh-interval", refresh],
                    warmup, TreeSamplingBenchmark.Arg(args, "--scrapes", 40), TreeSamplingBenchmark.Arg(args, "--interval", 15)));
                Stop(ids);
            }
            if (only is "metrics-listen")
            {
                // A foreground run of one cluster of 10 agents serving its own metrics: the exporter inside a supervisor.
                string config = Path.Combine(dir, "listen.json");
                File.WriteAllText(config, JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["name"] = "listen", ["prompt"] = "scale benchmark",
                    ["agents"] = Enumerable.Range(0, 10).Select(a => new Dictionary<string, object> { ["id"] = F($"a{a:000}"), ["role"] = "worker", ["command"] = new[] { "sleep", "3600" } }).ToList(),
                }));
                rows.AddRange(Exporter("`run --metrics-listen`, one cluster of 10 agents", port => ["run", config, "--metrics-listen", F($"127.0.0.1:{port}")],
                    warmup, TreeSamplingBenchmark.Arg(args, "--scrapes", 40), TreeSamplingBenchmark.Arg(args, "--interval", 15)));
            }
        }
        finally
        {
            Cleanup();
            Console.CancelKeyPress -= onCancel;
            AppDomain.CurrentDomain.ProcessExit -= onExit;
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { /* a temp dir */ }
            catch (UnauthorizedAccessException) { /* a temp dir */ }
        }

        Console.WriteLine();
        Console.WriteLine("| what | result | target |");
        Console.WriteLine("|---|---|---|");
        foreach (var row in rows) Console.WriteLine($"| {string.Join(" | ", row)} |");
        Console.WriteLine(F($"load at the end: {Load()}, {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC"));
        return 0;
    }

    /// <summary>RSS counts the binary's mapped pages in every process that maps them; PSS shares them out and anon is the
    /// process's own heap and stacks: what another supervisor really adds.</summary>
    private sealed record Result(double CpuPercent, double[] PerSupervisor, double[] RssMb, double[] PssMb, double[] AnonMb, string Load0, string Load1)
    {
        public string Memory => F($"RSS {RssMb.Max():0.0} MB (PSS {PssMb.Max():0.0}, anon {AnonMb.Max():0.0})");
    }

    /// <summary>Starts <paramref name="clusters"/> detached clusters of <paramref name="agents"/> workers each (the first <paramref name="sims"/> of them sim agents).</summary>
    private static List<string> StartClusters(string dir, string name, int clusters, int agents, int sims)
    {
        string config = Path.Combine(dir, $"{name}.json");
        var list = new List<Dictionary<string, object>>();
        for (int a = 0; a < agents; a++)
        {
            var agent = new Dictionary<string, object> { ["id"] = F($"a{a:000}"), ["role"] = "worker" };
            if (a < sims)
            {
                agent["provider"] = "sim";
                agent["options"] = new Dictionary<string, object> { ["durationSeconds"] = 3600, ["cpu"] = 0, ["networkKBps"] = 0 };
            }
            else agent["command"] = new[] { "sleep", "3600" };
            list.Add(agent);
        }
        File.WriteAllText(config, JsonSerializer.Serialize(new Dictionary<string, object> { ["name"] = name, ["prompt"] = "scale benchmark", ["agents"] = list }));
        var ids = new List<string>();
        for (int c = 0; c < clusters; c++)
        {
            string id = Capture(["run", config, "--detach"]).Trim().Split('\n')[^1].Trim();
            lock (Gate) Started.Add(id);
            ids.Add(id);
        }
        return ids;
    }

    /// <summary>Whole-process CPU of the clusters' supervisors over <paramref name="window"/> seconds after <paramref name="warmup"/>, and their RSS at the end.</summary>
    private static Result Measure(List<string> ids, int warmup, int window)
    {
        Thread.Sleep(TimeSpan.FromSeconds(warmup));
        var pids = ids.Select(AttachBenchmark.Harness.SupervisorPid).ToList();
        int running = ids.Sum(RunningAgents);
        string load0 = Load();
        var cpu0 = pids.Select(AttachBenchmark.ProcessCpu).ToList();
        var clock = Stopwatch.StartNew();
        Thread.Sleep(TimeSpan.FromSeconds(window));
        double wall = clock.Elapsed.TotalSeconds;
        var per = pids.Select((p, i) => (AttachBenchmark.ProcessCpu(p) - cpu0[i]).TotalSeconds / wall * 100).ToArray();
        var rss = pids.Select(p => Rollup(p, "Rss:")).ToArray();
        var pss = pids.Select(p => Rollup(p, "Pss:")).ToArray();
        var anon = pids.Select(p => Rollup(p, "Pss_Anon:")).ToArray();
        string load1 = Load();
        Console.WriteLine(F($"  {ids.Count} supervisor(s) (pids {string.Join(',', pids.Take(5))}{(pids.Count > 5 ? ",…" : "")}), {running} agents running: CPU {per.Average():0.000} % each ({per.Sum():0.000} % in all) over {wall:0.0} s (one clock tick = {1.0 / wall:0.000} %), RSS {rss.Average():0.0} MB each (PSS {pss.Average():0.0}, anon {anon.Average():0.0}); load {load0} → {load1}"));
        return new Result(per.Average(), per, rss, pss, anon, load0, load1);
    }

    /// <summary>
    /// <c>zeroshot serve-metrics</c> over <paramref name="ids"/>, as Prometheus uses it: <paramref name="cycles"/> scrapes
    /// <paramref name="interval"/> s apart (a connection each), whole-process CPU in the third of the interval after each
    /// scrape against the third after that: the difference is what one scrape costs, the second window what following the
    /// supervisors costs. /proc counts in 10 ms ticks: hence many scrapes, and the standard error beside each figure.
    /// </summary>
    private static List<string[]> Exporter(string label, Func<int, string[]> command, int warmup, int cycles, int interval)
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var psi = new ProcessStartInfo(_binary, command(port)) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var (k, v) in _env) psi.Environment[k] = v;
        using var server = Process.Start(psi)!;
        server.ErrorDataReceived += (_, _) => { };
        server.BeginErrorReadLine();
        server.OutputDataReceived += (_, _) => { };
        server.BeginOutputReadLine();
        using var http = new HttpClient();
        http.DefaultRequestHeaders.ConnectionClose = true; // after 15 s Prometheus' idle connection is gone too
        var url = new Uri(F($"http://127.0.0.1:{port}/metrics"));
        try
        {
            Thread.Sleep(TimeSpan.FromSeconds(warmup));
            string body = http.GetStringAsync(url).GetAwaiter().GetResult();
            int series = body.Split('\n').Count(l => l.StartsWith("zeroshot_", StringComparison.Ordinal));
            string load0 = Load();
            // Each cycle of `interval` s: a scrape, then CPU over the next third of the cycle (the scrape's work lands
            // there) against CPU over the third after it (no scrape). A third is a whole number of the supervisors'
            // snapshot periods (1 or 5 s), so both windows hold as many of their messages.
            var window = TimeSpan.FromSeconds(interval / 3.0);
            var withScrape = new List<double>();
            var without = new List<double>();
            for (int cycle = 0; cycle < cycles; cycle++)
            {
                var clock = Stopwatch.StartNew();
                var cpu0 = AttachBenchmark.ProcessCpu(server.Id);
                _ = http.GetStringAsync(url).GetAwaiter().GetResult();
                SleepUntil(clock, window);
                var cpu1 = AttachBenchmark.ProcessCpu(server.Id);
                SleepUntil(clock, 2 * window);
                var cpu2 = AttachBenchmark.ProcessCpu(server.Id);
                withScrape.Add((cpu1 - cpu0).TotalMilliseconds);
                without.Add((cpu2 - cpu1).TotalMilliseconds);
                SleepUntil(clock, TimeSpan.FromSeconds(interval));
            }
            var diffs = withScrape.Zip(without, (a, b) => a - b).ToList();
            double perScrapeMs = diffs.Average();
            double se = Math.Sqrt(Variance(diffs) / diffs.Count);
            double quietPercent = without.Average() / window.TotalMilliseconds * 100;
            double quietSe = Math.Sqrt(Variance(without) / without.Count) / window.TotalMilliseconds * 100;
            double percent = perScrapeMs / (interval * 1000.0) * 100, percentSe = se / (interval * 1000.0) * 100;
            Console.WriteLine(F($"  {label} ({series} series), {cycles} scrapes {interval} s apart: without a scrape {quietPercent:0.000} ± {quietSe:0.000} % of one core; one scrape {perScrapeMs:0.0} ± {se:0.0} ms CPU (95 % upper bound {perScrapeMs + 2 * se:0.0} ms) = {percent:0.000} % (≤ {percent + 2 * percentSe:0.000} %); load {load0} → {Load()}"));
            return
            [
                [F($"{label}, Native AOT, between scrapes ({cycles} × {window.TotalSeconds:0} s, load {load0} → {Load()})"),
                    F($"{quietPercent:0.000} % of one core (± {quietSe:0.000})"), "(no target)"],
                [F($"what the exporter adds at one scrape per {interval} s ({series} series, a connection each): the {window.TotalSeconds:0} s after each scrape against the {window.TotalSeconds:0} s after those, {cycles} scrapes"),
                    F($"{perScrapeMs:0.0} ms CPU per scrape (± {se:0.0}; 95 % upper bound {perScrapeMs + 2 * se:0.0}) = {percent:0.000} % of one core (95 % upper bound {percent + 2 * percentSe:0.000} %)"), "< 0.05 %"],
            ];
        }
        finally
        {
            // SIGTERM first: a foreground run then stops its agents and records the end.
            using (var term = Process.Start("kill", ["-TERM", server.Id.ToString(CultureInfo.InvariantCulture)])) term.WaitForExit();
            if (!server.WaitForExit(15_000)) server.Kill(entireProcessTree: true);
            server.WaitForExit();
        }

        static void SleepUntil(Stopwatch clock, TimeSpan at)
        {
            var left = at - clock.Elapsed;
            if (left > TimeSpan.Zero) Thread.Sleep(left);
        }

        static double Variance(List<double> xs)
        {
            double mean = xs.Average();
            return xs.Count < 2 ? 0 : xs.Sum(x => (x - mean) * (x - mean)) / (xs.Count - 1);
        }
    }

    /// <summary>Agents the cluster reports running (from <c>status --json</c>; -1 when it cannot be read).</summary>
    private static int RunningAgents(string id)
    {
        try
        {
            using var doc = JsonDocument.Parse(Capture(["status", id, "--json"]));
            int n = 0;
            Walk(doc.RootElement, ref n);
            return n;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return -1;
        }

        static void Walk(JsonElement e, ref int n)
        {
            if (e.ValueKind == JsonValueKind.Object)
            {
                if (e.TryGetProperty("agents", out var agents) && agents.ValueKind == JsonValueKind.Array)
                {
                    foreach (var a in agents.EnumerateArray())
                        if (a.ValueKind == JsonValueKind.Object && a.TryGetProperty("state", out var s) && s.ValueKind == JsonValueKind.String
                            && string.Equals(s.GetString(), "running", StringComparison.OrdinalIgnoreCase)) n++;
                    return;
                }
                foreach (var p in e.EnumerateObject()) Walk(p.Value, ref n);
            }
            else if (e.ValueKind == JsonValueKind.Array)
                foreach (var x in e.EnumerateArray()) Walk(x, ref n);
        }
    }

    /// <summary>One field of <c>/proc/PID/smaps_rollup</c> (proc(5)), in MB.</summary>
    private static double Rollup(int pid, string field)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/smaps_rollup"))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
        return double.NaN;
    }

    private static void Stop(List<string> ids)
    {
        foreach (var id in ids) Kill(id);
    }

    /// <summary>Kills every cluster this benchmark started and has not stopped yet.</summary>
    private static void Cleanup()
    {
        string[] left;
        lock (Gate) left = [.. Started];
        foreach (var id in left) Kill(id);
    }

    private static void Kill(string id)
    {
        lock (Gate)
            if (!Started.Remove(id)) return;
        try { Capture(["kill", id]); }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // The CLI could not stop it: end the supervisor itself (its agents go with it).
            try
            {
                using var p = Process.GetProcessById(AttachBenchmark.Harness.SupervisorPid(id));
                p.Kill();
            }
            catch (Exception inner) when (inner is InvalidOperationException or ArgumentException)
            {
                Console.Error.WriteLine($"scale: could not stop {id}: {e.Message}");
            }
        }
    }

    private static string Capture(string[] args) => AttachBenchmark.Capture(_binary, args, _env);

    private static string Load() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    private static string? Which(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
