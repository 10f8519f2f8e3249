using Zeroshot.Agents.Config;
using Zeroshot.Agents.State;

namespace Zeroshot.Agents.Supervision;

/// <summary>Something the supervisor tells the <see cref="IterationMachine"/>.</summary>
internal abstract record SupervisorInput
{
    /// <summary>The cluster starts.</summary>
    public static readonly SupervisorInput Begin = new BeginInput();

    /// <summary>No agent runs and nothing else is pending: the iteration is over.</summary>
    public static readonly SupervisorInput Idle = new IdleInput();

    /// <summary>Stop was asked for (SIGTERM to the agents, SIGKILL after the grace period).</summary>
    public static readonly SupervisorInput Stop = new StopInput();

    /// <summary>Kill was asked for.</summary>
    public static readonly SupervisorInput Kill = new KillInput();

    private sealed record BeginInput : SupervisorInput;

    private sealed record IdleInput : SupervisorInput;

    private sealed record StopInput : SupervisorInput;

    private sealed record KillInput : SupervisorInput;
}

/// <summary>
/// An agent's run ended and was judged (<see cref="RunOutcome"/>): its state, and a validator's verdict on this
/// iteration (null: it gave none).
/// </summary>
internal sealed record AgentExitedInput(string AgentId, AgentState State, bool? Approved) : SupervisorInput;

/// <summary>These agents of a <see cref="StartAgentCommand"/> batch could not start (they count as failed).</summary>
internal sealed record AgentsFailedToStartInput(IReadOnlyList<string> AgentIds) : SupervisorInput
{
    /// <summary>Equal when the same agents are named in the same order.</summary>
    public bool Equals(AgentsFailedToStartInput? other) => other is not null && AgentIds.SequenceEqual(other.AgentIds, StringComparer.Ordinal);

    /// <inheritdoc/>
    public override int GetHashCode() => AgentIds.Count;
}

/// <summary>Something the supervisor must do, in the order given.</summary>
internal abstract record SupervisorCommand;

/// <summary>Begin iteration <paramref name="Iteration"/>: every agent waits again.</summary>
internal sealed record BeginIterationCommand(int Iteration) : SupervisorCommand;

/// <summary>Iteration <paramref name="RejectedIteration"/> was rejected: hand its verdicts to the next one.</summary>
internal sealed record PrepareFeedbackCommand(int RejectedIteration) : SupervisorCommand;

/// <summary>Start this agent. Those that cannot start come back, together, as <see cref="AgentsFailedToStartInput"/>.</summary>
internal sealed record StartAgentCommand(string AgentId) : SupervisorCommand;

/// <summary>A failed validator waits to run again (retry <paramref name="Retry"/> of <paramref name="Of"/>).</summary>
internal sealed record RetryValidatorCommand(string AgentId, int Retry, int Of) : SupervisorCommand;

/// <summary>Stop every running agent (SIGTERM then SIGKILL after the grace period), or kill them at once.</summary>
internal sealed record StopAllCommand(bool Kill) : SupervisorCommand;

/// <summary>A stop or kill request is being carried out (say so).</summary>
internal sealed record AnnounceStopCommand(bool Kill) : SupervisorCommand;

/// <summary>A validator failed without retries left: the cluster fails because of it.</summary>
internal sealed record ValidatorFailedCommand(string AgentId) : SupervisorCommand;

/// <summary>These agents never ran in this iteration: they are stopped.</summary>
internal sealed record MarkStoppedCommand(IReadOnlyList<string> AgentIds) : SupervisorCommand
{
    /// <summary>Equal when the same agents are named in the same order.</summary>
    public bool Equals(MarkStoppedCommand? other) => other is not null && AgentIds.SequenceEqual(other.AgentIds, StringComparer.Ordinal);

    /// <inheritdoc/>
    public override int GetHashCode() => AgentIds.Count;
}

/// <summary>Every one of the <paramref name="MaxIterations"/> iterations was rejected.</summary>
internal sealed record RejectedInAllCommand(int MaxIterations) : SupervisorCommand;

/// <summary>The cluster ends in <paramref name="State"/>.</summary>
internal sealed record FinishCommand(ClusterState State) : SupervisorCommand;

/// <summary>What the machine needs to know of one agent.</summary>
/// <param name="Id">The agent id.</param>
/// <param name="IsValidator">Validators judge; every other agent works.</param>
/// <param name="After">The agents that must complete (in the same iteration) before it starts.</param>
internal sealed record MachineAgent(string Id, bool IsValidator, IReadOnlyList<string> After);

/// <summary>
/// The decisions of a cluster run, without processes, clocks or I/O: which agents start when their <c>after</c>
/// dependencies completed; validators' verdicts reject or approve an iteration; a failed validator runs again
/// (<c>validatorRetries</c>) or fails the cluster; a failed worker stops the rest and fails it; stop and kill;
/// <c>maxIterations</c>. Inputs in (<see cref="On"/>), commands out; the supervisor executes them.
/// </summary>
/// <remarks>
/// Agents a command starts count as running at once; the supervisor reports those that could not start, together,
/// after executing the whole batch (so one that fails to start does not keep the others of its batch from
/// starting). When no agent runs, the supervisor hands over whatever is pending (a stop, a kill), then
/// <see cref="SupervisorInput.Idle"/>, which ends the iteration. Not thread-safe: one loop owns it.
/// </remarks>
internal sealed class IterationMachine
{
    private readonly IReadOnlyList<MachineAgent> _agents;
    private readonly Dictionary<string, AgentState> _states;
    private readonly Dictionary<string, int> _retries;
    private readonly int _maxIterations;
    private readonly int _validatorRetries;
    private bool _rejected;
    private bool _failed;
    private bool _stopping;

    /// <summary>A machine over <paramref name="agents"/> (in cluster-file order).</summary>
    public IterationMachine(IReadOnlyList<MachineAgent> agents, int maxIterations, int validatorRetries)
    {
        ArgumentNullException.ThrowIfNull(agents);
        _agents = agents;
        _states = agents.ToDictionary(a => a.Id, _ => AgentState.Waiting, StringComparer.Ordinal);
        _retries = agents.ToDictionary(a => a.Id, _ => 0, StringComparer.Ordinal);
        _maxIterations = maxIterations;
        _validatorRetries = validatorRetries;
    }

    /// <summary>The machine of a cluster config.</summary>
    public static IterationMachine For(ClusterConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new IterationMachine(
            config.Agents.Select(a => new MachineAgent(a.Id, a.Role == AgentRole.Validator, a.AfterOrEmpty.ToList())).ToList(),
            config.MaxIterations, config.ValidatorRetries);
    }

    /// <summary>The current iteration (0 before <see cref="SupervisorInput.Begin"/>).</summary>
    public int Iteration { get; private set; }

    /// <summary>The final state once a <see cref="FinishCommand"/> was given; null while the cluster runs.</summary>
    public ClusterState? Outcome { get; private set; }

    /// <summary>The run is over: every further input is ignored.</summary>
    public bool Finished => Outcome is not null;

    /// <summary>Started, not finished, and no agent runs: the supervisor owes pending inputs, then <see cref="SupervisorInput.Idle"/>.</summary>
    public bool Idle => Iteration > 0 && !Finished && !_states.Values.Contains(AgentState.Running);

    /// <summary>An agent's state as the machine sees it.</summary>
    public AgentState StateOf(string agentId) => _states[agentId];

    /// <summary>Takes one input; returns what to do, in order.</summary>
    public IReadOnlyList<SupervisorCommand> On(SupervisorInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var commands = new List<SupervisorCommand>();
        if (Finished)
            return commands;
        if (ReferenceEquals(input, SupervisorInput.Begin))
        {
            if (Iteration == 0)
                BeginIteration(1, commands);
        }
        else if (ReferenceEquals(input, SupervisorInput.Stop))
        {
            bool running = AnyRunning;
            if (!_stopping && Iteration > 0)
            {
                _stopping = true;
                if (running)
                {
                    commands.Add(new StopAllCommand(Kill: false));
                    commands.Add(new AnnounceStopCommand(Kill: false));
                }
            }
        }
        else if (ReferenceEquals(input, SupervisorInput.Kill))
        {
            if (Iteration > 0)
            {
                _stopping = true;
                if (AnyRunning)
                {
                    commands.Add(new StopAllCommand(Kill: true));
                    commands.Add(new AnnounceStopCommand(Kill: true));
                }
            }
        }
        else if (ReferenceEquals(input, SupervisorInput.Idle))
        {
            if (Idle)
                EndIteration(commands);
        }
        else if (input is AgentExitedInput exited)
        {
            if (_states.TryGetValue(exited.AgentId, out var previous) && previous == AgentState.Running)
            {
                _states[exited.AgentId] = exited.State;
                Judge(Agent(exited.AgentId), exited.Approved, commands);
                StartReady(commands);
            }
        }
        else if (input is AgentsFailedToStartInput failedToStart)
        {
            foreach (var id in failedToStart.AgentIds)
                _states[id] = AgentState.Failed;
            foreach (var id in failedToStart.AgentIds)
                Judge(Agent(id), approved: null, commands);
            StartReady(commands);
        }
        return commands;
    }

    private bool AnyRunning => _states.Values.Contains(AgentState.Running);

    private MachineAgent Agent(string id) => _agents.First(a => a.Id == id);

    private void BeginIteration(int iteration, List<SupervisorCommand> commands)
    {
        if (iteration > _maxIterations)
        {
            Iteration = Math.Max(1, _maxIterations);
            commands.Add(new RejectedInAllCommand(_maxIterations));
            Finish(ClusterState.Failed, commands);
            return;
        }
        Iteration = iteration;
        _rejected = false;
        foreach (var agent in _agents)
        {
            _states[agent.Id] = AgentState.Waiting;
            _retries[agent.Id] = 0;
        }
        commands.Add(new BeginIterationCommand(iteration));
        StartReady(commands);
    }

    /// <summary>Starts every waiting agent whose dependencies completed (none once the cluster is stopping).</summary>
    private void StartReady(List<SupervisorCommand> commands)
    {
        if (_stopping)
            return;
        var ready = _agents
            .Where(a => _states[a.Id] == AgentState.Waiting && a.After.All(dep => _states.GetValueOrDefault(dep) == AgentState.Completed))
            .ToList();
        foreach (var agent in ready)
        {
            _states[agent.Id] = AgentState.Running;
            commands.Add(new StartAgentCommand(agent.Id));
        }
    }

    private void Judge(MachineAgent agent, bool? approved, List<SupervisorCommand> commands)
    {
        var state = _states[agent.Id];
        if (agent.IsValidator)
        {
            // Only a verdict rejects. A validator that failed (an API error, a crash, no verdict) has not judged
            // the work: re-running the worker on it would spend again for nothing. It runs again itself when the
            // cluster allows, else the cluster fails.
            if (approved is { } verdict)
            {
                if (!verdict) _rejected = true;
                return;
            }
            if (state != AgentState.Failed || _stopping)
                return;
            if (_retries[agent.Id] < _validatorRetries)
            {
                _retries[agent.Id]++;
                _states[agent.Id] = AgentState.Waiting;
                commands.Add(new RetryValidatorCommand(agent.Id, _retries[agent.Id], _validatorRetries));
                return;
            }
            _failed = true;
            _stopping = true;
            commands.Add(new StopAllCommand(Kill: false));
            commands.Add(new ValidatorFailedCommand(agent.Id));
        }
        else if (state == AgentState.Failed && !_failed)
        {
            // A worker that fails leaves nothing to validate: stop the rest.
            _failed = true;
            _stopping = true;
            commands.Add(new StopAllCommand(Kill: false));
        }
    }

    private void EndIteration(List<SupervisorCommand> commands)
    {
        // Agents that never became ready (a dependency failed, or the cluster is stopping) are stopped.
        var waiting = _agents.Where(a => _states[a.Id] == AgentState.Waiting).Select(a => a.Id).ToList();
        foreach (var id in waiting) _states[id] = AgentState.Stopped;
        if (waiting.Count > 0)
            commands.Add(new MarkStoppedCommand(waiting));
        if (_failed)
            Finish(ClusterState.Failed, commands);
        else if (_stopping)
            Finish(ClusterState.Stopped, commands);
        else if (!_rejected)
            Finish(ClusterState.Completed, commands);
        else if (Iteration < _maxIterations)
        {
            commands.Add(new PrepareFeedbackCommand(Iteration));
            BeginIteration(Iteration + 1, commands);
        }
        else
        {
            commands.Add(new RejectedInAllCommand(_maxIterations));
            Finish(ClusterState.Failed, commands);
        }
    }

    private void Finish(ClusterState state, List<SupervisorCommand> commands)
    {
        Outcome = state;
        commands.Add(new FinishCommand(state));
    }
}
