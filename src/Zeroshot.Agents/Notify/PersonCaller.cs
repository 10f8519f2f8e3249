using Zeroshot.Agents.Supervision;

namespace Zeroshot.Agents.Notify;

/// <summary>
/// The supervisor's side of calling the person: the events that need them (an interactive agent asks something or
/// waits for its next prompt, the cluster ended) go to the <see cref="Notifier"/> (the <c>--on-event</c> program, the
/// desktop, and the terminal when the supervisor owns one). Never blocks and never throws into the supervisor.
/// </summary>
/// <param name="clusterId">The cluster.</param>
/// <param name="clusterName">Its name, for the notification's title.</param>
/// <param name="notifier">The channels.</param>
internal sealed class PersonCaller(string clusterId, string? clusterName, Notifier notifier) : IClusterObserver
{
    public void OnOutput(string agentId, ReadOnlyMemory<byte> chunk)
    {
    }

    public void OnEvent(ClusterEvent e)
    {
        if (Call(clusterId, clusterName, e) is { } call) notifier.Notify(call);
    }

    /// <summary>The call <paramref name="e"/> asks for, or null when the person need not hear of it (also what the clients
    /// of a detached cluster, <c>attach</c> and <c>watch</c>, ring their own terminal for).</summary>
    public static AgentEvent? Call(string clusterId, string? clusterName, ClusterEvent e) => e switch
    {
        NeedsInputEvent n => AgentEvent.NeedsInput(clusterId, clusterName, n.AgentId, n.Question, n.Time),
        IdleEvent i => AgentEvent.Idle(clusterId, clusterName, i.AgentId, i.Time),
        ClusterEndedEvent c => AgentEvent.ClusterEnded(clusterId, clusterName, c.State, c.Time, c.Reason),
        HealthEvent h => new AgentEvent(AgentEventKind.Health, clusterId, clusterName, h.AgentId, h.Text, h.Time),
        BudgetEvent b => new AgentEvent(AgentEventKind.Budget, clusterId, clusterName, b.AgentId, b.Text, b.Time),
        _ => null,
    };
}
