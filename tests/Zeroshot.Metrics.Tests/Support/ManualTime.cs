namespace Zeroshot.Metrics.Tests.Support;

/// <summary>A clock that moves only when the test says so (monotonic timestamps in nanoseconds).</summary>
internal sealed class ManualTime : TimeProvider
{
    private long _nanoseconds;
    private readonly DateTimeOffset _start = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    public override long TimestampFrequency => 1_000_000_000;

    public override long GetTimestamp() => _nanoseconds;

    public override DateTimeOffset GetUtcNow() => _start.AddTicks(_nanoseconds / 100);

    public void Advance(TimeSpan by) => _nanoseconds += by.Ticks * 100;
}
