// Plain benchmark harness: `dotnet run -c Release --project bench/Zeroshot.Bench -- <name>`.
// Each benchmark prints its own figures; see the README for the results and the machine.
using Zeroshot.Bench;

var name = args.Length > 0 ? args[0] : "all";
var rest = args.Skip(1).ToArray();
var benchmarks = new Dictionary<string, Func<string[], int>>(StringComparer.Ordinal)
{
    ["tree"] = TreeSamplingBenchmark.Run,
    ["sockdiag"] = SockDiagBenchmark.Run,
    ["footer"] = FooterCostBenchmark.Run,
    ["snapshot"] = SnapshotBenchmark.Run,
    ["screen"] = ScreenModelBenchmark.Run,
    ["attach"] = AttachBenchmark.Run,
    ["watch"] = WatchBenchmark.Run,
    ["history"] = HistoryBenchmark.Run,
    ["export"] = ExportBenchmark.Run,
    ["scale"] = ScaleBenchmark.Run,
    ["run-tmux"] = a => OperatingSystem.IsLinux() ? RunThroughputBenchmark.Run(a) : 2,
};
if (name == "all")
{
    foreach (var (key, run) in benchmarks)
    {
        Console.WriteLine($"== {key}");
        if (run(rest) != 0) return 1;
    }
    return 0;
}
if (!benchmarks.TryGetValue(name, out var chosen))
{
    Console.Error.WriteLine($"zeroshot-bench: unknown benchmark '{name}' (known: {string.Join(", ", benchmarks.Keys)}, all)");
    return 2;
}
return chosen(rest);
