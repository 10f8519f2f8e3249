using System.Collections.Concurrent;
using System.Globalization;
using Zeroshot.Agents.Pty;

namespace Zeroshot.Agents.Supervision;

/// <summary>
/// What keeps every process a cluster's agents start findable, so that stopping an agent stops all of it: the
/// <see cref="AgentMarker"/> in each agent's environment, and, where cgroup v2 is usable by this user (delegated,
/// or root), one cgroup per agent under <c>&lt;cgroup root&gt;/zeroshot-&lt;cluster&gt;-&lt;start ms&gt;</c>.
/// The process-group and session sweep of <see cref="PtyProcess.StopAsync"/> comes first; this catches what left
/// the session (setsid(2), double forks).
/// </summary>
/// <remarks>
/// A child subreaper (prctl(2) PR_SET_CHILD_SUBREAPER) would also keep double-forked descendants under the
/// supervisor, but the supervisor would then have to reap every orphan with waitpid(-1), which would take exit
/// statuses from the per-agent waitpid threads of <see cref="PtyProcess"/> and from .NET's own SIGCHLD handling; the
/// marker finds the same processes without that.
/// </remarks>
internal sealed class AgentContainment
{
    private readonly ConcurrentDictionary<string, AgentCgroup?> _cgroups = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private AgentCgroup? _cluster;
    private bool _clusterTried;

    /// <param name="markerPrefix">The cluster's marker prefix (<see cref="AgentMarker.ClusterPrefix"/>).</param>
    /// <param name="clusterCgroupPath">The cluster's cgroup directory (created on first use), or null without cgroups.</param>
    public AgentContainment(string markerPrefix, string? clusterCgroupPath)
    {
        MarkerPrefix = markerPrefix;
        ClusterCgroupPath = clusterCgroupPath;
    }

    /// <summary>The cluster's marker prefix.</summary>
    public string MarkerPrefix { get; }

    /// <summary>The cluster's cgroup directory, or null without cgroups.</summary>
    public string? ClusterCgroupPath { get; }

    /// <summary>The cluster's cgroup directory under <paramref name="cgroupRoot"/> (null when there is no root).</summary>
    public static string? ClusterCgroupUnder(string? cgroupRoot, string clusterId, DateTimeOffset startedAt) =>
        cgroupRoot is null ? null
            : Path.Combine(cgroupRoot, string.Create(CultureInfo.InvariantCulture, $"zeroshot-{clusterId}-{startedAt.ToUnixTimeMilliseconds()}"));

    /// <summary>The marker value of <paramref name="agentId"/>.</summary>
    public string MarkerFor(string agentId) => AgentMarker.ForAgent(MarkerPrefix, agentId);

    /// <summary>The agent's cgroup (created on first use, reused by later iterations); null without cgroups or if refused.</summary>
    public AgentCgroup? CgroupFor(string agentId)
    {
        if (ClusterCgroupPath is null) return null;
        return _cgroups.GetOrAdd(agentId, id =>
        {
            lock (_gate)
            {
                if (!_clusterTried)
                {
                    _cluster = AgentCgroup.TryCreate(ClusterCgroupPath);
                    _clusterTried = true;
                }
                return _cluster is null ? null : AgentCgroup.TryCreate(Path.Combine(ClusterCgroupPath, "agent-" + id));
            }
        });
    }

    /// <summary>The agent's cgroup if it has one already (never creates it: for the sampler).</summary>
    public AgentCgroup? ExistingCgroup(string agentId) => _cgroups.TryGetValue(agentId, out var cgroup) ? cgroup : null;

    /// <summary>
    /// After an agent's run ended (its session is already swept): stops whatever it left outside its session, by
    /// its cgroup and by its marker; SIGKILL after <paramref name="grace"/>.
    /// </summary>
    public async Task SweepAsync(string agentId, TimeSpan grace, CancellationToken cancellationToken = default)
    {
        if (_cgroups.TryGetValue(agentId, out var cgroup) && cgroup is not null)
            await cgroup.StopAsync(grace, cancellationToken).ConfigureAwait(false);
        await AgentMarker.StopAsync(MarkerFor(agentId), exact: true, grace, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Removes the agent cgroups and the cluster's at the end of the run, trying again for up to
    /// <paramref name="patience"/> while rmdir(2) is refused (a killed process not yet released still counts).
    /// </summary>
    public async Task RemoveCgroupsAsync(TimeSpan patience)
    {
        if (ClusterCgroupPath is null) return;
        long deadline = Environment.TickCount64 + (long)patience.TotalMilliseconds;
        while (true)
        {
            bool all = true;
            foreach (var cgroup in _cgroups.Values) all &= cgroup is null || cgroup.TryRemove() || !Directory.Exists(cgroup.Path);
            all &= _cluster is null || _cluster.TryRemove() || !Directory.Exists(_cluster.Path);
            if (all || Environment.TickCount64 >= deadline) return;
            await Task.Delay(50).ConfigureAwait(false);
        }
    }
}
