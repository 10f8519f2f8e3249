using System.Globalization;
using System.Text;
using Zeroshot.Agents.Control;

namespace Zeroshot.Agents.Pty;

/// <summary>
/// The environment marker every agent process carries (<c>ZEROSHOT_AGENT_TOKEN</c>), inherited by everything it
/// starts, so that a descendant that left the agent's session and process group (setsid(2), a double fork: then
/// reparented to init, out of reach of kill(-pgid) and of a session scan) can still be found and stopped: by
/// scanning <c>/proc/*/environ</c> of this user's processes. A process that clears its environment (<c>env -i</c>)
/// escapes this sweep; cgroups (see <see cref="AgentCgroup"/>) do not have that gap.
/// </summary>
/// <remarks>
/// The value is <c>zs1.&lt;home hash&gt;.&lt;cluster start ms&gt;.&lt;cluster id&gt;/&lt;agent id&gt;</c>: computed
/// from the cluster's record, so a <c>zeroshot stop</c> of a cluster whose supervisor crashed finds the same
/// processes without anything else stored; unique across homes and across clusters that reuse an id.
/// </remarks>
internal static class AgentMarker
{
    /// <summary>The environment variable.</summary>
    public const string Variable = "ZEROSHOT_AGENT_TOKEN";

    /// <summary>The marker prefix shared by every agent of one cluster (ends with '/').</summary>
    public static string ClusterPrefix(string homeRoot, string clusterId, DateTimeOffset startedAt)
    {
        ArgumentNullException.ThrowIfNull(homeRoot);
        Span<byte> hash = stackalloc byte[Sha256.HashSizeInBytes];
        Sha256.HashData(Encoding.UTF8.GetBytes(homeRoot), hash);
        return string.Create(CultureInfo.InvariantCulture,
            $"zs1.{Convert.ToHexStringLower(hash[..6])}.{startedAt.ToUnixTimeMilliseconds()}.{clusterId}/");
    }

    /// <summary>One agent's marker value.</summary>
    public static string ForAgent(string clusterPrefix, string agentId) => clusterPrefix + agentId;

    /// <summary>
    /// Whether an environment block (proc(5) <c>environ</c>: NUL-separated <c>NAME=value</c> entries) has
    /// <see cref="Variable"/> with a value that starts with <paramref name="valuePrefix"/> (UTF-8), or that equals it
    /// when <paramref name="exact"/>.
    /// </summary>
    public static bool EnvironHas(ReadOnlySpan<byte> environ, ReadOnlySpan<byte> valuePrefix, bool exact = false)
    {
        ReadOnlySpan<byte> name = "ZEROSHOT_AGENT_TOKEN="u8;
        while (!environ.IsEmpty)
        {
            int end = environ.IndexOf((byte)0);
            var entry = end < 0 ? environ : environ[..end];
            if (entry.StartsWith(name) && (exact ? entry[name.Length..].SequenceEqual(valuePrefix) : entry[name.Length..].StartsWith(valuePrefix)))
                return true;
            environ = end < 0 ? default : environ[(end + 1)..];
        }
        return false;
    }

    /// <summary>
    /// Pids of this user's processes (other than this one) whose environment carries a marker starting with
    /// <paramref name="valuePrefix"/> (a cluster prefix: every agent of the cluster), or equal to it when
    /// <paramref name="exact"/> (one agent's marker). Processes that exit or are unreadable during the scan are
    /// skipped; zombies have an empty environ.
    /// </summary>
    public static List<int> FindLive(string valuePrefix, bool exact = false, string procRoot = "/proc")
    {
        var found = new List<int>();
        if (!OperatingSystem.IsLinux()) return found;
        byte[] prefix = Encoding.UTF8.GetBytes(valuePrefix);
        IEnumerable<string> dirs;
        try
        {
            dirs = Directory.EnumerateDirectories(procRoot);
        }
        catch (DirectoryNotFoundException)
        {
            return found;
        }
        int self = Environment.ProcessId;
        foreach (string dir in dirs)
        {
            if (!int.TryParse(Path.GetFileName(dir.AsSpan()), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) || pid == self) continue;
            try
            {
                // Only our own processes: root must not be steered into signalling another user's processes by a
                // marker planted in their environment.
                if (ControlNative.LStat(dir) is not { } owner || owner.Uid != ControlNative.EffectiveUid) continue;
                if (EnvironHas(File.ReadAllBytes(Path.Combine(dir, "environ")), prefix, exact)) found.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // exited between listing and reading
            }
        }
        return found;
    }

    /// <summary>
    /// Stops every process carrying a marker that starts with (or, when <paramref name="exact"/>, equals)
    /// <paramref name="value"/>: SIGTERM and SIGCONT, SIGKILL to those left after <paramref name="grace"/> (at once when
    /// it is zero). Returns how many processes were signalled; waits at most 10 s after the SIGKILL.
    /// </summary>
    public static async Task<int> StopAsync(string value, bool exact, TimeSpan grace, CancellationToken cancellationToken = default)
    {
        var first = FindLive(value, exact);
        if (first.Count == 0) return 0;
        var seen = new HashSet<int>(first);
        if (grace > TimeSpan.Zero)
        {
            foreach (int pid in first)
            {
                _ = PtyNative.kill(pid, PtyNative.SIGTERM);
                _ = PtyNative.kill(pid, PtyNative.SIGCONT);
            }
            if (await WaitNoneAsync(value, exact, grace, seen, cancellationToken).ConfigureAwait(false)) return seen.Count;
        }
        for (int round = 0; round < 500; round++)
        {
            var left = FindLive(value, exact);
            if (left.Count == 0) break;
            foreach (int pid in left)
            {
                seen.Add(pid);
                _ = PtyNative.kill(pid, PtyNative.SIGKILL);
            }
            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
        return seen.Count;
    }

    private static async Task<bool> WaitNoneAsync(string value, bool exact, TimeSpan timeout, HashSet<int> seen, CancellationToken cancellationToken)
    {
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (true)
        {
            var left = FindLive(value, exact);
            if (left.Count == 0) return true;
            seen.UnionWith(left);
            long remaining = deadline - Environment.TickCount64;
            if (remaining <= 0) return false;
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(remaining, 50)), cancellationToken).ConfigureAwait(false);
        }
    }
}
