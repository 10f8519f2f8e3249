using System.Buffers.Text;

namespace Zeroshot.Metrics.Linux;

/// <summary>The fields of <c>/proc/&lt;pid&gt;/stat</c> the sampler needs (proc(5), "/proc/pid/stat").</summary>
internal readonly record struct ProcStat(
    int Pid,
    char State,
    int ParentPid,
    ulong UserTicks,
    ulong SystemTicks,
    ulong ChildUserTicks,
    ulong ChildSystemTicks,
    int Threads,
    ulong StartTimeTicks)
{
    /// <summary>utime + stime + cutime + cstime: the process's own CPU and that of the children it waited for.</summary>
    public ulong TotalTicks => UserTicks + SystemTicks + ChildUserTicks + ChildSystemTicks;
}

/// <summary>The fields of <c>/proc/&lt;pid&gt;/io</c> (proc(5), "/proc/pid/io").</summary>
internal readonly record struct ProcIo(ulong ReadChars, ulong WriteChars, ulong ReadBytes, ulong WriteBytes);

/// <summary>
/// Parsers for procfs text. They take the bytes of a file, never a pid, so captured (and hostile)
/// content can be tested; malformed content throws <see cref="InvalidDataException"/>.
/// </summary>
internal static class ProcParsers
{
    /// <summary>Parses one <c>/proc/&lt;pid&gt;/stat</c> line.</summary>
    /// <remarks>
    /// The second field is the command name in parentheses and may itself contain spaces and
    /// parentheses (a process can name itself <c>a)( ) b</c>), so the name ends at the LAST ')'
    /// of the line, as procps and dotnet/runtime's procfs parser do. Fields after it are numbered
    /// from 3 (state) as in proc(5).
    /// </remarks>
    public static ProcStat ParseStat(ReadOnlySpan<byte> line)
    {
        int open = line.IndexOf((byte)'(');
        int close = line.LastIndexOf((byte)')');
        if (open <= 0 || close < open)
            throw new InvalidDataException("stat: no '(comm)' field");
        int pid = ParseInt32(line[..open].TrimEnd((byte)' '), "pid");

        var rest = line[(close + 1)..];
        // Field 3 onwards: state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
        // utime(14) stime(15) cutime(16) cstime(17) priority nice num_threads(20) itrealvalue starttime(22) ...
        char state = '\0';
        int ppid = 0, threads = 0;
        ulong utime = 0, stime = 0, cutime = 0, cstime = 0, start = 0;
        int field = 2;
        while (field < 22)
        {
            rest = rest.TrimStart((byte)' ');
            if (rest.IsEmpty)
                throw new InvalidDataException($"stat: line ends before field {field + 1}");
            int end = rest.IndexOf((byte)' ');
            var token = end < 0 ? rest : rest[..end];
            rest = end < 0 ? default : rest[end..];
            field++;
            switch (field)
            {
                case 3:
                    if (token.Length != 1) throw new InvalidDataException("stat: state is not one letter");
                    state = (char)token[0];
                    break;
                case 4: ppid = ParseInt32(token, "ppid"); break;
                case 14: utime = ParseUInt64(token, "utime"); break;
                case 15: stime = ParseUInt64(token, "stime"); break;
                // cutime/cstime are declared signed (long) in proc(5) but are never negative in practice.
                case 16: cutime = (ulong)Math.Max(0, ParseInt64(token, "cutime")); break;
                case 17: cstime = (ulong)Math.Max(0, ParseInt64(token, "cstime")); break;
                case 20: threads = ParseInt32(token, "num_threads"); break;
                case 22: start = ParseUInt64(token, "starttime"); break;
            }
        }
        return new ProcStat(pid, state, ppid, utime, stime, cutime, cstime, threads, start);
    }

    /// <summary>Returns the command name of a stat line (between the first '(' and the last ')').</summary>
    public static string ParseStatName(ReadOnlySpan<byte> line)
    {
        int open = line.IndexOf((byte)'(');
        int close = line.LastIndexOf((byte)')');
        if (open < 0 || close < open)
            throw new InvalidDataException("stat: no '(comm)' field");
        return System.Text.Encoding.UTF8.GetString(line[(open + 1)..close]);
    }

    /// <summary>Parses <c>/proc/&lt;pid&gt;/statm</c> and returns the resident set in pages (second field).</summary>
    public static ulong ParseStatmResidentPages(ReadOnlySpan<byte> content)
    {
        var rest = content.TrimStart((byte)' ');
        int sp = rest.IndexOf((byte)' ');
        if (sp < 0) throw new InvalidDataException("statm: fewer than two fields");
        rest = rest[(sp + 1)..].TrimStart((byte)' ');
        int end = rest.IndexOfAny((byte)' ', (byte)'\n');
        return ParseUInt64(end < 0 ? rest : rest[..end], "resident");
    }

    /// <summary>Parses <c>/proc/&lt;pid&gt;/io</c> (<c>key: value</c> lines). All four counters must be present.</summary>
    public static ProcIo ParseIo(ReadOnlySpan<byte> content)
    {
        ulong rchar = 0, wchar = 0, readBytes = 0, writeBytes = 0;
        int found = 0;
        foreach (var range in content.Split((byte)'\n'))
        {
            var line = content[range];
            if (line.IsEmpty) continue;
            int colon = line.IndexOf((byte)':');
            if (colon <= 0) throw new InvalidDataException("io: line without 'key:'");
            var key = line[..colon];
            var value = line[(colon + 1)..].Trim((byte)' ');
            if (key.SequenceEqual("rchar"u8)) { rchar = ParseUInt64(value, "rchar"); found |= 1; }
            else if (key.SequenceEqual("wchar"u8)) { wchar = ParseUInt64(value, "wchar"); found |= 2; }
            else if (key.SequenceEqual("read_bytes"u8)) { readBytes = ParseUInt64(value, "read_bytes"); found |= 4; }
            else if (key.SequenceEqual("write_bytes"u8)) { writeBytes = ParseUInt64(value, "write_bytes"); found |= 8; }
        }
        if (found != 15) throw new InvalidDataException("io: missing one of rchar, wchar, read_bytes, write_bytes");
        return new ProcIo(rchar, wchar, readBytes, writeBytes);
    }

    /// <summary>Parses the <c>Pss:</c> line of <c>/proc/&lt;pid&gt;/smaps_rollup</c> and returns kibibytes.</summary>
    public static ulong ParseSmapsRollupPssKb(ReadOnlySpan<byte> content)
    {
        foreach (var range in content.Split((byte)'\n'))
        {
            var line = content[range];
            if (!line.StartsWith("Pss:"u8)) continue;
            var value = line[4..].Trim((byte)' ');
            if (!value.EndsWith("kB"u8)) throw new InvalidDataException("smaps_rollup: Pss not in kB");
            return ParseUInt64(value[..^2].TrimEnd((byte)' '), "Pss");
        }
        throw new InvalidDataException("smaps_rollup: no Pss line");
    }

    private static int ParseInt32(ReadOnlySpan<byte> s, string what) =>
        Utf8Parser.TryParse(s, out int v, out int used) && used == s.Length ? v : throw Bad(what);

    private static long ParseInt64(ReadOnlySpan<byte> s, string what) =>
        Utf8Parser.TryParse(s, out long v, out int used) && used == s.Length ? v : throw Bad(what);

    private static ulong ParseUInt64(ReadOnlySpan<byte> s, string what) =>
        Utf8Parser.TryParse(s, out ulong v, out int used) && used == s.Length ? v : throw Bad(what);

    private static InvalidDataException Bad(string what) => new($"procfs: '{what}' is not a number");
}
