using Zeroshot.Agents.Supervision;

namespace Zeroshot.Export;

/// <summary>
/// Hands an in-process supervisor's snapshots to a <see cref="ClusterMetricsStore"/> (<c>run --metrics-listen</c>): the
/// snapshot object the supervisor already built, by reference; nothing else.
/// </summary>
internal sealed class SnapshotStoreObserver(ClusterMetricsStore store) : IClusterObserver
{
    /// <inheritdoc/>
    public void OnOutput(string agentId, ReadOnlyMemory<byte> chunk)
    {
    }

    /// <inheritdoc/>
    public void OnEvent(ClusterEvent e)
    {
    }

    /// <inheritdoc/>
    public void OnSnapshot(ClusterSnapshot snapshot) => store.Update(snapshot);
}

/// <summary>Where <c>run</c>/<c>task run</c> publish their cluster's metrics: <c>--metrics-listen</c>, <c>--otlp-endpoint</c>.</summary>
/// <param name="Listen">The Prometheus endpoint's address, or null.</param>
/// <param name="Otlp">The OTLP collector's URL, or null.</param>
internal sealed record ExportTargets(ListenAddress? Listen, Uri? Otlp)
{
    /// <summary>Whether anything is asked for.</summary>
    public bool Any => Listen is not null || Otlp is not null;
}
