using System.Globalization;

namespace Zeroshot.Terminal;

/// <summary>Compact number formats shared by the footer and the plain status line.</summary>
internal static class Format
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Unknown value.</summary>
    public const string Unknown = "-";

    /// <summary><c>23%</c>.</summary>
    public static string Percent(double? value) =>
        value is { } v && double.IsFinite(v) ? Math.Round(Math.Max(0, v)).ToString("0", Inv) + "%" : Unknown;

    /// <summary><c>67MB</c>, <c>1.2GB</c>.</summary>
    public static string MegaBytes(double? mb)
    {
        if (mb is not { } v || !double.IsFinite(v)) return Unknown;
        v = Math.Max(0, v);
        if (v < 1024) return Math.Round(v).ToString("0", Inv) + "MB";
        return Scaled(v / 1024) + "GB";
    }

    /// <summary><c>512B</c>, <c>4.2K</c>, <c>12M</c> (binary multiples, as ps/top do).</summary>
    public static string Bytes(double value)
    {
        value = Math.Max(0, value);
        if (value < 1000) return Math.Round(value).ToString("0", Inv) + "B";
        string[] units = ["K", "M", "G", "T"];
        int u = -1;
        do { value /= 1024; u++; } while (value >= 1000 && u < units.Length - 1);
        return Scaled(value) + units[u];
    }

    /// <summary><c>4.2K/s</c> or <c>-</c>.</summary>
    public static string Rate(double? bytesPerSec) =>
        bytesPerSec is { } v && double.IsFinite(v) ? Bytes(v) + "/s" : Unknown;

    /// <summary><c>950</c>, <c>3.4K</c>, <c>34K</c>, <c>1.2M</c> (decimal multiples, as token counts are quoted).</summary>
    public static string Count(long value)
    {
        if (value < 1000) return Math.Max(0, value).ToString(Inv);
        double v = value;
        string[] units = ["K", "M", "B"];
        int u = -1;
        do { v /= 1000; u++; } while (v >= 1000 && u < units.Length - 1);
        return Scaled(v) + units[u];
    }

    // One decimal below 10 (3.4K), none above (34K); truncation would hide a change, so round.
    private static string Scaled(double v) => v < 9.95 ? v.ToString("0.0", Inv) : Math.Round(v).ToString("0", Inv);

    /// <summary><c>$0.12</c>, <c>$12.30</c>, <c>$123</c>, with <c>~</c> in front when estimated.</summary>
    public static string Cost(decimal usd, bool estimated)
    {
        string s = usd >= 100 ? "$" + Math.Round(usd).ToString("0", Inv) : "$" + usd.ToString("0.00", Inv);
        return estimated ? "~" + s : s;
    }

    /// <summary><c>2s ago</c>, <c>3m ago</c>, <c>1h ago</c>, <c>-</c>.</summary>
    public static string Ago(TimeSpan? ago)
    {
        if (ago is not { } t) return Unknown;
        if (t < TimeSpan.Zero) t = TimeSpan.Zero;
        if (t.TotalSeconds < 60) return ((int)t.TotalSeconds).ToString(Inv) + "s ago";
        if (t.TotalMinutes < 60) return ((int)t.TotalMinutes).ToString(Inv) + "m ago";
        if (t.TotalHours < 48) return ((int)t.TotalHours).ToString(Inv) + "h ago";
        return ((int)t.TotalDays).ToString(Inv) + "d ago";
    }

    /// <summary><c>45s</c>, <c>3m12s</c>, <c>1h02m</c>.</summary>
    public static string Duration(TimeSpan t)
    {
        if (t < TimeSpan.Zero) t = TimeSpan.Zero;
        if (t.TotalSeconds < 60) return ((int)t.TotalSeconds).ToString(Inv) + "s";
        if (t.TotalHours < 1) return string.Create(Inv, $"{(int)t.TotalMinutes}m{t.Seconds:00}s");
        return string.Create(Inv, $"{(int)t.TotalHours}h{t.Minutes:00}m");
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
