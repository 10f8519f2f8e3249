using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Microsoft.Win32.SafeHandles;
using static Zeroshot.Agents.Pty.PtyNative;

namespace Zeroshot.Agents.Pty;

/// <summary>
/// A cgroup v2 directory holding one agent's processes (Documentation/admin-guide/cgroup-v2.rst): membership is
/// inherited by every descendant and cannot be left without write access to another cgroup's <c>cgroup.procs</c>,
/// so setsid(2), double forks and a cleared environment do not escape it. <see cref="KillAll"/> writes
/// <c>cgroup.kill</c> (Linux 5.14+), which SIGKILLs every process in the cgroup and its descendants at once.
/// </summary>
internal sealed class AgentCgroup
{
    /// <summary>Overrides discovery: a cgroup2 directory to create the clusters' cgroups in, or <c>off</c>.</summary>
    public const string RootVariable = "ZEROSHOT_CGROUP_ROOT";

    private readonly object _sampleGate = new();
    private SafeFileHandle? _cpuStat;
    private SafeFileHandle? _memoryCurrent;
    private bool _noCpuStat;
    private bool _noMemory;
    private long _lastUsage = -1;
    private long _lastTimestamp;

    private AgentCgroup(string path) => Path = path;

    /// <summary>The cgroup's directory.</summary>
    public string Path { get; }

    /// <summary>
    /// The cgroup2 directory under which Zeroshot may create cgroups: <see cref="RootVariable"/> when set (<c>off</c>
    /// disables cgroups), else this process's own cgroup (the <c>0::</c> line of /proc/self/cgroup) inside a cgroup2
    /// mount found in /proc/self/mountinfo. Null when there is none or this user cannot write there (no delegation):
    /// then the agents are stopped by the process-group, session and marker sweep only.
    /// </summary>
    public static string? DiscoverRoot(Func<string, string?> getEnvironmentVariable)
    {
        ArgumentNullException.ThrowIfNull(getEnvironmentVariable);
        if (!OperatingSystem.IsLinux()) return null;
        string? configured = getEnvironmentVariable(RootVariable);
        if (configured is "off" or "none" or "0") return null;
        string? candidate = configured;
        if (string.IsNullOrEmpty(candidate))
        {
            try
            {
                string? own = OwnCgroup(File.ReadAllText("/proc/self/cgroup"));
                candidate = own is null ? null : Resolve(own, Cgroup2Mounts(File.ReadAllText("/proc/self/mountinfo")));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }
        if (candidate is null) return null;
        // A cgroup2 directory has cgroup.controllers (v1 hierarchies do not); creating children needs write access.
        bool usable = File.Exists(System.IO.Path.Combine(candidate, "cgroup.controllers"))
            && Writable(candidate);
        return usable ? candidate : null;
    }

    /// <summary>access(2) with W_OK (2): whether this user may create entries in <paramref name="directory"/>.</summary>
    private static unsafe bool Writable(string directory)
    {
        fixed (byte* p = Encoding.UTF8.GetBytes(directory + "\0")) return access(p, 2) == 0;
    }

    /// <summary>The path of the <c>0::</c> (cgroup v2) line of /proc/&lt;pid&gt;/cgroup (cgroups(7)); null if none.</summary>
    public static string? OwnCgroup(ReadOnlySpan<char> procCgroup)
    {
        foreach (var line in procCgroup.EnumerateLines())
            if (line.StartsWith("0::", StringComparison.Ordinal)) return line[3..].ToString();
        return null;
    }

    /// <summary>(root within the hierarchy, mount point) of each cgroup2 mount in a mountinfo text (proc(5)).</summary>
    public static List<(string Root, string MountPoint)> Cgroup2Mounts(ReadOnlySpan<char> mountinfo)
    {
        var mounts = new List<(string, string)>();
        Span<Range> fields = stackalloc Range[8];
        foreach (var line in mountinfo.EnumerateLines())
        {
            // "36 35 98:0 /root /mount/point options [optional fields...] - fstype source superoptions"
            int separator = line.IndexOf(" - ", StringComparison.Ordinal);
            if (separator < 0) continue;
            var after = line[(separator + 3)..];
            int space = after.IndexOf(' ');
            if (!(space < 0 ? after : after[..space]).SequenceEqual("cgroup2")) continue;
            if (line[..separator].Split(fields, ' ') < 5) continue;
            mounts.Add((Unescape(line[fields[3]]), Unescape(line[fields[4]])));
        }
        return mounts;
    }

    /// <summary>Where cgroup <paramref name="own"/> is in the file system, given the cgroup2 mounts; null if not visible.</summary>
    public static string? Resolve(string own, IReadOnlyList<(string Root, string MountPoint)> mounts)
    {
        ArgumentNullException.ThrowIfNull(own);
        ArgumentNullException.ThrowIfNull(mounts);
        foreach (var (root, mountPoint) in mounts)
        {
            string prefix = root.TrimEnd('/');
            if (own != root && !own.StartsWith(prefix + "/", StringComparison.Ordinal)) continue;
            string path = mountPoint.TrimEnd('/') + own[prefix.Length..].TrimEnd('/');
            return path.Length == 0 ? "/" : path;
        }
        return null;
    }

    /// <summary>mountinfo escapes space, tab, newline and backslash as \ooo (octal).</summary>
    private static string Unescape(ReadOnlySpan<char> field)
    {
        var sb = new StringBuilder(field.Length);
        for (int i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length && IsOctal(field.Slice(i + 1, 3)))
            {
                sb.Append((char)Convert.ToInt32(field.Slice(i + 1, 3).ToString(), 8));
                i += 3;
            }
            else
            {
                sb.Append(field[i]);
            }
        }
        return sb.ToString();
    }

    private static bool IsOctal(ReadOnlySpan<char> digits) => digits.IndexOfAnyExceptInRange('0', '7') < 0;

    /// <summary>Creates (or reuses) the cgroup at <paramref name="path"/>; null when the kernel refuses.</summary>
    public static AgentCgroup? TryCreate(string path)
    {
        try
        {
            Directory.CreateDirectory(path);
            return File.Exists(System.IO.Path.Combine(path, "cgroup.procs")) ? new AgentCgroup(path) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>An existing cgroup (a crashed supervisor's); null when it is gone.</summary>
    public static AgentCgroup? Open(string path) =>
        File.Exists(System.IO.Path.Combine(path, "cgroup.procs")) ? new AgentCgroup(path) : null;

    /// <summary>
    /// The argv that runs <paramref name="executable"/> with <paramref name="arguments"/> inside this cgroup: a shell moves itself in (writing 0 to
    /// cgroup.procs moves the writer) and then execs the program, keeping its pid — so the agent is in the cgroup
    /// before its first instruction and nothing it forks can start outside. If the move fails the agent still runs
    /// (the sweep covers it).
    /// </summary>
    public IReadOnlyList<string> Enter(string executable, IEnumerable<string> arguments) =>
        ["/bin/sh", "-c", "{ echo 0 > \"$0/cgroup.procs\"; } 2>/dev/null; exec \"$@\"", Path, executable, .. arguments];

    /// <summary>The processes directly in this cgroup (descendant cgroups are not listed).</summary>
    public List<int> Pids()
    {
        var pids = new List<int>();
        try
        {
            foreach (var line in File.ReadAllText(System.IO.Path.Combine(Path, "cgroup.procs")).AsSpan().EnumerateLines())
                if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out int pid)) pids.Add(pid);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // removed: empty
        }
        return pids;
    }

    /// <summary>Whether any process is in this cgroup or below it (<c>populated</c> of cgroup.events).</summary>
    public bool Populated
    {
        get
        {
            try
            {
                foreach (var line in File.ReadAllText(System.IO.Path.Combine(Path, "cgroup.events")).AsSpan().EnumerateLines())
                    if (line.StartsWith("populated ", StringComparison.Ordinal)) return line[10..].Trim().SequenceEqual("1");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return Pids().Count > 0;
            }
            return Pids().Count > 0;
        }
    }

    /// <summary>Sends <paramref name="signal"/> to every process directly in the cgroup.</summary>
    public void Signal(int signal)
    {
        foreach (int pid in Pids()) _ = kill(pid, signal);
    }

    /// <summary>SIGKILLs everything in the cgroup and below: cgroup.kill, else each listed process.</summary>
    public void KillAll()
    {
        try
        {
            File.WriteAllText(System.IO.Path.Combine(Path, "cgroup.kill"), "1");
            return;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // cgroup.kill needs Linux 5.14: signal the members one by one.
        }
        Signal(SIGKILL);
    }

    /// <summary>
    /// SIGTERM (and SIGCONT) to every member, SIGKILL to the whole cgroup after <paramref name="grace"/>; true once
    /// it is empty (waits at most 10 s after the SIGKILL).
    /// </summary>
    public async Task<bool> StopAsync(TimeSpan grace, CancellationToken cancellationToken = default)
    {
        if (!Populated) return true;
        if (grace > TimeSpan.Zero)
        {
            Signal(SIGTERM);
            Signal(SIGCONT);
            if (await WaitEmptyAsync(grace, cancellationToken).ConfigureAwait(false)) return true;
        }
        KillAll();
        return await WaitEmptyAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
    }

    private async Task<bool> WaitEmptyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (Populated)
        {
            long left = deadline - Environment.TickCount64;
            if (left <= 0) return false;
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(left, 20)), cancellationToken).ConfigureAwait(false);
        }
        return true;
    }

    /// <summary>CPU time of everything that ran in the cgroup, in µs (<c>usage_usec</c> of cpu.stat); null if unreadable.</summary>
    public long? CpuUsageMicros()
    {
        try
        {
            foreach (var line in File.ReadAllText(System.IO.Path.Combine(Path, "cpu.stat")).AsSpan().EnumerateLines())
                if (line.StartsWith("usage_usec ", StringComparison.Ordinal)
                    && long.TryParse(line[11..], NumberStyles.None, CultureInfo.InvariantCulture, out long usec)) return usec;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        return null;
    }

    /// <summary>Memory charged to the cgroup in bytes (memory.current); null without the memory controller.</summary>
    public long? MemoryBytes()
    {
        try
        {
            return long.TryParse(File.ReadAllText(System.IO.Path.Combine(Path, "memory.current")).AsSpan().Trim(), NumberStyles.None,
                CultureInfo.InvariantCulture, out long bytes) ? bytes : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// The kernel's own account of the cgroup, a cross-check of the process-tree sums: CPU in percent of one core
    /// from the <c>usage_usec</c> delta of cpu.stat since the previous call (null on the first), and memory.current
    /// (null without the memory controller, which is enabled only where the parent's subtree_control has it).
    /// Called once per sampling tick; the files stay open and are re-read at offset 0, so nothing is allocated.
    /// </summary>
    /// <param name="timestamp">Now, from <see cref="TimeProvider.GetTimestamp"/>.</param>
    /// <param name="frequency">Ticks per second of <paramref name="timestamp"/>.</param>
    public CgroupSample Sample(long timestamp, long frequency)
    {
        lock (_sampleGate)
        {
            double? cpu = null;
            if (ReadNumber(ref _cpuStat, ref _noCpuStat, "cpu.stat", "usage_usec "u8) is { } usage)
            {
                if (_lastUsage >= 0 && timestamp > _lastTimestamp && usage >= _lastUsage)
                    cpu = (usage - _lastUsage) / ((timestamp - _lastTimestamp) * 1e6 / frequency) * 100;
                _lastUsage = usage;
                _lastTimestamp = timestamp;
            }
            double? memory = ReadNumber(ref _memoryCurrent, ref _noMemory, "memory.current", default) is { } bytes ? bytes / (1024.0 * 1024.0) : null;
            return new CgroupSample(cpu, memory);
        }
    }

    /// <summary>The number after <paramref name="key"/> at the start of a line (or the whole file when empty).</summary>
    private long? ReadNumber(ref SafeFileHandle? handle, ref bool missing, string file, ReadOnlySpan<byte> key)
    {
        if (missing) return null;
        try
        {
            handle ??= File.OpenHandle(System.IO.Path.Combine(Path, file), FileMode.Open, FileAccess.Read);
            Span<byte> buffer = stackalloc byte[1024];
            var text = buffer[..RandomAccess.Read(handle, buffer, 0)];
            while (!text.IsEmpty)
            {
                int end = text.IndexOf((byte)'\n');
                var line = end < 0 ? text : text[..end];
                if (line.StartsWith(key))
                    return Utf8Parser.TryParse(line[key.Length..], out long value, out _) ? value : null;
                text = end < 0 ? default : text[(end + 1)..];
            }
            return null;
        }
        catch (FileNotFoundException)
        {
            missing = true; // no such controller here: never ask again
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Removes the (empty) cgroup directory; a populated one stays (rmdir(2) fails with EBUSY).</summary>
    public bool TryRemove()
    {
        lock (_sampleGate)
        {
            _cpuStat?.Dispose();
            _memoryCurrent?.Dispose();
            _cpuStat = _memoryCurrent = null;
        }
        try
        {
            Directory.Delete(Path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}

/// <summary>What the kernel accounts to an agent's cgroup (see <see cref="AgentCgroup.Sample"/>).</summary>
/// <param name="CpuPercent">CPU since the previous tick in percent of one core; null on the first tick.</param>
/// <param name="MemoryMB">memory.current in MiB; null without the memory controller.</param>
internal readonly record struct CgroupSample(double? CpuPercent, double? MemoryMB);
