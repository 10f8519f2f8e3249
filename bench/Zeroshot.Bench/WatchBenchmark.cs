using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Zeroshot.Agents.Config;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;
using Zeroshot.Dashboard;
using Zeroshot.Metrics;
using Zeroshot.Terminal;
using static Zeroshot.Bench.AttachBenchmark;

namespace Zeroshot.Bench;

/// <summary>
/// <c>zeroshot watch</c>'s two figures. <b>frame</b>: building and writing one frame of 200 agents in 20 clusters (each
/// agent with 60 samples of trends), as a supervisor tick does it (20 new snapshots applied, the frame rendered, the
/// changed lines written), and with nothing changed. <b>cpu</b>: the dashboard process's own CPU over a minute with
/// running agents of real clusters, with htop on a terminal of the same size in the same minute (both in tmux).
/// Usage: watch [--frames 2000] [--seconds 60] [--agents 10] [--only frame|cpu] [--aot PATH-TO-AOT-zeroshot]
/// </summary>
internal static class WatchBenchmark
{
    private const int Clusters = 20, AgentsPerCluster = 10, Ticks = 100;

    public static int Run(string[] args)
    {
        int frames = TreeSamplingBenchmark.Arg(args, "--frames", 2000);
        int seconds = TreeSamplingBenchmark.Arg(args, "--seconds", 60);
        int agents = TreeSamplingBenchmark.Arg(args, "--agents", 10);
        int which = Array.IndexOf(args, "--only");
        string? only = which >= 0 && which + 1 < args.Length ? args[which + 1] : null;
        PrintMachine();
        var rows = new List<string[]>();
        if (only is null or "frame") FrameCost(frames, rows);
        if (only is null or "cpu")
        {
            string root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../.."));
            string jit = Path.Combine(root, "src/Zeroshot.Cli/bin/Release/net10.0/zeroshot");
            int at = Array.IndexOf(args, "--aot");
            string? aot = at >= 0 && at + 1 < args.Length ? args[at + 1] : "/tmp/zs-bench-aot/zeroshot";
            if (!File.Exists(aot)) aot = null;
            if (!File.Exists(jit) || !File.Exists("/usr/bin/tmux") || !File.Exists("/usr/bin/htop"))
                Console.WriteLine($"cpu: skipped ({jit}, tmux or htop missing; build src/Zeroshot.Cli -c Release first)");
            else
                ProcessCpu(jit, aot, agents, seconds, rows);
        }
        Console.WriteLine();
        Console.WriteLine("| what | zeroshot watch | peer | target |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var r in rows) Console.WriteLine($"| {string.Join(" | ", r)} |");
        return 0;
    }

    private static void FrameCost(int frames, List<string[]> rows)
    {
        var t0 = new DateTimeOffset(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);
        // The snapshots of Ticks ticks, built before the clock starts: the supervisors build them, not the dashboard.
        var ticks = new ClusterSnapshot[Ticks][];
        for (int t = 0; t < Ticks; t++)
        {
            ticks[t] = new ClusterSnapshot[Clusters];
            for (int c = 0; c < Clusters; c++) ticks[t][c] = Cluster(c, t0.AddSeconds(t));
        }
        var state = new DashboardState();
        for (int t = 0; t < 60; t++)
            foreach (var s in ticks[t % Ticks]) state.Update(s);

        foreach (var (width, height) in new[] { (200, 60), (120, 40) })
        {
            var output = new CountingStream();
            var screen = new DashboardScreen(output, TerminalCapabilities.Full);
            screen.Enter();
            var tick = new double[frames];
            long tickBytes = 0;
            for (int i = -2000; i < frames; i++) // 2000 to warm up (tiered JIT)
            {
                var snapshots = ticks[(60 + i + 2000) % Ticks];
                var now = snapshots[0].Agents[0].Metrics!.Timestamp;
                long before = output.Bytes;
                long start = Stopwatch.GetTimestamp();
                foreach (var s in snapshots) state.Update(s);
                screen.Draw(DashboardView.Render(state, width, height, now));
                if (i >= 0)
                {
                    tick[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    tickBytes += output.Bytes - before;
                }
            }
            var idle = new double[frames];
            var still = ticks[0][0].Agents[0].Metrics!.Timestamp.AddHours(1);
            screen.Draw(DashboardView.Render(state, width, height, still));
            long idleBefore = output.Bytes;
            for (int i = 0; i < frames; i++)
            {
                long start = Stopwatch.GetTimestamp();
                screen.Draw(DashboardView.Render(state, width, height, still));
                idle[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            var (tm, t50, t99) = Stats(tick);
            var (im, i50, i99) = Stats(idle);
            Console.WriteLine(F($"frame {width}×{height}, {Clusters * AgentsPerCluster} agents: tick (20 snapshots + render + write) mean {tm:0.000} p50 {t50:0.000} p99 {t99:0.000} ms, {tickBytes / (double)frames:0} B/frame; nothing changed: mean {im:0.000} p50 {i50:0.000} p99 {i99:0.000} ms, {(output.Bytes - idleBefore) / (double)frames:0} B/frame"));
            rows.Add([F($"a tick's frame, {Clusters} clusters × {AgentsPerCluster} agents, {width}×{height}: 20 snapshots applied, rendered, changed lines written ({frames} frames)"),
                F($"mean {tm:0.00} ms, p50 {t50:0.00}, p99 {t99:0.00}; {tickBytes / (double)frames / 1024:0.0} KB written"), "", "≤ 5 ms"]);
            rows.Add([F($"the same frame with nothing changed, {width}×{height}"), F($"mean {im:0.00} ms, p99 {i99:0.00}; {(output.Bytes - idleBefore) / (double)frames:0} B written"), "", "≤ 5 ms"]);
        }
    }

    private static (double Mean, double P50, double P99) Stats(double[] values)
    {
        var sorted = values.Order().ToArray();
        return (values.Average(), sorted[sorted.Length / 2], sorted[(int)(sorted.Length * 0.99)]);
    }

    private static ClusterSnapshot Cluster(int c, DateTimeOffset at)
    {
        int second = (int)(at.ToUnixTimeSeconds() % 1000);
        var agents = new AgentSnapshot[AgentsPerCluster];
        for (int a = 0; a < agents.Length; a++)
        {
            bool running = a < 7;
            var sample = running
                ? new TreeSample
                {
                    Timestamp = at,
                    Pid = 1000 + c * 100 + a,
                    Exists = true,
                    CpuPercent = (second * 7 + a * 13 + c) % 100,
                    MemoryMB = 40 + a * 3 + c,
                    NetRxBytesPerSec = (second * 37 + a * 101) % 9000,
                    NetTxBytesPerSec = (second * 11 + a * 53) % 3000,
                }
                : null;
            var activity = (AgentActivity)((second + a) % 5);
            agents[a] = new AgentSnapshot($"agent-{a}", a == 0 ? AgentRole.Worker : AgentRole.Validator, "claude", a % 2 == 0 ? "sonnet" : "haiku",
                running ? AgentState.Running : AgentState.Waiting, running ? sample!.Pid : null, 1, null, at.AddSeconds(-(a % 4)),
                running ? activity : null, activity == AgentActivity.Tool ? "Bash" : null, new TokenCounts(1000L * second + a * 17, 300, 2000, 100),
                0.0001m * second * (a + 1), a % 3 == 0, null, null, sample)
            {
                LastLine = $"⚙ Bash: npm test -- --grep case-{second % 17}",
            };
        }
        return ClusterSnapshot.Create($"cluster-{c:D2}-bench", ClusterKind.Cluster, "bench", ClusterState.Running, 1, 3, at.AddMinutes(-c), agents);
    }

    private sealed class CountingStream : Stream
    {
        public long Bytes { get; private set; }

        public override void Write(ReadOnlySpan<byte> buffer) => Bytes += buffer.Length;

        public override void Write(byte[] buffer, int offset, int count) => Bytes += count;

        public override void Flush() { }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => Bytes;
        public override long Position { get => Bytes; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    /// <summary>
    /// <paramref name="agents"/> clusters of one running worker each (a shell printing a line a second), then, for each
    /// build of zeroshot, its <c>watch</c> and htop side by side on 120×40 tmux sessions for <paramref name="seconds"/>
    /// after a 5 s warm-up; whole-process CPU from /proc/PID/stat.
    /// </summary>
    private static void ProcessCpu(string jit, string? aot, int agents, int seconds, List<string[]> rows)
    {
        string dir = Directory.CreateTempSubdirectory("zswb-").FullName;
        var env = Harness.Environment(dir);
        string config = Path.Combine(dir, "agent.json");
        File.WriteAllText(config, JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["name"] = "watched",
            ["agents"] = new[] { new Dictionary<string, object> { ["id"] = "worker", ["role"] = "worker", ["command"] = new[] { "sh", "-c", "while :; do echo tick; sleep 1; done" } } },
        }));
        var ids = new List<string>();
        try
        {
            for (int i = 0; i < agents; i++) ids.Add(Capture(jit, ["run", config, "--detach"], env).Trim());
            var supervisors = ids.Select(Harness.SupervisorPid).ToList();
            foreach (var (label, binary) in aot is null ? [("JIT", jit)] : new[] { ("JIT", jit), ("Native AOT", aot) })
            {
                // A tmux server per run: a new one on a socket just killed can fail to start.
                string socket = Path.Combine(dir, $"tmux-{label[0]}.sock");
                Capture("tmux", ["-S", socket, "-f", "/dev/null", "new-session", "-d", "-s", "watch", "-x", "120", "-y", "40", binary, "watch"], env);
                Capture("tmux", ["-S", socket, "new-session", "-d", "-s", "htop", "-x", "120", "-y", "40", "htop"], env);
                try
                {
                    int watchPid = PanePid(socket, "watch", env), htopPid = PanePid(socket, "htop", env);
                    Thread.Sleep(TimeSpan.FromSeconds(5));
                    string screen = Capture("tmux", ["-S", socket, "capture-pane", "-p", "-t", "watch"], env);
                    int shown = screen.Split('\n').Count(l => l.Contains(" worker ", StringComparison.Ordinal) && l.Contains('%', StringComparison.Ordinal));
                    string load0 = File.ReadAllText("/proc/loadavg").Split(' ')[0];
                    var w0 = AttachBenchmark.ProcessCpu(watchPid);
                    var h0 = AttachBenchmark.ProcessCpu(htopPid);
                    var s0 = supervisors.Select(AttachBenchmark.ProcessCpu).ToList();
                    var clock = Stopwatch.StartNew();
                    Thread.Sleep(TimeSpan.FromSeconds(seconds));
                    double wall = clock.Elapsed.TotalSeconds;
                    double watch = (AttachBenchmark.ProcessCpu(watchPid) - w0).TotalSeconds / wall * 100;
                    double htop = (AttachBenchmark.ProcessCpu(htopPid) - h0).TotalSeconds / wall * 100;
                    double sup = supervisors.Select((p, i) => (AttachBenchmark.ProcessCpu(p) - s0[i]).TotalSeconds).Sum() / wall * 100 / supervisors.Count;
                    string load1 = File.ReadAllText("/proc/loadavg").Split(' ')[0];
                    Console.WriteLine(F($"cpu ({label}, {seconds} s, {shown} running agents shown): zeroshot watch {watch:0.00} %, htop {htop:0.00} %, each supervisor {sup:0.00} % of one core; load {load0} → {load1}"));
                    rows.Add([F($"CPU of the dashboard process over {seconds} s, {agents} running agents ({agents} clusters), 120×40 tmux, {label} (load {load0} → {load1})"),
                        F($"{watch:0.00} % of one core"), F($"htop, same minute and size: {htop:0.00} % (pm2 monit, quoted: 8.9 %)"), "≤ 0.5 %"]);
                }
                finally
                {
                    Capture("tmux", ["-S", socket, "kill-server"], env);
                }
            }
        }
        finally
        {
            foreach (var id in ids) Capture(jit, ["kill", id], env);
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { /* a temp dir */ }
        }
    }

    private static int PanePid(string socket, string session, Dictionary<string, string> env) =>
        int.Parse(Capture("tmux", ["-S", socket, "display-message", "-p", "-t", session, "#{pane_pid}"], env).Trim(), CultureInfo.InvariantCulture);
}
