namespace Zeroshot.Agents.Tests.Sim;

/// <summary>
/// A fake clock on which every timer fires at once (on the thread pool) and moves virtual time forward by its
/// due time; infinite timers never fire. Enough for code that waits on one timer at a time.
/// </summary>
internal sealed class InstantClock : TimeProvider
{
    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private long _ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public override DateTimeOffset GetUtcNow() => Epoch.AddTicks(GetTimestamp());

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new Timer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    private sealed class Timer(InstantClock clock, TimerCallback callback, object? state) : ITimer
    {
        private volatile bool _disposed;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            if (_disposed || dueTime == Timeout.InfiniteTimeSpan) return !_disposed;
            Interlocked.Add(ref clock._ticks, dueTime.Ticks);
            // Never call back synchronously: Task.Delay stores the timer only after CreateTimer returns.
            ThreadPool.QueueUserWorkItem(_ =>
            {
                if (!_disposed) callback(state);
            });
            return true;
        }

        public void Dispose() => _disposed = true;

        public ValueTask DisposeAsync()
        {
            _disposed = true;
            return ValueTask.CompletedTask;
        }
    }
}
