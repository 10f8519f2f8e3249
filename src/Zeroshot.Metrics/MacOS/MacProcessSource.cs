namespace Zeroshot.Metrics.MacOS;

/// <summary>What one source knows about one process at one tick.</summary>
/// <param name="Pid">Process id.</param>
/// <param name="Ppid">Parent process id.</param>
/// <param name="StartKey">
/// The process start time in the source's own unit (microseconds since the epoch from libproc,
/// local-time seconds from <c>ps</c>): only compared for equality, to tell a recycled pid apart.
/// 0 when the process is forbidden and its start time unknown.
/// </param>
/// <param name="CpuNs">User + system CPU time in nanoseconds, or null when unknown.</param>
/// <param name="RssBytes">Resident set size in bytes, or null when unknown.</param>
/// <param name="Threads">Number of threads, or null when unknown.</param>
/// <param name="State">State letter (R, S, T, Z, U, I), or null when unknown.</param>
internal readonly record struct MacProc(int Pid, int Ppid, long StartKey, long? CpuNs, long? RssBytes, int? Threads, char? State);

/// <summary>Where <see cref="MacTreeSampler"/> reads processes from: libproc, or <c>ps</c> as a fallback.</summary>
internal interface IMacProcessSource
{
    /// <summary>Prepares a tick (the <c>ps</c> source runs <c>ps</c> here). False when nothing can be read this tick.</summary>
    /// <exception cref="InvalidDataException">The source's output was malformed.</exception>
    bool BeginTick();

    /// <summary>Reads one process. False when it does not exist (any more); a forbidden process is returned with null metrics.</summary>
    bool TryGet(int pid, out MacProc proc);

    /// <summary>Appends the pids whose parent is <paramref name="pid"/>.</summary>
    void GetChildren(int pid, List<int> into);
}
