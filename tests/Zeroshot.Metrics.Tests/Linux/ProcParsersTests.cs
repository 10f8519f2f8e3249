using System.Text;
using Zeroshot.Metrics.Linux;

namespace Zeroshot.Metrics.Tests.Linux;

public class ProcParsersTests
{
    // Captured from this machine (kernel 6.18): a bash, init, a kernel thread, and processes whose
    // executables were named "a)( ) b" and " 12) S 9 (x" to attack naive parsers.
    private const string BashStat = "7493 (bash) S 7491 7491 1024 0 -1 4194368 110 128 0 1 0 0 0 0 20 0 1 0 64145 4939776 481 18446744073709551615 94494967279616 94494968069021 140729634538672 0 0 0 65536 6 81920 1 0 0 17 0 0 0 0 0 0 94494968302320 94494968350564 94495493533696 140729634540158 140729634540173 140729634540173 140729634541546 0\n";
    private const string InitStat = "1 (process_api) S 0 0 0 0 -1 4194560 46087 765103 0 197 65 256 4467 1195 10 -10 13 0 24 47366144 3934 18446744073709551615 1 1 0 0 0 0 0 4096 1256 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
    private const string KthreadStat = "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 24 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
    private const string ParenStat = "7496 (a)( ) b) S 1 7491 1024 0 -1 4194304 98 0 0 0 0 0 0 0 20 0 1 0 64146 2990080 423 18446744073709551615 94567073763328 94567073781257 140735755787744 0 0 0 0 0 0 1 0 0 17 1 0 0 0 0 0 94567073795344 94567073796608 94567857684480 140735755790819 140735755790836 140735755790836 140735755792363 0\n";
    private const string FakeFieldsStat = "7545 ( 12) S 9 (x) S 1 7534 1024 0 -1 4194304 139 0 0 0 0 0 0 0 20 0 1 0 64454 2990080 424 18446744073709551615 94753393303552 94753393321481 140724884172160 0 0 0 0 6 0 1 0 0 17 0 0 0 0 0 0 94753393335568 94753393336832 94753637019648 140724884179415 140724884179436 140724884179436 140724884180967 0\n";

    private static ProcStat Parse(string line) => ProcParsers.ParseStat(Encoding.UTF8.GetBytes(line));

    [Fact]
    public void Stat_of_a_shell()
    {
        var s = Parse(BashStat);
        Assert.Equal(new ProcStat(7493, 'S', 7491, 0, 0, 0, 0, 1, 64145, 481), s);
    }

    [Fact]
    public void Stat_of_init_with_cpu_and_child_cpu()
    {
        var s = Parse(InitStat);
        Assert.Equal((1, 'S', 0), (s.Pid, s.State, s.ParentPid));
        Assert.Equal((65ul, 256ul, 4467ul, 1195ul), (s.UserTicks, s.SystemTicks, s.ChildUserTicks, s.ChildSystemTicks));
        Assert.Equal(13, s.Threads);
        Assert.Equal(24ul, s.StartTimeTicks);
        Assert.Equal(65ul + 256 + 4467 + 1195, s.TotalTicks);
    }

    [Fact]
    public void Stat_of_a_kernel_thread() => Assert.Equal(new ProcStat(2, 'S', 0, 0, 0, 0, 0, 1, 24, 0), Parse(KthreadStat));

    [Theory]
    [InlineData(ParenStat, 7496, "a)( ) b", 1, 64146ul)]
    [InlineData(FakeFieldsStat, 7545, " 12) S 9 (x", 1, 64454ul)]
    public void The_name_ends_at_the_last_parenthesis(string line, int pid, string name, int ppid, ulong start)
    {
        var s = Parse(line);
        Assert.Equal((pid, 'S', ppid, start), (s.Pid, s.State, s.ParentPid, s.StartTimeTicks));
        Assert.Equal(name, ProcParsers.ParseStatName(Encoding.UTF8.GetBytes(line)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("7493 bash S 1 2 3")]                               // no parentheses
    [InlineData("7493 (bash) S 7491 7491")]                         // truncated before starttime
    [InlineData("7493 (bash) S 7491 7491 1024 0 -1 4194368 110 128 0 1 0 0 0 0 20 0 1 0 64145 4939776")] // no rss
    [InlineData("7493 (bash) S -7491 7491 1024 0 -1 4194368 110 128 0 1 0 0 0 0 20 0 1 0 64145 4939776 481")] // negative ppid
    [InlineData("7493 (bash) SS 7491 7491 1024 0 -1 4194368 110 128 0 1 0 0 0 0 20 0 1 0 64145")] // state not a letter
    [InlineData("x (bash) S 7491 7491 1024 0 -1 4194368 110 128 0 1 0 0 0 0 20 0 1 0 64145")]     // pid not a number
    [InlineData("7493 (bash) S 7491 7491 1024 0 -1 4194368 110 128 0 1 zz 0 0 0 20 0 1 0 64145")] // utime not a number
    public void Malformed_stat_is_invalid_data(string line) =>
        Assert.Throws<InvalidDataException>(() => Parse(line));

    [Fact]
    public void Resident_pages_are_field_24() => Assert.Equal(481ul, Parse(BashStat).ResidentPages);

    [Fact]
    public void Io_counters()
    {
        var io = ProcParsers.ParseIo("rchar: 54556\nwchar: 43888\nsyscr: 17\nsyscw: 1\nread_bytes: 151552\nwrite_bytes: 45056\ncancelled_write_bytes: 0\n"u8);
        Assert.Equal(new ProcIo(54556, 43888, 151552, 45056), io);
    }

    [Theory]
    [InlineData("rchar: 1\nwchar: 2\nread_bytes: 3\n")]             // write_bytes missing
    [InlineData("rchar: 1\nwchar: 2\nread_bytes: 3\nwrite_bytes: -4\n")]
    [InlineData("garbage\n")]
    public void Malformed_io(string content) =>
        Assert.Throws<InvalidDataException>(() => ProcParsers.ParseIo(Encoding.ASCII.GetBytes(content)));

    [Fact]
    public void Timeslices_from_schedstat()
    {
        Assert.Equal(2ul, ProcParsers.ParseSchedstatTimeslices("1248549 547248 2\n"u8));
        Assert.Equal(18446744073709551615ul, ProcParsers.ParseSchedstatTimeslices("0 0 18446744073709551615"u8));
        foreach (var bad in new[] { "", "\n", "1 2\n", "1 2 3 4\n", "1 2 x\n", "1  3\n", "-1 2 3\n" })
            Assert.Throws<InvalidDataException>(() => ProcParsers.ParseSchedstatTimeslices(Encoding.ASCII.GetBytes(bad)));
    }

    [Fact]
    public void Last_pid_from_loadavg()
    {
        Assert.Equal(15775L, ProcParsers.ParseLoadAvgLastPid("0.14 0.66 1.04 1/201 15775\n"u8));
        Assert.Equal(4194304L, ProcParsers.ParseLoadAvgLastPid("12.00 8.50 3.25 17/3120 4194304"u8));
        foreach (var bad in new[] { "", "\n", "15775\n", "0.14 0.66 1.04 15775\n", "0.14 0.66 1.04 1/201 x\n", "0.14 0.66 1.04 1/201 -5\n",
                     "0.14 0.66 1.04 1/201 15775 9\n", "0.14 0.66 1.04 1-201 15775\n", "0.14 0.66 1.04 1/201 \n" })
            Assert.Throws<InvalidDataException>(() => ProcParsers.ParseLoadAvgLastPid(Encoding.ASCII.GetBytes(bad)));
    }

    [Fact]
    public void Pss_from_smaps_rollup()
    {
        const string rollup = "55c3cd53d000-7ffe1e952000 ---p 00000000 00:00 0                          [rollup]\nRss:                1756 kB\nPss:                 354 kB\nPss_Dirty:           112 kB\nPss_Anon:            112 kB\n";
        Assert.Equal(354ul, ProcParsers.ParseSmapsRollupPssKb(Encoding.ASCII.GetBytes(rollup)));
        Assert.Throws<InvalidDataException>(() => ProcParsers.ParseSmapsRollupPssKb("Rss: 1 kB\n"u8));
    }
}
