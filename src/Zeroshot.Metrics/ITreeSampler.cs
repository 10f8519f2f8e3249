namespace Zeroshot.Metrics;

/// <summary>
/// One platform's way of sampling process trees. It owns no thread: the caller invokes
/// <see cref="Sample"/> once per tick, always from the same thread, and gets immutable samples back.
/// </summary>
/// <remarks>
/// Implementations remember, per root pid, what they need for rates (previous counters and the
/// monotonic time they were read at) and the root's identity (pid + start time), so a recycled pid
/// reports <c>Exists = false</c> instead of the new process. A root not passed in a tick is forgotten.
/// Implementations never throw for processes that vanish or are forbidden mid-read.
/// </remarks>
public interface ITreeSampler : IDisposable
{
    /// <summary>
    /// Samples the tree under each root pid, appending one sample per root to <paramref name="into"/>
    /// in the same order. The first sample of a root carries no rates (null rate fields): it is the baseline.
    /// </summary>
    void Sample(IReadOnlyList<int> rootPids, List<TreeSample> into);
}

/// <summary>Options common to every platform sampler.</summary>
public sealed record SamplerOptions
{
    /// <summary>Report proportional set size (PSS) instead of RSS. Costs milliseconds per process.</summary>
    public bool UsePss { get; init; }

    /// <summary>Measure TCP sockets (connection state and throughput).</summary>
    public bool Network { get; init; } = true;
}
