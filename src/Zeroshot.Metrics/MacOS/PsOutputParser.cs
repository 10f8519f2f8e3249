using System.Globalization;

namespace Zeroshot.Metrics.MacOS;

/// <summary>One line of <c>ps -axo <see cref="PsOutputParser.Columns"/></c>.</summary>
/// <param name="Pid">Process id.</param>
/// <param name="Ppid">Parent process id.</param>
/// <param name="StartSeconds">Start time (<c>lstart</c>, local wall clock) as seconds since 0001-01-01; an identity key only.</param>
/// <param name="CpuNs">Accumulated user + system CPU time (<c>time</c>) in nanoseconds.</param>
/// <param name="RssKiB">Resident set size in KiB (<c>rss</c>).</param>
/// <param name="State">First letter of <c>state</c> (R, S, I, T, U, Z).</param>
internal readonly record struct PsRow(int Pid, int Ppid, long StartSeconds, long CpuNs, long RssKiB, char State);

/// <summary>
/// Parses the process table printed by macOS <c>ps</c> (adv_cmds) for the columns in <see cref="Columns"/>.
/// </summary>
/// <remarks>
/// ps(1) on macOS: <c>lstart</c> is printed with strftime "%c", which in the C locale (the sampler runs
/// ps with LC_ALL=C) is "Mon Nov  3 09:05:01 2026": five blank-separated words, the day padded with a
/// space. <c>time</c> (alias cputime) is "minutes:seconds.hundredths" with unbounded minutes
/// ("1337:02.11"); the parser also accepts "[[dd-]hh:]mm:ss" as printed by other BSDs and procps.
/// <c>rss</c> is in KiB. <c>state</c> is a letter followed by flags ("Ss+", "R", "Z"). The command is
/// not requested: names with blanks or parentheses can then never shift the columns. macOS ps has no
/// thread-count column (only <c>-M</c>, which prints one line per thread), so threads stay unknown.
/// Every line must have exactly ten words; anything else is malformed.
/// </remarks>
internal static class PsOutputParser
{
    /// <summary>The <c>-o</c> argument the parser expects (empty headers, so no header line is printed).</summary>
    public const string Columns = "pid=,ppid=,lstart=,time=,rss=,state=";

    private const int WordsPerLine = 10;
    private const long MaxPart = 1_000_000_000; // keeps the arithmetic below far from overflow
    private static readonly string[] Months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

    /// <summary>Parses every non-empty line of <paramref name="text"/> into <paramref name="into"/>.</summary>
    /// <exception cref="InvalidDataException">A line does not have the expected shape.</exception>
    public static void Parse(ReadOnlySpan<char> text, List<PsRow> into)
    {
        int lineNo = 0;
        Span<Range> words = stackalloc Range[WordsPerLine + 1];
        foreach (ReadOnlySpan<char> rawLine in text.EnumerateLines())
        {
            lineNo++;
            ReadOnlySpan<char> line = rawLine.Trim();
            if (line.IsEmpty)
                continue;
            int n = SplitWords(line, words);
            if (n != WordsPerLine)
                throw Malformed(lineNo, $"expected {WordsPerLine} words, found {(n > WordsPerLine ? "more" : n.ToString(CultureInfo.InvariantCulture))}");

            int pid = ParseInt(line[words[0]], lineNo, "pid");
            ReadOnlySpan<char> weekday = line[words[2]];
            if (weekday.Length != 3 || !char.IsAsciiLetterUpper(weekday[0]))
                throw Malformed(lineNo, "bad lstart weekday");
            int ppid = ParseInt(line[words[1]], lineNo, "ppid");
            long start = ParseLstart(line[words[3]], line[words[4]], line[words[5]], line[words[6]], lineNo);
            long cpu = ParseCpuTime(line[words[7]]) ?? throw Malformed(lineNo, "bad time");
            long rss = ParseLong(line[words[8]], lineNo, "rss");
            ReadOnlySpan<char> state = line[words[9]];
            if (!char.IsAsciiLetterUpper(state[0]))
                throw Malformed(lineNo, "bad state");
            into.Add(new PsRow(pid, ppid, start, cpu, rss, state[0]));
        }
    }

    /// <summary>Parses a ps CPU time ("mm:ss.cc", "[[dd-]hh:]mm:ss[.ff]") into nanoseconds; null when malformed.</summary>
    public static long? ParseCpuTime(ReadOnlySpan<char> s)
    {
        long days = 0;
        int dash = s.IndexOf('-');
        if (dash >= 0)
        {
            if (!TryDigits(s[..dash], out days) || days > MaxPart)
                return null;
            s = s[(dash + 1)..];
        }

        long fractionNs = 0;
        int dot = s.IndexOf('.');
        if (dot >= 0)
        {
            ReadOnlySpan<char> frac = s[(dot + 1)..];
            if (frac.IsEmpty || frac.Length > 9 || !TryDigits(frac, out long f))
                return null;
            for (int i = frac.Length; i < 9; i++)
                f *= 10;
            fractionNs = f;
            s = s[..dot];
        }

        // Split the rest into up to three colon-separated parts: [hours:]minutes:seconds.
        Span<long> parts = stackalloc long[3];
        int count = 0;
        foreach (Range r in s.Split(':'))
        {
            if (count == 3 || !TryDigits(s[r], out parts[count]) || parts[count] > MaxPart)
                return null;
            count++;
        }
        if (count < 2 || (dash >= 0 && count != 3))
            return null;
        long seconds = count == 3
            ? ((days * 24 + parts[0]) * 60 + parts[1]) * 60 + parts[2]
            : parts[0] * 60 + parts[1];
        try
        {
            return checked(seconds * 1_000_000_000 + fractionNs);
        }
        catch (OverflowException)
        {
            return null;
        }
    }

    private static long ParseLstart(ReadOnlySpan<char> month, ReadOnlySpan<char> day, ReadOnlySpan<char> time, ReadOnlySpan<char> year, int lineNo)
    {
        int m = -1;
        for (int i = 0; i < Months.Length; i++)
        {
            if (month.SequenceEqual(Months[i]))
            {
                m = i + 1;
                break;
            }
        }
        if (m < 0 || time.Length != 8 || time[2] != ':' || time[5] != ':')
            throw Malformed(lineNo, "bad lstart");
        int d = ParseInt(day, lineNo, "lstart day");
        int y = ParseInt(year, lineNo, "lstart year");
        int hh = ParseInt(time[..2], lineNo, "lstart hour");
        int mm = ParseInt(time[3..5], lineNo, "lstart minute");
        int ss = ParseInt(time[6..], lineNo, "lstart second");
        if (y is < 1970 or > 9999 || d < 1 || d > DateTime.DaysInMonth(y, m) || hh > 23 || mm > 59 || ss > 60)
            throw Malformed(lineNo, "lstart out of range");
        // A leap second (":60") folds into the next second; only equality matters.
        return new DateTime(y, m, d, hh, mm, Math.Min(ss, 59), DateTimeKind.Unspecified).Ticks / TimeSpan.TicksPerSecond + (ss == 60 ? 1 : 0);
    }

    private static int SplitWords(ReadOnlySpan<char> line, Span<Range> words)
    {
        int n = 0;
        int i = 0;
        while (i < line.Length)
        {
            while (i < line.Length && (line[i] == ' ' || line[i] == '\t'))
                i++;
            if (i == line.Length)
                break;
            int start = i;
            while (i < line.Length && line[i] != ' ' && line[i] != '\t')
                i++;
            if (n == words.Length)
                return n + 1;
            words[n++] = start..i;
        }
        return n;
    }

    private static bool TryDigits(ReadOnlySpan<char> s, out long value) =>
        long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value) && !s.IsEmpty;

    private static int ParseInt(ReadOnlySpan<char> s, int lineNo, string what) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : throw Malformed(lineNo, "bad " + what);

    private static long ParseLong(ReadOnlySpan<char> s, int lineNo, string what) =>
        long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v : throw Malformed(lineNo, "bad " + what);

    private static InvalidDataException Malformed(int lineNo, string why) =>
        new($"ps output line {lineNo}: {why}");
}
