using System.Globalization;

namespace Zeroshot.Agents.Output;

/// <summary>Short human formats for tokens, cost and durations (invariant culture, fixed rules so tests can pin them).</summary>
internal static class OutputFormat
{
    /// <summary>950 → "950", 3_412 → "3.4K", 12_400 → "12.4K", 340_000 → "340K", 1_234_567 → "1.2M".</summary>
    public static string Tokens(long count)
    {
        if (count < 0)
            return "-" + Tokens(-count);
        if (count < 1000)
            return count.ToString(CultureInfo.InvariantCulture);
        // Round first, then pick the unit, so 999_960 reads "1.0M" and not "1000K".
        double k = Math.Round(count / 1000.0, count < 100_000 ? 1 : 0, MidpointRounding.AwayFromZero);
        if (k < 1000)
            return k.ToString(count < 100_000 ? "0.0" : "0", CultureInfo.InvariantCulture) + "K";
        double m = count / 1_000_000.0;
        m = Math.Round(m, m < 100 ? 1 : 0, MidpointRounding.AwayFromZero);
        return m.ToString(m < 100 ? "0.0" : "0", CultureInfo.InvariantCulture) + "M";
    }

    /// <summary>
    /// "$0.42", "$12.30", "$0.004" (three decimals under a cent so small runs do not read $0.00), "$0.00" for
    /// nothing; prefixed "~" when <paramref name="estimated"/>.
    /// </summary>
    public static string Cost(decimal usd, bool estimated)
    {
        decimal abs = Math.Abs(usd);
        string number = abs is > 0m and < 0.01m
            ? Math.Round(usd, 3, MidpointRounding.AwayFromZero).ToString("0.000", CultureInfo.InvariantCulture)
            : Math.Round(usd, 2, MidpointRounding.AwayFromZero).ToString("0.00", CultureInfo.InvariantCulture);
        return (estimated ? "~$" : "$") + number;
    }

    /// <summary>"850ms", "12.3s", "2m05s", "1h02m".</summary>
    public static string Duration(TimeSpan d)
    {
        if (d < TimeSpan.Zero)
            d = TimeSpan.Zero;
        if (d.TotalSeconds < 1)
            return ((long)d.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + "ms";
        if (d.TotalSeconds < 60)
            return Math.Round(d.TotalSeconds, 1, MidpointRounding.AwayFromZero).ToString("0.0", CultureInfo.InvariantCulture) + "s";
        if (d.TotalHours < 1)
            return string.Create(CultureInfo.InvariantCulture, $"{(int)d.TotalMinutes}m{d.Seconds:00}s");
        return string.Create(CultureInfo.InvariantCulture, $"{(int)d.TotalHours}h{d.Minutes:00}m");
    }
}
