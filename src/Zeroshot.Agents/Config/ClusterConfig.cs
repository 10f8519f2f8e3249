using System.Text.Json;

namespace Zeroshot.Agents.Config;

/// <summary>What a cluster is: a whole cluster of agents, or a one-agent task (<c>zeroshot task</c>).</summary>
internal enum ClusterKind
{
    Cluster,
    Task,
}

/// <summary>
/// An agent's role: workers change things; validators judge the work (a provider validator by the verdict in its
/// final message, a <c>command</c> validator by its exit code).
/// </summary>
internal enum AgentRole
{
    Worker,
    Validator,
}

/// <summary>A validated cluster file. Built only by <see cref="ClusterConfigLoader"/> or <see cref="ClusterTemplates"/>.</summary>
/// <param name="Name">Human name; the loader defaults it to the file name (or "cluster").</param>
/// <param name="Prompt">The task for every agent; an agent's own prompt is appended to it.</param>
/// <param name="MaxIterations">Upper bound of worker→validators rounds (≥ 1, default 3).</param>
/// <param name="Agents">In file order; <see cref="AgentConfig.After"/> references exist and form no cycle.</param>
/// <param name="Kind">Cluster or task (field <c>"kind"</c>, default cluster).</param>
internal sealed record ClusterConfig(
    string Name,
    string? Prompt,
    int MaxIterations,
    IReadOnlyList<AgentConfig> Agents,
    ClusterKind Kind = ClusterKind.Cluster)
{
    public const int DefaultMaxIterations = 3;

    /// <summary>
    /// How often a validator that failed (an API error, a crash, no verdict) is run again in the same iteration
    /// before the cluster fails with its error (field <c>"validatorRetries"</c>, default 0). A failed validator
    /// never re-runs the worker: only a verdict can reject.
    /// </summary>
    public int ValidatorRetries { get; init; }

    /// <summary>
    /// A program to run on each event the person should hear about (an agent needs input or is idle, the cluster ended),
    /// with the event as one JSON object on its standard input (field <c>"onEvent"</c>, an argv; <c>--on-event</c>). Run
    /// directly, never through a shell. Null for none.
    /// </summary>
    public IReadOnlyList<string>? OnEvent { get; init; }

    /// <summary>Field <c>"health"</c>: thresholds and actions of the health verdicts for every agent (over settings.json's).</summary>
    public Health.HealthSettings? Health { get; init; }

    /// <summary>Fields <c>"maxCostUsd"</c> and <c>"maxTokens"</c>: the whole cluster's budget (over settings.json's).</summary>
    public Health.Budget? Budget { get; init; }

    /// <summary>Field <c>"budgetAction"</c>: <c>stop</c> (default) or <c>warn</c> when a budget runs out.</summary>
    public Health.BudgetActionKind? BudgetAction { get; init; }

    public AgentConfig? FindAgent(string id)
    {
        foreach (var agent in Agents)
            if (agent.Id == id)
                return agent;
        return null;
    }
}

/// <summary>One agent of a cluster. Exactly one of <see cref="Provider"/> and <see cref="Command"/> is set.</summary>
/// <param name="Id">Unique in the cluster; letters, digits, '-', '_', '.' (it names the log file).</param>
/// <param name="Role">Worker or validator.</param>
/// <param name="Provider">claude, codex or sim (see <see cref="ProviderCatalog"/>); null for a command agent.</param>
/// <param name="Command">Explicit argv (non-empty, no empty element); null for a provider agent.</param>
/// <param name="Model">Provider model name (provider agents only).</param>
/// <param name="Prompt">Agent-specific instructions, appended to the cluster prompt.</param>
/// <param name="Cwd">Working directory; <see cref="ClusterConfigLoader.Load"/> makes it absolute against the file's directory.</param>
/// <param name="Env">Extra environment variables.</param>
/// <param name="After">Ids of agents that must finish (in the same iteration) before this one starts.</param>
/// <param name="Options">Free-form options passed through to the sim agent as JSON (sim provider only).</param>
internal sealed record AgentConfig(
    string Id,
    AgentRole Role,
    string? Provider = null,
    IReadOnlyList<string>? Command = null,
    string? Model = null,
    string? Prompt = null,
    string? Cwd = null,
    IReadOnlyDictionary<string, string>? Env = null,
    IReadOnlyList<string>? After = null,
    IReadOnlyDictionary<string, JsonElement>? Options = null)
{
    /// <summary>
    /// Field <c>"interactive"</c>: the provider's TUI runs on the agent's PTY with the prompt as its first message, for a
    /// person to step into with <c>attach</c> and to type to with <c>send</c>; it ends when its CLI exits. A command agent
    /// marked interactive accepts <c>send</c> (its command is run as given).
    /// </summary>
    public bool Interactive { get; init; }

    /// <summary>Field <c>"args"</c>: extra arguments for the provider's CLI, after Zeroshot's own (e.g.
    /// <c>["--permission-mode", "default"]</c>); provider agents only.</summary>
    public IReadOnlyList<string>? Args { get; init; }

    /// <summary>Field <c>"health"</c>: this agent's thresholds and actions (over the cluster's).</summary>
    public Health.HealthSettings? Health { get; init; }

    /// <summary>Fields <c>"maxCostUsd"</c> and <c>"maxTokens"</c>: this agent's budget over its whole life (over settings.json's per-agent one).</summary>
    public Health.Budget? Budget { get; init; }

    /// <summary>The dependency list, never null.</summary>
    public IReadOnlyList<string> AfterOrEmpty => After ?? [];

    /// <summary>What the store records as the agent's provider: the provider name, or "command".</summary>
    public string ProviderLabel => Provider ?? "command";
}
