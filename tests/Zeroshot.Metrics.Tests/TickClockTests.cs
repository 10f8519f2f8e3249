namespace Zeroshot.Metrics.Tests;

/// <summary>The sampling clock's grid, on a clock whose timers fire at once and record how long they were asked to wait.</summary>
public sealed class TickClockTests
{
    /// <summary>Every timer fires at once (on the pool) after moving the time forward by its due time, which it records.</summary>
    private sealed class RecordingClock : TimeProvider
    {
        private long _ticks;

        public List<TimeSpan> Waits { get; } = [];

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            lock (Waits) Waits.Add(dueTime);
            Advance(dueTime);
            var timer = new Timer(callback, state);
            // Never synchronously: Task.Delay keeps the timer only once CreateTimer has returned.
            ThreadPool.QueueUserWorkItem(_ => timer.Fire());
            return timer;
        }

        private sealed class Timer(TimerCallback callback, object? state) : ITimer
        {
            private volatile bool _disposed;

            public void Fire()
            {
                if (!_disposed) callback(state);
            }

            public bool Change(TimeSpan dueTime, TimeSpan period) => !_disposed;

            public void Dispose() => _disposed = true;

            public ValueTask DisposeAsync()
            {
                _disposed = true;
                return ValueTask.CompletedTask;
            }
        }
    }

    [Fact]
    public void Ticks_stay_on_the_grid_of_the_first_and_a_late_tick_skips_what_it_missed()
    {
        var clock = new RecordingClock();
        var ticks = new TickClock(TimeSpan.FromSeconds(1), clock);

        Assert.True(ticks.WaitForNextTick(CancellationToken.None));
        // The work of a tick took 300 ms: the next one still comes on the grid, 700 ms later.
        clock.Advance(TimeSpan.FromMilliseconds(300));
        Assert.True(ticks.WaitForNextTick(CancellationToken.None));
        // A tick 2.5 s late: the grid points it missed are skipped, and the next is the first one ahead (t = 5 s).
        clock.Advance(TimeSpan.FromSeconds(2.5));
        Assert.True(ticks.WaitForNextTick(CancellationToken.None));
        Assert.True(ticks.WaitForNextTick(CancellationToken.None));

        Assert.Equal([TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(700), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1)], clock.Waits);
        Assert.Equal(TimeSpan.FromSeconds(6), TimeSpan.FromTicks(clock.GetTimestamp()));
    }

    [Fact]
    public void A_cancelled_wait_returns_false_at_once_on_either_clock()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var clock = new RecordingClock();
        Assert.False(new TickClock(TimeSpan.FromHours(1), clock).WaitForNextTick(cancelled.Token));
        Assert.False(new TickClock(TimeSpan.FromHours(1), TimeProvider.System).WaitForNextTick(cancelled.Token));
    }

    [Fact]
    public async Task Cancelling_ends_a_wait_in_progress_on_the_system_clock()
    {
        using var stop = new CancellationTokenSource();
        var ticks = new TickClock(TimeSpan.FromHours(1), TimeProvider.System);
        var waiting = Task.Run(() => ticks.WaitForNextTick(stop.Token));
        await stop.CancelAsync();
        // An hour's wait ends with the cancellation (the bound only keeps a broken build from hanging the run).
        Assert.False(await waiting.WaitAsync(TimeSpan.FromMinutes(1)));
    }
}
