using Zeroshot.Metrics;

namespace Zeroshot.Agents.Supervision;

/// <summary>
/// The supervisor's sampling clock: once per <see cref="SupervisorServices.SampleInterval"/> it asks which process
/// trees to sample, samples them all in one call of the platform sampler (one /proc listing and one socket dump per
/// tick, whatever the number of agents), and hands the samples back in the same order. It owns the sampler and the
/// timer and knows nothing of agents; one failed tick blanks one tick.
/// </summary>
internal sealed class SamplerLoop(SupervisorServices services)
{
    private readonly List<int> _pids = [];
    private readonly List<TreeSample> _samples = [];

    /// <summary>Ticks whose sampling failed (procfs or netlink errors), for diagnostics.</summary>
    public long Failures { get; private set; }

    /// <summary>
    /// Runs until <paramref name="cancel"/>: <paramref name="collect"/> fills in the root pids to sample (cleared
    /// before), <paramref name="apply"/> receives their samples in the same order, <paramref name="afterTick"/> runs
    /// after every tick, failed or not. The first tick is immediate.
    /// </summary>
    public async Task RunAsync(Action<List<int>> collect, Action<IReadOnlyList<TreeSample>> apply, Action afterTick, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(collect);
        ArgumentNullException.ThrowIfNull(apply);
        ArgumentNullException.ThrowIfNull(afterTick);
        using var sampler = services.CreateSampler(new SamplerOptions());
        using var timer = new PeriodicTimer(services.SampleInterval, services.Time);
        do
        {
            _pids.Clear();
            _samples.Clear();
            collect(_pids);
            try
            {
                sampler.Sample(_pids, _samples);
                apply(_samples);
            }
            catch (Exception e) when (e is IOException or InvalidDataException)
            {
                Failures++;
            }
            afterTick();
        }
        while (await timer.WaitForNextTickAsync(cancel).ConfigureAwait(false));
    }
}
