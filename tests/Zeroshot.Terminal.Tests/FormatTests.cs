using System.Globalization;
using Zeroshot.Terminal;

namespace Zeroshot.Terminal.Tests;

public class FormatTests
{
    [Theory]
    [InlineData(0, "0")]
    [InlineData(950, "950")]
    [InlineData(999, "999")]
    [InlineData(1000, "1.0K")]
    [InlineData(3400, "3.4K")]
    [InlineData(12_400, "12.4K")]
    [InlineData(34_000, "34.0K")]
    [InlineData(99_949, "99.9K")]
    [InlineData(99_950, "100K")]
    [InlineData(340_000, "340K")]
    [InlineData(999_499, "999K")]
    [InlineData(999_960, "1.0M")]
    [InlineData(1_200_000, "1.2M")]
    [InlineData(250_000_000, "250M")]
    [InlineData(999_960_000, "1.0B")]
    [InlineData(-3400, "-3.4K")]
    [InlineData(-999_960, "-1.0M")]
    public void Tokens(long count, string expected) => Assert.Equal(expected, Format.Tokens(count));

    [Theory]
    [InlineData(0, false, "0B")]
    [InlineData(512, false, "512B")]
    [InlineData(999, false, "999B")]
    [InlineData(1023, false, "1.0KB")]
    [InlineData(1024, false, "1.0KB")]
    [InlineData(4300, false, "4.2KB")]
    [InlineData(43_008, false, "42.0KB")]
    [InlineData(43_008, true, "42KB")]
    [InlineData(1_048_575, false, "1.0MB")]
    [InlineData(1_048_576, false, "1.0MB")]
    [InlineData(1_048_575, true, "1.0MB")]
    [InlineData(47_395_635, false, "45.2MB")]
    [InlineData(1_610_612_736, false, "1.5GB")]
    [InlineData(-5, false, "0B")]
    [InlineData(double.NaN, false, "-")]
    public void Bytes(double bytes, bool compact, string expected) => Assert.Equal(expected, Format.Bytes(bytes, compact));

    [Fact]
    public void RatesMemoryAndCpuFollowTheByteRules()
    {
        Assert.Equal("0B/s", Format.Rate(0));
        Assert.Equal("0B/s", Format.Rate(-10));
        Assert.Equal("512B/s", Format.Rate(512));
        Assert.Equal("2.1KB/s", Format.Rate(2.1 * 1024));
        Assert.Equal("4.2KB/s", Format.Rate(4.2 * 1024, compact: true));
        Assert.Equal("42KB/s", Format.Rate(42 * 1024, compact: true));
        Assert.Equal("42.0KB/s", Format.Rate(42 * 1024));
        Assert.Equal("-", Format.Rate(null));
        Assert.Equal("67MB", Format.MegaBytes(67.2, compact: true));
        Assert.Equal("67.2MB", Format.MegaBytes(67.2));
        Assert.Equal("1.5GB", Format.MegaBytes(1536, compact: true));
        Assert.Equal("0B", Format.MegaBytes(0));
        Assert.Equal("-", Format.MegaBytes(null));
        Assert.Equal("23%", Format.Percent(23.4, compact: true));
        Assert.Equal("23.4%", Format.Percent(23.4));
        Assert.Equal("0.0%", Format.Percent(-1));
        Assert.Equal("-", Format.Percent(null));
        Assert.Equal("-", Format.Percent(double.PositiveInfinity));
    }

    [Theory]
    [InlineData("0", false, false, "$0.00")]
    [InlineData("0.004", false, false, "$0.004")]
    [InlineData("0.005", false, false, "$0.005")]
    [InlineData("0.0049", false, false, "$0.005")]
    [InlineData("0.0094", false, false, "$0.009")]
    [InlineData("0.0095", false, false, "$0.01")]
    [InlineData("0.01", false, false, "$0.01")]
    [InlineData("0.004", false, true, "$0.004")]
    [InlineData("0.12", false, true, "$0.12")]
    [InlineData("0.123", true, true, "~$0.12")]
    [InlineData("0.42", true, false, "~$0.42")]
    [InlineData("12.3", false, false, "$12.30")]
    [InlineData("123.4", false, false, "$123.40")]
    [InlineData("123.4", false, true, "$123")]
    [InlineData("99.996", false, true, "$100")]
    [InlineData("-0.42", false, false, "-$0.42")]
    [InlineData("-0.004", true, false, "~-$0.004")]
    public void Cost(string usd, bool estimated, bool compact, string expected) =>
        Assert.Equal(expected, Format.Cost(decimal.Parse(usd, CultureInfo.InvariantCulture), estimated, compact));

    [Theory]
    [InlineData(0, "0ms")]
    [InlineData(850, "850ms")]
    [InlineData(999.6, "1.0s")]
    [InlineData(12_340, "12.3s")]
    [InlineData(59_500, "59.5s")]
    [InlineData(59_960, "1m00s")]
    [InlineData(125_000, "2m05s")]
    [InlineData(3_599_400, "59m59s")]
    [InlineData(3_599_500, "1h00m")]
    [InlineData(3_720_000, "1h02m")]
    [InlineData(-5_000, "0ms")]
    public void Duration(double ms, string expected) => Assert.Equal(expected, Format.Duration(TimeSpan.FromMilliseconds(ms)));

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(45_000, "45s")]
    [InlineData(59_960, "59s")]
    [InlineData(192_000, "3m12s")]
    [InlineData(3_599_500, "59m59s")]
    [InlineData(3_720_000, "1h02m")]
    [InlineData(-5_000, "0s")]
    public void CompactDurationIsAnElapsedClock(double ms, string expected) =>
        Assert.Equal(expected, Format.Duration(TimeSpan.FromMilliseconds(ms), compact: true));

    [Fact]
    public void Ages()
    {
        Assert.Equal("0s ago", Format.Ago(TimeSpan.Zero));
        Assert.Equal("0s ago", Format.Ago(TimeSpan.FromSeconds(-3)));
        Assert.Equal("2s ago", Format.Ago(TimeSpan.FromSeconds(2.7)));
        Assert.Equal("59s ago", Format.Ago(TimeSpan.FromSeconds(59.96)));
        Assert.Equal("3m ago", Format.Ago(TimeSpan.FromSeconds(200)));
        Assert.Equal("59m ago", Format.Ago(TimeSpan.FromSeconds(3599.5)));
        Assert.Equal("2d ago", Format.Ago(TimeSpan.FromHours(50)));
        Assert.Equal("-", Format.Ago(null));
    }
}
