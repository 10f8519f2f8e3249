using System.Text.Json;
using System.Text.Json.Serialization;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;

namespace Zeroshot.Agents.Notify;

/// <summary>What happened that the person should know about.</summary>
internal enum AgentEventKind
{
    /// <summary>An agent waits for the person: a permission prompt or a question (<c>needs-input</c>).</summary>
    NeedsInput,

    /// <summary>An agent's turn is over and it waits for the next prompt (<c>idle</c>).</summary>
    Idle,

    /// <summary>A cluster ended: completed, failed, stopped or crashed (<c>cluster-ended</c>).</summary>
    ClusterEnded,

    /// <summary>An agent is stalled, stuck or busy-idle (<c>health</c>): its verdict and reasons, and what is done.</summary>
    Health,

    /// <summary>A budget reached 80 % or ran out (<c>budget</c>).</summary>
    Budget,
}

/// <summary>
/// One event that calls the person (issue 13). Built by the supervisor (or a client watching the snapshots stream) and
/// handed to <see cref="Notifier.Notify"/>.
/// </summary>
/// <param name="Kind">What happened.</param>
/// <param name="ClusterId">The cluster's id.</param>
/// <param name="ClusterName">The cluster's name as the person knows it, or null.</param>
/// <param name="AgentId">The agent, or null for <see cref="AgentEventKind.ClusterEnded"/>.</param>
/// <param name="Detail">For <see cref="AgentEventKind.NeedsInput"/> the question or prompt shown to the person, else
/// any short detail (the last error of a failed cluster); null when there is none.</param>
/// <param name="At">When it happened (UTC).</param>
/// <param name="State">For <see cref="AgentEventKind.ClusterEnded"/>, how it ended; else null.</param>
internal sealed record AgentEvent(
    AgentEventKind Kind, string ClusterId, string? ClusterName, string? AgentId, string? Detail, DateTimeOffset At,
    ClusterState? State = null)
{
    /// <summary>An agent waits for an answer to <paramref name="question"/>.</summary>
    public static AgentEvent NeedsInput(string clusterId, string? clusterName, string agentId, string? question, DateTimeOffset at) =>
        new(AgentEventKind.NeedsInput, clusterId, clusterName, agentId, question, at);

    /// <summary>An agent finished its turn and waits for the next prompt.</summary>
    public static AgentEvent Idle(string clusterId, string? clusterName, string agentId, DateTimeOffset at) =>
        new(AgentEventKind.Idle, clusterId, clusterName, agentId, null, at);

    /// <summary>A cluster ended in <paramref name="state"/>.</summary>
    public static AgentEvent ClusterEnded(string clusterId, string? clusterName, ClusterState state, DateTimeOffset at, string? detail = null) =>
        new(AgentEventKind.ClusterEnded, clusterId, clusterName, null, detail, at, state);

    /// <summary>The event's word in JSON and in messages: <c>needs-input</c>, <c>idle</c>, <c>cluster-ended</c>.</summary>
    public static string Word(AgentEventKind kind) => kind switch
    {
        AgentEventKind.NeedsInput => "needs-input",
        AgentEventKind.Idle => "idle",
        AgentEventKind.ClusterEnded => "cluster-ended",
        AgentEventKind.Health => "health",
        AgentEventKind.Budget => "budget",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>The notification's title: <c>zeroshot: &lt;cluster name or id&gt;</c>.</summary>
    public string Title => $"zeroshot: {ClusterName ?? ClusterId}";

    /// <summary>The notification's text, one line: who and what (<c>planner needs input: Allow Bash(rm -rf build)?</c>,
    /// <c>planner is waiting for the next prompt</c>, <c>cluster completed</c>). Not sanitized: each channel makes it
    /// safe for where it goes.</summary>
    public string Body => Kind switch
    {
        AgentEventKind.NeedsInput => string.IsNullOrWhiteSpace(Detail) ? $"{AgentId} needs input" : $"{AgentId} needs input: {Detail}",
        AgentEventKind.Idle => $"{AgentId} is waiting for the next prompt",
        AgentEventKind.Health => $"{AgentId} is {Detail}",
        AgentEventKind.Budget => Detail ?? "budget",
        _ => (State is { } s ? $"cluster {StateNames.Text(s)}" : "cluster ended") + (string.IsNullOrWhiteSpace(Detail) ? "" : $": {Detail}"),
    };

    /// <summary>
    /// The event as the one JSON object an <c>--on-event</c> command reads on standard input (UTF-8, one line, ending
    /// in a newline): <c>{"event":"needs-input","cluster":"…","clusterName":"…","agent":"…","question":"…","state":null,"at":"…"}</c>.
    /// Every field is present, null when it does not apply (as in Zeroshot's other JSON); <c>question</c> holds
    /// <see cref="Detail"/>; <c>state</c> is the cluster's end state word for <c>cluster-ended</c>; <c>at</c> is ISO 8601 UTC
    /// with milliseconds.
    /// </summary>
    public byte[] ToJsonLine()
    {
        var document = new AgentEventDocument(Word(Kind), ClusterId, ClusterName, AgentId, Detail,
            State is { } s ? StateNames.Text(s) : null, At);
        var json = JsonSerializer.SerializeToUtf8Bytes(document, NotifyJson.Default.AgentEventDocument);
        var line = new byte[json.Length + 1];
        json.CopyTo(line, 0);
        line[^1] = (byte)'\n';
        return line;
    }
}

/// <summary>The JSON shape of an <see cref="AgentEvent"/> (field names fixed here, as hooks depend on them).</summary>
internal sealed record AgentEventDocument(
    [property: JsonPropertyName("event")] string Event,
    [property: JsonPropertyName("cluster")] string Cluster,
    [property: JsonPropertyName("clusterName")] string? ClusterName,
    [property: JsonPropertyName("agent")] string? Agent,
    [property: JsonPropertyName("question")] string? Question,
    [property: JsonPropertyName("state")] string? State,
    [property: JsonPropertyName("at")] DateTimeOffset At);

/// <summary>Source-generated JSON of the notification documents (AOT-clean, no reflection); times as in
/// <see cref="IsoTimeConverter"/>.</summary>
[JsonSourceGenerationOptions(Converters = [typeof(IsoTimeConverter)])]
[JsonSerializable(typeof(AgentEventDocument))]
internal sealed partial class NotifyJson : JsonSerializerContext;
