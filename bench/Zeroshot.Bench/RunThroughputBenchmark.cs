using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Zeroshot.Bench;

/// <summary>
/// Issue 15's `run` figure: a fast <c>command</c> agent's output through <c>zeroshot run</c> (footer on) in a tmux pane,
/// against the same output written by the same program straight into a tmux pane of the same size, in the same run,
/// interleaved. Each side is timed from starting the pane's command to its end (the pane signals <c>tmux wait-for</c>),
/// so the tmux server's own work on every byte is in both; zeroshot's side also includes its start, the cluster's
/// creation and the agent's start (tens of ms against seconds).
/// Usage: run-tmux [--binary PATH (default ~/.local/bin/zeroshot)] [--megabytes 100] [--runs 3]
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class RunThroughputBenchmark
{
    private const int Columns = 160, Rows = 48;

    public static int Run(string[] args)
    {
        int megabytes = TreeSamplingBenchmark.Arg(args, "--megabytes", 100);
        int runs = TreeSamplingBenchmark.Arg(args, "--runs", 3);
        int at = Array.IndexOf(args, "--binary");
        string binary = at >= 0 && at + 1 < args.Length
            ? Path.GetFullPath(args[at + 1])
            : Path.Combine(Environment.GetEnvironmentVariable("HOME") ?? "/root", ".local/bin/zeroshot");
        if (!File.Exists(binary))
        {
            Console.Error.WriteLine($"run-tmux: {binary} not found (bash install.sh, or --binary PATH)");
            return 2;
        }
        string dir = Directory.CreateTempSubdirectory("zs-run-tmux-").FullName;
        string socket = Path.Combine(dir, "tmux.sock");
        try
        {
            // Test output as an agent's test run prints it: coloured, box drawing, ~80 bytes a line.
            string payload = Path.Combine(dir, "output.txt");
            var line = Encoding.UTF8.GetBytes("tests    │ \u001b[32m  ✓ \u001b[0mrejects an empty e-mail address in the signup form (4 ms)\n");
            long total = 0;
            using (var f = File.Create(payload))
                for (; total < (long)megabytes << 20; total += line.Length) f.Write(line);
            string cluster = Path.Combine(dir, "cluster.json");
            File.WriteAllText(cluster, $$"""{ "name": "firehose", "agents": [ { "id": "worker", "role": "worker", "command": ["cat", "{{payload}}"] } ] }""");
            string env = $"env ZEROSHOT_HOME={dir}/home XDG_RUNTIME_DIR={dir}/rt TERM=xterm-256color";
            Directory.CreateDirectory(Path.Combine(dir, "rt"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            Tmux(socket, "-f", "/dev/null", "new-session", "-d", "-s", "idle", "-x", Columns.ToString(CultureInfo.InvariantCulture), "-y", Rows.ToString(CultureInfo.InvariantCulture));
            Tmux(socket, "set-option", "-g", "history-limit", "2000");

            double Seconds(string command, int n)
            {
                string channel = $"done{n}";
                var clock = Stopwatch.StartNew();
                Tmux(socket, "new-window", "-d", "-t", "idle", "-n", channel, $"{command}; tmux -S {socket} wait-for -S {channel}");
                Tmux(socket, "wait-for", channel);
                return clock.Elapsed.TotalSeconds;
            }

            string direct = $"cat {payload}";
            string throughRun = $"{env} {binary} run {cluster}";
            int n = 0;
            Seconds(direct, n++); // warm up: page cache, the tmux server's grid
            Seconds(throughRun, n++);
            var tmuxAlone = new List<double>();
            var zeroshot = new List<double>();
            for (int i = 0; i < runs; i++)
            {
                tmuxAlone.Add(Seconds(direct, n++));
                zeroshot.Add(Seconds(throughRun, n++));
            }
            double mb = total / (double)(1 << 20);
            string Rates(List<double> s) => string.Join(" / ", s.Select(x => (mb / x).ToString("0.0", CultureInfo.InvariantCulture)));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{mb:0} MB of agent output in a {Columns}×{Rows} tmux pane ({runs} runs each, interleaved; load {File.ReadAllText("/proc/loadavg").Trim()}): " +
                $"the program straight in the pane {Rates(tmuxAlone)} MB/s (best {mb / tmuxAlone.Min():0.0}); through `zeroshot run`, footer on, {Rates(zeroshot)} MB/s (best {mb / zeroshot.Min():0.0}): " +
                $"{mb / zeroshot.Min() / (mb / tmuxAlone.Min()) * 100:0}% of tmux alone (target ≥ 100%)"));
            return 0;
        }
        finally
        {
            try { Tmux(socket, "kill-server"); }
            catch (InvalidOperationException) { /* already gone */ }
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void Tmux(string socket, params string[] args) => AttachBenchmark.Capture("tmux", ["-S", socket, .. args]);
}
