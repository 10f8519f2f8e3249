using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Zeroshot.Agents.State;

namespace Zeroshot.Agents.Supervision;

/// <summary>
/// Something that happened in a cluster, as it happens: a small closed hierarchy. The foreground printer formats
/// each into <c>zeroshot │ …</c> lines (<see cref="ClusterEventText"/>); the control socket's <c>snapshots</c> stream
/// sends them as JSON with a <c>type</c>.
/// </summary>
/// <param name="Time">When it happened.</param>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(AgentStartedEvent), "agent-started")]
[JsonDerivedType(typeof(AgentExitedEvent), "agent-exited")]
[JsonDerivedType(typeof(IterationStartedEvent), "iteration-started")]
[JsonDerivedType(typeof(VerdictEvent), "verdict")]
[JsonDerivedType(typeof(RetryingEvent), "retrying")]
[JsonDerivedType(typeof(ValidatorRerunEvent), "validator-rerun")]
[JsonDerivedType(typeof(ValidatorFailedEvent), "validator-failed")]
[JsonDerivedType(typeof(ErrorEvent), "error")]
[JsonDerivedType(typeof(StoppingEvent), "stopping")]
[JsonDerivedType(typeof(KillingEvent), "killing")]
[JsonDerivedType(typeof(ClusterEndedEvent), "cluster-ended")]
[JsonDerivedType(typeof(NeedsInputEvent), "needs-input")]
[JsonDerivedType(typeof(IdleEvent), "idle")]
[JsonDerivedType(typeof(HealthEvent), "health")]
[JsonDerivedType(typeof(BudgetEvent), "budget")]
internal abstract record ClusterEvent([property: JsonPropertyOrder(-1)] DateTimeOffset Time);

/// <summary>An agent's process started.</summary>
/// <param name="Time">When.</param>
/// <param name="AgentId">The agent.</param>
/// <param name="Pid">Its process id.</param>
internal sealed record AgentStartedEvent(DateTimeOffset Time, string AgentId, int Pid) : ClusterEvent(Time)
{
    /// <summary>An interactive agent: its TUI waits for a person to attach.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool Interactive { get; init; }
}

/// <summary>An agent's run ended and was judged.</summary>
/// <param name="Time">When.</param>
/// <param name="AgentId">The agent.</param>
/// <param name="State">Its state after judging (completed, failed, stopped).</param>
/// <param name="ExitCode">Its exit code, null when a signal killed it.</param>
/// <param name="Signal">The signal that killed it, else null.</param>
/// <param name="Verdict">A validator's verdict on this run, else null.</param>
/// <param name="Error">Why it failed, else null.</param>
internal sealed record AgentExitedEvent(DateTimeOffset Time, string AgentId, AgentState State, int? ExitCode, int? Signal,
    VerdictSnapshot? Verdict, string? Error) : ClusterEvent(Time)
{
    /// <summary>"exit code 1" or "killed by signal 9".</summary>
    [JsonIgnore]
    public string How => Signal is int s
        ? string.Create(CultureInfo.InvariantCulture, $"killed by signal {s}")
        : string.Create(CultureInfo.InvariantCulture, $"exit code {ExitCode}");
}

/// <summary>An iteration started.</summary>
/// <param name="Time">When.</param>
/// <param name="Iteration">Its number (1-based).</param>
/// <param name="MaxIterations">The limit.</param>
/// <param name="AfterRejection">True when the validators rejected the previous one.</param>
internal sealed record IterationStartedEvent(DateTimeOffset Time, int Iteration, int MaxIterations, bool AfterRejection) : ClusterEvent(Time);

/// <summary>A validator judged the iteration.</summary>
/// <param name="Time">When.</param>
/// <param name="Validator">The validator.</param>
/// <param name="Approved">Its answer.</param>
/// <param name="Summary">Its summary.</param>
/// <param name="Issues">What must change.</param>
internal sealed record VerdictEvent(DateTimeOffset Time, string Validator, bool Approved, string Summary, IReadOnlyList<string> Issues)
    : ClusterEvent(Time);

/// <summary>An agent's CLI retries an API request.</summary>
/// <param name="Time">When it was seen.</param>
/// <param name="AgentId">The agent.</param>
/// <param name="Detail">The retry: "529 3/10 in 4.0s".</param>
internal sealed record RetryingEvent(DateTimeOffset Time, string AgentId, string Detail) : ClusterEvent(Time);

/// <summary>A validator that failed (without a verdict) runs again in the same iteration.</summary>
/// <param name="Time">When.</param>
/// <param name="Validator">The validator.</param>
/// <param name="Error">Why its run failed.</param>
/// <param name="Attempt">The re-run's number (1-based).</param>
/// <param name="MaxAttempts">How many re-runs the cluster allows.</param>
internal sealed record ValidatorRerunEvent(DateTimeOffset Time, string Validator, string Error, int Attempt, int MaxAttempts) : ClusterEvent(Time);

/// <summary>A validator failed without a verdict and may not run again: the cluster fails.</summary>
/// <param name="Time">When.</param>
/// <param name="Validator">The validator.</param>
/// <param name="Error">Why.</param>
internal sealed record ValidatorFailedEvent(DateTimeOffset Time, string Validator, string Error) : ClusterEvent(Time);

/// <summary>An error: an agent that could not start, an API error an agent's CLI reported, a file not written.</summary>
/// <param name="Time">When.</param>
/// <param name="AgentId">The agent, or null for the cluster.</param>
/// <param name="Message">What went wrong.</param>
internal sealed record ErrorEvent(DateTimeOffset Time, string? AgentId, string Message) : ClusterEvent(Time);

/// <summary>The cluster is stopping: SIGTERM to every agent.</summary>
/// <param name="Time">When.</param>
internal sealed record StoppingEvent(DateTimeOffset Time) : ClusterEvent(Time);

/// <summary>The cluster is being killed (<c>zeroshot kill</c>, a second Ctrl+C): SIGKILL to every agent at once.</summary>
/// <param name="Time">When.</param>
internal sealed record KillingEvent(DateTimeOffset Time) : ClusterEvent(Time);

/// <summary>The cluster ended.</summary>
/// <param name="Time">When.</param>
/// <param name="State">Its final state.</param>
/// <param name="Reason">Why, when not obvious ("rejected in all 3 iterations").</param>
internal sealed record ClusterEndedEvent(DateTimeOffset Time, ClusterState State, string? Reason = null) : ClusterEvent(Time);

/// <summary>An interactive agent waits for the person: its CLI asks for a permission or asks a question.</summary>
/// <param name="Time">When its CLI said so.</param>
/// <param name="AgentId">The agent.</param>
/// <param name="Question">What it asks ("Bash: rm -r build"), as its CLI gave it.</param>
internal sealed record NeedsInputEvent(DateTimeOffset Time, string AgentId, string Question) : ClusterEvent(Time);

/// <summary>An interactive agent's turn is over (or ended in an error): it waits for the next prompt.</summary>
/// <param name="Time">When its CLI said so.</param>
/// <param name="AgentId">The agent.</param>
/// <param name="Message">The turn's last message (or its error), one line; null when its CLI gave none.</param>
internal sealed record IdleEvent(DateTimeOffset Time, string AgentId, string? Message) : ClusterEvent(Time);

/// <summary>An agent's health verdict went bad and held for its action's count of samples: the action is being taken.</summary>
/// <param name="Time">When.</param>
/// <param name="AgentId">The agent.</param>
/// <param name="Verdict">The verdict (stalled, stuck, busy-idle).</param>
/// <param name="Reasons">Its reasons, in words.</param>
/// <param name="Action">What is done: warn, interrupt, kill or restart.</param>
internal sealed record HealthEvent(DateTimeOffset Time, string AgentId, Health.HealthVerdict Verdict, IReadOnlyList<string> Reasons, string Action)
    : ClusterEvent(Time)
{
    /// <summary>The verdict and its reasons: <c>stalled (no bytes from the model for 2m10s on an open connection; …)</c>.</summary>
    [JsonIgnore]
    public string Text => $"{Health.HealthVerdictNames.ToJsonName(Verdict)} ({string.Join("; ", Reasons)})";
}

/// <summary>A budget reached its warning share (80 %) or ran out.</summary>
/// <param name="Time">When.</param>
/// <param name="AgentId">The agent whose budget it is; null for the cluster's.</param>
/// <param name="What">Which limit: cost or tokens.</param>
/// <param name="Used">What was used, as shown (<c>$0.81</c>, <c>10,234</c>).</param>
/// <param name="Limit">The limit, as shown.</param>
/// <param name="Percent">Used in percent of the limit.</param>
/// <param name="Exceeded">True when it ran out (100 %); false for the warning.</param>
/// <param name="Action">What is done: warn, or stop (the agent, or the cluster for its budget).</param>
internal sealed record BudgetEvent(DateTimeOffset Time, string? AgentId, string What, string Used, string Limit, int Percent, bool Exceeded, string Action)
    : ClusterEvent(Time)
{
    /// <summary><c>budget: worker spent $0.81 of $1.00 (81 %)</c>, with what is done when it ran out.</summary>
    [JsonIgnore]
    public string Text
    {
        get
        {
            string who = AgentId ?? "cluster";
            string use = What == "cost"
                ? string.Create(CultureInfo.InvariantCulture, $"{who} spent {Used} of {Limit} ({Percent} %)")
                : string.Create(CultureInfo.InvariantCulture, $"{who} used {Used} of {Limit} tokens ({Percent} %)");
            if (!Exceeded) return "budget: " + use;
            return "budget: " + use + (Action == "stop" ? AgentId is null ? ": stopping the cluster" : $": stopping {AgentId}" : ": over budget (warn only)");
        }
    }
}

/// <summary>The <c>zeroshot │ …</c> lines of an event, as the foreground printer and the supervisor log show them.</summary>
internal static class ClusterEventText
{
    /// <summary>The lines for <paramref name="e"/> (without the <c>zeroshot │ </c> prefix); none for events shown otherwise.</summary>
    public static IReadOnlyList<string> Lines(ClusterEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return e switch
        {
            AgentStartedEvent s => [s.Interactive
                ? string.Create(CultureInfo.InvariantCulture, $"{s.AgentId}: started (pid {s.Pid}), interactive: attach to it (zeroshot attach) to see it and answer")
                : string.Create(CultureInfo.InvariantCulture, $"{s.AgentId}: started (pid {s.Pid})")],
            AgentExitedEvent x => [$"{x.AgentId}: {RunOutcome.Describe(x.State, x.How, x.Verdict?.Verdict, x.Error)}"],
            IterationStartedEvent i => i.AfterRejection
                ? ["rejected: starting another iteration with the validators' issues", Iteration(i)]
                : [Iteration(i)],
            VerdictEvent v => v.Issues.Select(issue => $"{v.Validator}:   issue: {issue}").ToList(),
            RetryingEvent r => [$"{r.AgentId}: retrying {r.Detail}"],
            ValidatorRerunEvent v => [string.Create(CultureInfo.InvariantCulture,
                $"{v.Validator}: failed ({v.Error}): running it again ({v.Attempt}/{v.MaxAttempts})")],
            ValidatorFailedEvent f => [$"validator {f.Validator} failed: {f.Error}"],
            ErrorEvent err => [err.AgentId is null ? err.Message : $"{err.AgentId}: {err.Message}"],
            StoppingEvent => ["stopping: SIGTERM to every agent"],
            KillingEvent => ["killing: SIGKILL to every agent"],
            NeedsInputEvent n => [$"{n.AgentId}: needs input: {n.Question}"],
            HealthEvent h => [h.Action == "warn" ? $"{h.AgentId}: {h.Text}" : $"{h.AgentId}: {h.Text}: {HealthActionText(h.Action)}"],
            BudgetEvent b => [b.Text],
            IdleEvent i => [i.Message is null ? $"{i.AgentId}: idle, waiting for a prompt" : $"{i.AgentId}: idle, waiting for a prompt (said: {i.Message})"],
            ClusterEndedEvent c => c.Reason is null ? [$"cluster {StateNames.Text(c.State)}"] : [c.Reason, $"cluster {StateNames.Text(c.State)}"],
            _ => [],
        };

        static string HealthActionText(string action) => action switch
        {
            "interrupt" => "interrupting it (SIGINT)",
            "kill" => "stopping it",
            "restart" => "restarting it",
            _ => action,
        };

        static string Iteration(IterationStartedEvent i) => string.Create(CultureInfo.InvariantCulture, $"iteration {i.Iteration}/{i.MaxIterations}");
    }
}

/// <summary>
/// Typed events as rows of the <c>events</c> table and back: the row is the event's own JSON (the wire form), its
/// type tag and its agent, so what <c>logs</c> and <c>status</c> print from the database is what the printer showed live.
/// </summary>
internal static class ClusterEventRows
{
    /// <summary>The row of <paramref name="e"/> for <paramref name="clusterId"/>.</summary>
    public static StoredEvent ToRow(string clusterId, ClusterEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var json = JsonSerializer.Serialize(e, LiveJson.Default.ClusterEvent);
        using var document = JsonDocument.Parse(json);
        var kind = document.RootElement.TryGetProperty("type", out var type) ? type.GetString() ?? "event" : "event";
        return new StoredEvent(e.Time, clusterId, AgentOf(e), kind, json);
    }

    /// <summary>The event a row holds; null when the row cannot be read as one (a newer or damaged row).</summary>
    public static ClusterEvent? FromRow(StoredEvent row)
    {
        ArgumentNullException.ThrowIfNull(row);
        try
        {
            return JsonSerializer.Deserialize(row.FieldsJson, LiveJson.Default.ClusterEvent);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>A line for people: <c>08:15:20 worker: started (pid 42)</c> (local time), the printer's words.</summary>
    public static string Line(StoredEvent row)
    {
        ArgumentNullException.ThrowIfNull(row);
        var time = row.Time.ToLocalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture);
        string text;
        if (FromRow(row) is not { } e)
            text = $"{row.Kind} {row.FieldsJson}";
        else if (ClusterEventText.Lines(e) is { Count: > 0 } lines)
            text = string.Join(" · ", lines.Select(l => l.Trim()));
        else
            // Events the printer shows as part of another line (a verdict without issues is in its exit line).
            text = e is VerdictEvent v ? $"{v.Validator}: {(v.Approved ? "approved" : "rejected")}" : row.Kind;
        return $"{time} {text}";
    }

    /// <summary>The agent an event concerns, null for the cluster.</summary>
    public static string? AgentOf(ClusterEvent e) => e switch
    {
        AgentStartedEvent s => s.AgentId,
        AgentExitedEvent x => x.AgentId,
        VerdictEvent v => v.Validator,
        RetryingEvent r => r.AgentId,
        ValidatorRerunEvent v => v.Validator,
        ValidatorFailedEvent f => f.Validator,
        ErrorEvent err => err.AgentId,
        NeedsInputEvent n => n.AgentId,
        IdleEvent i => i.AgentId,
        HealthEvent h => h.AgentId,
        BudgetEvent b => b.AgentId,
        _ => null,
    };
}
