namespace Zeroshot.Metrics;

/// <summary>Placeholder until the real one lands: every metric null.</summary>
public sealed class UnsupportedTreeSampler(TimeProvider time) : ITreeSampler
{
    /// <inheritdoc />
    public void Sample(IReadOnlyList<int> rootPids, List<TreeSample> into)
    {
        foreach (int pid in rootPids) into.Add(new TreeSample { Timestamp = time.GetUtcNow(), Pid = pid, Exists = true });
    }

    /// <inheritdoc />
    public void Dispose() { }
}
