using Zeroshot.Metrics.MacOS;

namespace Zeroshot.Metrics.Tests.MacOS;

public class PsOutputParserTests
{
    [Fact]
    public void ParsesRecordedTable()
    {
        var rows = new List<PsRow>();
        PsOutputParser.Parse(Fixtures.Read("ps_table.txt"), rows);

        Assert.Equal(13, rows.Count);
        PsRow node = rows.Single(r => r.Pid == 4250);
        Assert.Equal(4242, node.Ppid);
        Assert.Equal(62_500_000_000L, node.CpuNs);
        Assert.Equal(204800, node.RssKiB);
        Assert.Equal('R', node.State);
        Assert.Equal('Z', rows.Single(r => r.Pid == 4252).State);
        Assert.Equal('U', rows.Single(r => r.Pid == 4260).State);
        Assert.Equal((1337L * 60 + 2) * 1_000_000_000 + 110_000_000, rows.Single(r => r.Pid == 845).CpuNs);
        Assert.Equal(0, rows.Single(r => r.Pid == 0).Ppid);
    }

    [Fact]
    public void StartTimeDistinguishesSecondsAndPaddedDays()
    {
        var rows = new List<PsRow>();
        PsOutputParser.Parse(Fixtures.Read("ps_table.txt"), rows);
        long a = rows.Single(r => r.Pid == 4242).StartSeconds;
        long b = rows.Single(r => r.Pid == 4250).StartSeconds;
        long padded = rows.Single(r => r.Pid == 4260).StartSeconds; // "Tue Nov  3 09:05:01 2026"
        Assert.Equal(1, b - a);
        Assert.Equal(new DateTime(2026, 11, 3, 9, 5, 1).Ticks / TimeSpan.TicksPerSecond, padded);
    }

    [Theory]
    [InlineData("0:00.03", 30_000_000L)]
    [InlineData("12:34.56", 754_560_000_000L)]
    [InlineData("1337:02.11", 80_222_110_000_000L)]
    [InlineData("01:02:03", 3_723_000_000_000L)]
    [InlineData("2-01:00:00", 176_400_000_000_000L)]
    [InlineData("0:01.5", 1_500_000_000L)]
    public void ParsesCpuTimeForms(string text, long expectedNs) =>
        Assert.Equal(expectedNs, PsOutputParser.ParseCpuTime(text));

    [Theory]
    [InlineData("")]
    [InlineData("12")]
    [InlineData("1:2:3:4")]
    [InlineData("a:00.00")]
    [InlineData("1-02:03")]
    [InlineData("0:00.")]
    [InlineData("99999999999:00:00")]
    public void RejectsBadCpuTime(string text) => Assert.Null(PsOutputParser.ParseCpuTime(text));

    [Fact]
    public void EmptyOutputIsAnEmptyTable()
    {
        var rows = new List<PsRow>();
        PsOutputParser.Parse("\n  \n", rows);
        Assert.Empty(rows);
    }

    [Theory]
    [InlineData(" 4250  4242 Mon Nov 23 23:10:06 2026   1:02.50 204800")]                    // state missing
    [InlineData(" 4250  4242 Mon Nov 23 23:10:06 2026   1:02.50 204800 R+ node")]            // extra column
    [InlineData(" 42x0  4242 Mon Nov 23 23:10:06 2026   1:02.50 204800 R+")]                 // pid
    [InlineData(" 4250  -1 Mon Nov 23 23:10:06 2026   1:02.50 204800 R+")]                   // ppid
    [InlineData(" 4250  4242 Mon Foo 23 23:10:06 2026   1:02.50 204800 R+")]                 // month
    [InlineData(" 4250  4242 Mon Feb 30 23:10:06 2026   1:02.50 204800 R+")]                 // day
    [InlineData(" 4250  4242 Mon Nov 23 25:10:06 2026   1:02.50 204800 R+")]                 // hour
    [InlineData(" 4250  4242 Mon Nov 23 23:10 2026   1:02.50 204800 R+ x")]                  // time of day
    [InlineData(" 4250  4242 lun. nov. 23 23:10:06 2026   1:02.50 204800 R+")]               // localized
    [InlineData(" 4250  4242 Mon Nov 23 23:10:06 2026   1:02,50 204800 R+")]                 // decimal comma
    [InlineData(" 4250  4242 Mon Nov 23 23:10:06 2026   1:02.50 -4 R+")]                     // rss
    [InlineData(" 4250  4242 Mon Nov 23 23:10:06 2026   1:02.50 204800 +")]                  // state
    public void MalformedLineThrowsInvalidData(string line)
    {
        var rows = new List<PsRow>();
        string text = Fixtures.Read("ps_table.txt") + line + "\n";
        var ex = Assert.Throws<InvalidDataException>(() => PsOutputParser.Parse(text, rows));
        Assert.Contains("line 14", ex.Message, StringComparison.Ordinal);
    }
}
