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
    ulong StartTimeTicks,
    ulong ResidentPages = 0)
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
    /// from 3 (state) as in proc(5). One pass over the bytes, numbers accumulated as they are
    /// scanned: this runs for every process of every watched tree on every tick.
    /// </remarks>
    public static ProcStat ParseStat(ReadOnlySpan<byte> line)
    {
        int open = line.IndexOf((byte)'(');
        int close = line.LastIndexOf((byte)')');
        if (open <= 0 || close < open)
            throw new InvalidDataException("stat: no '(comm)' field");
        int pid = ParseInt32(line[..open].TrimEnd((byte)' '), "pid");

        // Fields 3..24: state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
        // utime(14) stime(15) cutime(16) cstime(17) priority nice num_threads(20) itrealvalue
        // starttime(22) vsize rss(24).
        Span<ulong> values = stackalloc ulong[25];
        char state = '\0';
        int field = 2;
        bool inToken = false, negative = false;
        ulong value = 0;
        var rest = line[(close + 1)..];
        for (int i = 0; i <= rest.Length; i++)
        {
            byte b = i < rest.Length ? rest[i] : (byte)' ';
            if (b is (byte)' ' or (byte)'\n')
            {
                if (!inToken) continue;
                inToken = false;
                if (field != 3) values[field] = negative ? 0 : value; // cutime/cstime are signed in proc(5), never negative in practice
                if (field == 24) break;
                continue;
            }
            if (!inToken)
            {
                inToken = true;
                field++;
                value = 0;
                negative = false;
                if (field == 3)
                {
                    if (i + 1 < rest.Length && rest[i + 1] is not (byte)' ' and not (byte)'\n')
                        throw new InvalidDataException("stat: state is not one letter");
                    state = (char)b;
                    continue;
                }
                if (b == (byte)'-' && field is 5 or 6 or 7 or 8 or 16 or 17 or 18 or 19 or 21)
                {
                    negative = true;
                    continue;
                }
            }
            if (field == 3) throw new InvalidDataException("stat: state is not one letter");
            if (b is < (byte)'0' or > (byte)'9') throw new InvalidDataException($"stat: field {field} is not a number");
            value = value * 10 + (ulong)(b - '0');
        }
        if (field < 24) throw new InvalidDataException($"stat: line ends before field {field + 1}");
        return new ProcStat(pid, state, (int)values[4], values[14], values[15], values[16], values[17], (int)values[20], values[22], values[24]);
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

    /// <summary>
    /// The third field of <c>/proc/PID/schedstat</c> ("# of timeslices run on this cpu", the kernel's
    /// Documentation/scheduler/sched-stats.rst): how many times the task was switched onto a CPU. Of a thread that
    /// uses next to no CPU nearly all are wake-ups after a voluntary sleep.
    /// </summary>
    public static ulong ParseSchedstatTimeslices(ReadOnlySpan<byte> content)
    {
        var line = content.TrimEnd((byte)'\n');
        int first = line.IndexOf((byte)' ');
        int last = line.LastIndexOf((byte)' ');
        if (first <= 0 || last <= first) throw new InvalidDataException("schedstat: expected three fields");
        ParseUInt64(line[..first], "schedstat run time");
        ParseUInt64(line[(first + 1)..last], "schedstat wait time");
        return ParseUInt64(line[(last + 1)..], "schedstat timeslices");
    }

    /// <summary>
    /// The last field of <c>/proc/loadavg</c> (proc_loadavg(5)): the pid most recently allocated in the reader's pid
    /// namespace, to processes and threads alike. Unchanged between two reads means nothing was created in between.
    /// </summary>
    public static long ParseLoadAvgLastPid(ReadOnlySpan<byte> content)
    {
        var line = content.TrimEnd((byte)'\n');
        int last = line.LastIndexOf((byte)' ');
        // "0.14 0.66 1.04 1/201 15775": five fields, the fourth running/total.
        if (last <= 0 || line[..last].Count((byte)' ') != 3 || line[..last].IndexOf((byte)'/') < 0)
            throw new InvalidDataException("loadavg: expected five fields");
        return (long)ParseUInt64(line[(last + 1)..], "loadavg last pid");
    }

    private static int ParseInt32(ReadOnlySpan<byte> s, string what) =>
        Utf8Parser.TryParse(s, out int v, out int used) && used == s.Length ? v : throw Bad(what);

    private static ulong ParseUInt64(ReadOnlySpan<byte> s, string what) =>
        Utf8Parser.TryParse(s, out ulong v, out int used) && used == s.Length ? v : throw Bad(what);

    private static InvalidDataException Bad(string what) => new($"procfs: '{what}' is not a number");
}
