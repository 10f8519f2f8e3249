using Zeroshot.Agents.Output;

namespace Zeroshot.Agents.Tests.Output;

public sealed class OutputFormatTests
{
    [Theory]
    [InlineData(0, "0")]
    [InlineData(950, "950")]
    [InlineData(1000, "1.0K")]
    [InlineData(3412, "3.4K")]
    [InlineData(12_400, "12.4K")]
    [InlineData(99_949, "99.9K")]
    [InlineData(340_000, "340K")]
    [InlineData(999_499, "999K")]
    [InlineData(999_960, "1.0M")]
    [InlineData(1_234_567, "1.2M")]
    [InlineData(250_000_000, "250M")]
    public void Tokens(long count, string expected) => Assert.Equal(expected, OutputFormat.Tokens(count));

    [Theory]
    [InlineData("0", false, "$0.00")]
    [InlineData("0.42", false, "$0.42")]
    [InlineData("0.415", true, "~$0.42")]
    [InlineData("0.0042", true, "~$0.004")]
    [InlineData("12.3", false, "$12.30")]
    public void Cost(string usd, bool estimated, string expected) =>
        Assert.Equal(expected, OutputFormat.Cost(decimal.Parse(usd, System.Globalization.CultureInfo.InvariantCulture), estimated));

    [Theory]
    [InlineData(850, "850ms")]
    [InlineData(12_340, "12.3s")]
    [InlineData(65_400, "1m05s")]
    [InlineData(3_720_000, "1h02m")]
    public void Duration(long ms, string expected) => Assert.Equal(expected, OutputFormat.Duration(TimeSpan.FromMilliseconds(ms)));
}
