namespace Zeroshot.Metrics.Linux.Net;

/// <summary>Network bytes and connection state of one process tree over one tick.</summary>
/// <param name="RxBytes">TCP payload bytes received by the tree's sockets since the previous tick.</param>
/// <param name="TxBytes">TCP payload bytes sent and acknowledged since the previous tick.</param>
/// <param name="State">Connection summary of the sockets the tree holds now.</param>
internal readonly record struct TreeTraffic(long RxBytes, long TxBytes, NetworkState State);

/// <summary>
/// Per-tree TCP throughput from NETLINK_SOCK_DIAG (placeholder until the netlink implementation lands:
/// <see cref="TryCreate"/> reports the family as unavailable, so network columns are null).
/// </summary>
internal sealed class TcpTrafficMeter : IDisposable
{
    private TcpTrafficMeter() { }

    /// <summary>Opens the netlink socket; null where sock_diag is unavailable.</summary>
    public static TcpTrafficMeter? TryCreate(string procRoot) { _ = procRoot; return null; }

    /// <summary>Starts a tick: one socket dump and a drain of destroy notifications. False when the dump failed.</summary>
    public bool BeginTick() => false;

    /// <summary>Bytes moved by the sockets of the given live tree members since this tree's previous measurement.</summary>
    public TreeTraffic MeasureTree(long treeId, ReadOnlySpan<int> pids) { _ = treeId; _ = pids; return default; }

    /// <summary>Ends a tick, forgetting trees that were not measured in it.</summary>
    public void EndTick() { }

    /// <inheritdoc />
    public void Dispose() { }
}
