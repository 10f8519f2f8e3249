using System.Diagnostics;
using System.Globalization;
using Zeroshot.Metrics;
using Zeroshot.Metrics.Linux;

namespace Zeroshot.Bench;

/// <summary>
/// CPU cost of sampling a 50-process tree per process per sample, without and with the network
/// family, against one `ps` invocation over the same tree (what the original implementation did).
/// Usage: tree [--processes 50] [--samples 2000] [--binary PATH [--records 600]]; with --binary, also the whole
/// process CPU of `zeroshot metrics` (that binary, network on) per process-sample, its start-up subtracted.
/// </summary>
internal static class TreeSamplingBenchmark
{
    public static int Run(string[] args)
    {
        int processes = Arg(args, "--processes", 50);
        int samples = Arg(args, "--samples", 2000);
        if (!OperatingSystem.IsLinux())
        {
            Console.Error.WriteLine("tree benchmark: Linux only");
            return 1;
        }

        // A root shell with (processes - 1) sleeping children: a tree of `processes` processes.
        using var root = Process.Start(new ProcessStartInfo("bash", ["-c", $"for i in $(seq 1 {processes - 1}); do sleep 1000 & done; wait"]) { UseShellExecute = false })!;
        try
        {
            WaitForTree(root.Id, processes);
            int machine = Directory.EnumerateDirectories("/proc").Count(d => char.IsAsciiDigit(Path.GetFileName(d)[0]));
            Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {machine} processes in /proc, kernel {Environment.OSVersion.Version}, .NET {Environment.Version}");
            Console.WriteLine($"tree: {processes} processes, {samples} samples each run");

            Measure("procfs, no network", new SamplerOptions { Network = false }, root.Id, processes, samples);
            Measure("procfs + sock_diag", new SamplerOptions { Network = true }, root.Id, processes, samples);
            MeasurePs(root.Id, processes);
            int i = Array.IndexOf(args, "--binary");
            if (i >= 0 && i + 1 < args.Length) MeasureCommand(args[i + 1], root.Id, processes, Arg(args, "--records", 600));
            return 0;
        }
        finally
        {
            root.Kill(entireProcessTree: true);
            root.WaitForExit();
        }
    }

    private static void Measure(string name, SamplerOptions options, int rootPid, int processes, int samples)
    {
        using var sampler = new LinuxTreeSampler(options, TimeProvider.System);
        var roots = new[] { rootPid };
        var into = new List<TreeSample>(1);
        for (int i = 0; i < 50; i++) { into.Clear(); sampler.Sample(roots, into); } // warm up: JIT, handles opened
        if (into[0].ChildCount != processes - 1) throw new InvalidOperationException($"tree has {into[0].ChildCount + 1} processes, expected {processes}");

        var perSample = new double[samples];
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        var cpuStart = CpuClock.ThreadCpu();
        var wall = Stopwatch.StartNew();
        for (int i = 0; i < samples; i++)
        {
            var t0 = CpuClock.ThreadCpu();
            into.Clear();
            sampler.Sample(roots, into);
            perSample[i] = (CpuClock.ThreadCpu() - t0).TotalMicroseconds;
        }
        double cpuUs = (CpuClock.ThreadCpu() - cpuStart).TotalMicroseconds;
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Array.Sort(perSample);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name,-22} CPU per sample: mean {cpuUs / samples,8:0.0} µs, p50 {perSample[samples / 2],8:0.0} µs, p95 {perSample[samples * 95 / 100],8:0.0} µs | per process {cpuUs / samples / processes,6:0.00} µs | wall {wall.Elapsed.TotalMicroseconds / samples,8:0.0} µs | {allocated / (double)samples,7:0} B allocated per sample"));
    }

    private static void MeasurePs(int rootPid, int processes)
    {
        if (!File.Exists("/usr/bin/ps") && !File.Exists("/bin/ps"))
        {
            Console.WriteLine("ps: not installed, not compared");
            return;
        }
        const int runs = 50;
        var childrenCpu = CpuClock.ChildrenCpu();
        var wall = Stopwatch.StartNew();
        for (int i = 0; i < runs; i++)
        {
            // The cheapest ps that still covers the tree: the root's session, CPU and RSS columns.
            using var ps = Process.Start(new ProcessStartInfo("ps", ["-o", "pid=,ppid=,pcpu=,rss=", "-s", rootPid.ToString(CultureInfo.InvariantCulture)]) { RedirectStandardOutput = true, UseShellExecute = false })!;
            ps.StandardOutput.ReadToEnd();
            ps.WaitForExit();
        }
        double wallUs = wall.Elapsed.TotalMicroseconds / runs;
        double cpuUs = (CpuClock.ChildrenCpu() - childrenCpu).TotalMicroseconds / runs;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{"one ps invocation",-22} CPU {cpuUs,8:0.0} µs (the ps process alone) | per process {cpuUs / processes,6:0.00} µs | wall {wallUs,8:0.0} µs (incl. process start)"));
    }

    // Whole-process CPU of `zeroshot metrics -p ROOT -i 50 -n N --json`, minus that of a 1-record run (start-up, the
    // first interval and exit), per record and per process: every fixed per-tick cost of the process included.
    private static void MeasureCommand(string binary, int rootPid, int processes, int records)
    {
        double Run(int count)
        {
            var before = CpuClock.ChildrenCpu();
            using var metrics = Process.Start(new ProcessStartInfo(binary, ["metrics", "-p", rootPid.ToString(CultureInfo.InvariantCulture), "-i", "50", "-n", count.ToString(CultureInfo.InvariantCulture), "--json"])
            { RedirectStandardOutput = true, UseShellExecute = false })!;
            int lines = metrics.StandardOutput.ReadToEnd().Count(c => c == '\n');
            metrics.WaitForExit();
            if (metrics.ExitCode != 0 || lines != count) throw new InvalidOperationException($"zeroshot metrics: exit {metrics.ExitCode}, {lines} records");
            return (CpuClock.ChildrenCpu() - before).TotalMicroseconds;
        }
        double once = Enumerable.Range(0, 5).Select(_ => Run(1)).Order().ElementAt(2);
        double all = Run(records);
        double perRecord = (all - once) / (records - 1);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{"zeroshot metrics",-22} whole process, {records} records 50 ms apart: {perRecord,8:0.0} µs CPU per record | per process {perRecord / processes,6:0.00} µs (start-up and exit, {once / 1000:0.0} ms, subtracted) | {binary}"));
    }

    private static void WaitForTree(int rootPid, int processes)
    {
        using var sampler = new LinuxTreeSampler(new SamplerOptions { Network = false }, TimeProvider.System);
        var into = new List<TreeSample>();
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            into.Clear();
            sampler.Sample([rootPid], into);
            if (into[0].ChildCount == processes - 1) return;
            Thread.Sleep(50);
        }
        throw new TimeoutException("the benchmark tree did not start");
    }

    internal static int Arg(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
