using System.Diagnostics;
using System.Globalization;
using System.Text;
using Zeroshot.Terminal;

namespace Zeroshot.Bench;

/// <summary>
/// The status footer's cost: CPU per frame (render the view and draw the changed rows), and the
/// throughput of agent output written through the footer (reset-sequence scan, lock, write) against
/// the same lines written straight to the same file, with the footer redrawn once a second as in
/// `zeroshot run`. The sink is /dev/null, so the comparison is as strict as it can be: a real
/// terminal spends far more per byte than either path.
/// Usage: footer [--frames 20000] [--megabytes 400]
/// </summary>
internal static class FooterCostBenchmark
{
    public static int Run(string[] args)
    {
        int frames = TreeSamplingBenchmark.Arg(args, "--frames", 20000);
        int megabytes = TreeSamplingBenchmark.Arg(args, "--megabytes", 400);

        FooterBenchmark.RenderFrames(500); // warm up
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        var cpu = CpuClock.ThreadCpu();
        long bytes = FooterBenchmark.RenderFrames(frames);
        double perFrameUs = (CpuClock.ThreadCpu() - cpu).TotalMicroseconds / frames;
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"footer frame (160×48, 3 agents, every value changing): {perFrameUs:0.0} µs CPU, {bytes / (double)frames:0} B written, {allocated / (double)frames:0} B allocated per frame; at 1 frame/s that is {perFrameUs / 1e4:0.0000}% of one core"));

        var lines = SampleLines();
        long total = (long)megabytes << 20;
        double direct = Throughput(total, lines, footer: false);
        double through = Throughput(total, lines, footer: true);
        // Twice, interleaved, so a noisy neighbour does not favour one side.
        direct = Math.Max(direct, Throughput(total, lines, footer: false));
        through = Math.Max(through, Throughput(total, lines, footer: true));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"writer alone, lines to /dev/null: direct {direct:0} MB/s, through the footer {through:0} MB/s ({(1 - through / direct) * 100:0.0}% slower; {(1 / through - 1 / direct) * 1e6 / (1 << 20) * 70:0.000} µs more per 70-byte line)"));
        return EndToEnd(TreeSamplingBenchmark.Arg(args, "--e2e-megabytes", 100));
    }

    /// <summary>
    /// The number the issue names: a fast agent's output through a real `zeroshot run` on a terminal
    /// (script(1) provides the PTY), with the footer against --no-metrics. Same agent, same bytes.
    /// </summary>
    private static int EndToEnd(int megabytes)
    {
        string config = typeof(FooterCostBenchmark).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyConfigurationAttribute), false)
            .OfType<System.Reflection.AssemblyConfigurationAttribute>().FirstOrDefault()?.Configuration ?? "Release";
        string root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../.."));
        string dll = Path.Combine(root, "src/Zeroshot.Cli/bin", config, "net10.0/zeroshot.dll");
        if (!File.Exists(dll) || !File.Exists("/usr/bin/script"))
        {
            Console.WriteLine($"end to end: skipped ({dll} or script(1) missing)");
            return 0;
        }
        string dir = Directory.CreateTempSubdirectory("zs-footer-bench-").FullName;
        try
        {
            string payload = Path.Combine(dir, "output.txt");
            var line = Encoding.UTF8.GetBytes("tests    │ \u001b[32m  ✓ \u001b[0mrejects an empty e-mail address in the signup form (4 ms)\n");
            using (var f = File.Create(payload))
                for (long n = 0; n < (long)megabytes << 20; n += line.Length) f.Write(line);
            string cluster = Path.Combine(dir, "cluster.json");
            File.WriteAllText(cluster, $$"""{ "name": "firehose", "agents": [ { "id": "worker", "role": "worker", "command": ["cat", "{{payload}}"] } ] }""");
            double Seconds(bool footer)
            {
                var psi = new ProcessStartInfo("script", ["-qec", $"dotnet {dll} run {cluster}{(footer ? "" : " --no-metrics")}", "/dev/null"])
                {
                    UseShellExecute = false,
                    RedirectStandardOutput = true,
                };
                psi.Environment["ZEROSHOT_HOME"] = Path.Combine(dir, "home");
                psi.Environment["TERM"] = "xterm-256color";
                psi.Environment["COLUMNS"] = "160";
                psi.Environment["LINES"] = "48";
                var clock = Stopwatch.StartNew();
                using var p = Process.Start(psi)!;
                p.StandardOutput.BaseStream.CopyTo(Stream.Null);
                p.WaitForExit();
                return clock.Elapsed.TotalSeconds;
            }
            Seconds(true); // warm up: JIT, page cache
            double with = double.MaxValue, without = double.MaxValue;
            for (int i = 0; i < 3; i++)
            {
                without = Math.Min(without, Seconds(false));
                with = Math.Min(with, Seconds(true));
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"end to end, {megabytes} MB of agent output through `zeroshot run` on a PTY (best of 3): --no-metrics {without:0.00} s ({megabytes / without:0} MB/s), with the footer {with:0.00} s ({megabytes / with:0} MB/s): {(with / without - 1) * 100:0.0}% slower (target ≤ 5%)"));
            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static byte[][] SampleLines()
    {
        string[] text =
        [
            "worker   │ ⚙ Bash: npm test -- --runInBand --coverage\n",
            "worker   │   ↳ 42 lines\n",
            "worker   │ I'll update the validation in src/signup/form.ts and add tests for the empty and malformed cases.\n",
            "\u001b[36mworker   │ \u001b[0m\u001b[32m✓ done in 12.3s · 12.4K tokens · $0.42\u001b[0m\n",
            "tests    │  PASS  src/signup/form.test.ts (3.2 s)\n",
            "tests    │ \u001b[1m\u001b[32m  ✓ \u001b[0mrejects an empty e-mail (4 ms)\n",
        ];
        return [.. text.Select(Encoding.UTF8.GetBytes)];
    }

    private static double Throughput(long total, byte[][] lines, bool footer)
    {
        using var sink = new FileStream("/dev/null", FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
        var renderer = footer ? new FooterRenderer(sink, TerminalCapabilities.Full, 160, 48) : null;
        renderer?.Draw(FooterView.Render(FooterBenchmark.SampleModel(0), 160, 48));
        var clock = Stopwatch.StartNew();
        var nextFrame = TimeSpan.FromSeconds(1);
        long written = 0;
        int frame = 1;
        // The printer flushes once per line, as ClusterPrinter does.
        for (int i = 0; written < total; i++)
        {
            var line = lines[i % lines.Length];
            if (renderer is null) sink.Write(line);
            else renderer.WriteOutput(line);
            written += line.Length;
            if (renderer is not null && (i & 1023) == 0 && clock.Elapsed >= nextFrame)
            {
                renderer.Draw(FooterView.Render(FooterBenchmark.SampleModel(frame++), 160, 48));
                nextFrame += TimeSpan.FromSeconds(1);
            }
        }
        double seconds = clock.Elapsed.TotalSeconds;
        renderer?.Teardown();
        return written / seconds / (1 << 20);
    }
}
