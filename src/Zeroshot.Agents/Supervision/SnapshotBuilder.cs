using Zeroshot.Agents.Config;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;

namespace Zeroshot.Agents.Supervision;

/// <summary>
/// Builds the supervisor's <see cref="ClusterSnapshot"/> from its agents, once per tick (and after each event), and
/// notices what the agents' output interpreters changed meanwhile: an agent that started retrying an API request,
/// or a new API error (<see cref="RetryingEvent"/>, <see cref="ErrorEvent"/>). The caller holds the supervisor's
/// state lock; one build at a time. Agents that did not change since the last build keep their snapshot object,
/// and a verdict is converted once.
/// </summary>
internal sealed class SnapshotBuilder(int agentCount)
{
    private readonly AgentSnapshot?[] _previous = new AgentSnapshot?[agentCount];
    private readonly string?[] _retry = new string?[agentCount];
    private readonly string?[] _apiError = new string?[agentCount];
    private readonly Verdict?[] _verdictSource = new Verdict?[agentCount];
    private readonly VerdictSnapshot?[] _verdict = new VerdictSnapshot?[agentCount];
    private readonly AgentJsonCache?[] _json = new AgentJsonCache?[agentCount];
    private readonly string?[] _lastLineSource = new string?[agentCount];
    private readonly string?[] _lastLine = new string?[agentCount];

    /// <summary>
    /// The cluster now. Events the interpreters' activity implies are added to <paramref name="events"/>
    /// (allocated only when there is one).
    /// </summary>
    public ClusterSnapshot Build(string clusterId, ClusterConfig config, ClusterState state, int iteration, DateTimeOffset startedAt,
        IReadOnlyList<AgentRuntime> agents, DateTimeOffset now, ref List<ClusterEvent>? events, Pty.LogWriteHealth? logHealth = null)
    {
        var snapshots = new AgentSnapshot[agents.Count];
        for (int i = 0; i < snapshots.Length; i++)
            snapshots[i] = BuildAgent(i, agents[i], now, ref events);
        return ClusterSnapshot.Create(clusterId, config.Kind, config.Name, state, Math.Min(iteration, config.MaxIterations),
            config.MaxIterations, startedAt, snapshots, logHealth?.BytesLost ?? 0, logHealth?.Failure);
    }

    private AgentSnapshot BuildAgent(int i, AgentRuntime a, DateTimeOffset now, ref List<ClusterEvent>? events)
    {
        bool running = a.State == AgentState.Running;
        AgentActivity? activity = null;
        string? detail = null;
        string? apiError = a.Interpreter?.Activity.LastError;
        bool inferred = false;
        if (running && a.Interactive is { } interactive)
        {
            // The CLI's own signals (hooks, notify), not its screen; only a CLI without any is guessed from its output.
            (activity, detail) = interactive.Current(now, a.Pump?.LastOutputAt, out inferred);
            _retry[i] = null;
            _apiError[i] = null;
        }
        else if (running && a.Interpreter is { } interpreter)
        {
            (activity, detail) = interpreter.Activity.Current(now);
            string? retry = activity == AgentActivity.Retrying ? detail : null;
            if (retry is not null && retry != _retry[i]) (events ??= []).Add(new RetryingEvent(now, a.Id, retry));
            if (apiError is not null && apiError != _apiError[i]) (events ??= []).Add(new ErrorEvent(now, a.Id, apiError));
            _retry[i] = retry;
            _apiError[i] = apiError;
        }
        else
        {
            _retry[i] = null;
            _apiError[i] = null;
        }

        VerdictSnapshot? verdict = null;
        if (a.Verdict is { } given)
        {
            if (!ReferenceEquals(given, _verdictSource[i]) || _verdict[i]?.Iteration != a.VerdictIteration)
            {
                _verdictSource[i] = given;
                _verdict[i] = VerdictSnapshot.From(given, a.VerdictIteration);
            }
            verdict = _verdict[i];
        }

        // The last line shown, made one plain line (escapes stripped, controls replaced, at most 200 characters) once
        // per new line, kept after the run ends.
        // An interactive agent's screen is a TUI: its last line is its CLI's last message (set by its signals).
        if ((a.Config.Interactive ? a.LastLine : a.Interpreter?.LastLine ?? a.LastLine) is { } raw && !ReferenceEquals(raw, _lastLineSource[i]))
        {
            _lastLineSource[i] = raw;
            string plain = Terminal.Format.Sanitize(Terminal.Escapes.EscapeStripper.Strip(raw)).Trim();
            _lastLine[i] = plain.Length == 0 ? _lastLine[i] : plain.Length > 200 ? plain[..200] : plain;
        }
        string? lastLine = _lastLine[i];
        var usage = a.Usage;
        string? lastError = apiError ?? a.LastError;
        var lastOutput = a.Pump?.LastOutputAt ?? a.LastOutputAt;
        // An agent that is not running changes only at events: keep its snapshot when nothing differs.
        if (!running && _previous[i] is { } previous && previous.State == a.State && previous.Iteration == a.Iteration
            && previous.ExitCode == a.ExitCode && previous.LastOutputAt == lastOutput && previous.Usage == usage
            && ReferenceEquals(previous.Verdict, verdict) && ReferenceEquals(previous.LastError, lastError)
            && ReferenceEquals(previous.Model, a.Model) && ReferenceEquals(previous.LastLine, lastLine))
            return previous;

        var snapshot = new AgentSnapshot(a.Id, a.Config.Role, a.Config.ProviderLabel, a.Model, a.State, running ? a.Pid : null, a.Iteration,
            a.ExitCode, lastOutput, activity, detail, usage.Tokens, usage.CostUsd, usage.CostEstimated, verdict, lastError,
            running ? a.Latest : null)
        {
            JsonCache = _json[i] ??= new AgentJsonCache(),
            Cgroup = running ? a.Cgroup : null,
            Attached = running ? a.Terminal?.Attached ?? 0 : 0,
            LastLine = lastLine,
            Interactive = a.Config.Interactive,
            ActivityInferred = inferred,
            Health = running ? a.Health : null,
            Totals = a.Totals,
        };
        _previous[i] = snapshot;
        return snapshot;
    }
}
