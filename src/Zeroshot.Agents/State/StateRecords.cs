using Zeroshot.Agents.Config;

namespace Zeroshot.Agents.State;

/// <summary>A cluster's lifecycle. <see cref="Crashed"/>: its supervisor died without recording an end.</summary>
internal enum ClusterState
{
    Running,
    Completed,
    Failed,
    Stopped,
    Crashed,
}

/// <summary>An agent's lifecycle within the current iteration.</summary>
internal enum AgentState
{
    Waiting,
    Running,
    Completed,
    Failed,
    Stopped,
}

/// <summary>One agent's row. Times are UTC with millisecond precision (stored as unix ms).</summary>
/// <remarks><c>Provider</c>: claude/codex/sim, or "command" for an explicit argv. <c>PidStartTime</c>: The pid's start time in clock ticks since boot (/proc/&lt;pid&gt;/stat field 22), so a reused pid is not mistaken for the agent.</remarks>
internal sealed record AgentRecord(
    string AgentId,
    AgentRole Role,
    string Provider,
    string? Model,
    AgentState State,
    int? Pid,
    long? PidStartTime,
    int Iteration,
    int? ExitCode,
    DateTimeOffset? StartedAt,
    DateTimeOffset? EndedAt,
    DateTimeOffset? LastOutputAt,
    Output.UsageTotals Usage = default)
{
    /// <summary>The model the agent's CLI named (its stream or its config file); null when it named none.</summary>
    public string? SeenModel { get; init; }

    /// <summary>A validator's latest verdict and the iteration it judged; null before it judged.</summary>
    public (Output.Verdict Verdict, int Iteration)? Verdict { get; init; }

    /// <summary>Why the agent's last run failed, or its last API error; null when none.</summary>
    public string? LastError { get; init; }

    /// <summary>What the running agent was doing at its supervisor's latest tick; null before the supervisor wrote it
    /// for this run (or for a supervisor of an older zeroshot, which never does).</summary>
    public AgentLive? Live { get; init; }
}

/// <summary>
/// What a running agent is doing, as its supervisor last wrote it to the database (when it changed, at most once a
/// tick): <c>list</c> reads it there instead of asking every supervisor, a round trip per cluster.
/// </summary>
/// <param name="Activity">Its activity; null when its CLI gives none (a <c>command</c> agent).</param>
/// <param name="Detail">The tool name, the retry, the question.</param>
/// <param name="Health">Its health verdict when unhealthy (stalled, busy-idle, stuck), else null: only those change
/// what a view shows, and healthy verdicts change with every tool call.</param>
/// <param name="HealthSince">Since when <paramref name="Health"/> holds.</param>
internal sealed record AgentLive(Output.AgentActivity? Activity, string? Detail, Health.HealthVerdict? Health, DateTimeOffset? HealthSince)
{
    /// <summary>The part of <paramref name="agent"/>'s live snapshot kept in the database.</summary>
    public static AgentLive Of(Supervision.AgentSnapshot agent) =>
        agent.Health is { } health && Zeroshot.Agents.Health.HealthVerdictNames.IsUnhealthy(health.Verdict)
            ? new(agent.Activity, agent.ActivityDetail, health.Verdict, health.Since)
            : new(agent.Activity, agent.ActivityDetail, null, null);

    /// <summary>Whether <paramref name="agent"/>'s snapshot says the same (no allocation: checked every tick).</summary>
    public bool Matches(Supervision.AgentSnapshot agent)
    {
        ArgumentNullException.ThrowIfNull(agent);
        bool unhealthy = agent.Health is { } health && Zeroshot.Agents.Health.HealthVerdictNames.IsUnhealthy(health.Verdict);
        return Activity == agent.Activity && string.Equals(Detail, agent.ActivityDetail, StringComparison.Ordinal)
            && (unhealthy ? Health == agent.Health!.Verdict && HealthSince == agent.Health.Since : Health is null);
    }
}

/// <summary>A snapshot of one cluster (or task) and its agents, in cluster-file order.</summary>
/// <remarks><c>SupervisorStartTime</c>: The supervisor's /proc start time in ticks (identity together with the pid). <c>ConfigJson</c>: The cluster file as run (see <see cref="ClusterConfigJson"/>); <see cref="LoadConfig"/> parses it.</remarks>
internal sealed record ClusterRecord(
    string Id,
    ClusterKind Kind,
    string Name,
    ClusterState State,
    int Iteration,
    int MaxIterations,
    DateTimeOffset StartedAt,
    DateTimeOffset? EndedAt,
    int? SupervisorPid,
    long? SupervisorStartTime,
    string? SocketPath,
    string ConfigJson,
    int? ExitCode,
    IReadOnlyList<AgentRecord> Agents)
{
    /// <summary>A new running cluster at iteration 0 with every agent waiting.</summary>
    public static ClusterRecord New(
        string id,
        ClusterConfig config,
        DateTimeOffset startedAt,
        int? supervisorPid = null,
        long? supervisorStartTime = null,
        string? socketPath = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var agents = config.Agents
            .Select(a => new AgentRecord(a.Id, a.Role, a.ProviderLabel, a.Model, AgentState.Waiting, null, null, 0, null, null, null, null))
            .ToList();
        return new ClusterRecord(id, config.Kind, config.Name, ClusterState.Running, 0, config.MaxIterations, startedAt, null,
            supervisorPid, supervisorStartTime, socketPath, ClusterConfigJson.Serialize(config), null, agents);
    }

    /// <summary>Whether the cluster has ended (any state but running).</summary>
    public bool IsFinished => State != ClusterState.Running;

    public AgentRecord? FindAgent(string agentId) => Agents.FirstOrDefault(a => a.AgentId == agentId);

    /// <summary>Parses <see cref="ConfigJson"/> back into the config the cluster runs.</summary>
    public ClusterConfig LoadConfig() => ClusterConfigLoader.LoadFromJson(ConfigJson, $"stored config of {Id}");
}

/// <summary>Text forms of the enums as stored in the database and printed by the CLI (lower case).</summary>
internal static class StateNames
{
    public static string Text(ClusterState state) => state switch
    {
        ClusterState.Running => "running",
        ClusterState.Completed => "completed",
        ClusterState.Failed => "failed",
        ClusterState.Stopped => "stopped",
        ClusterState.Crashed => "crashed",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };

    public static string Text(AgentState state) => state switch
    {
        AgentState.Waiting => "waiting",
        AgentState.Running => "running",
        AgentState.Completed => "completed",
        AgentState.Failed => "failed",
        AgentState.Stopped => "stopped",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };

    public static string Text(ClusterKind kind) => kind == ClusterKind.Task ? "task" : "cluster";

    public static string Text(AgentRole role) => ClusterConfigJson.RoleName(role);

    public static ClusterState ParseClusterState(string text) => text switch
    {
        "running" => ClusterState.Running,
        "completed" => ClusterState.Completed,
        "failed" => ClusterState.Failed,
        "stopped" => ClusterState.Stopped,
        "crashed" => ClusterState.Crashed,
        _ => throw new InvalidDataException($"unknown cluster state '{text}' in the state database"),
    };

    public static AgentState ParseAgentState(string text) => text switch
    {
        "waiting" => AgentState.Waiting,
        "running" => AgentState.Running,
        "completed" => AgentState.Completed,
        "failed" => AgentState.Failed,
        "stopped" => AgentState.Stopped,
        _ => throw new InvalidDataException($"unknown agent state '{text}' in the state database"),
    };

    public static ClusterKind ParseKind(string text) => text switch
    {
        "cluster" => ClusterKind.Cluster,
        "task" => ClusterKind.Task,
        _ => throw new InvalidDataException($"unknown cluster kind '{text}' in the state database"),
    };

    public static AgentRole ParseRole(string text) => text switch
    {
        "worker" => AgentRole.Worker,
        "validator" => AgentRole.Validator,
        _ => throw new InvalidDataException($"unknown agent role '{text}' in the state database"),
    };
}
