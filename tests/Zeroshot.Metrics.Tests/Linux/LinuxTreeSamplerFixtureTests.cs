using Zeroshot.Metrics.Linux;
using Zeroshot.Metrics.Tests.Support;

namespace Zeroshot.Metrics.Tests.Linux;

/// <summary>Tree aggregation and rate arithmetic against a fixture procfs and an injected clock.</summary>
public sealed class LinuxTreeSamplerFixtureTests : IDisposable
{
    private const double MiB = 1024 * 1024;
    private readonly FixtureProcFs _fs = new();
    private readonly ManualTime _time = new();
    private readonly LinuxTreeSampler _sampler;

    public LinuxTreeSamplerFixtureTests()
    {
        _sampler = new LinuxTreeSampler(new SamplerOptions { Network = false }, _time, _fs.Layout, net: null, ownsNet: false);
    }

    public void Dispose()
    {
        _sampler.Dispose();
        _fs.Dispose();
    }

    private TreeSample Tick(int root, double seconds = 1) => Tick([root], seconds)[0];

    private List<TreeSample> Tick(int[] roots, double seconds = 1)
    {
        _time.Advance(TimeSpan.FromSeconds(seconds));
        var into = new List<TreeSample>();
        _sampler.Sample(roots, into);
        return into;
    }

    [Fact]
    public void First_sample_is_a_baseline_with_state_memory_and_tree_shape_but_no_rates()
    {
        _fs.SetProcess(1, 0, 1);
        _fs.SetProcess(100, 1, 5000, utime: 7, threads: 3, rssPages: 256, state: 'R');
        _fs.SetProcess(101, 100, 5001, threads: 2, rssPages: 512);
        _fs.SetProcess(102, 101, 5002, rssPages: 256);
        _fs.SetProcess(200, 1, 4000, rssPages: 9999); // not in the tree

        var s = Tick(100);

        Assert.True(s.Exists);
        Assert.Equal('R', s.State);
        Assert.Equal(2, s.ChildCount);
        Assert.Equal(6, s.Threads);
        Assert.Equal(1024 * 4096 / MiB, s.MemoryMB);
        Assert.Null(s.CpuPercent);
        Assert.Null(s.IoWriteBytesPerSec);
    }

    [Fact]
    public void Cpu_is_the_tree_sum_in_percent_of_one_core_over_fractional_seconds()
    {
        _fs.SetProcess(100, 1, 5000, utime: 10);
        _fs.SetProcess(101, 100, 5001, utime: 10);
        _fs.SetProcess(200, 1, 4000, utime: 10);
        Tick(100);

        _fs.SetProcess(100, 1, 5000, utime: 120, stime: 10);    // 1.2 s of CPU
        _fs.SetProcess(101, 100, 5001, utime: 70, stime: 20);  // 0.8 s (from 10)
        _fs.SetProcess(200, 1, 4000, utime: 500);              // outside the tree
        var s = Tick(100, seconds: 0.5);

        // 2.0 CPU-seconds in 0.5 s = four cores busy = 400 %.
        Assert.Equal(400.0, s.CpuPercent!.Value, precision: 9);
    }

    [Fact]
    public void Io_rates_are_tree_sums_of_counter_deltas()
    {
        _fs.SetProcess(100, 1, 5000, io: (1000, 2000, 4096, 8192));
        _fs.SetProcess(101, 100, 5001, io: (0, 0, 0, 0));
        Tick(100);
        _fs.SetProcess(100, 1, 5000, io: (3000, 2000, 4096, 8192 + 4096));
        _fs.SetProcess(101, 100, 5001, io: (500, 1000, 0, 4096));
        var s = Tick(100, seconds: 2);

        Assert.Equal(1250, s.ReadCharsPerSec);
        Assert.Equal(500, s.WriteCharsPerSec);
        Assert.Equal(0, s.IoReadBytesPerSec);
        Assert.Equal(4096, s.IoWriteBytesPerSec);
    }

    [Fact]
    public void A_child_born_since_the_last_tick_counts_from_zero()
    {
        _fs.SetProcess(100, 1, 5000);
        Tick(100);
        _fs.SetProcess(101, 100, 5100, utime: 30, io: (0, 0, 0, 1000));
        var s = Tick(100);
        Assert.Equal(30.0, s.CpuPercent!.Value, precision: 9);
        Assert.Equal(1000, s.IoWriteBytesPerSec);
        Assert.Equal(1, s.ChildCount);
    }

    [Fact]
    public void A_child_that_exits_keeps_its_last_interval_without_counting_its_life_twice()
    {
        _fs.SetProcess(100, 1, 5000, utime: 5);
        _fs.SetProcess(101, 100, 5001, utime: 40, io: (0, 0, 0, 100));
        Tick(100);
        _fs.SetProcess(101, 100, 5001, utime: 60, io: (0, 0, 0, 300)); // +20 ticks, +200 bytes
        Assert.Equal(20.0, Tick(100).CpuPercent!.Value, precision: 9);

        // 101 runs 15 more ticks, exits and is reaped by 100: its whole life (75) lands in 100's cutime,
        // its I/O (400) in 100's io (kernel/exit.c). Only the 15 ticks and 100 bytes are new.
        _fs.Remove(101);
        _fs.SetProcess(100, 1, 5000, utime: 5, cutime: 75, io: (0, 0, 0, 400));
        var s = Tick(100);
        Assert.Equal(15.0, s.CpuPercent!.Value, precision: 9);
        Assert.Equal(100, s.IoWriteBytesPerSec);
        Assert.Equal(0, s.ChildCount);
    }

    [Fact]
    public void A_grandchild_reaped_by_a_child_reaped_by_the_root_is_reconciled_through_the_chain()
    {
        _fs.SetProcess(100, 1, 5000);
        _fs.SetProcess(101, 100, 5001, utime: 10);
        _fs.SetProcess(102, 101, 5002, utime: 20);
        Tick(100);
        // 102 did 5 more and was reaped by 101 (cutime 25); 101 did 3 more and was reaped by 100.
        _fs.Remove(102);
        _fs.Remove(101);
        _fs.SetProcess(100, 1, 5000, cutime: 13 + 25);
        Assert.Equal(8.0, Tick(100).CpuPercent!.Value, precision: 9);
    }

    [Fact]
    public void A_child_that_lived_only_between_two_ticks_is_counted_through_its_parent()
    {
        _fs.SetProcess(100, 1, 5000, utime: 1);
        Tick(100);
        _fs.SetProcess(100, 1, 5000, utime: 1, cutime: 42, cstime: 8);
        Assert.Equal(50.0, Tick(100).CpuPercent!.Value, precision: 9);
    }

    [Fact]
    public void An_orphan_reaped_elsewhere_never_makes_cpu_negative()
    {
        _fs.SetProcess(100, 1, 5000, utime: 10);
        _fs.SetProcess(101, 100, 5001, utime: 500);
        Tick(100);
        _fs.Remove(101); // reaped by init: the root's cutime does not move
        _fs.SetProcess(100, 1, 5000, utime: 12);
        Assert.Equal(2.0, Tick(100).CpuPercent!.Value, precision: 9);
    }

    [Fact]
    public void A_recycled_root_pid_is_another_process_and_the_root_is_gone()
    {
        _fs.SetProcess(100, 1, 5000);
        Assert.True(Tick(100).Exists);
        // Same pid, later start time. (On procfs the old handle fails with ESRCH and a reopen reads the
        // new process; a fixture file rewritten in place gives the sampler the same view.)
        _fs.SetProcess(100, 1, 9000, utime: 999);
        var s = Tick(100);
        Assert.False(s.Exists);
        Assert.Null(s.CpuPercent);
        Assert.Null(s.MemoryMB);
        Assert.False(Tick(100).Exists); // and stays gone
    }

    [Fact]
    public void A_recycled_child_pid_rewritten_in_place_is_not_diffed_against_the_old_process()
    {
        _fs.SetProcess(100, 1, 5000);
        _fs.SetProcess(101, 100, 5001, utime: 900);
        Tick(100);
        // Between ticks 101 exited (reaped by init) and the pid went to a new child of the root.
        _fs.SetProcess(101, 100, 6000, utime: 3);
        var s = Tick(100);
        Assert.True(s.CpuPercent is >= 0 and <= 3, $"cpu {s.CpuPercent}");
        var next = Tick(100);
        Assert.Equal(1, next.ChildCount);
    }

    [Fact]
    public void A_root_that_is_a_zombie_or_missing_is_gone()
    {
        _fs.SetProcess(100, 1, 5000, state: 'Z');
        Assert.False(Tick(100).Exists);
        Assert.False(Tick(4242).Exists);
    }

    [Fact]
    public void Unreadable_io_blanks_io_only_and_a_partial_tree_sums_what_it_can_read()
    {
        _fs.SetProcess(100, 1, 5000, utime: 1);
        File.Delete(Path.Combine(_fs.Root, "100", "io"));
        Tick(100);
        _fs.SetProcess(100, 1, 5000, utime: 11);
        File.Delete(Path.Combine(_fs.Root, "100", "io"));
        var alone = Tick(100);
        Assert.Null(alone.IoWriteBytesPerSec);
        Assert.Null(alone.ReadCharsPerSec);
        Assert.Equal(10.0, alone.CpuPercent!.Value, precision: 9);
        Assert.NotNull(alone.MemoryMB);

        _fs.SetProcess(101, 100, 5100, io: (0, 0, 0, 50));
        File.Delete(Path.Combine(_fs.Root, "100", "io"));
        Assert.Equal(50, Tick(100).IoWriteBytesPerSec);
    }

    [Fact]
    public void Malformed_content_is_counted_and_never_escapes()
    {
        _fs.SetProcess(100, 1, 5000);
        _fs.SetProcess(101, 100, 5001);
        File.WriteAllText(Path.Combine(_fs.Root, "101", "stat"), "101 (x) S garbage\n");
        File.WriteAllText(Path.Combine(_fs.Root, "100", "io"), "nonsense\n");
        var s = Tick(100);
        Assert.True(s.Exists);
        Assert.NotNull(s.MemoryMB);
        Assert.Equal(0, s.ChildCount);
        Assert.True(_sampler.MalformedReads >= 2);

        // Malformed smaps_rollup blanks memory only.
        using var pss = new LinuxTreeSampler(new SamplerOptions { UsePss = true, Network = false }, _time, _fs.Layout, null, false);
        File.WriteAllText(Path.Combine(_fs.Root, "100", "smaps_rollup"), "nonsense\n");
        var into = new List<TreeSample>();
        pss.Sample([100], into);
        Assert.Null(into[0].MemoryMB);
        Assert.NotNull(into[0].ChildCount);
    }

    [Fact]
    public void Several_trees_in_one_tick_and_forgotten_roots()
    {
        _fs.SetProcess(100, 1, 5000);
        _fs.SetProcess(101, 100, 5001);
        _fs.SetProcess(300, 1, 5300);
        var first = Tick([100, 300]);
        Assert.Equal([1, 0], first.Select(s => s.ChildCount!.Value));

        _fs.SetProcess(101, 100, 5001, utime: 10);
        _fs.SetProcess(300, 1, 5300, utime: 20);
        var second = Tick([100, 300]);
        Assert.Equal([10.0, 20.0], second.Select(s => s.CpuPercent!.Value));

        // 300 is not watched for a tick: its state is forgotten, so watching it again starts a baseline.
        Tick([100]);
        Assert.Null(Tick([300])[0].CpuPercent);
    }

    [Fact]
    public void Pss_is_read_on_request_only()
    {
        using var pssSampler = new LinuxTreeSampler(new SamplerOptions { UsePss = true, Network = false }, _time, _fs.Layout, null, false);
        _fs.SetProcess(100, 1, 5000, rssPages: 1000);
        File.WriteAllText(Path.Combine(_fs.Root, "100", "smaps_rollup"), "0-1 ---p 0 00:00 0 [rollup]\nRss: 4000 kB\nPss:                1024 kB\n");
        var into = new List<TreeSample>();
        pssSampler.Sample([100], into);
        Assert.Equal(1.0, into[0].MemoryMB);
        Assert.Equal(1000 * 4096 / MiB, Tick(100).MemoryMB);
    }
}

/// <summary>The listing of the process table is skipped while loadavg's last pid stands still (nothing was created).</summary>
public sealed class LinuxTreeSamplerListingTests : IDisposable
{
    private readonly FixtureProcFs _fs = new();
    private readonly ManualTime _time = new();

    public void Dispose() => _fs.Dispose();

    private void LastPid(long pid) => File.WriteAllText(Path.Combine(_fs.Root, "loadavg"), $"0.00 0.01 0.05 1/120 {pid}\n");

    private static TreeSample Tick(LinuxTreeSampler sampler, ManualTime time, int root)
    {
        time.Advance(TimeSpan.FromSeconds(1));
        var into = new List<TreeSample>();
        sampler.Sample([root], into);
        return into[0];
    }

    [Fact]
    public void A_new_child_is_found_once_a_pid_was_allocated()
    {
        using var sampler = new LinuxTreeSampler(new SamplerOptions { Network = false }, _time, _fs.Layout, null, false, lastPidKnown: true);
        _fs.SetProcess(100, 1, 5000);
        _fs.SetProcess(101, 100, 5001);
        LastPid(101);
        Assert.Equal(1, Tick(sampler, _time, 100).ChildCount);

        // The kernel allocated no pid: the table is not listed again, so a child that (in this fixture alone) appeared
        // without one is not seen. This is what makes the idle tick cheap.
        _fs.SetProcess(102, 100, 5002);
        Assert.Equal(1, Tick(sampler, _time, 100).ChildCount);

        // A pid was allocated: listed, found.
        LastPid(102);
        Assert.Equal(2, Tick(sampler, _time, 100).ChildCount);
        Assert.Equal(2, sampler.Listings);
        // (A member that exits is noticed by its own kept-open read failing, which a fixture's files cannot do: see
        // LinuxTreeSamplerProcessTests.A_child_that_exits_leaves_its_tree_in_a_tick_that_did_not_list.)
    }

    [Fact]
    public void The_table_is_listed_anyway_every_few_ticks()
    {
        using var sampler = new LinuxTreeSampler(new SamplerOptions { Network = false }, _time, _fs.Layout, null, false, lastPidKnown: true);
        _fs.SetProcess(100, 1, 5000);
        LastPid(100);
        Assert.Equal(0, Tick(sampler, _time, 100).ChildCount);
        _fs.SetProcess(101, 100, 5001);
        int ticks = 0;
        while (Tick(sampler, _time, 100).ChildCount == 0) Assert.True(++ticks < LinuxTreeSampler.ListEveryTicks, "never listed again");
        Assert.Equal(LinuxTreeSampler.ListEveryTicks - 1, ticks);
    }

    [Theory]
    [InlineData(true, "garbage\n")]
    [InlineData(true, null)]
    [InlineData(false, "0.00 0.01 0.05 1/120 100\n")]
    public void Without_a_usable_last_pid_every_tick_lists(bool lastPidKnown, string? loadavg)
    {
        using var sampler = new LinuxTreeSampler(new SamplerOptions { Network = false }, _time, _fs.Layout, null, false, lastPidKnown);
        if (loadavg is not null) File.WriteAllText(Path.Combine(_fs.Root, "loadavg"), loadavg);
        _fs.SetProcess(100, 1, 5000);
        Assert.Equal(0, Tick(sampler, _time, 100).ChildCount);
        _fs.SetProcess(101, 100, 5001);
        Assert.Equal(1, Tick(sampler, _time, 100).ChildCount);
        Assert.Equal(loadavg == "garbage\n" ? 2 : 0, sampler.MalformedReads);
    }
}
