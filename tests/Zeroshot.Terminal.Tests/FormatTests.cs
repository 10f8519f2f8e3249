using Zeroshot.Terminal;

namespace Zeroshot.Terminal.Tests;

public class FormatTests
{
    [Fact]
    public void CompactNumbers()
    {
        Assert.Equal("23%", Format.Percent(23.4));
        Assert.Equal("-", Format.Percent(null));
        Assert.Equal("67MB", Format.MegaBytes(67.2));
        Assert.Equal("1.5GB", Format.MegaBytes(1536));
        Assert.Equal("512B/s", Format.Rate(512));
        Assert.Equal("4.2K/s", Format.Rate(4.2 * 1024));
        Assert.Equal("42K/s", Format.Rate(42 * 1024));
        Assert.Equal("-", Format.Rate(null));
        Assert.Equal("950", Format.Count(950));
        Assert.Equal("3.4K", Format.Count(3400));
        Assert.Equal("34K", Format.Count(34_000));
        Assert.Equal("1.2M", Format.Count(1_200_000));
        Assert.Equal("$0.12", Format.Cost(0.12m, false));
        Assert.Equal("~$0.12", Format.Cost(0.123m, true));
        Assert.Equal("$123", Format.Cost(123.4m, false));
        Assert.Equal("2s ago", Format.Ago(TimeSpan.FromSeconds(2.7)));
        Assert.Equal("3m ago", Format.Ago(TimeSpan.FromSeconds(200)));
        Assert.Equal("-", Format.Ago(null));
        Assert.Equal("3m12s", Format.Duration(TimeSpan.FromSeconds(192)));
        Assert.Equal("45s", Format.Duration(TimeSpan.FromSeconds(45)));
        Assert.Equal("1h02m", Format.Duration(TimeSpan.FromMinutes(62)));
    }
}
