using System.Text.Json.Serialization;
using Zeroshot.Agents.Config;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;
using Zeroshot.Metrics;

namespace Zeroshot.Agents.Supervision;

/// <summary>A validator's verdict on one iteration: <c>{approved, summary, issues, iteration}</c>.</summary>
/// <param name="Approved">True when the validator accepted the work.</param>
/// <param name="Summary">Its summary (may be empty).</param>
/// <param name="Issues">What must change.</param>
/// <param name="Iteration">The iteration it judged.</param>
internal sealed record VerdictSnapshot(bool Approved, string Summary, IReadOnlyList<string> Issues, int Iteration)
{
    /// <summary>The verdict of <paramref name="iteration"/>.</summary>
    public static VerdictSnapshot From(Verdict verdict, int iteration) => new(verdict.Approved, verdict.Summary, verdict.Issues, iteration);

    /// <summary>The verdict itself, without the iteration.</summary>
    [JsonIgnore]
    public Verdict Verdict => new(Approved, Summary, Issues);
}

/// <summary>
/// One agent in the live model: what <c>status --json</c> shows of it, what the footer and the text views draw.
/// Immutable; built once per tick by the supervisor (or from the state database for a cluster without one).
/// </summary>
/// <param name="Id">Agent id.</param>
/// <param name="Role">Worker or validator.</param>
/// <param name="Provider">Provider name, or "command".</param>
/// <param name="Model">The model its CLI named, else the configured one; null when unknown.</param>
/// <param name="State">Lifecycle state in the current iteration.</param>
/// <param name="Pid">Its process id while running, else null.</param>
/// <param name="Iteration">The iteration it belongs to.</param>
/// <param name="ExitCode">Exit code of its last run.</param>
/// <param name="LastOutputAt">When it last wrote output.</param>
/// <param name="Activity">What it is doing while running, else null.</param>
/// <param name="ActivityDetail">The tool name, or the retry ("529 3/10 in 4s").</param>
/// <param name="Tokens">Tokens of all its runs so far.</param>
/// <param name="CostUsd">Cost of all its runs so far.</param>
/// <param name="CostEstimated">Whether any of the cost comes from the price table.</param>
/// <param name="Verdict">A validator's latest verdict.</param>
/// <param name="LastError">Why its last run failed, or the current run's last API error.</param>
/// <param name="Metrics">The latest sample of its process tree while running, else null.</param>
internal sealed record AgentSnapshot(
    string Id,
    AgentRole Role,
    string Provider,
    string? Model,
    AgentState State,
    int? Pid,
    int Iteration,
    int? ExitCode,
    DateTimeOffset? LastOutputAt,
    AgentActivity? Activity,
    string? ActivityDetail,
    TokenCounts Tokens,
    decimal CostUsd,
    bool CostEstimated,
    VerdictSnapshot? Verdict,
    string? LastError,
    TreeSample? Metrics)
{
    /// <summary>The last samples of its process tree, only for a reader that asked (<c>status --json --history</c>).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<TreeSample>? History { get; init; }

    /// <summary>The kernel's account of the agent's cgroup (a cross-check of <see cref="Metrics"/>); absent without one.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Pty.CgroupSample? Cgroup { get; init; }

    /// <summary>Clients attached to the agent's terminal now (<c>zeroshot attach</c>); absent when none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int Attached { get; init; }

    /// <summary>The last line it showed, as one plain line (at most 200 characters); absent before one and for an
    /// agent read from the state database.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? LastLine { get; init; }

    /// <summary>An interactive agent (its CLI's TUI, for a person to attach to and <c>send</c> prompts to); absent otherwise.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool Interactive { get; init; }

    /// <summary>True when <see cref="Activity"/> is guessed from its output because its CLI gives no signal for it (an
    /// interactive Gemini CLI, an interactive command); absent when the CLI said it.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool ActivityInferred { get; init; }

    /// <summary>Its health verdict while running (<c>Health.HealthMonitor</c>); absent otherwise.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Health.HealthSnapshot? Health { get; init; }

    /// <summary>What its process trees used over its whole life (cumulative counters); absent before its first sample
    /// and for an agent read from the state database.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Health.AgentTotals? Totals { get; init; }

    /// <summary>Tokens and cost together.</summary>
    [JsonIgnore]
    public UsageTotals Usage => new(Tokens, CostUsd, CostEstimated);

    /// <summary>What its PTY carries, for a viewer: the provider's stream-json dialect ("claude", "codex", "gemini", "sim"), or
    /// "command" for a screen a person reads (a command, an interactive agent's TUI).</summary>
    [JsonIgnore]
    public string OutputDialect => Interactive ? "command" : Provider;

    /// <summary>The word for its state and activity, as every view shows it: <c>tool:Bash</c>, <c>retrying 529 3/10 in
    /// 4s</c>, <c>model</c>, <c>quiet</c> while it runs; <c>approved</c>/<c>rejected</c> for a validator that judged;
    /// else its state.</summary>
    public string ActivityText()
    {
        if (State == AgentState.Running)
        {
            // Something wrong outranks what its CLI last said: "stalled" says more than "model".
            if (Health is { } health && Zeroshot.Agents.Health.HealthVerdictNames.IsUnhealthy(health.Verdict))
                return Zeroshot.Agents.Health.HealthVerdictNames.ToJsonName(health.Verdict);
            return Activity switch
            {
                AgentActivity.Tool => ActivityDetail is null ? "tool" : "tool:" + ActivityDetail,
                AgentActivity.Retrying => ActivityDetail is null ? "retrying" : "retrying " + ActivityDetail,
                AgentActivity.Model => "model",
                AgentActivity.Output => "output",
                AgentActivity.NeedsInput => ActivityDetail is null ? "needs-input" : "needs-input: " + ActivityDetail,
                AgentActivity.Idle => "idle",
                AgentActivity.Error => "error",
                _ => "quiet",
            };
        }
        if (Verdict is { } verdict && Role == AgentRole.Validator)
            return verdict.Approved ? "approved" : "rejected";
        return StateNames.Text(State);
    }

    /// <summary>The JSON of its fields before metrics, shared with the same agent's earlier snapshots (the builder's);
    /// <see cref="AgentJsonCache.None"/> for a snapshot written whole.</summary>
    [JsonIgnore]
    public AgentJsonCache JsonCache { get; init; } = AgentJsonCache.None;
}

/// <summary>
/// A cluster in the live model, one shape for every view: the supervisor's per-tick snapshot (shared in-process by
/// reference), the control socket's <c>status</c> answer and <c>snapshots</c> stream, <c>status --json</c>, the
/// footer and the text of <c>status</c> and <c>list</c>. A cluster without a supervisor maps from its
/// <see cref="ClusterRecord"/> (<see cref="FromRecord(ClusterRecord, bool)"/>).
/// </summary>
/// <param name="Id">Cluster id.</param>
/// <param name="Kind">Cluster or task.</param>
/// <param name="Name">Its name.</param>
/// <param name="State">Lifecycle state.</param>
/// <param name="Iteration">Current iteration.</param>
/// <param name="MaxIterations">Iteration limit.</param>
/// <param name="StartedAt">When it started.</param>
/// <param name="Tokens">Tokens of every agent together.</param>
/// <param name="CostUsd">Cost of every agent together.</param>
/// <param name="CostEstimated">Whether any of the cost is estimated.</param>
/// <param name="Agents">Agents in cluster-file order.</param>
internal sealed record ClusterSnapshot(
    string Id,
    ClusterKind Kind,
    string Name,
    ClusterState State,
    int Iteration,
    int MaxIterations,
    DateTimeOffset StartedAt,
    TokenCounts Tokens,
    decimal CostUsd,
    bool CostEstimated,
    IReadOnlyList<AgentSnapshot> Agents)
{
    /// <summary>
    /// Of a crashed cluster: the agents that still have a live process after their supervisor died (<c>stop</c> ends
    /// them); absent otherwise.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? StillRunning { get; init; }

    /// <summary>Tokens and cost of every agent together.</summary>
    [JsonIgnore]
    public UsageTotals Usage => new(Tokens, CostUsd, CostEstimated);

    /// <summary>
    /// Bytes of agent output that a failed log write (a full disk) kept out of the agents' logs during this run (the
    /// display and the subscribers still got them); 0 when every byte was logged, and for a cluster read from the
    /// database.
    /// </summary>
    public long LogBytesLost { get; init; }

    /// <summary>Why writing the logs fails right now (<c>"disk full"</c>); null while it works.</summary>
    public string? LogWriteError { get; init; }

    /// <summary>The fullest budget once it reached 80 % (<c>budget: cluster spent $4.10 of $5.00 (82 %)</c>); absent below.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? BudgetWarning { get; init; }

    /// <summary>A snapshot whose totals are the sum of <paramref name="agents"/>.</summary>
    public static ClusterSnapshot Create(string id, ClusterKind kind, string name, ClusterState state, int iteration, int maxIterations,
        DateTimeOffset startedAt, IReadOnlyList<AgentSnapshot> agents, long logBytesLost = 0, string? logWriteError = null)
    {
        ArgumentNullException.ThrowIfNull(agents);
        var sum = UsageTotals.Zero;
        for (int i = 0; i < agents.Count; i++) sum += agents[i].Usage;
        return new ClusterSnapshot(id, kind, name, state, iteration, maxIterations, startedAt, sum.Tokens, sum.CostUsd, sum.CostEstimated, agents)
        {
            LogBytesLost = logBytesLost,
            LogWriteError = logWriteError,
        };
    }

    /// <summary>A cluster from its database record and each agent's recorded samples (<c>status --history</c> of a
    /// cluster without a supervisor): every stored point as a sample (its metrics, at its time).</summary>
    public static ClusterSnapshot FromRecord(ClusterRecord record, IReadOnlyDictionary<string, IReadOnlyList<HistoryPoint>> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var snapshot = FromRecord(record, history: true);
        var agents = snapshot.Agents.Select(a => a with
        {
            History = samples.TryGetValue(a.Id, out var points)
                ? points.Where(p => p.State == AgentState.Running).Select(p => new TreeSample
                {
                    Timestamp = p.At,
                    Pid = 0,
                    Exists = true,
                    CpuPercent = p.CpuPercent,
                    MemoryMB = p.MemoryMB,
                    NetRxBytesPerSec = p.NetRxBytesPerSec,
                    NetTxBytesPerSec = p.NetTxBytesPerSec,
                    IoReadBytesPerSec = p.DiskReadBytesPerSec,
                    IoWriteBytesPerSec = p.DiskWriteBytesPerSec,
                }).ToList()
                : [],
        }).ToList();
        return snapshot with { Agents = agents };
    }

    /// <summary>A cluster from its database record alone: no live metrics, and a running agent's activity and
    /// unhealthy verdict as its supervisor last wrote them (<see cref="AgentLive"/>); <paramref name="history"/> adds an
    /// empty history to each agent.</summary>
    public static ClusterSnapshot FromRecord(ClusterRecord record, bool history = false)
    {
        ArgumentNullException.ThrowIfNull(record);
        var agents = new AgentSnapshot[record.Agents.Count];
        for (int i = 0; i < agents.Length; i++)
        {
            var a = record.Agents[i];
            // What a running agent was doing at its supervisor's latest write (the health reasons stay with the supervisor).
            var live = a.State == AgentState.Running && record.State == ClusterState.Running ? a.Live : null;
            agents[i] = new AgentSnapshot(a.AgentId, a.Role, a.Provider, a.SeenModel ?? a.Model, a.State, a.State == AgentState.Running ? a.Pid : null,
                a.Iteration, a.ExitCode, a.LastOutputAt, live?.Activity, live?.Detail, a.Usage.Tokens, a.Usage.CostUsd, a.Usage.CostEstimated,
                a.Verdict is { } v ? VerdictSnapshot.From(v.Verdict, v.Iteration) : null, a.LastError, null)
            {
                History = history ? [] : null,
                Health = live is { Health: { } health, HealthSince: { } since } ? new Health.HealthSnapshot(health, since, []) : null,
            };
        }
        return Create(record.Id, record.Kind, record.Name, record.State, record.Iteration, record.MaxIterations, record.StartedAt, agents);
    }
}

/// <summary>One entry of <c>list --json</c>: <c>{id, kind, name, state, agents: [{id, role, state, verdict?}], startedAt,
/// tokens: {total}, costUsd, costEstimated}</c>.</summary>
/// <param name="Id">Cluster id.</param>
/// <param name="Kind">Cluster or task.</param>
/// <param name="Name">Its name.</param>
/// <param name="State">Lifecycle state.</param>
/// <param name="Agents">Its agents, briefly.</param>
/// <param name="StartedAt">When it started.</param>
/// <param name="Tokens">Total tokens.</param>
/// <param name="CostUsd">Total cost.</param>
/// <param name="CostEstimated">Whether any of the cost is estimated.</param>
internal sealed record ClusterListEntry(
    string Id,
    ClusterKind Kind,
    string Name,
    ClusterState State,
    IReadOnlyList<AgentListEntry> Agents,
    DateTimeOffset StartedAt,
    TokenTotal Tokens,
    decimal CostUsd,
    bool CostEstimated)
{
    /// <summary>The list entry of a cluster.</summary>
    public static ClusterListEntry From(ClusterSnapshot cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        return new ClusterListEntry(cluster.Id, cluster.Kind, cluster.Name, cluster.State,
            cluster.Agents.Select(a => new AgentListEntry(a.Id, a.Role, a.State, a.Verdict)).ToList(),
            cluster.StartedAt, new TokenTotal(cluster.Tokens.Total), cluster.CostUsd, cluster.CostEstimated);
    }
}

/// <summary>An agent in <c>list --json</c>.</summary>
/// <param name="Id">Agent id.</param>
/// <param name="Role">Worker or validator.</param>
/// <param name="State">Lifecycle state.</param>
/// <param name="Verdict">A validator's latest verdict (absent when none).</param>
internal sealed record AgentListEntry(
    string Id,
    AgentRole Role,
    AgentState State,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] VerdictSnapshot? Verdict);

/// <summary><c>{"total": N}</c>.</summary>
/// <param name="Total">All tokens.</param>
internal readonly record struct TokenTotal(long Total);

/// <summary>One data frame of the control socket's <c>snapshots</c> stream: a snapshot or an event.</summary>
/// <param name="Snapshot">The cluster at this tick.</param>
/// <param name="Event">Something that happened.</param>
internal sealed record LiveMessage(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ClusterSnapshot? Snapshot,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ClusterEvent? Event);
