using Zeroshot.Agents.Health;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;

namespace Zeroshot.Export;

/// <summary>
/// What the exporter publishes of one agent, read from its snapshot: the labels, the life counters and the gauges. Pure;
/// the instruments' callbacks and the tests both use it.
/// </summary>
/// <param name="Cluster">The cluster's id (label <c>cluster</c>).</param>
/// <param name="Agent">The agent's id (label <c>agent</c>).</param>
/// <param name="Role">worker or validator (label <c>role</c>).</param>
/// <param name="Provider">claude, codex, gemini, sim or command (label <c>provider</c>).</param>
/// <param name="Model">The model, or "" when unknown (label <c>model</c>).</param>
/// <param name="Counters">The cumulative counters.</param>
/// <param name="MemoryBytes">Resident memory of its process tree now; null when it has no process (no series then).</param>
/// <param name="State">Its state word (as <c>status --json</c> writes it).</param>
/// <param name="Health">Its health verdict's word, or null when it has none (every verdict series is 0 then).</param>
internal sealed record AgentReading(
    string Cluster,
    string Agent,
    string Role,
    string Provider,
    string Model,
    AgentCounters Counters,
    double? MemoryBytes,
    string State,
    string? Health)
{
    /// <summary>Every state word, one <c>zeroshot_agent_state</c> series each.</summary>
    public static readonly string[] StateWords = Enum.GetValues<AgentState>().Select(StateNames.Text).ToArray();

    /// <summary>Every health verdict's word, one <c>zeroshot_agent_health</c> series each.</summary>
    public static readonly string[] HealthWords = HealthVerdictNames.All.Select(v => v.ToJsonName()).ToArray();

    /// <summary>Bytes in the MiB the samplers report memory in.</summary>
    private const double BytesPerMiB = 1024 * 1024;

    /// <summary>The reading of <paramref name="agent"/> of cluster <paramref name="cluster"/>.</summary>
    public static AgentReading From(ClusterSnapshot cluster, AgentSnapshot agent)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(agent);
        var totals = agent.Totals ?? default;
        var counters = new AgentCounters(totals.CpuSeconds, totals.DiskReadBytes, totals.DiskWriteBytes, totals.NetRxBytes, totals.NetTxBytes,
            agent.Tokens.Input, agent.Tokens.Output, agent.Tokens.CacheRead, agent.Tokens.CacheCreation, (double)agent.CostUsd);
        // Only a sample of a live tree says how much memory it holds now; an agent between runs holds none.
        double? memory = agent.Metrics is { Exists: true, MemoryMB: { } mib } ? mib * BytesPerMiB : null;
        return new AgentReading(cluster.Id, agent.Id, StateNames.Text(agent.Role), agent.Provider, agent.Model ?? "", counters, memory,
            StateNames.Text(agent.State), agent.Health?.Verdict.ToJsonName());
    }
}

/// <summary>An agent's counters over its whole life (every iteration, run and sample): they only grow.</summary>
/// <param name="CpuSeconds">CPU time of its process trees, user and system.</param>
/// <param name="DiskReadBytes">Bytes read from storage.</param>
/// <param name="DiskWriteBytes">Bytes written to storage.</param>
/// <param name="NetRxBytes">TCP payload bytes received.</param>
/// <param name="NetTxBytes">TCP payload bytes sent.</param>
/// <param name="InputTokens">Input tokens.</param>
/// <param name="OutputTokens">Output tokens.</param>
/// <param name="CacheReadTokens">Tokens read from the prompt cache.</param>
/// <param name="CacheCreationTokens">Tokens written to the prompt cache.</param>
/// <param name="CostUsd">Cost in US dollars.</param>
internal readonly record struct AgentCounters(
    double CpuSeconds,
    double DiskReadBytes,
    double DiskWriteBytes,
    double NetRxBytes,
    double NetTxBytes,
    long InputTokens,
    long OutputTokens,
    long CacheReadTokens,
    long CacheCreationTokens,
    double CostUsd)
{
    /// <summary>
    /// Each counter at least what it was: a snapshot without totals (an agent between runs, a supervisor read from the
    /// database) or a rounding step down must not make Prometheus see a counter reset.
    /// </summary>
    public AgentCounters AtLeast(AgentCounters floor) => new(
        Math.Max(CpuSeconds, floor.CpuSeconds),
        Math.Max(DiskReadBytes, floor.DiskReadBytes),
        Math.Max(DiskWriteBytes, floor.DiskWriteBytes),
        Math.Max(NetRxBytes, floor.NetRxBytes),
        Math.Max(NetTxBytes, floor.NetTxBytes),
        Math.Max(InputTokens, floor.InputTokens),
        Math.Max(OutputTokens, floor.OutputTokens),
        Math.Max(CacheReadTokens, floor.CacheReadTokens),
        Math.Max(CacheCreationTokens, floor.CacheCreationTokens),
        Math.Max(CostUsd, floor.CostUsd));
}
