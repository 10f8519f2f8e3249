using System.Globalization;
using Zeroshot.Metrics.Linux;

namespace Zeroshot.Metrics;

/// <summary>
/// A process is identified by (pid, start time), so a recycled pid is never mistaken for the
/// process that had it before. The start time is opaque: on Linux the <c>starttime</c> field of
/// <c>/proc/&lt;pid&gt;/stat</c> (clock ticks since boot); where it cannot be read, 0 (unknown).
/// </summary>
public static class ProcessIdentity
{
    /// <summary>The start time of a live process, or null when it does not exist (or is a zombie).</summary>
    public static long? StartTime(int pid)
    {
        if (pid <= 0) return null;
        if (!OperatingSystem.IsLinux()) return Exists(pid) ? 0 : null;
        Span<byte> buffer = stackalloc byte[1024];
        if (ProcFile.ReadOnce(Path.Join("/proc", pid.ToString(CultureInfo.InvariantCulture), "stat"), buffer, out int n) != ReadStatus.Ok)
            return null;
        try
        {
            var stat = ProcParsers.ParseStat(buffer[..n]);
            return stat.State == 'Z' ? null : (long)stat.StartTimeTicks;
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    /// <summary>
    /// Whether the process that had <paramref name="startTime"/> under <paramref name="pid"/> is still
    /// alive. A start time of 0 means unknown: then any live process with that pid counts.
    /// </summary>
    public static bool IsAlive(int pid, long startTime)
    {
        long? now = StartTime(pid);
        return now is not null && (startTime == 0 || now == 0 || now == startTime);
    }

    private static bool Exists(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
