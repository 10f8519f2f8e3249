using System.Globalization;

namespace Zeroshot.Metrics.MacOS;

/// <summary>
/// Parses <c>lsof -F</c> field output of TCP sockets into a per-pid <see cref="NetworkState"/>.
/// </summary>
/// <remarks>
/// lsof(8), OUTPUT FOR OTHER PROGRAMS: every field is one line, its first character identifies it and
/// the rest is its value. A process set starts with <c>p</c>&lt;pid&gt; (always printed) followed by
/// process fields such as <c>c</c>&lt;command&gt;; each file set starts with <c>f</c>&lt;fd&gt; followed
/// by file fields such as <c>n</c>&lt;name&gt;. TCP/TPI information comes as one <c>T</c> line per item:
/// <c>TST=ESTABLISHED</c>, <c>TQR=</c>&lt;receive queue&gt;, <c>TQS=</c>&lt;send queue&gt; (plus
/// dialect-specific ones like <c>TSO=</c>, <c>TWR=</c> that are ignored). Command names and addresses
/// (IPv6 in brackets) are free text and never interpreted. Malformed: a non-numeric pid or queue, a
/// file or T field before any <c>p</c> line, a <c>T</c> line without '=', a line whose identifier is
/// not a letter or digit.
/// </remarks>
internal static class LsofOutputParser
{
    /// <summary>
    /// The arguments for <c>lsof</c> after which the comma-separated pid list follows:
    /// no host/port name lookups (-n -P), TCP only (-iTCP) AND (-a) the given pids (-p),
    /// queue sizes and state (-Tqs), warnings off (-w), fields p c f n T (-F).
    /// </summary>
    public static readonly string[] ArgumentsBeforePids = ["-w", "-nP", "-iTCP", "-a", "-Tqs", "-FpcfnT", "-p"];

    /// <summary>
    /// Adds the sockets found in <paramref name="text"/> to <paramref name="into"/>, keyed by pid
    /// (entries of pids already present are accumulated).
    /// </summary>
    /// <exception cref="InvalidDataException">A line does not have the expected shape.</exception>
    public static void Parse(ReadOnlySpan<char> text, Dictionary<int, NetworkState> into)
    {
        int lineNo = 0;
        int pid = -1;
        foreach (ReadOnlySpan<char> line in text.EnumerateLines())
        {
            lineNo++;
            if (line.IsEmpty)
                continue;
            char id = line[0];
            ReadOnlySpan<char> value = line[1..];
            switch (id)
            {
                case 'p':
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out pid) || pid <= 0)
                        throw Malformed(lineNo, "bad pid");
                    into.TryAdd(pid, default);
                    break;
                case 'T':
                    if (pid < 0)
                        throw Malformed(lineNo, "T field before any process");
                    AddTcpItem(value, lineNo, ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(into, pid, out _));
                    break;
                default:
                    if (!char.IsAsciiLetterOrDigit(id))
                        throw Malformed(lineNo, "bad field identifier");
                    if (id is 'f' or 'n' && pid < 0)
                        throw Malformed(lineNo, "file field before any process");
                    break; // c, f, n and fields of other lsof versions carry nothing we count.
            }
        }
    }

    private static void AddTcpItem(ReadOnlySpan<char> item, int lineNo, ref NetworkState state)
    {
        int eq = item.IndexOf('=');
        if (eq <= 0)
            throw Malformed(lineNo, "T field without '='");
        ReadOnlySpan<char> key = item[..eq];
        ReadOnlySpan<char> value = item[(eq + 1)..];
        if (key.SequenceEqual("ST"))
        {
            if (value.SequenceEqual("ESTABLISHED"))
                state = state with { Established = state.Established + 1 };
        }
        else if (key.SequenceEqual("QR"))
        {
            state = state with { RecvQueueBytes = state.RecvQueueBytes + ParseQueue(value, lineNo) };
        }
        else if (key.SequenceEqual("QS"))
        {
            state = state with { SendQueueBytes = state.SendQueueBytes + ParseQueue(value, lineNo) };
        }
    }

    private static long ParseQueue(ReadOnlySpan<char> s, int lineNo) =>
        long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v : throw Malformed(lineNo, "bad queue size");

    private static InvalidDataException Malformed(int lineNo, string why) =>
        new($"lsof output line {lineNo}: {why}");
}
