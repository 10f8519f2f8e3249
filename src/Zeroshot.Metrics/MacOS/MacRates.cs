namespace Zeroshot.Metrics.MacOS;

/// <summary>Pure arithmetic of the macOS sampler: CPU percent and Mach time conversion.</summary>
internal static class MacRates
{
    /// <summary>
    /// CPU of a tree in percent of one core: <paramref name="cpuNs"/> of CPU time spent over
    /// <paramref name="elapsedTimestampTicks"/> of monotonic time (<see cref="TimeProvider.GetTimestamp"/>
    /// units at <paramref name="timestampFrequency"/> per second). Null when no time has elapsed.
    /// </summary>
    public static double? CpuPercent(long cpuNs, long elapsedTimestampTicks, long timestampFrequency)
    {
        if (elapsedTimestampTicks <= 0 || timestampFrequency <= 0)
            return null;
        double seconds = (double)elapsedTimestampTicks / timestampFrequency;
        return Math.Max(0, cpuNs) / 1e9 / seconds * 100.0;
    }

    /// <summary>
    /// Converts Mach absolute time units to nanoseconds with the ratio from <c>mach_timebase_info</c>
    /// (mach/mach_time.h: ns = ticks × numer / denom). On Intel the ratio is 1/1; on Apple Silicon it
    /// is 125/3 (24 MHz ticks), and libproc's <c>pti_total_user</c>/<c>pti_total_system</c> are in these
    /// units there.
    /// </summary>
    public static long MachToNanoseconds(ulong ticks, uint numer, uint denom)
    {
        if (denom == 0)
            throw new ArgumentOutOfRangeException(nameof(denom), "mach_timebase_info denominator is zero");
        UInt128 ns = (UInt128)ticks * numer / denom;
        return ns > long.MaxValue ? long.MaxValue : (long)ns;
    }
}

/// <summary>
/// Per-tree CPU bookkeeping: remembers each member's CPU time by identity (pid, start) so the tree's
/// CPU over an interval is the sum of its members' increments, never negative when a member exits.
/// </summary>
/// <remarks>
/// A member seen for the first time after the baseline counts with its whole CPU time: a process can
/// only enter a tree by being forked inside it, so all of its CPU was spent since the previous tick.
/// A member that exited takes its last partial interval with it (macOS offers no per-child
/// accounting of reaped descendants to a sampler). A member whose counter went backwards (cannot
/// happen for the same identity) contributes zero.
/// </remarks>
internal sealed class CpuLedger
{
    private Dictionary<(int Pid, long Start), long> _previous = new();
    private Dictionary<(int Pid, long Start), long> _current = new();

    /// <summary>Whether a previous tick exists, i.e. the next <see cref="Advance"/> yields a delta.</summary>
    public bool HasBaseline { get; private set; }

    /// <summary>
    /// Records this tick's members and returns the CPU nanoseconds the tree spent since the previous
    /// call (0 on the first call, the baseline). Members with unknown CPU are skipped.
    /// </summary>
    public long Advance(IReadOnlyList<MacProc> members)
    {
        long delta = 0;
        _current.Clear();
        for (int i = 0; i < members.Count; i++)
        {
            MacProc m = members[i];
            if (m.CpuNs is not long cpu)
                continue;
            var key = (m.Pid, m.StartKey);
            _current[key] = cpu;
            if (!HasBaseline)
                continue;
            delta += _previous.TryGetValue(key, out long before) ? Math.Max(0, cpu - before) : cpu;
        }
        (_previous, _current) = (_current, _previous);
        HasBaseline = true;
        return delta;
    }
}
