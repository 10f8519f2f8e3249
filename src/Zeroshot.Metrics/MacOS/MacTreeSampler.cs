namespace Zeroshot.Metrics.MacOS;

/// <summary>Placeholder until the macOS sampler lands: reports every metric as null.</summary>
public sealed class MacTreeSampler : ITreeSampler
{
    private readonly UnsupportedTreeSampler _inner;

    /// <summary>Creates the sampler.</summary>
    public MacTreeSampler(SamplerOptions options, TimeProvider time) { _ = options; _inner = new UnsupportedTreeSampler(time); }

    /// <inheritdoc />
    public void Sample(IReadOnlyList<int> rootPids, List<TreeSample> into) => _inner.Sample(rootPids, into);

    /// <inheritdoc />
    public void Dispose() => _inner.Dispose();
}
