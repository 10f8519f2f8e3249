using Zeroshot.Agents.Notify;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Tests.State;

namespace Zeroshot.Agents.Tests.Notify;

public class NotificationLimiterTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 3, 7, 0, 0, TimeSpan.Zero);

    private static AgentEvent Idle(string agent, string cluster = "c1") => AgentEvent.Idle(cluster, null, agent, T0);

    private static AgentEvent Asks(string agent, string cluster = "c1") => AgentEvent.NeedsInput(cluster, null, agent, "ok?", T0);

    [Fact]
    public void The_same_agent_and_kind_rings_at_most_once_per_interval()
    {
        var clock = new ManualClock(T0);
        var limiter = new NotificationLimiter(clock, TimeSpan.FromSeconds(30), maxPerMinute: 100);
        Assert.Equal(NotificationDecision.Send, limiter.Admit(Idle("a")));
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(NotificationDecision.TooSoonForThisAgent, limiter.Admit(Idle("a")));
        clock.Advance(TimeSpan.FromSeconds(19.999));
        Assert.Equal(NotificationDecision.TooSoonForThisAgent, limiter.Admit(Idle("a")));
        // A suppressed event does not restart the interval: 30 s after the last one that rang, it rings again.
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(NotificationDecision.Send, limiter.Admit(Idle("a")));
        Assert.Equal(NotificationDecision.TooSoonForThisAgent, limiter.Admit(Idle("a")));
    }

    [Fact]
    public void Other_agents_kinds_and_clusters_are_limited_separately()
    {
        var clock = new ManualClock(T0);
        var limiter = new NotificationLimiter(clock, TimeSpan.FromSeconds(30), maxPerMinute: 100);
        Assert.Equal(NotificationDecision.Send, limiter.Admit(Idle("a")));
        Assert.Equal(NotificationDecision.Send, limiter.Admit(Asks("a")));
        Assert.Equal(NotificationDecision.Send, limiter.Admit(Idle("b")));
        Assert.Equal(NotificationDecision.Send, limiter.Admit(Idle("a", cluster: "c2")));
        Assert.Equal(NotificationDecision.TooSoonForThisAgent, limiter.Admit(Asks("a")));
    }

    [Fact]
    public void A_flapping_agent_rings_twice_a_minute_not_ten_times()
    {
        var clock = new ManualClock(T0);
        var limiter = new NotificationLimiter(clock, TimeSpan.FromSeconds(30), maxPerMinute: 6);
        int sent = 0;
        for (int i = 0; i < 60; i++)
        {
            if (limiter.Admit(Idle("a")) == NotificationDecision.Send) sent++;
            clock.Advance(TimeSpan.FromSeconds(1));
        }
        Assert.Equal(2, sent);
    }

    [Fact]
    public void The_global_cap_is_a_sliding_minute_over_all_agents()
    {
        var clock = new ManualClock(T0);
        var limiter = new NotificationLimiter(clock, TimeSpan.FromSeconds(30), maxPerMinute: 3);
        Assert.Equal(NotificationDecision.Send, limiter.Admit(Idle("a")));
        clock.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(NotificationDecision.Send, limiter.Admit(Idle("b")));
        Assert.Equal(NotificationDecision.Send, limiter.Admit(Idle("c")));
        Assert.Equal(NotificationDecision.TooManyOverall, limiter.Admit(Idle("d")));
        // A dropped event is not remembered for its agent: d may ring as soon as the window has room.
        clock.Advance(TimeSpan.FromSeconds(40)); // "a" (t=0) leaves the window at t=60
        Assert.Equal(NotificationDecision.Send, limiter.Admit(Idle("d")));
        Assert.Equal(NotificationDecision.TooManyOverall, limiter.Admit(Idle("e")));
        clock.Advance(TimeSpan.FromSeconds(20)); // b and c (t=20) leave at t=80
        Assert.Equal(NotificationDecision.Send, limiter.Admit(Idle("e")));
        Assert.Equal(NotificationDecision.Send, limiter.Admit(Idle("f")));
    }

    [Fact]
    public void A_cluster_end_always_rings_and_counts_towards_the_cap()
    {
        var clock = new ManualClock(T0);
        var limiter = new NotificationLimiter(clock, TimeSpan.FromSeconds(30), maxPerMinute: 2);
        Assert.Equal(NotificationDecision.Send, limiter.Admit(Idle("a")));
        Assert.Equal(NotificationDecision.Send, limiter.Admit(Idle("b")));
        var ended = AgentEvent.ClusterEnded("c1", "demo", ClusterState.Completed, T0);
        Assert.Equal(NotificationDecision.Send, limiter.Admit(ended));
        Assert.Equal(NotificationDecision.Send, limiter.Admit(ended with { ClusterId = "c2" }));
        clock.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(NotificationDecision.TooManyOverall, limiter.Admit(Idle("c")));
    }

    [Fact]
    public void A_zero_interval_leaves_only_the_global_cap()
    {
        var clock = new ManualClock(T0);
        var limiter = new NotificationLimiter(clock, TimeSpan.Zero, maxPerMinute: 3);
        Assert.Equal(NotificationDecision.Send, limiter.Admit(Idle("a")));
        Assert.Equal(NotificationDecision.Send, limiter.Admit(Idle("a")));
        Assert.Equal(NotificationDecision.Send, limiter.Admit(Idle("a")));
        Assert.Equal(NotificationDecision.TooManyOverall, limiter.Admit(Idle("a")));
        Assert.Equal(0, limiter.RememberedKeys);
    }

    [Fact]
    public void A_clock_stepping_back_does_not_silence_an_agent()
    {
        var clock = new ManualClock(T0);
        var limiter = new NotificationLimiter(clock, TimeSpan.FromSeconds(30), maxPerMinute: 100);
        Assert.Equal(NotificationDecision.Send, limiter.Admit(Idle("a")));
        clock.Advance(TimeSpan.FromHours(-1));
        Assert.Equal(NotificationDecision.Send, limiter.Admit(Idle("a")));
    }

    [Fact]
    public void Memory_stays_bounded_with_many_agents()
    {
        var clock = new ManualClock(T0);
        var limiter = new NotificationLimiter(clock, TimeSpan.FromSeconds(30), maxPerMinute: 600);
        for (int i = 0; i < 5000; i++)
        {
            Assert.Equal(NotificationDecision.Send, limiter.Admit(Idle($"agent-{i}")));
            clock.Advance(TimeSpan.FromSeconds(0.5));
        }
        Assert.True(limiter.RememberedKeys <= 1024, limiter.RememberedKeys.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Arguments_are_checked()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new NotificationLimiter(TimeProvider.System, TimeSpan.FromSeconds(-1), 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NotificationLimiter(TimeProvider.System, TimeSpan.Zero, 0));
    }
}
