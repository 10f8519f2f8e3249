using System.Globalization;

namespace Zeroshot.Terminal;

/// <summary>
/// The one formatter for the quantities zeroshot shows: tokens, bytes, rates, memory, CPU, money, durations and ages,
/// used alike by the footer, the plain status line, output lines, <c>status</c>, <c>list</c>, <c>logs</c> and
/// <c>metrics</c>. Invariant culture; fixed rules so tests can pin them.
/// <para>Shared rules: a value is rounded to the precision it is shown with <em>before</em> its unit is chosen, so
/// 999 960 tokens read <c>1.0M</c> (never <c>1000K</c>) and 59.96 s reads <c>1m00s</c> (never <c>60.0s</c>); a scaled
/// number never has more than three integer digits. Quantities that cannot be negative (bytes, rates, memory, CPU,
/// durations, ages) clamp a negative value to zero, as a counter reset or a clock stepping back means "nothing";
/// token counts and money keep their minus sign, as a negative there is a bug that should stay visible. A value that is
/// not known (null, NaN, infinite) is <see cref="Unknown"/>.</para>
/// <para>The <c>compact</c> variants are the same rules with less precision, for the footer's fixed-width columns and
/// the figures that sit beside it (the <c>status</c> metrics column): whole numbers from 10 up, whole seconds.</para>
/// </summary>
internal static class Format
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private static readonly string[] ByteUnits = ["KB", "MB", "GB", "TB", "PB"];
    private static readonly string[] CountUnits = ["K", "M", "B"];

    /// <summary>Unknown value.</summary>
    public const string Unknown = "-";

    /// <summary>
    /// A token count in decimal multiples, as token counts are quoted: <c>0</c>, <c>950</c>, <c>3.4K</c>, <c>12.4K</c>,
    /// <c>99.9K</c>, <c>340K</c>, <c>1.0M</c>, <c>250M</c>, <c>1.2B</c>: one decimal below 100 of a unit, none from
    /// 100 up; at most five characters, so the footer needs no compact variant. Negative counts keep their sign.
    /// </summary>
    public static string Tokens(long count)
    {
        double v = Math.Abs((double)count);
        string sign = count < 0 ? "-" : string.Empty;
        if (v < 1000) return sign + v.ToString("0", Inv);
        for (int u = 0; ; u++)
        {
            v /= 1000;
            int decimals = v < 99.95 ? 1 : 0;
            double r = Math.Round(v, decimals, MidpointRounding.AwayFromZero);
            if (r < 1000 || u == CountUnits.Length - 1) return sign + r.ToString(decimals == 1 ? "0.0" : "0", Inv) + CountUnits[u];
        }
    }

    /// <summary>
    /// A byte count in binary multiples (1 KB = 1024 B) with the unit spelled out: <c>0B</c>, <c>512B</c>, then one
    /// decimal: <c>1.0KB</c>, <c>45.2MB</c>, <c>999.9KB</c>; a unit is left for the next once the rounded number reaches
    /// 1000, so 1 048 575 B and 1 048 576 B both read <c>1.0MB</c>. <paramref name="compact"/> drops the decimal from
    /// 10 up (<c>4.2KB</c>, <c>42KB</c>, <c>512MB</c>, as top and htop do). Negative values clamp to <c>0B</c>.
    /// </summary>
    public static string Bytes(double bytes, bool compact = false)
    {
        if (!double.IsFinite(bytes)) return Unknown;
        double v = Math.Max(0, bytes);
        if (Math.Round(v, MidpointRounding.AwayFromZero) < 1000) return Math.Round(v, MidpointRounding.AwayFromZero).ToString("0", Inv) + "B";
        for (int u = 0; ; u++)
        {
            v /= 1024;
            int decimals = compact && v >= 9.95 ? 0 : 1;
            double r = Math.Round(v, decimals, MidpointRounding.AwayFromZero);
            if (r < 1000 || u == ByteUnits.Length - 1) return r.ToString(decimals == 1 ? "0.0" : "0", Inv) + ByteUnits[u];
        }
    }

    /// <summary>A memory size given in MiB, by the rules of <see cref="Bytes"/>: <c>45.2MB</c>, <c>1.5GB</c>
    /// (compact: <c>67MB</c>, <c>1.5GB</c>), or <see cref="Unknown"/>.</summary>
    public static string MegaBytes(double? megaBytes, bool compact = false) =>
        megaBytes is { } v && double.IsFinite(v) ? Bytes(v * 1024 * 1024, compact) : Unknown;

    /// <summary>A rate in bytes per second: <see cref="Bytes"/> then <c>/s</c>: <c>0B/s</c>, <c>512B/s</c>,
    /// <c>2.1KB/s</c> (compact: <c>42KB/s</c>), or <see cref="Unknown"/>.</summary>
    public static string Rate(double? bytesPerSecond, bool compact = false) =>
        bytesPerSecond is { } v && double.IsFinite(v) ? Bytes(v, compact) + "/s" : Unknown;

    /// <summary>A CPU share (100 = one core): <c>12.0%</c> (compact: <c>12%</c>), or <see cref="Unknown"/>;
    /// negative values clamp to zero.</summary>
    public static string Percent(double? value, bool compact = false) =>
        value is { } v && double.IsFinite(v)
            ? Math.Round(Math.Max(0, v), compact ? 0 : 1, MidpointRounding.AwayFromZero).ToString(compact ? "0" : "0.0", Inv) + "%"
            : Unknown;

    /// <summary>
    /// US dollars: <c>$0.00</c> for nothing, <c>$0.42</c>, <c>$12.30</c>; three decimals under a cent so a small run
    /// does not read as free (<c>$0.004</c>, and 0.0049 reads <c>$0.005</c>; 0.0095 rounds to a cent and reads
    /// <c>$0.01</c>; under a tenth of a cent, <c>$0.000</c>); <c>~</c> in front when <paramref name="estimated"/>
    /// (computed from a price table, not reported by the agent). <paramref name="compact"/> shows whole dollars from
    /// $100 up (<c>$123</c>). Negative amounts keep their sign: <c>-$0.42</c>.
    /// </summary>
    public static string Cost(decimal usd, bool estimated, bool compact = false)
    {
        decimal abs = Math.Abs(usd);
        decimal cents = Math.Round(abs, 2, MidpointRounding.AwayFromZero);
        decimal mills = Math.Round(abs, 3, MidpointRounding.AwayFromZero);
        string number = abs > 0 && mills < 0.01m ? mills.ToString("0.000", Inv)
            : compact && cents >= 100 ? Math.Round(abs, 0, MidpointRounding.AwayFromZero).ToString("0", Inv)
            : cents.ToString("0.00", Inv);
        return (estimated ? "~" : string.Empty) + (usd < 0 && number.Any(c => c is >= '1' and <= '9') ? "-$" : "$") + number;
    }

    /// <summary>
    /// A measured duration, rounded to the precision shown: <c>0ms</c>, <c>850ms</c>, <c>12.3s</c>, <c>59.5s</c>,
    /// <c>1m00s</c> (59.96 s), <c>2m05s</c>, <c>1h00m</c> (3599.5 s), <c>1h02m</c>, <c>26h40m</c>.
    /// <paramref name="compact"/> is an elapsed clock instead: whole seconds, truncated as a clock ticks (<c>0s</c>,
    /// <c>45s</c>, <c>3m12s</c>, <c>1h02m</c>). Negative durations clamp to zero.
    /// </summary>
    public static string Duration(TimeSpan duration, bool compact = false)
    {
        if (duration < TimeSpan.Zero) duration = TimeSpan.Zero;
        if (compact)
        {
            long whole = (long)duration.TotalSeconds;
            if (whole < 60) return whole.ToString(Inv) + "s";
            if (whole < 3600) return string.Create(Inv, $"{whole / 60}m{whole % 60:00}s");
            return string.Create(Inv, $"{whole / 3600}h{whole / 60 % 60:00}m");
        }
        double ms = Math.Round(duration.TotalMilliseconds, MidpointRounding.AwayFromZero);
        if (ms < 1000) return ms.ToString("0", Inv) + "ms";
        double tenths = Math.Round(duration.TotalSeconds, 1, MidpointRounding.AwayFromZero);
        if (tenths < 60) return tenths.ToString("0.0", Inv) + "s";
        long seconds = (long)Math.Round(duration.TotalSeconds, MidpointRounding.AwayFromZero);
        if (seconds < 3600) return string.Create(Inv, $"{seconds / 60}m{seconds % 60:00}s");
        long minutes = (long)Math.Round(duration.TotalMinutes, MidpointRounding.AwayFromZero);
        return string.Create(Inv, $"{minutes / 60}h{minutes % 60:00}m");
    }

    /// <summary>How long ago, truncated to its largest unit as "ago" is read: <c>0s ago</c>, <c>2s ago</c>,
    /// <c>3m ago</c>, <c>1h ago</c> (up to 47h), <c>2d ago</c>, or <see cref="Unknown"/>; negative ages (a clock
    /// stepping back) clamp to <c>0s ago</c>.</summary>
    public static string Ago(TimeSpan? ago)
    {
        if (ago is not { } t) return Unknown;
        if (t < TimeSpan.Zero) t = TimeSpan.Zero;
        if (t.TotalSeconds < 60) return ((int)t.TotalSeconds).ToString(Inv) + "s ago";
        if (t.TotalMinutes < 60) return ((int)t.TotalMinutes).ToString(Inv) + "m ago";
        if (t.TotalHours < 48) return ((int)t.TotalHours).ToString(Inv) + "h ago";
        return ((int)t.TotalDays).ToString(Inv) + "d ago";
    }

    /// <summary>Text from agents (ids, tool names) with C0/C1 controls and DEL replaced by <c>?</c>: an ESC or
    /// newline in a tool name must never reach the terminal as a control or break the one-line status.</summary>
    public static string Sanitize(string text)
    {
        if (!text.AsSpan().ContainsAnyInRange('\0', '\x1F') && !text.AsSpan().ContainsAnyInRange('\x7F', '\x9F')) return text;
        return string.Create(text.Length, text, static (dst, src) =>
        {
            for (int i = 0; i < src.Length; i++) dst[i] = src[i] is < ' ' or (>= '\x7F' and <= '\x9F') ? '?' : src[i];
        });
    }

    /// <summary>
    /// Text from a user's input (a cluster file, settings.json, an argument) made safe for an error message: C0 and C1
    /// controls and DEL are written as escapes (<c>\n</c>, <c>\t</c>, <c>\r</c>, <c>\e</c>, else <c>\xNN</c>), so an
    /// ESC in an agent id is read, not executed by the terminal, and the message stays one line.
    /// </summary>
    public static string Escaped(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.AsSpan().ContainsAnyInRange('\0', '\x1F') && !text.AsSpan().ContainsAnyInRange('\x7F', '\x9F')) return text;
        var sb = new System.Text.StringBuilder(text.Length + 16);
        foreach (char c in text)
        {
            switch (c)
            {
                case '\n': sb.Append("\\n"); break;
                case '\t': sb.Append("\\t"); break;
                case '\r': sb.Append("\\r"); break;
                case '\x1B': sb.Append("\\e"); break;
                case < ' ' or (>= '\x7F' and <= '\x9F'): sb.Append("\\x").Append(((int)c).ToString("x2", Inv)); break;
                default: sb.Append(c); break;
            }
        }
        return sb.ToString();
    }

    /// <summary>Sum of the known values, or null when none is known.</summary>
    public static double? SumKnown(IEnumerable<double?> values)
    {
        double sum = 0;
        bool any = false;
        foreach (var v in values)
        {
            if (v is { } x && double.IsFinite(x)) { sum += x; any = true; }
        }
        return any ? sum : null;
    }
}
