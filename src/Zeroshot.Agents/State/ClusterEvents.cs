namespace Zeroshot.Agents.State;

/// <summary>
/// One row of the <c>events</c> table: a typed cluster event (<see cref="Supervision.ClusterEvent"/>) as stored.
/// <paramref name="Kind"/> is the event's JSON type tag ("agent-started", "verdict"…) and
/// <paramref name="FieldsJson"/> the event itself as the control socket sends it, so the database, the wire and the
/// views share one shape (<see cref="Supervision.ClusterEventRows"/> converts both ways).
/// </summary>
/// <param name="Time">When it happened (UTC, millisecond precision once stored).</param>
/// <param name="ClusterId">The cluster.</param>
/// <param name="AgentId">The agent it concerns; null for the cluster itself.</param>
/// <param name="Kind">The event's type tag.</param>
/// <param name="FieldsJson">The event as JSON.</param>
internal sealed record StoredEvent(DateTimeOffset Time, string ClusterId, string? AgentId, string Kind, string FieldsJson);
