namespace Zeroshot.Metrics;

/// <summary>
/// A sampling clock that blocks the calling thread until the next tick: ticks on the grid of the first (no drift),
/// a tick that came too late skipping the ones it missed (as <see cref="PeriodicTimer"/> does) rather than running
/// them back to back.
/// </summary>
/// <remarks>
/// A timer costs two thread wake-ups a tick (its own thread, then the pool worker it hands the callback to), and a
/// pool worker that runs out of work spins in <c>sched_yield</c> before it sleeps: on a 2-vCPU VM a supervisor of 10
/// idle agents switched threads ~50 times a second for its 1 Hz tick, most of its CPU. A thread that waits here
/// sleeps in one futex wait and switches once a tick. With a <see cref="TimeProvider"/> other than the system's (a
/// test's clock), the wait is that provider's timer.
/// </remarks>
public sealed class TickClock
{
    private readonly TimeProvider _time;
    private readonly long _interval;
    private long _next;

    /// <summary>A clock whose first tick is now (the first <see cref="WaitForNextTick"/> waits one interval).</summary>
    /// <param name="interval">Time between ticks (at least one timestamp unit).</param>
    /// <param name="time">The clock to follow.</param>
    public TickClock(TimeSpan interval, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        _interval = Math.Max(1, (long)(interval.TotalSeconds * time.TimestampFrequency));
        _next = time.GetTimestamp();
    }

    /// <summary>Blocks until the next tick; false (at once) when <paramref name="cancel"/> is or becomes cancelled.</summary>
    public bool WaitForNextTick(CancellationToken cancel)
    {
        long now = _time.GetTimestamp();
        _next += _interval;
        if (_next <= now) _next = now + _interval - (now - _next) % _interval;
        return Sleep(TimeSpan.FromSeconds((double)(_next - now) / _time.TimestampFrequency), _time, cancel);
    }

    /// <summary>
    /// Blocks the calling thread for <paramref name="delay"/> of <paramref name="time"/>; false (at once) when
    /// <paramref name="cancel"/> is or becomes cancelled. On the system clock one futex wait, no timer and no pool thread.
    /// </summary>
    public static bool Sleep(TimeSpan delay, TimeProvider time, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(time);
        if (time == TimeProvider.System)
        {
            // WaitOne counts whole milliseconds: round up, or a tick could come up to 1 ms early.
            return !cancel.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(Math.Ceiling(delay.TotalMilliseconds)));
        }
        try
        {
            // A test's clock: its timers decide when the wait ends.
            Task.Delay(delay, time, cancel).GetAwaiter().GetResult();
            return true;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return false;
        }
    }
}
