using Zeroshot.Metrics;

namespace Zeroshot.Agents.Supervision;

/// <summary>
/// The supervisor's sampling clock: once per <see cref="SupervisorServices.SampleInterval"/> it asks which process
/// trees to sample, samples them all in one call of the platform sampler (one /proc listing and one socket dump per
/// tick, whatever the number of agents), and hands the samples back in the same order. It owns the sampler and the
/// clock and knows nothing of agents; one failed tick blanks one tick.
/// </summary>
/// <remarks>
/// The ticks run on a thread of their own that sleeps in a <see cref="TickClock"/> between them: no timer, no pool
/// thread woken a tick (see <see cref="TickClock"/> for what that cost).
/// </remarks>
internal sealed class SamplerLoop(SupervisorServices services)
{
    private readonly List<int> _pids = [];
    private readonly List<TreeSample> _samples = [];

    /// <summary>Ticks whose sampling failed (procfs or netlink errors), for diagnostics.</summary>
    public long Failures { get; private set; }

    /// <summary>
    /// Runs until <paramref name="cancel"/>: <paramref name="collect"/> fills in the root pids to sample (cleared
    /// before), <paramref name="apply"/> receives their samples in the same order, <paramref name="afterTick"/> runs
    /// after every tick, failed or not. The first tick is immediate. All three run on the loop's own thread; the task
    /// ends cancelled once <paramref name="cancel"/> is, or faulted with what one of them threw.
    /// </summary>
    public Task RunAsync(Action<List<int>> collect, Action<IReadOnlyList<TreeSample>> apply, Action afterTick, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(collect);
        ArgumentNullException.ThrowIfNull(apply);
        ArgumentNullException.ThrowIfNull(afterTick);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                Run(collect, apply, afterTick, cancel);
                done.TrySetCanceled(cancel);
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
        }, maxStackSize: 256 * 1024)
        {
            IsBackground = true,
            Name = "zeroshot-tick",
        };
        thread.Start();
        return done.Task;
    }

    private void Run(Action<List<int>> collect, Action<IReadOnlyList<TreeSample>> apply, Action afterTick, CancellationToken cancel)
    {
        using var sampler = services.CreateSampler(new SamplerOptions());
        var clock = new TickClock(services.SampleInterval, services.Time);
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
        while (clock.WaitForNextTick(cancel));
    }
}
