using Zeroshot.Agents.Config;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;
using Zeroshot.Metrics;

namespace Zeroshot.Dashboard.Tests;

/// <summary>Snapshots as a supervisor sends them, built in code: time is given, never read.</summary>
internal static class Fixtures
{
    public static readonly DateTimeOffset T0 = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);

    public static TreeSample Sample(DateTimeOffset at, double cpu, double memory = 50, double rx = 1000, double tx = 500) => new()
    {
        Timestamp = at,
        Pid = 4242,
        Exists = true,
        CpuPercent = cpu,
        MemoryMB = memory,
        NetRxBytesPerSec = rx,
        NetTxBytesPerSec = tx,
    };

    public static AgentSnapshot Agent(string id, AgentState state = AgentState.Running, AgentRole role = AgentRole.Worker, TreeSample? metrics = null,
        long tokens = 1000, decimal cost = 0.01m, AgentActivity? activity = AgentActivity.Model, string? detail = null, DateTimeOffset? lastOutput = null,
        string? model = "sonnet", string? lastError = null, VerdictSnapshot? verdict = null) =>
        new(id, role, "claude", model, state, state == AgentState.Running ? 4242 : null, 1, state is AgentState.Running or AgentState.Waiting ? null : 0,
            lastOutput ?? T0, state == AgentState.Running ? activity : null, detail, new TokenCounts(tokens, 0, 0, 0), cost, false, verdict, lastError,
            state == AgentState.Running ? metrics : null);

    public static ClusterSnapshot Cluster(string id, ClusterState state, params AgentSnapshot[] agents) =>
        Cluster(id, state, T0.AddMinutes(-5), agents);

    public static ClusterSnapshot Cluster(string id, ClusterState state, DateTimeOffset started, params AgentSnapshot[] agents) =>
        ClusterSnapshot.Create(id, ClusterKind.Cluster, id, state, 1, 3, started, agents);

    /// <summary>A running cluster: a busy worker and a waiting validator.</summary>
    public static ClusterSnapshot Busy(string id, DateTimeOffset at, double cpu = 90, long tokens = 1000) =>
        Cluster(id, ClusterState.Running,
            Agent("worker", metrics: Sample(at, cpu), tokens: tokens, activity: AgentActivity.Tool, detail: "Bash", lastOutput: at),
            Agent("validator-1", AgentState.Waiting, AgentRole.Validator, tokens: 0, cost: 0));
}
