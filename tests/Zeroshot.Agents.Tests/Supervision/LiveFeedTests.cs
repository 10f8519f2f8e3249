using Zeroshot.Agents.Config;
using Zeroshot.Agents.Control;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;

namespace Zeroshot.Agents.Tests.Supervision;

/// <summary>The <c>snapshots</c> stream's fan-out: what each subscriber gets, on a clock the test moves.</summary>
public sealed class LiveFeedTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 4, 10, 0, 0, TimeSpan.Zero);

    private sealed class SteppedClock : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public override DateTimeOffset GetUtcNow() => T0 + TimeSpan.FromTicks(_ticks);

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }

    /// <summary>A subscriber that keeps every message it is handed, parsed.</summary>
    private sealed class Sink : IStreamSink
    {
        private readonly CancellationTokenSource _closed = new();

        public List<LiveMessage> Messages { get; } = [];

        public uint StreamId => 1;

        public ControlSession Session => null!;

        public CancellationToken Closed => _closed.Token;

        public long QueuedBytes => 0;

        public bool TryWrite(ReadOnlySpan<byte> data)
        {
            Messages.Add(LiveJson.ReadMessage(data));
            return true;
        }

        public bool TryWriteOrSkip(ReadOnlySpan<byte> data) => TryWrite(data);

        public ValueTask<bool> WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) => ValueTask.FromResult(TryWrite(data.Span));

        public void Complete(string reason = ControlProtocol.EndNormal) => _closed.Cancel();

        public void SetInputHandler(Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> onInput)
        {
        }

        public IEnumerable<int> Ticks => Messages.Where(m => m.Snapshot is not null).Select(m => m.Snapshot!.Iteration);
    }

    /// <summary>The tick number travels in the iteration field, so each subscriber's list says which ticks it got.</summary>
    private static ClusterSnapshot Tick(int n, ClusterState state = ClusterState.Running) =>
        ClusterSnapshot.Create("c1", ClusterKind.Cluster, "c1", state, n, 1000, T0, []);

    [Fact]
    public void A_subscriber_every_5_s_gets_the_tick_nearest_each_5_s_every_event_and_the_end_at_once_while_another_gets_every_tick()
    {
        var clock = new SteppedClock();
        var feed = new LiveFeed(clock);
        var everyTick = new Sink();
        var everyFive = new Sink();
        feed.Add(everyTick, Tick(0));
        feed.Add(everyFive, Tick(0), TimeSpan.FromSeconds(5));

        for (int n = 1; n <= 12; n++)
        {
            // Ticks a little early now and then, as a timer's are: 5 s after the last one taken is tick 5 even so.
            clock.Advance(TimeSpan.FromMilliseconds(n % 3 == 0 ? 900 : 1000));
            feed.OnSnapshot(Tick(n));
            if (n == 7) feed.OnEvent(new AgentStartedEvent(clock.GetUtcNow(), "worker", 42));
        }
        clock.Advance(TimeSpan.FromMilliseconds(200));
        feed.OnSnapshot(Tick(13, ClusterState.Completed));

        Assert.Equal(Enumerable.Range(0, 14), everyTick.Ticks);
        Assert.Equal([0, 5, 10, 13], everyFive.Ticks);
        foreach (var sink in new[] { everyTick, everyFive })
            Assert.Equal("worker", Assert.IsType<AgentStartedEvent>(Assert.Single(sink.Messages, m => m.Event is not null).Event).AgentId);
        Assert.Equal(ClusterState.Completed, everyFive.Messages[^1].Snapshot!.State);

        everyFive.Complete();
        feed.OnSnapshot(Tick(14));
        Assert.Equal(1, feed.Count);
        Assert.Equal(4, everyFive.Ticks.Count());
    }
}
