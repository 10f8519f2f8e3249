using System.Globalization;

namespace Zeroshot.Agents.Pty;

/// <summary>The fields of /proc/&lt;pid&gt;/stat that decide whether a process belongs to an agent's session.</summary>
/// <param name="Pid">Field 1, the process id.</param>
/// <param name="State">Field 3, e.g. 'R', 'S', 'Z' (zombie), 'X' (dead).</param>
/// <param name="ProcessGroup">Field 5, pgrp.</param>
/// <param name="Session">Field 6, session id.</param>
internal readonly record struct ProcStatIds(int Pid, char State, int ProcessGroup, int Session)
{
    /// <summary>Zombies and dead tasks hold no resources that a signal could free.</summary>
    public bool IsLive => State is not ('Z' or 'X' or 'x');
}

/// <summary>
/// Finds the processes of a PTY agent's session and process group by scanning /proc, so that
/// <see cref="PtyProcess.StopAsync"/> also reaches members that moved to another process group of the
/// same session (a shell with job control puts each job in its own group; kill(-pgid) misses those).
/// A process that escaped with setsid(2) is out of reach by design.
/// </summary>
internal static class ProcessGroupScanner
{
    /// <summary>
    /// Parses the start of /proc/&lt;pid&gt;/stat (proc(5)): "pid (comm) state ppid pgrp session ...".
    /// comm may contain spaces and parentheses, so the fields after it are found from the LAST ')'.
    /// </summary>
    /// <exception cref="InvalidDataException">The text is not a stat line.</exception>
    public static ProcStatIds ParseStat(ReadOnlySpan<char> stat)
    {
        int open = stat.IndexOf(" (", StringComparison.Ordinal);
        int close = stat.LastIndexOf(')');
        if (open <= 0 || close < open)
        {
            throw new InvalidDataException("/proc stat line has no '(comm)' field");
        }

        int pid = ParseInt(stat[..open], "pid");
        ReadOnlySpan<char> rest = stat[(close + 1)..].TrimStart(' ');
        // rest: "state ppid pgrp session ..."
        Span<Range> fields = stackalloc Range[5];
        int count = rest.Split(fields, ' ');
        if (count < 4 || rest[fields[0]].Length != 1)
        {
            throw new InvalidDataException("/proc stat line is truncated after '(comm)'");
        }

        return new ProcStatIds(pid, rest[fields[0]][0], ParseInt(rest[fields[2]], "pgrp"), ParseInt(rest[fields[3]], "session"));
    }

    private static int ParseInt(ReadOnlySpan<char> text, string field) =>
        int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value)
            ? value
            : throw new InvalidDataException($"/proc stat field {field} is not a number");

    /// <summary>
    /// Live (non-zombie) processes under <paramref name="procRoot"/> whose session or process group is
    /// <paramref name="id"/>. Processes that vanish during the scan are skipped: that is normal.
    /// </summary>
    public static List<int> FindLiveMembers(int id, string procRoot = "/proc")
    {
        var members = new List<int>();
        IEnumerable<string> dirs;
        try
        {
            dirs = Directory.EnumerateDirectories(procRoot);
        }
        catch (DirectoryNotFoundException)
        {
            return members;
        }

        foreach (string dir in dirs)
        {
            ReadOnlySpan<char> name = Path.GetFileName(dir.AsSpan());
            if (name.IsEmpty || !char.IsAsciiDigit(name[0]))
            {
                continue;
            }

            string text;
            try
            {
                text = File.ReadAllText(Path.Combine(dir, "stat"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue; // exited between listing and reading (ESRCH reads as an IOException)
            }

            if (text.Length == 0)
            {
                continue;
            }

            ProcStatIds ids = ParseStat(text);
            if (ids.IsLive && (ids.Session == id || ids.ProcessGroup == id))
            {
                members.Add(ids.Pid);
            }
        }

        return members;
    }
}
