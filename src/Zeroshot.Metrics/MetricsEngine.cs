using Zeroshot.Metrics.Linux;
using Zeroshot.Metrics.MacOS;

namespace Zeroshot.Metrics;

/// <summary>
/// The process-metrics engine: one platform sampler plus a history ring per watched tree.
/// It has no thread of its own; its owner calls <see cref="Sample"/> once per tick.
/// </summary>
public sealed class MetricsEngine : IDisposable
{
    private readonly ITreeSampler _sampler;
    private readonly int _historyCapacity;
    private readonly Dictionary<int, SampleHistory> _histories = new();
    private readonly List<TreeSample> _batch = new();

    /// <summary>Wraps a sampler; each watched root keeps its last <paramref name="historyCapacity"/> samples.</summary>
    public MetricsEngine(ITreeSampler sampler, int historyCapacity = SampleHistory.DefaultCapacity)
    {
        _sampler = sampler ?? throw new ArgumentNullException(nameof(sampler));
        ArgumentOutOfRangeException.ThrowIfLessThan(historyCapacity, 1);
        _historyCapacity = historyCapacity;
    }

    /// <summary>
    /// The best sampler for this operating system: procfs on Linux (WSL included), libproc/ps/lsof on
    /// macOS, and one that reports every metric as null elsewhere.
    /// </summary>
    public static ITreeSampler CreatePlatformSampler(SamplerOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        if (OperatingSystem.IsLinux()) return new LinuxTreeSampler(options, time);
        if (OperatingSystem.IsMacOS()) return new MacTreeSampler(options, time);
        return new UnsupportedTreeSampler(time);
    }

    /// <summary>
    /// Samples every root once and records the samples in their histories. Roots not passed are
    /// forgotten (their history too). Returns the samples in the order of <paramref name="rootPids"/>;
    /// the list is reused by the next call, the samples themselves are immutable.
    /// </summary>
    public IReadOnlyList<TreeSample> Sample(IReadOnlyList<int> rootPids)
    {
        ArgumentNullException.ThrowIfNull(rootPids);
        _batch.Clear();
        _sampler.Sample(rootPids, _batch);
        for (int i = 0; i < _batch.Count; i++)
        {
            if (!_histories.TryGetValue(_batch[i].Pid, out var history))
            {
                history = new SampleHistory(_historyCapacity);
                _histories[_batch[i].Pid] = history;
            }
            history.Add(_batch[i]);
        }
        if (_histories.Count > rootPids.Count)
        {
            foreach (int pid in _histories.Keys.Where(pid => !rootPids.Contains(pid)).ToList()) _histories.Remove(pid);
        }
        return _batch;
    }

    /// <summary>The history of a watched root, or null when it is not watched.</summary>
    public SampleHistory? History(int rootPid) => _histories.GetValueOrDefault(rootPid);

    /// <inheritdoc />
    public void Dispose() => _sampler.Dispose();
}
