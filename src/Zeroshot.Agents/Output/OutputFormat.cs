using Zeroshot.Terminal;

namespace Zeroshot.Agents.Output;

/// <summary>Forwarders to <see cref="Format"/>, the one formatter for tokens, money and durations; kept so existing
/// callers compile. New code calls <see cref="Format"/> directly.</summary>
internal static class OutputFormat
{
    /// <summary>See <see cref="Format.Tokens"/>: "950", "3.4K", "12.4K", "340K", "1.0M".</summary>
    public static string Tokens(long count) => Format.Tokens(count);

    /// <summary>See <see cref="Format.Cost"/>: "$0.42", "$0.004", "~$0.42".</summary>
    public static string Cost(decimal usd, bool estimated) => Format.Cost(usd, estimated);

    /// <summary>See <see cref="Format.Duration"/>: "850ms", "12.3s", "2m05s", "1h02m".</summary>
    public static string Duration(TimeSpan d) => Format.Duration(d);
}
