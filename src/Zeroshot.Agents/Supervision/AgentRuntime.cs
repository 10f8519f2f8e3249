using Zeroshot.Agents.Config;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.Pty;
using Zeroshot.Agents.State;
using Zeroshot.Metrics;

namespace Zeroshot.Agents.Supervision;

/// <summary>
/// What the supervisor knows about one agent while the cluster runs. Mutated only by the
/// supervisor's loop; other threads read it through <see cref="ClusterSupervisor.Snapshot()"/>.
/// </summary>
internal sealed class AgentRuntime(AgentConfig config)
{
    public AgentConfig Config { get; } = config;
    public string Id => Config.Id;
    public AgentState State { get; set; } = AgentState.Waiting;
    public int Iteration { get; set; }
    public int? Pid { get; set; }

    /// <summary>What the kernel accounts to the agent's cgroup at the last tick; null without one.</summary>
    public Pty.CgroupSample? Cgroup { get; set; }
    public long? PidStartTime { get; set; }
    public int? ExitCode { get; set; }
    public PtyProcess? Process { get; set; }
    public AgentOutputPump? Pump { get; set; }

    /// <summary>The current run's screen model and attached clients (null when not running).</summary>
    public AgentTerminal? Terminal { get; set; }
    /// <summary>The last-output time last written to the state database.</summary>
    public DateTimeOffset? StoredLastOutput { get; set; }

    /// <summary>Reads the current run's output: tokens, cost and activity.</summary>
    public AgentOutputInterpreter? Interpreter { get; set; }

    /// <summary>An interactive agent's current run: its activity from its CLI's signals (null otherwise).</summary>
    public InteractiveActivity? Interactive { get; set; }

    /// <summary>An interactive agent's session id for its current run (Claude Code's <c>--session-id</c>).</summary>
    public string? SessionId { get; set; }

    /// <summary>Where an interactive Gemini agent's chat files appear, searched each tick while it runs (null otherwise).</summary>
    public Transcripts.GeminiChatSearch? GeminiChats { get; set; }

    /// <summary>The followed transcript of an interactive agent's current run (its tokens), once its CLI named it.</summary>
    public TranscriptUsage? Transcript { get; set; }

    /// <summary>Claude Code's status file of the current run's session, watched (null otherwise).</summary>
    public ClaudeSessionFile? SessionFile { get; set; }

    /// <summary>The last line a finished run showed (a running one's is its interpreter's).</summary>
    public string? LastLine { get; set; }

    /// <summary>Usage of the agent's finished runs (iterations and re-runs add up).</summary>
    public UsageTotals FinishedUsage { get; set; }

    /// <summary>The usage last written to the state database.</summary>
    public UsageTotals StoredUsage { get; set; }

    /// <summary>What the current run was last recorded doing in the state database; null before its first write.</summary>
    public AgentLive? StoredLive { get; set; }

    /// <summary>When the agent last wrote output (kept after its run ended).</summary>
    public DateTimeOffset? LastOutputAt { get; set; }

    /// <summary>Usage of all runs so far, the current one live.</summary>
    public UsageTotals Usage => FinishedUsage + (Interpreter?.Usage.Snapshot() ?? default);

    /// <summary>The supervisor asked this run of the agent to stop (so a non-zero exit is "stopped", not "failed").</summary>
    public bool StopRequested { get; set; }

    /// <summary>The model the agent's CLI named (stream init line, a message, or its own config file), else null.</summary>
    public string? SeenModel { get; set; }

    /// <summary>A validator's verdict on <see cref="VerdictIteration"/>; null before it judged (or for workers).</summary>
    public Verdict? Verdict { get; set; }

    /// <summary>Runs of a validator in this iteration beyond the first (after it failed).</summary>
    public int Retries { get; set; }

    /// <summary>The iteration <see cref="Verdict"/> judged.</summary>
    public int VerdictIteration { get; set; }

    /// <summary>Why the agent's last run failed (an API error, a crash, no verdict…), or the last API error of the
    /// current run until its next success; null when none.</summary>
    public string? LastError { get; set; }

    /// <summary>The model to show and price by: what the CLI named, else the configured one.</summary>
    public string? Model => Interpreter?.Usage.Model ?? SeenModel ?? Config.Model;

    /// <summary>The newest metrics sample of the agent's process tree (null when not running).</summary>
    public TreeSample? Latest { get; set; }

    /// <summary>The last samples of the agent's process tree, across iterations.</summary>
    public SampleHistory History { get; } = new();

    /// <summary>What its trees used over its whole life; null before its first sample.</summary>
    public Health.AgentTotals? Totals { get; set; }

    /// <summary>Its health verdict now (running only), recomputed each sample.</summary>
    public Health.HealthSnapshot? Health { get; set; }

    /// <summary>Judges its health sample by sample; reset at each run.</summary>
    public Health.HealthMonitor? Monitor { get; set; }

    /// <summary>The unhealthy verdict already acted on in this episode (acted on once until the agent is healthy again).</summary>
    public Health.HealthVerdict? ActedOn { get; set; }

    /// <summary>Set when a health action stops the agent to start it again in the same iteration.</summary>
    public bool RestartRequested { get; set; }

    /// <summary>Why we stopped it (a health action, its budget), recorded as its error.</summary>
    public string? StopReason { get; set; }

    /// <summary>How far its budget went: 0 under 80 %, 1 warned, 2 ran out.</summary>
    public int BudgetLevel { get; set; }
}
