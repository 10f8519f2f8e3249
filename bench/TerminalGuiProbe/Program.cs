// Measures Terminal.Gui 2.5.0's own CPU cost for a `zeroshot watch`-like screen: a full-screen window with a
// 10x10 TableView and a label. With the default variant a 1 s timeout changes the cpu cells and asks for a
// redraw; with --idle nothing changes after the first draw. At exit the process CPU time (user+sys) and wall time
// are written to --out, both for the whole run and for the steady state after a warm-up mark.
using System.Diagnostics;
using System.Globalization;
using Terminal.Gui.App;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

var seconds = 60;
var warmup = 5;
var idle = false;
string? outPath = null;
string? driver = null;
int? iterationsPerSecond = null; // Application.MaximumIterationsPerSecond; Terminal.Gui's default is 25
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--seconds": seconds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--warmup": warmup = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--idle": idle = true; break;
        case "--out": outPath = args[++i]; break;
        case "--driver": driver = args[++i]; break;
        case "--ips": iterationsPerSecond = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
    }
}

if (iterationsPerSecond is { } ips) { Application.MaximumIterationsPerSecond = (ushort)ips; }
var wall = Stopwatch.StartNew();
var table = new AgentTable();
TimeSpan markCpu = default, markWall = default;
var ticks = 0;

using (IApplication app = Application.Create().Init(driver))
{
    using var window = new Window { Title = "zeroshot watch (Terminal.Gui probe)" };
    var label = new Label { Text = idle ? "idle variant: nothing changes" : "timer variant: cpu cells change every 1 s", X = 0, Y = 0 };
    var view = new TableView(table) { X = 0, Y = 1, Width = Dim.Fill(), Height = Dim.Fill() };
    window.Add(label, view);

    // One-shot marks, present in both variants: start of the steady-state window, and the stop.
    app.AddTimeout(TimeSpan.FromSeconds(warmup), () => { markCpu = CpuTime(); markWall = wall.Elapsed; return false; });
    app.AddTimeout(TimeSpan.FromSeconds(seconds), () => { app.RequestStop(); return false; });
    if (!idle)
    {
        app.AddTimeout(TimeSpan.FromSeconds(1), () =>
        {
            table.Tick(++ticks);
            view.SetNeedsDraw();
            return true;
        });
    }

    app.Run(window);
}

var endCpu = CpuTime();
var endWall = wall.Elapsed;
var steadyCpu = (endCpu - markCpu).TotalSeconds;
var steadyWall = (endWall - markWall).TotalSeconds;
var report = string.Create(CultureInfo.InvariantCulture,
    $"""
    variant={(idle ? "idle" : "timer")} seconds={seconds} warmup={warmup} ticks={ticks} driver={driver ?? "default"} max_iterations_per_second={Application.MaximumIterationsPerSecond} runtime={(System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported ? "jit" : "aot")}
    total:  cpu_s={endCpu.TotalSeconds:F3} wall_s={endWall.TotalSeconds:F3} cpu_pct_of_one_core={endCpu.TotalSeconds / endWall.TotalSeconds * 100:F3}
    steady: cpu_s={steadyCpu:F3} wall_s={steadyWall:F3} cpu_pct_of_one_core={steadyCpu / steadyWall * 100:F3}

    """);
if (outPath is null) { Console.Write(report); } else { File.WriteAllText(outPath, report); }
return 0;

// utime + stime (fields 14 and 15 of /proc/self/stat) in clock ticks of 100 Hz.
static TimeSpan CpuTime()
{
    var stat = File.ReadAllText("/proc/self/stat");
    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' '); // fields[0] is field 3 (state)
    var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    return TimeSpan.FromSeconds(ticks / 100.0);
}

/// <summary>Ten fake agents in ten columns, the shape of the `zeroshot watch` table.</summary>
sealed class AgentTable : ITableSource
{
    private readonly object[,] _cells = new object[10, 10];

    public AgentTable()
    {
        for (var r = 0; r < 10; r++)
        {
            object[] row = [$"cluster-{r / 4}", $"agent-{r}", r % 2 == 0 ? "worker" : "validator", "sonnet", "running",
                "  0.0%", $"{100 + r * 7} MB", "1.2 kB/s", $"{r * 1234}", $"${r * 0.11:F2}"];
            for (var c = 0; c < 10; c++) { _cells[r, c] = row[c]; }
        }
    }

    public string[] ColumnNames { get; } = ["cluster", "agent", "role", "model", "state", "cpu", "mem", "net", "tokens", "cost"];
    public int Columns => 10;
    public int Rows => 10;
    public object this[int row, int col] => _cells[row, col];

    public void Tick(int tick)
    {
        for (var r = 0; r < 10; r += 3) { _cells[r, 5] = string.Create(CultureInfo.InvariantCulture, $"{(tick * 7 + r * 13) % 100,3}.{tick % 10}%"); }
    }
}
