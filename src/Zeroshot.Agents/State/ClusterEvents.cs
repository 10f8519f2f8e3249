using System.Globalization;
using System.Text;
using System.Text.Json;
using Zeroshot.Agents.Output;

namespace Zeroshot.Agents.State;

/// <summary>One row of the <c>events</c> table: something that happened to a cluster or one of its agents.</summary>
/// <param name="Time">When it happened (UTC, millisecond precision once stored).</param>
/// <param name="ClusterId">The cluster.</param>
/// <param name="AgentId">The agent it concerns; null for the cluster itself.</param>
/// <param name="Kind">One of <see cref="ClusterEvents"/>' kinds.</param>
/// <param name="FieldsJson">The kind's fields as a JSON object.</param>
internal sealed record StoredEvent(DateTimeOffset Time, string ClusterId, string? AgentId, string Kind, string FieldsJson);

/// <summary>
/// The typed events the supervisor records (the run's history, for <c>logs</c>, <c>status</c> and reports): the
/// kinds, their fields, and a line for people.
/// </summary>
internal static class ClusterEvents
{
    /// <summary>An iteration began: <c>{iteration, maxIterations}</c>.</summary>
    public const string IterationStarted = "iteration_started";

    /// <summary>An agent's process started: <c>{iteration, pid}</c>.</summary>
    public const string AgentStarted = "agent_started";

    /// <summary>An agent's run ended (or it could not start): <c>{iteration, state, exitCode, error}</c>.</summary>
    public const string AgentExited = "agent_exited";

    /// <summary>A validator judged: <c>{iteration, approved, summary, issues}</c>.</summary>
    public const string VerdictGiven = "verdict";

    /// <summary>A failed validator runs again: <c>{iteration, retry, of, error}</c>.</summary>
    public const string ValidatorRetry = "validator_retry";

    /// <summary>The cluster was asked to stop or be killed: <c>{kill}</c>.</summary>
    public const string StopRequested = "stop_requested";

    /// <summary>The cluster ended: <c>{state, iteration, exitCode}</c>.</summary>
    public const string ClusterEnded = "cluster_ended";

    /// <summary>An iteration began.</summary>
    public static StoredEvent Iteration(DateTimeOffset at, string clusterId, int iteration, int maxIterations) =>
        Make(at, clusterId, null, IterationStarted, w =>
        {
            w.WriteNumber("iteration", iteration);
            w.WriteNumber("maxIterations", maxIterations);
        });

    /// <summary>An agent's process started.</summary>
    public static StoredEvent Started(DateTimeOffset at, string clusterId, string agentId, int iteration, int pid) =>
        Make(at, clusterId, agentId, AgentStarted, w =>
        {
            w.WriteNumber("iteration", iteration);
            w.WriteNumber("pid", pid);
        });

    /// <summary>An agent's run ended.</summary>
    public static StoredEvent Exited(DateTimeOffset at, string clusterId, string agentId, int iteration, AgentState state, int? exitCode, string? error) =>
        Make(at, clusterId, agentId, AgentExited, w =>
        {
            w.WriteNumber("iteration", iteration);
            w.WriteString("state", StateNames.Text(state));
            if (exitCode is { } code) w.WriteNumber("exitCode", code);
            else w.WriteNull("exitCode");
            w.WriteString("error", error);
        });

    /// <summary>A validator's verdict.</summary>
    public static StoredEvent Verdict(DateTimeOffset at, string clusterId, string agentId, int iteration, Verdict verdict)
    {
        ArgumentNullException.ThrowIfNull(verdict);
        return Make(at, clusterId, agentId, VerdictGiven, w =>
        {
            w.WriteNumber("iteration", iteration);
            w.WriteBoolean("approved", verdict.Approved);
            w.WriteString("summary", verdict.Summary);
            w.WriteStartArray("issues");
            foreach (var issue in verdict.Issues) w.WriteStringValue(issue);
            w.WriteEndArray();
        });
    }

    /// <summary>A failed validator runs again.</summary>
    public static StoredEvent Retry(DateTimeOffset at, string clusterId, string agentId, int iteration, int retry, int of, string? error) =>
        Make(at, clusterId, agentId, ValidatorRetry, w =>
        {
            w.WriteNumber("iteration", iteration);
            w.WriteNumber("retry", retry);
            w.WriteNumber("of", of);
            w.WriteString("error", error);
        });

    /// <summary>A stop or kill request.</summary>
    public static StoredEvent Stop(DateTimeOffset at, string clusterId, bool kill) =>
        Make(at, clusterId, null, StopRequested, w => w.WriteBoolean("kill", kill));

    /// <summary>The cluster ended.</summary>
    public static StoredEvent Ended(DateTimeOffset at, string clusterId, ClusterState state, int iteration, int? exitCode) =>
        Make(at, clusterId, null, ClusterEnded, w =>
        {
            w.WriteString("state", StateNames.Text(state));
            w.WriteNumber("iteration", iteration);
            if (exitCode is { } code) w.WriteNumber("exitCode", code);
            else w.WriteNull("exitCode");
        });

    /// <summary>The event for people, without time or agent: "started (pid 42)", "rejected (2 issues): …".</summary>
    public static string Describe(StoredEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        try
        {
            using var document = JsonDocument.Parse(e.FieldsJson);
            var f = document.RootElement;
            string S(string name) => f.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
            string N(string name) => f.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetRawText() : "-";
            bool B(string name) => f.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;
            switch (e.Kind)
            {
                case IterationStarted:
                    return $"iteration {N("iteration")}/{N("maxIterations")} started";
                case AgentStarted:
                    return $"started (pid {N("pid")}, iteration {N("iteration")})";
                case AgentExited:
                {
                    var text = $"{S("state")} (exit code {N("exitCode")})";
                    return S("error") is { Length: > 0 } error ? $"{text} · {error}" : text;
                }
                case VerdictGiven:
                {
                    int issues = f.TryGetProperty("issues", out var list) && list.ValueKind == JsonValueKind.Array ? list.GetArrayLength() : 0;
                    var sb = new StringBuilder(B("approved") ? "approved" : "rejected");
                    if (issues > 0) sb.Append(CultureInfo.InvariantCulture, $" ({issues} issue{(issues == 1 ? "" : "s")})");
                    if (S("summary") is { Length: > 0 } summary) sb.Append(": ").Append(summary);
                    return sb.ToString();
                }
                case ValidatorRetry:
                    return $"failed ({(S("error") is { Length: > 0 } why ? why : "no verdict")}): running it again ({N("retry")}/{N("of")})";
                case StopRequested:
                    return B("kill") ? "kill requested" : "stop requested";
                case ClusterEnded:
                    return $"cluster {S("state")} (iteration {N("iteration")}, exit code {N("exitCode")})";
                default:
                    return $"{e.Kind} {e.FieldsJson}";
            }
        }
        catch (JsonException)
        {
            return $"{e.Kind} {e.FieldsJson}";
        }
    }

    /// <summary>A line for people: <c>08:15:20 worker: started (pid 42, iteration 1)</c> (local time).</summary>
    public static string Line(StoredEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var time = e.Time.ToLocalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture);
        return e.AgentId is null ? $"{time} {Describe(e)}" : $"{time} {e.AgentId}: {Describe(e)}";
    }

    private static StoredEvent Make(DateTimeOffset at, string clusterId, string? agentId, string kind, Action<Utf8JsonWriter> fields)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            fields(w);
            w.WriteEndObject();
        }
        return new StoredEvent(at, clusterId, agentId, kind, Encoding.UTF8.GetString(stream.ToArray()));
    }
}
