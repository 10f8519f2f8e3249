using System.Globalization;
using System.Text;
using Zeroshot.Metrics.MacOS;

namespace Zeroshot.Metrics.Tests.MacOS;

public class MacTreeSamplerTests
{
    private static readonly ToolResult NoSockets = new(ToolStatus.Ok, "");

    private readonly ManualClock _clock = new();
    private readonly ScriptedPs _ps = new();

    private MacTreeSampler Create(ScriptedLsof? lsof = null, bool network = true) =>
        new(new SamplerOptions { Network = network }, _clock, new PsProcessSource(_ps.Next), lsof is null ? null : lsof.Run);

    private static List<TreeSample> Tick(MacTreeSampler sampler, params int[] roots)
    {
        var into = new List<TreeSample>();
        sampler.Sample(roots, into);
        Assert.Equal(roots.Length, into.Count);
        return into;
    }

    [Fact]
    public void FirstSampleIsBaselineWithTreeTotals()
    {
        _ps.Then(Fixtures.Read("ps_table.txt"));
        using MacTreeSampler sampler = Create();

        TreeSample s = Tick(sampler, 4242)[0];

        Assert.True(s.Exists);
        Assert.Equal(4242, s.Pid);
        Assert.Equal(_clock.GetUtcNow(), s.Timestamp);
        Assert.Equal('S', s.State);
        Assert.Equal(6, s.ChildCount); // 4250, 4251, 4252 (zombie), 4300, 4260, 4261 — not 5000/5001 or parents
        Assert.Equal((3344 + 204800 + 51200 + 0 + 10240 + 2048 + 1024) / 1024.0, s.MemoryMB);
        Assert.Null(s.CpuPercent);  // baseline
        Assert.Null(s.Threads);     // ps has no thread count
        Assert.Null(s.NetworkState); // no lsof configured
        Assert.Null(s.IoReadBytesPerSec);
        Assert.Null(s.IoWriteBytesPerSec);
        Assert.Null(s.ReadCharsPerSec);
        Assert.Null(s.WriteCharsPerSec);
        Assert.Null(s.NetRxBytesPerSec);
        Assert.Null(s.NetTxBytesPerSec);
    }

    [Fact]
    public void CpuPercentFromIncrementsOverMonotonicTime()
    {
        _ps.Then(Fixtures.Read("ps_table.txt")).Then(Fixtures.Read("ps_table_tick2.txt"));
        using MacTreeSampler sampler = Create();
        Tick(sampler, 4242, 4260);
        _clock.Advance(TimeSpan.FromSeconds(2));

        List<TreeSample> s = Tick(sampler, 4242, 4260);

        // 4250 +2.00 s, 4300 +0.50 s, new 4400 0.25 s; 4251 exited (no negative contribution).
        Assert.Equal(137.5, s[0].CpuPercent!.Value, 6);
        Assert.Equal(6, s[0].ChildCount);
        Assert.Equal('S', s[1].State);
        Assert.Equal(0.0, s[1].CpuPercent);
        Assert.Equal(1, s[1].ChildCount);
    }

    [Fact]
    public void RecycledPidReportsGoneForGood()
    {
        string table = Fixtures.Read("ps_table.txt");
        string recycled = table.Replace(" 4260  4242 Tue Nov  3 09:05:01 2026", " 4260     1 Mon Nov 23 23:40:00 2026", StringComparison.Ordinal);
        Assert.NotEqual(table, recycled);
        _ps.Then(table).Then(recycled).Then(table);
        using MacTreeSampler sampler = Create();

        Assert.True(Tick(sampler, 4260)[0].Exists);
        TreeSample gone = Tick(sampler, 4260)[0];
        Assert.False(gone.Exists);
        Assert.Null(gone.MemoryMB);
        Assert.Null(gone.ChildCount);
        // Even if a table with the old start time showed up again, a root once gone stays gone.
        Assert.False(Tick(sampler, 4260)[0].Exists);
    }

    [Fact]
    public void VanishedRootIsGoneAndForgottenRootStartsOver()
    {
        string table = Fixtures.Read("ps_table.txt");
        _ps.Then(table).Then(table).Then(table).Then(table);
        using MacTreeSampler sampler = Create();

        Assert.False(Tick(sampler, 999_999)[0].Exists); // never existed
        Tick(sampler, 4242);
        Tick(sampler, 5000); // 4242 not passed: forgotten
        TreeSample again = Tick(sampler, 4242)[0];
        Assert.True(again.Exists);
        Assert.Null(again.CpuPercent); // a new baseline
    }

    [Fact]
    public void DuplicateRootInOneTickGetsTheSameSample()
    {
        _ps.Then(Fixtures.Read("ps_table.txt")).Then(Fixtures.Read("ps_table_tick2.txt"));
        using MacTreeSampler sampler = Create();
        Tick(sampler, 4242);
        _clock.Advance(TimeSpan.FromSeconds(2));
        List<TreeSample> s = Tick(sampler, 4242, 4242);
        Assert.Equal(s[0], s[1]);
        Assert.Equal(137.5, s[1].CpuPercent!.Value, 6);
    }

    [Fact]
    public void PsFailureBlanksMetricsButKeepsBaseline()
    {
        int self = Environment.ProcessId;
        string Line(string time) => string.Create(CultureInfo.InvariantCulture, $"{self} 1 Mon Nov 23 23:00:00 2026 {time} 2048 R\n");
        _ps.Then(Line("0:01.00")).Then(null).Then(Line("0:04.00"));
        using MacTreeSampler sampler = Create();

        Tick(sampler, self);
        _clock.Advance(TimeSpan.FromSeconds(1));
        TreeSample failed = Tick(sampler, self)[0];
        Assert.True(failed.Exists); // from kill(pid, 0): this test process exists
        Assert.Null(failed.CpuPercent);
        Assert.Null(failed.MemoryMB);
        Assert.Null(failed.State);

        _clock.Advance(TimeSpan.FromSeconds(2));
        TreeSample next = Tick(sampler, self)[0];
        Assert.Equal(100.0, next.CpuPercent!.Value, 6); // 3 s of CPU over the 3 s since the last good tick
    }

    [Fact]
    public void MalformedPsOutputCountsAndBlanks()
    {
        _ps.Then("this is not ps output\n");
        using MacTreeSampler sampler = Create();
        TreeSample s = Tick(sampler, Environment.ProcessId)[0];
        Assert.Equal(1, sampler.MalformedReads);
        Assert.Null(s.MemoryMB);
        Assert.Null(s.ChildCount);
    }

    [Fact]
    public void DeepChainIsWalkedWithoutRecursion()
    {
        const int depth = 50_000;
        var sb = new StringBuilder();
        for (int pid = 10; pid < 10 + depth; pid++)
            sb.Append(CultureInfo.InvariantCulture, $"{pid} {pid - 1} Mon Nov 23 23:00:00 2026 0:00.01 4 S\n");
        _ps.Then(sb.ToString());
        using MacTreeSampler sampler = Create();

        TreeSample s = Tick(sampler, 10)[0];
        Assert.Equal(depth - 1, s.ChildCount);
        Assert.Equal(depth * 4 / 1024.0, s.MemoryMB);
    }

    [Fact]
    public void ParentCycleTerminates()
    {
        // Cannot happen in a consistent snapshot, but a torn one must not loop forever.
        _ps.Then("20 21 Mon Nov 23 23:00:00 2026 0:00.01 4 S\n21 20 Mon Nov 23 23:00:00 2026 0:00.01 4 S\n");
        using MacTreeSampler sampler = Create();
        Assert.Equal(1, Tick(sampler, 20)[0].ChildCount);
    }

    [Fact]
    public void NetworkStateFromOneLsofForTheWholeTree()
    {
        var lsof = new ScriptedLsof(new ToolResult(ToolStatus.Ok, Fixtures.Read("lsof_tcp.txt")));
        _ps.Then(Fixtures.Read("ps_table.txt"));
        using MacTreeSampler sampler = Create(lsof);

        List<TreeSample> s = Tick(sampler, 4242, 5000);

        Assert.Single(lsof.Calls);
        Assert.Equal(new[] { 4242, 4250, 4260, 4251, 4252, 4300, 4261, 5000, 5001 }.Order(), lsof.Calls[0].Order());
        // 4251 vanished before lsof ran: simply absent. 4250 + 4261 for the first tree.
        Assert.Equal(new NetworkState(3, 717, 1580), s[0].NetworkState);
        Assert.Equal(new NetworkState(1, 6, 5), s[1].NetworkState);
    }

    [Fact]
    public void LsofRunsAtMostEveryFiveSecondsPerTree()
    {
        var lsof = new ScriptedLsof(new ToolResult(ToolStatus.Ok, Fixtures.Read("lsof_tcp.txt")));
        string table = Fixtures.Read("ps_table.txt");
        for (int i = 0; i < 4; i++)
            _ps.Then(table);
        using MacTreeSampler sampler = Create(lsof);

        Tick(sampler, 4242);
        _clock.Advance(TimeSpan.FromSeconds(2));
        lsof.Result = NoSockets;
        TreeSample reused = Tick(sampler, 4242)[0];
        Assert.Single(lsof.Calls);
        Assert.Equal(new NetworkState(3, 717, 1580), reused.NetworkState); // last value reused

        _clock.Advance(TimeSpan.FromSeconds(3));
        TreeSample fresh = Tick(sampler, 4242)[0];
        Assert.Equal(2, lsof.Calls.Count);
        Assert.Equal(new NetworkState(0, 0, 0), fresh.NetworkState);

        // A new tree is due at once, the throttled one is not asked about.
        _clock.Advance(TimeSpan.FromSeconds(1));
        Tick(sampler, 4242, 5000);
        Assert.Equal(3, lsof.Calls.Count);
        Assert.Equal(new[] { 5000, 5001 }, lsof.Calls[2].Order());
    }

    [Fact]
    public void MissingLsofBlanksNetworkForGood()
    {
        var lsof = new ScriptedLsof(new ToolResult(ToolStatus.Missing, ""));
        string table = Fixtures.Read("ps_table.txt");
        _ps.Then(table).Then(table);
        using MacTreeSampler sampler = Create(lsof);

        Assert.Null(Tick(sampler, 4242)[0].NetworkState);
        _clock.Advance(TimeSpan.FromSeconds(10));
        TreeSample s = Tick(sampler, 4242)[0];
        Assert.Null(s.NetworkState);
        Assert.NotNull(s.MemoryMB);
        Assert.Single(lsof.Calls);
    }

    [Fact]
    public void MalformedOrFailedLsofBlanksOnlyTheNetworkColumn()
    {
        var lsof = new ScriptedLsof(new ToolResult(ToolStatus.Ok, "p4250\nTQR=oops\n"));
        string table = Fixtures.Read("ps_table.txt");
        _ps.Then(table).Then(table);
        using MacTreeSampler sampler = Create(lsof);

        TreeSample s = Tick(sampler, 4242)[0];
        Assert.Null(s.NetworkState);
        Assert.Equal(6, s.ChildCount);
        Assert.Equal('S', s.State);
        Assert.Equal(1, sampler.MalformedReads);

        lsof.Result = new ToolResult(ToolStatus.Failed, "");
        _clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Null(Tick(sampler, 4242)[0].NetworkState);
        Assert.Equal(2, lsof.Calls.Count); // failed is retried, unlike missing
    }

    [Fact]
    public void NetworkOptionOffNeverRunsLsof()
    {
        var lsof = new ScriptedLsof(NoSockets);
        _ps.Then(Fixtures.Read("ps_table.txt"));
        using MacTreeSampler sampler = Create(lsof, network: false);
        Assert.Null(Tick(sampler, 4242)[0].NetworkState);
        Assert.Empty(lsof.Calls);
    }

    [Fact]
    public void GoneRootIsNotAskedAboutSockets()
    {
        var lsof = new ScriptedLsof(NoSockets);
        _ps.Then(Fixtures.Read("ps_table.txt"));
        using MacTreeSampler sampler = Create(lsof);
        Assert.False(Tick(sampler, 999_999)[0].Exists);
        Assert.Empty(lsof.Calls);
    }
}
