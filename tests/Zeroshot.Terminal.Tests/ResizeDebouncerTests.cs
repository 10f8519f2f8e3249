using Zeroshot.Terminal;

namespace Zeroshot.Terminal.Tests;

public class ResizeDebouncerTests
{
    /// <summary>Minimal manual clock: timers fire only when the test advances time.</summary>
    private sealed class ManualTime : TimeProvider
    {
        private readonly List<ManualTimer> _timers = [];
        private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var t = new ManualTimer(this, callback, state);
            t.Change(dueTime, period);
            _timers.Add(t);
            return t;
        }

        public void Advance(TimeSpan by)
        {
            _now += by;
            foreach (var t in _timers.ToList()) t.FireIfDue(_now);
        }

        private sealed class ManualTimer(ManualTime owner, TimerCallback callback, object? state) : ITimer
        {
            private DateTimeOffset? _due;

            public bool Change(TimeSpan dueTime, TimeSpan period)
            {
                _due = dueTime == Timeout.InfiniteTimeSpan ? null : owner._now + dueTime;
                return true;
            }

            public void FireIfDue(DateTimeOffset now)
            {
                if (_due is { } d && d <= now) { _due = null; callback(state); }
            }

            public void Dispose() => _due = null;
            public ValueTask DisposeAsync() { Dispose(); return ValueTask.CompletedTask; }
        }
    }

    [Fact]
    public void ABurstOfSignalsGivesOneCallbackAfterTheQuietPeriod()
    {
        var time = new ManualTime();
        int calls = 0;
        using var d = new ResizeDebouncer(time, TimeSpan.FromMilliseconds(100), () => calls++);
        for (int i = 0; i < 10; i++)
        {
            d.Signal();
            time.Advance(TimeSpan.FromMilliseconds(30));
        }
        Assert.Equal(0, calls);
        time.Advance(TimeSpan.FromMilliseconds(80));
        Assert.Equal(1, calls);
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(1, calls);
        d.Signal();
        d.Dispose();
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, calls);
    }
}
