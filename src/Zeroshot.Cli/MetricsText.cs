using System.Globalization;
using Zeroshot.Metrics;

namespace Zeroshot.Cli;

/// <summary>Readable renderings of metric values; "-" stands for a value that is not known.</summary>
internal static class MetricsText
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary><c>CPU 12.0% │ Mem 45.2MB │ Net ↓2.1KB/s ↑0.3KB/s │ IO r0B/s w1.0KB/s │ 3 children</c></summary>
    public static string Line(TreeSample s)
    {
        if (!s.Exists) return $"process {s.Pid.ToString(Invariant)} is gone";
        string cpu = s.CpuPercent is { } c ? c.ToString("0.0", Invariant) + "%" : "-";
        string mem = s.MemoryMB is { } m ? m.ToString("0.0", Invariant) + "MB" : "-";
        string net = s.NetRxBytesPerSec is { } rx && s.NetTxBytesPerSec is { } tx ? $"↓{Rate(rx)} ↑{Rate(tx)}" : "-";
        string io = s.IoReadBytesPerSec is { } r && s.IoWriteBytesPerSec is { } w ? $"r{Rate(r)} w{Rate(w)}" : "-";
        string children = s.ChildCount is { } n ? (n == 1 ? "1 child" : $"{n.ToString(Invariant)} children") : "- children";
        return $"CPU {cpu} │ Mem {mem} │ Net {net} │ IO {io} │ {children}";
    }

    /// <summary>Bytes per second in binary units: <c>0B/s</c>, <c>512B/s</c>, <c>2.1KB/s</c>, <c>3.4MB/s</c>.</summary>
    public static string Rate(double bytesPerSecond) => Bytes(bytesPerSecond) + "/s";

    /// <summary>A byte count in binary units with one decimal above 1 KiB.</summary>
    public static string Bytes(double bytes)
    {
        if (bytes < 1024) return Math.Round(bytes).ToString("0", Invariant) + "B";
        if (bytes < 1024 * 1024) return (bytes / 1024).ToString("0.0", Invariant) + "KB";
        if (bytes < 1024.0 * 1024 * 1024) return (bytes / (1024 * 1024)).ToString("0.0", Invariant) + "MB";
        return (bytes / (1024.0 * 1024 * 1024)).ToString("0.0", Invariant) + "GB";
    }
}
