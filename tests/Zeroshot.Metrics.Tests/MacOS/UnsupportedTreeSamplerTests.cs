using System.Diagnostics;

namespace Zeroshot.Metrics.Tests.MacOS;

public class UnsupportedTreeSamplerTests
{
    [Fact]
    public void LiveProcessExistsWithEveryMetricNull()
    {
        var clock = new ManualClock();
        using var sampler = new UnsupportedTreeSampler(clock);
        var into = new List<TreeSample>();

        sampler.Sample([Environment.ProcessId], into);

        TreeSample s = Assert.Single(into);
        Assert.Equal(new TreeSample { Timestamp = clock.GetUtcNow(), Pid = Environment.ProcessId, Exists = true }, s);
    }

    [Fact]
    public void ExitedProcessDoesNotExist()
    {
        using var child = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        child.WaitForExit(); // reaped by the runtime, so kill(pid, 0) gives ESRCH
        int pid = child.Id;
        using var sampler = new UnsupportedTreeSampler(new ManualClock());
        var into = new List<TreeSample>();

        sampler.Sample([pid, Environment.ProcessId], into);

        Assert.False(into[0].Exists);
        Assert.True(into[1].Exists);
        Assert.Equal(pid, into[0].Pid);
    }

    [Fact]
    public void GoneStaysGoneUntilForgotten()
    {
        bool alive = false;
        var clock = new ManualClock();
        using var sampler = new UnsupportedTreeSampler(clock, _ => alive);
        var into = new List<TreeSample>();

        sampler.Sample([42], into);
        alive = true; // the pid was recycled
        clock.Advance(TimeSpan.FromSeconds(1));
        sampler.Sample([42], into);
        Assert.False(into[1].Exists);
        Assert.Equal(clock.GetUtcNow(), into[1].Timestamp);

        sampler.Sample([7], into);  // 42 not passed: forgotten
        sampler.Sample([42], into);
        Assert.True(into[3].Exists);
    }

    [Theory]
    [InlineData(0, 0, true)]
    [InlineData(-1, 3, false)] // ESRCH
    [InlineData(-1, 1, true)]  // EPERM: exists, not ours
    public void KillResultMapping(int rc, int errno, bool exists) =>
        Assert.Equal(exists, UnsupportedTreeSampler.ExistsFromKill(rc, errno));

    [Fact]
    public void NonPositivePidsNeverExist()
    {
        Assert.False(UnsupportedTreeSampler.ProcessExists(0));
        Assert.False(UnsupportedTreeSampler.ProcessExists(-1));
    }
}
