using Zeroshot.Agents.Pty;
using Zeroshot.Agents.State;
using Zeroshot.Metrics;
using static Zeroshot.Agents.Pty.PtyNative;

namespace Zeroshot.Agents.Supervision;

/// <summary>
/// The agent processes of a cluster whose supervisor is gone (SIGKILL, a crash) or unreachable: agents whose
/// recorded (pid, start time) still match a live process (their process group and session), every process carrying
/// the cluster's <see cref="AgentMarker"/>, and the agent cgroups the supervisor recorded. <c>stop</c> and <c>kill</c>
/// end them directly; <c>status</c> names them.
/// </summary>
internal sealed class LeftoverAgents
{
    private readonly List<int> _leaders;
    private readonly List<AgentCgroup> _cgroups;
    private readonly string _markerPrefix;

    private LeftoverAgents(List<int> leaders, List<AgentCgroup> cgroups, string markerPrefix, IReadOnlyList<string> running)
    {
        _leaders = leaders;
        _cgroups = cgroups;
        _markerPrefix = markerPrefix;
        RunningAgents = running;
    }

    /// <summary>The ids of the agents that still have a live process.</summary>
    public IReadOnlyList<string> RunningAgents { get; }

    /// <summary>Looks for what <paramref name="record"/>'s agents left running.</summary>
    public static LeftoverAgents Find(ClusterRecord record, ZeroshotHome home)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(home);
        string prefix = AgentMarker.ClusterPrefix(home.Root, record.Id, record.StartedAt);
        string? cgroupRoot = SupervisorLock.RecordedCgroup(home, record.Id);
        var leaders = new List<int>();
        var cgroups = new List<AgentCgroup>();
        var running = new List<string>();
        foreach (var agent in record.Agents)
        {
            bool alive = false;
            // Only an exact identity: an unknown start time (0) could name a recycled pid, a stranger's process.
            if (agent.Pid is int pid && agent.PidStartTime is long start && start != 0 && ProcessIdentity.StartTime(pid) == start)
            {
                leaders.Add(pid);
                alive = true;
            }
            if (cgroupRoot is not null && AgentCgroup.Open(Path.Combine(cgroupRoot, "agent-" + agent.AgentId)) is { } cgroup)
            {
                cgroups.Add(cgroup);
                alive |= cgroup.Populated;
            }
            alive = alive || AgentMarker.FindLive(AgentMarker.ForAgent(prefix, agent.AgentId), exact: true).Count > 0;
            if (alive) running.Add(agent.AgentId);
        }
        return new LeftoverAgents(leaders, cgroups, prefix, running);
    }

    /// <summary>
    /// SIGTERM (and SIGCONT) to everything found, SIGKILL to what is left after <paramref name="grace"/> (at once when
    /// zero); returns whether nothing is left (waits at most 10 s after the SIGKILL).
    /// </summary>
    public async Task<bool> StopAsync(TimeSpan grace, CancellationToken cancellationToken = default)
    {
        if (grace > TimeSpan.Zero)
        {
            SignalAll(SIGTERM);
            SignalAll(SIGCONT);
            if (await WaitGoneAsync(grace, cancellationToken).ConfigureAwait(false)) return true;
        }
        for (int round = 0; round < 500; round++)
        {
            SignalAll(SIGKILL);
            if (await WaitGoneAsync(TimeSpan.FromMilliseconds(20), cancellationToken).ConfigureAwait(false)) return true;
        }
        return false;
    }

    private void SignalAll(int signal)
    {
        foreach (int leader in _leaders)
        {
            _ = kill(-leader, signal);
            foreach (int member in ProcessGroupScanner.FindLiveMembers(leader)) _ = kill(member, signal);
        }
        foreach (var cgroup in _cgroups)
        {
            if (signal == SIGKILL) cgroup.KillAll();
            else cgroup.Signal(signal);
        }
        foreach (int pid in AgentMarker.FindLive(_markerPrefix)) _ = kill(pid, signal);
    }

    private bool Gone() =>
        _leaders.All(l => ProcessGroupScanner.FindLiveMembers(l).Count == 0)
        && _cgroups.All(c => !c.Populated)
        && AgentMarker.FindLive(_markerPrefix).Count == 0;

    private async Task<bool> WaitGoneAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (!Gone())
        {
            long left = deadline - Environment.TickCount64;
            if (left <= 0) return false;
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(left, 20)), cancellationToken).ConfigureAwait(false);
        }
        RemoveEmptyCgroups();
        return true;
    }

    /// <summary>Removes the dead supervisor's empty cgroups (it would have at its end); populated ones stay.</summary>
    public void RemoveEmptyCgroups()
    {
        foreach (var cgroup in _cgroups) cgroup.TryRemove();
        if (_cgroups.Count > 0 && Path.GetDirectoryName(_cgroups[0].Path) is { } cluster) AgentCgroup.Open(cluster)?.TryRemove();
    }
}
