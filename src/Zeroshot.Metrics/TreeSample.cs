namespace Zeroshot.Metrics;

/// <summary>
/// TCP connection summary of a process tree: how many of its TCP sockets are established and how
/// many bytes wait in their queues (both IPv4 and IPv6).
/// </summary>
/// <param name="Established">Number of the tree's TCP sockets in state ESTABLISHED.</param>
/// <param name="SendQueueBytes">Bytes written by the tree but not yet acknowledged by the peer (sum of <c>tcpi_notsent</c>/wqueue).</param>
/// <param name="RecvQueueBytes">Bytes received but not yet read by the tree (sum of rqueue).</param>
public readonly record struct NetworkState(int Established, long SendQueueBytes, long RecvQueueBytes)
{
    /// <summary>Sockets of the tree still connecting (SYN-SENT): a connection that stays here for long never reached its peer.</summary>
    public int Connecting { get; init; }

    /// <summary>
    /// Milliseconds since the last payload byte arrived on the tree's most recently active established socket
    /// (the least <c>tcpi_last_data_recv</c>, tcp(7)); null without an established socket. The health verdicts'
    /// "no bytes from the model for 4m12s on an open connection" comes from here.
    /// </summary>
    public long? LastReceiveMs { get; init; }
}

/// <summary>
/// One immutable sample of a process tree (a root process and all its descendants).
/// Each metric family is nullable on its own: a family the platform cannot measure, or that
/// failed for this tree, is <c>null</c> and blanks only its own column.
/// </summary>
public sealed record TreeSample
{
    /// <summary>When the sample was taken (UTC wall clock, for display and logs).</summary>
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>The root process id of the tree.</summary>
    public required int Pid { get; init; }

    /// <summary>Whether the root process (with the same start time as when first seen) still exists.</summary>
    public required bool Exists { get; init; }

    /// <summary>The root's state letter (R, S, D, Z, T, t, I, …) as in <c>/proc/&lt;pid&gt;/stat</c>, or null.</summary>
    public char? State { get; init; }

    /// <summary>CPU of the whole tree in percent of one core (two busy cores = 200).</summary>
    public double? CpuPercent { get; init; }

    /// <summary>Resident memory of the tree in MiB (sum of RSS, or of PSS when PSS was requested).</summary>
    public double? MemoryMB { get; init; }

    /// <summary>Bytes per second the tree caused to be read from storage (<c>read_bytes</c>).</summary>
    public double? IoReadBytesPerSec { get; init; }

    /// <summary>Bytes per second the tree caused to be written to storage (<c>write_bytes</c>).</summary>
    public double? IoWriteBytesPerSec { get; init; }

    /// <summary>Bytes per second passed to read-like system calls (<c>rchar</c>).</summary>
    public double? ReadCharsPerSec { get; init; }

    /// <summary>Bytes per second passed to write-like system calls (<c>wchar</c>).</summary>
    public double? WriteCharsPerSec { get; init; }

    /// <summary>TCP payload bytes per second received by the tree's sockets (<c>tcpi_bytes_received</c>).</summary>
    public double? NetRxBytesPerSec { get; init; }

    /// <summary>TCP payload bytes per second sent and acknowledged on the tree's sockets (<c>tcpi_bytes_acked</c>).</summary>
    public double? NetTxBytesPerSec { get; init; }

    /// <summary>TCP connection summary, or null when sockets cannot be inspected.</summary>
    public NetworkState? NetworkState { get; init; }

    /// <summary>Number of descendants of the root (the root itself not counted).</summary>
    public int? ChildCount { get; init; }

    /// <summary>Threads of the whole tree.</summary>
    public int? Threads { get; init; }

    /// <summary>Processes of the tree in uninterruptible sleep (state D: waiting on the disk, a hung NFS mount, a
    /// FUSE daemon); null when unknown. Not in the JSON: the health verdicts' evidence.</summary>
    public int? Blocked { get; init; }

    /// <summary>How many times the root's main thread (the CLI's event loop) ran since the previous sample
    /// (<c>/proc/PID/schedstat</c>); at next to no CPU, its wake-ups from voluntary sleeps. Null when unknown (the first
    /// sample, a kernel without schedstat). Not in the JSON: the health verdicts' evidence.</summary>
    public long? RootWakeups { get; init; }

    /// <summary>A sample for a root that does not exist (any more): every metric null.</summary>
    public static TreeSample Gone(int pid, DateTimeOffset timestamp) =>
        new() { Timestamp = timestamp, Pid = pid, Exists = false };
}
