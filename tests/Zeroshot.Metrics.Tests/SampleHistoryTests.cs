using System.Reflection;

namespace Zeroshot.Metrics.Tests;

public class SampleHistoryTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 4, 18, 0, 0, TimeSpan.Zero);

    // Every property set to something other than its default, so a value the ring forgot to keep shows up as inequality.
    private static TreeSample Full(int i) => new()
    {
        Timestamp = T0.AddSeconds(i), Pid = 100 + i, Exists = true, State = 'S', CpuPercent = 1.5 + i, MemoryMB = 40.25 + i,
        IoReadBytesPerSec = 10 + i, IoWriteBytesPerSec = 20 + i, ReadCharsPerSec = 30 + i, WriteCharsPerSec = 40 + i,
        NetRxBytesPerSec = 50 + i, NetTxBytesPerSec = 60 + i,
        NetworkState = new NetworkState(2, 300, 400) { Connecting = 1, LastReceiveMs = 1234 + i },
        ChildCount = 3 + i, Threads = 14 + i, Blocked = 1, RootWakeups = 7 + i,
    };

    [Fact]
    public void A_sample_comes_back_equal_in_every_property()
    {
        var sample = Full(1);
        foreach (var property in typeof(TreeSample).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var value = property.GetValue(sample);
            var fallback = property.PropertyType.IsValueType ? Activator.CreateInstance(property.PropertyType) : null;
            Assert.False(Equals(value, fallback), $"the test sets no value for TreeSample.{property.Name}: add it to Full");
        }

        var history = new SampleHistory(4);
        history.Add(sample);

        Assert.Equal(sample, Assert.Single(history.Snapshot()));
        Assert.Equal(sample, history.Latest);
        Assert.Equal(TreeSample.Gone(9, T0), AddAndTake(TreeSample.Gone(9, T0)));
    }

    [Fact]
    public void The_ring_keeps_the_newest_oldest_first()
    {
        var history = new SampleHistory(3);
        Assert.Empty(history.Snapshot());
        Assert.Null(history.Latest);

        for (int i = 0; i < 5; i++) history.Add(Full(i));

        Assert.Equal(3, history.Count);
        Assert.Equal([Full(2), Full(3), Full(4)], history.Snapshot());
        Assert.Equal(Full(4), history.Latest);
    }

    private static TreeSample AddAndTake(TreeSample sample)
    {
        var history = new SampleHistory(1);
        history.Add(sample);
        return history.Snapshot()[0];
    }
}
