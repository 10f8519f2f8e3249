using System.Globalization;
using Zeroshot.Metrics;
using Zeroshot.Terminal;

namespace Zeroshot.Cli;

/// <summary>The <c>metrics</c> command's line for a sample, with every figure from <see cref="Format"/>; "-" stands for a
/// value that is not known.</summary>
internal static class MetricsText
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary><c>CPU 12.0% │ Mem 45.2MB │ Net ↓2.1KB/s ↑0.3KB/s │ IO r0B/s w1.0KB/s │ 3 children</c></summary>
    public static string Line(TreeSample s)
    {
        if (!s.Exists) return $"process {s.Pid.ToString(Invariant)} is gone";
        string cpu = Format.Percent(s.CpuPercent);
        string mem = Format.MegaBytes(s.MemoryMB);
        string net = s.NetRxBytesPerSec is { } rx && s.NetTxBytesPerSec is { } tx ? $"↓{Format.Rate(rx)} ↑{Format.Rate(tx)}" : "-";
        string io = s.IoReadBytesPerSec is { } r && s.IoWriteBytesPerSec is { } w ? $"r{Format.Rate(r)} w{Format.Rate(w)}" : "-";
        string children = s.ChildCount is { } n ? (n == 1 ? "1 child" : $"{n.ToString(Invariant)} children") : "- children";
        return $"CPU {cpu} │ Mem {mem} │ Net {net} │ IO {io} │ {children}";
    }
}
