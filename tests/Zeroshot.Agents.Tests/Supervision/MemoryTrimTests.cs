using Zeroshot.Agents.Supervision;

namespace Zeroshot.Agents.Tests.Supervision;

public class MemoryTrimTests
{
    private sealed class TickClock : TimeProvider
    {
        public long Ticks { get; set; }

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Ticks;

        public void Advance(TimeSpan by) => Ticks += by.Ticks;
    }

    [Fact]
    public void Collects_first_after_the_first_wait_then_once_per_interval_counted_from_the_last_trim()
    {
        var clock = new TickClock();
        int collections = 0;
        var trim = new MemoryTrim(clock, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), () => collections++);

        for (int second = 1; second < 60; second++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            trim.Tick();
        }
        Assert.Equal(0, collections);
        clock.Advance(TimeSpan.FromSeconds(1)); // 60 s since the start: the first trim
        trim.Tick();
        Assert.Equal(1, collections);

        for (int second = 1; second < 300; second++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            trim.Tick();
        }
        Assert.Equal(1, collections); // not every minute after the first

        clock.Advance(TimeSpan.FromSeconds(1)); // 300 s since the first trim
        trim.Tick();
        trim.Tick(); // the same instant: not again
        Assert.Equal(2, collections);

        // A late tick (a suspended machine) trims once, and the next interval counts from it.
        clock.Advance(TimeSpan.FromMinutes(42));
        trim.Tick();
        Assert.Equal(3, collections);
        clock.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(1));
        trim.Tick();
        Assert.Equal(3, collections);
        clock.Advance(TimeSpan.FromSeconds(1));
        trim.Tick();
        Assert.Equal(4, collections);
        Assert.Equal(4, trim.Trims);
    }

    [Fact]
    public void The_process_trim_really_collects()
    {
        var trim = MemoryTrim.ForThisProcess(new TickClock(), TimeSpan.Zero, TimeSpan.Zero);
        int before = GC.CollectionCount(GC.MaxGeneration);

        trim.Tick();

        Assert.True(GC.CollectionCount(GC.MaxGeneration) > before, "no full collection ran");
    }
}
