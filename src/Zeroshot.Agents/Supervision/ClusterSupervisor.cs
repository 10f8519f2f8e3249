using System.Threading.Channels;
using Zeroshot.Agents.Config;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.Pty;
using Zeroshot.Agents.State;
using Zeroshot.Metrics;

namespace Zeroshot.Agents.Supervision;

/// <summary>Receives what the agents of a cluster do, as it happens (the foreground printer, the control socket).</summary>
internal interface IClusterObserver
{
    /// <summary>
    /// A chunk of an agent's output, already appended to its log, on the agent's pump thread: every byte,
    /// in order. The memory is only valid during the call; it must not block.
    /// </summary>
    void OnOutput(string agentId, ReadOnlyMemory<byte> chunk);

    /// <summary>A change of cluster or agent state (iteration started, agent exited…), in order.</summary>
    void OnEvent(ClusterEvent e);

    /// <summary>The cluster's snapshot, once per sampling tick and after each event, in order; it must not block.</summary>
    void OnSnapshot(ClusterSnapshot snapshot) { }

    /// <summary>A line of an agent's output rendered for people (or as written, in raw mode), on the agent's pump thread.</summary>
    void OnLine(string agentId, DisplayLine line) { }
}

/// <summary>What a supervisor needs from the composition root.</summary>
/// <param name="Store">The state database.</param>
/// <param name="Home">Where logs live.</param>
/// <param name="Catalog">How providers are invoked.</param>
/// <param name="Time">The clock.</param>
/// <param name="CreateSampler">The platform's process-tree sampler.</param>
/// <param name="TerminalColumns">Width of each agent's PTY.</param>
/// <param name="TerminalRows">Height of each agent's PTY.</param>
/// <param name="PriceFor">Price table for live cost estimates.</param>
/// <param name="RawOutput">Hand lines to observers as written instead of rendered.</param>
internal sealed record SupervisorServices(
    StateStore Store,
    ZeroshotHome Home,
    ProviderCatalog Catalog,
    TimeProvider Time,
    Func<SamplerOptions, ITreeSampler> CreateSampler,
    int TerminalColumns = 120,
    int TerminalRows = 40,
    Func<string?, ModelPrice>? PriceFor = null,
    bool RawOutput = false)
{
    /// <summary>How long agents get between SIGTERM and SIGKILL when the cluster is stopped.</summary>
    public TimeSpan StopGrace { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the agents' process trees are sampled.</summary>
    public TimeSpan SampleInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long the end of a run waits for the state database to take every queued write.</summary>
    public TimeSpan StoreFlushTimeout { get; init; } = StoreWriter.DefaultFlushTimeout;

    /// <summary>The agents' marker and cgroups (what left an agent's session is found by them); null for neither.</summary>
    public AgentContainment? Containment { get; init; }

    /// <summary>Lines of scrollback each agent's screen model keeps for attach (settings.json <c>scrollback</c>).</summary>
    public int Scrollback { get; init; } = Zeroshot.Terminal.Screen.ScreenModel.DefaultScrollback;

    /// <summary>Health thresholds and actions of settings.json (a cluster file's and an agent's go over them).</summary>
    public Health.HealthSettings Health { get; init; } = Zeroshot.Agents.Health.HealthSettings.None;

    /// <summary>settings.json's budget for every cluster (the cluster file's goes over it).</summary>
    public Health.Budget? ClusterBudget { get; init; }

    /// <summary>settings.json's budget for every agent (the agent's own goes over it).</summary>
    public Health.Budget? AgentBudget { get; init; }

    /// <summary>What a budget that ran out does unless the cluster file says.</summary>
    public Health.BudgetActionKind BudgetAction { get; init; } = Zeroshot.Agents.Health.BudgetActionKind.Stop;
}

/// <summary>
/// The one owner of a cluster's agents: starts them on PTYs in dependency order, runs iterations
/// until the validators accept (or <c>maxIterations</c> is reached), records every state change in
/// the state store, samples the agents' process trees once a second, and stops them on request.
/// </summary>
/// <remarks>
/// One loop fed by a channel of events (an agent exited, stop, kill) hands them to the pure
/// <see cref="IterationMachine"/>, which decides, and carries out its commands (start an agent, stop all,
/// begin an iteration, finish); readers take immutable <see cref="Snapshot()"/>s. Every database write goes
/// to a <see cref="StoreWriter"/> queue: no SQLite call happens on this loop, in the sampler or under the
/// snapshot lock, so a database locked by another process delays the records, never the agents or the status.
/// </remarks>
internal sealed partial class ClusterSupervisor
{
    private readonly string _clusterId;
    private readonly ClusterConfig _config;
    private readonly SupervisorServices _services;
    private readonly IClusterObserver _observer;
    private readonly List<AgentRuntime> _agents;
    private readonly Channel<SupervisorEvent> _events = Channel.CreateUnbounded<SupervisorEvent>(new UnboundedChannelOptions { SingleReader = true });
    private readonly object _snapshotGate = new();
    private readonly StoreWriter _writer;
    private readonly AgentLauncher _launcher;
    private readonly SamplerLoop _sampling;
    private readonly object _publishGate = new();
    private readonly SnapshotBuilder _builder;
    private readonly LogWriteHealth _logHealth;
    private ClusterSnapshot? _latest;
    private ClusterState _state = ClusterState.Running;
    private int _iteration;
    private string? _feedbackText;
    private bool _afterRejection;     // the next iteration starts because the validators rejected the last one
    private string? _endReason;       // why the cluster ends, when not obvious
    private readonly HistoryRecorder _history;
    private string? _feedbackFile;
    private DateTimeOffset _startedAt;
    private int _columns;
    private int _rows;
    private volatile bool _killing;   // a kill was asked for: what agents left behind gets no grace either

    public ClusterSupervisor(string clusterId, ClusterConfig config, SupervisorServices services, IClusterObserver observer,
        DateTimeOffset? startedAt = null)
    {
        _startedAt = startedAt ?? services.Time.GetUtcNow();
        _clusterId = clusterId;
        _config = config;
        _services = services;
        _observer = observer;
        _agents = config.Agents.Select(a => new AgentRuntime(a)).ToList();
        _builder = new SnapshotBuilder(_agents.Count);
        _history = new HistoryRecorder(clusterId, _startedAt);
        _logHealth = new LogWriteHealth { Changed = OnLogHealthChanged };
        _launcher = new AgentLauncher(clusterId, services, observer, _logHealth);
        _sampling = new SamplerLoop(services);
        _columns = services.TerminalColumns;
        _rows = services.TerminalRows;
        _writer = new StoreWriter(services.Store, services.Time);
    }

    /// <summary>What the store writer could not write by the end of <see cref="RunAsync"/> (null before it ended).</summary>
    public StoreWriterReport? StoreReport { get; private set; }

    /// <summary>The store writer (every database write of this supervisor goes through it).</summary>
    internal StoreWriter Writer => _writer;

    private DateTimeOffset Now => _services.Time.GetUtcNow();


    /// <summary>
    /// Sets the window size of every agent's terminal (now and for agents started later): the space
    /// above the status footer, so programs that position the cursor never write over it.
    /// </summary>
    public void ResizeTerminals(int columns, int rows)
    {
        lock (_snapshotGate)
        {
            _columns = Math.Max(1, columns);
            _rows = Math.Max(1, rows);
            foreach (var agent in _agents)
            {
                try
                {
                    agent.Terminal?.SetBaseSize(_columns, _rows);
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
                {
                    // The agent is exiting: its terminal is gone, nothing to resize.
                }
            }
        }
    }

    /// <summary>The cluster id.</summary>
    public string ClusterId => _clusterId;

    /// <summary>
    /// The terminal of agent <paramref name="agentId"/>'s current run, or with null the agent to attach to by default:
    /// the running worker, else the only running agent. The error says why there is none (for the client to show).
    /// </summary>
    public (AgentTerminal? Terminal, string AgentId, string? Error) FindTerminal(string? agentId)
    {
        lock (_snapshotGate)
        {
            if (agentId is not null)
            {
                var agent = _agents.Find(a => a.Id == agentId);
                if (agent is null)
                    return (null, agentId, $"cluster {_clusterId} has no agent '{agentId}' (agents: {string.Join(", ", _agents.Select(a => a.Id))})");
                return agent.Terminal is { } terminal
                    ? (terminal, agentId, null)
                    : (null, agentId, $"agent {agentId} of cluster {_clusterId} is not running ({StateNames.Text(agent.State)})");
            }
            var running = _agents.Where(a => a.Terminal is not null).ToList();
            var chosen = running.Find(a => a.Config.Role == Config.AgentRole.Worker) ?? (running.Count == 1 ? running[0] : null);
            if (chosen is not null) return (chosen.Terminal, chosen.Id, null);
            return running.Count == 0
                ? (null, "", $"no agent of cluster {_clusterId} is running")
                : (null, "", $"several agents of cluster {_clusterId} run ({string.Join(", ", running.Select(a => a.Id))}): name one with --agent");
        }
    }

    /// <summary>Asks the cluster to stop: SIGTERM to every agent's process group, SIGKILL after the grace period.</summary>
    public void RequestStop() => _events.Writer.TryWrite(new SupervisorEvent(SupervisorEventKind.Stop, null, default));

    /// <summary>Kills every agent's process group at once.</summary>
    public void RequestKill() => _events.Writer.TryWrite(new SupervisorEvent(SupervisorEventKind.Kill, null, default));

    /// <summary>
    /// SIGKILL to agent <paramref name="agentId"/>'s process group, now: its run ends as any killed run does (failed,
    /// "killed by signal 9"), and the cluster goes on as it would after that failure. Null when sent, else why not.
    /// </summary>
    public string? KillAgent(string agentId)
    {
        lock (_snapshotGate)
        {
            var agent = _agents.Find(a => a.Id == agentId);
            if (agent is null) return $"cluster {_clusterId} has no agent '{agentId}' (agents: {string.Join(", ", _agents.Select(a => a.Id))})";
            if (agent.State != AgentState.Running || agent.Process is not { } process)
                return $"agent {agentId} of cluster {_clusterId} is not running ({StateNames.Text(agent.State)})";
            return process.Signal(9) ? null : $"agent {agentId} of cluster {_clusterId} has already exited";
        }
    }

    /// <summary>Runs the cluster to its end and returns its final state.</summary>
    public async Task<ClusterState> RunAsync()
    {
        using var sampling = new CancellationTokenSource();
        var sampler = SampleLoopAsync(sampling.Token);
        try
        {
            // The decisions are the machine's; this loop feeds it what happens and carries out what it says.
            var machine = IterationMachine.For(_config);
            Execute(machine, machine.On(SupervisorInput.Begin));
            while (!machine.Finished)
            {
                SupervisorEvent e;
                if (machine.Idle)
                {
                    // No agent runs: hand over a pending stop or kill, else the iteration is over.
                    if (!_events.Reader.TryRead(out e))
                    {
                        Execute(machine, machine.On(SupervisorInput.Idle));
                        continue;
                    }
                }
                else
                {
                    e = await _events.Reader.ReadAsync().ConfigureAwait(false);
                }
                // null: nothing for the machine (an agent a health action restarted).
                if (await InputAsync(e).ConfigureAwait(false) is { } input) Execute(machine, machine.On(input));
            }
            return _state;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A bug or a broken environment (disk full, database locked): never leave agents running
            // behind a dead supervisor, and record the end before the error reaches the user.
            await AbandonAsync().ConfigureAwait(false);
            try
            {
                Finish(ClusterState.Failed);
            }
            catch (Exception inner) when (inner is not OutOfMemoryException)
            {
                // The store itself failed; the cluster will read as crashed once we are gone.
                _ = inner;
            }
            throw;
        }
        finally
        {
            await sampling.CancelAsync().ConfigureAwait(false);
            // The sampling loop ends by cancellation; its own errors were already contained per tick.
            await sampler.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            // The points held back while nothing changed (the sampler has stopped: nothing adds to them now).
            foreach (var write in _history.ReleaseHeld()) _writer.Post(write);
            // Every agent's run was collected (and swept): its cgroups are empty.
            if (_services.Containment is { } containment) await containment.RemoveCgroupsAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            // Everything recorded reaches the database before the supervisor's process may exit (bounded: a database
            // locked for longer leaves the cluster to read as crashed, and the report says what was lost).
            StoreReport = await _writer.CompleteAsync(_services.StoreFlushTimeout).ConfigureAwait(false);
        }
    }

    /// <summary>Kills every agent's session and waits (bounded) until they are gone.</summary>
    private async Task AbandonAsync()
    {
        var stops = new List<Task>();
        foreach (var agent in _agents)
        {
            if (agent.Process is not { } process) continue;
            agent.StopRequested = true;
            agent.RestartRequested = false;
            stops.Add(process.StopAsync(TimeSpan.Zero));
        }
        await Task.WhenAll(stops).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        foreach (var agent in _agents) agent.Process?.Dispose();
        if (_services.Containment is { } containment)
        {
            foreach (var agent in _agents)
                await containment.SweepAsync(agent.Id, TimeSpan.Zero).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }


    /// <summary>Tells the observers about an event, then publishes the snapshot it changed.</summary>
    /// <summary>Bytes of agent output a failed log write (a full disk) kept out of the logs, over the whole run.</summary>
    public long LogBytesLost => _logHealth.BytesLost;

    /// <summary>
    /// A pump's log write failed for the first time since it last worked, or worked again: said at once (footer,
    /// printer, supervisor log, events), as the agents go on either way. Runs on the pump's thread.
    /// </summary>
    private void OnLogHealthChanged(LogWriteHealth health)
    {
        long lost = health.BytesLost;
        Notify(new ErrorEvent(Now, null, health.Failure is { } failure
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{failure}: logs of cluster {_clusterId} are not being written ({lost} bytes lost so far)")
            : string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"logs of cluster {_clusterId} are written again ({lost} bytes were lost)")));
    }

    private void Notify(ClusterEvent e)
    {
        lock (_publishGate) Deliver(e);
        Publish();
    }

    /// <summary>A broken observer (a closed terminal) never stops the supervisor.</summary>
    private void Deliver(ClusterEvent e)
    {
        // Every event is recorded, in the order delivered, as the same record the observers get.
        _writer.Post(new EventWrite(ClusterEventRows.ToRow(_clusterId, e)));
        try
        {
            _observer.OnEvent(e);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The display is gone (terminal closed, pipe reader exited): the logs and the store still have everything.
        }
    }

    private ClusterState Finish(ClusterState state, string? reason = null)
    {
        lock (_snapshotGate) _state = state;
        int exitCode = state == ClusterState.Completed ? 0 : 1;
        _writer.Post(new ClusterStateWrite(_clusterId, state, exitCode, Now));
        Notify(new ClusterEndedEvent(Now, state, reason));
        // The agents' last states (their bands in the report end here).
        foreach (var write in _history.Record(Snapshot(), Now)) _writer.Post(write);
        return state;
    }

    private void SetWaiting(AgentRuntime agent)
    {
        lock (_snapshotGate)
        {
            agent.State = AgentState.Waiting;
            agent.Iteration = _iteration;
            agent.Pid = null;
            agent.PidStartTime = null;
            agent.ExitCode = null;
            agent.Latest = null;
            agent.Cgroup = null;
            agent.StopRequested = false;
            agent.Retries = 0;
            agent.LastError = null;
        }
    }

    /// <summary>
    /// After a rejected iteration: the rejecting validators' summaries and issues, for the next iteration's prompt
    /// (workers) and as a JSON file named by ZEROSHOT_FEEDBACK_FILE (every agent).
    /// </summary>
    private void PrepareFeedback()
    {
        var rejections = _agents
            .Where(a => a.Config.Role == AgentRole.Validator && a.VerdictIteration == _iteration && a.Verdict is { Approved: false })
            .Select(a => (a.Id, Verdict: a.Verdict!))
            .ToList();
        _feedbackText = FeedbackPrompt(_iteration, rejections);
        var path = Path.Combine(Path.GetDirectoryName(_services.Home.AgentLogPath(_clusterId, "feedback"))!, $"feedback-{_iteration}.json");
        try
        {
            var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
            using (var w = new System.Text.Json.Utf8JsonWriter(buffer, new System.Text.Json.JsonWriterOptions { Indented = true }))
            {
                w.WriteStartObject();
                w.WriteNumber("iteration", _iteration);
                w.WriteStartArray("rejections");
                foreach (var (id, verdict) in rejections)
                {
                    w.WriteStartObject();
                    w.WriteString("validator", id);
                    w.WriteString("summary", verdict.Summary);
                    w.WriteStartArray("issues");
                    foreach (var issue in verdict.Issues) w.WriteStringValue(issue);
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            PrivateFiles.WriteAllBytes(path, buffer.WrittenSpan);
            _feedbackFile = path;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The prompt still carries the feedback; the file is a convenience.
            _feedbackFile = null;
            Notify(new ErrorEvent(Now, null, $"could not write {path}: {e.Message}"));
        }
    }

    /// <summary>The verdict's JSON schema as a file in the cluster's log folder (Codex's --output-schema takes a path).</summary>
    private string VerdictSchemaFile()
    {
        var path = Path.Combine(Path.GetDirectoryName(_services.Home.AgentLogPath(_clusterId, "verdict"))!, "verdict-schema.json");
        try
        {
            _services.Home.EnsureLogDirectory(_clusterId);
            if (!File.Exists(path))
                PrivateFiles.WriteAllText(path, Verdict.JsonSchema);
            else
                PrivateFiles.TightenIfExists(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Notify(new ErrorEvent(Now, null, $"could not write {path}: {e.Message}"));
        }
        return path;
    }

    /// <summary>What the next iteration's worker is told about the rejection.</summary>
    internal static string FeedbackPrompt(int iteration, IReadOnlyList<(string Validator, Verdict Verdict)> rejections)
    {
        var sb = new System.Text.StringBuilder();
        sb.Append(System.Globalization.CultureInfo.InvariantCulture,
            $"Your previous attempt (iteration {iteration}) was rejected by the validators. Fix every issue below, then finish the task.");
        foreach (var (validator, verdict) in rejections)
        {
            sb.Append("\n- ").Append(validator).Append(": ").Append(verdict.Summary.Length == 0 ? "rejected" : verdict.Summary);
            foreach (var issue in verdict.Issues) sb.Append("\n  - ").Append(issue);
        }
        return sb.ToString();
    }

    /// <summary>Turns a supervisor event into the machine's input; an exit is first collected and judged.</summary>
    private async Task<SupervisorInput?> InputAsync(SupervisorEvent e)
    {
        switch (e.Kind)
        {
            case SupervisorEventKind.Exited:
                var agent = e.Agent!;
                await CollectAsync(agent, e.Exit).ConfigureAwait(false);
                if (Restarted(agent)) return null;
                bool? approved = agent.Verdict is { } verdict && agent.VerdictIteration == _iteration ? verdict.Approved : null;
                return new AgentExitedInput(agent.Id, agent.State, approved);
            case SupervisorEventKind.Stop:
                return SupervisorInput.Stop;
            default:
                return SupervisorInput.Kill;
        }
    }

    /// <summary>Carries out the machine's commands in order; agents that could not start are reported back together.</summary>
    private void Execute(IterationMachine machine, IReadOnlyList<SupervisorCommand> commands)
    {
        while (commands.Count > 0)
        {
            var failedToStart = new List<string>();
            foreach (var command in commands)
            {
                switch (command)
                {
                    case BeginIterationCommand begin:
                        _iteration = begin.Iteration;
                        _writer.Post(new ClusterIterationWrite(_clusterId, _iteration));
                        foreach (var agent in _agents) SetWaiting(agent);
                        Notify(new IterationStartedEvent(Now, _iteration, _config.MaxIterations, AfterRejection: _afterRejection));
                        _afterRejection = false;
                        break;
                    case PrepareFeedbackCommand:
                        PrepareFeedback();
                        _afterRejection = true;
                        break;
                    case StartAgentCommand start:
                        if (!Start(Agent(start.AgentId))) failedToStart.Add(start.AgentId);
                        break;
                    case RetryValidatorCommand retry:
                    {
                        var agent = Agent(retry.AgentId);
                        agent.Retries = retry.Retry;
                        Notify(new ValidatorRerunEvent(Now, agent.Id, agent.LastError ?? "no verdict", retry.Retry, retry.Of));
                        lock (_snapshotGate) agent.State = AgentState.Waiting;
                        _writer.Post(new AgentStateWrite(_clusterId, agent.Id, AgentState.Waiting));
                        break;
                    }
                    case StopAllCommand stop:
                        StopAll(stop.Kill);
                        break;
                    case AnnounceStopCommand announce:
                        // A kill is recorded as one too: the events table says why every agent ended by SIGKILL.
                        Notify(announce.Kill ? new KillingEvent(Now) : new StoppingEvent(Now));
                        break;
                    case ValidatorFailedCommand failed:
                        Notify(new ValidatorFailedEvent(Now, failed.AgentId, Agent(failed.AgentId).LastError ?? "no verdict"));
                        break;
                    case MarkStoppedCommand stopped:
                        foreach (var id in stopped.AgentIds)
                        {
                            lock (_snapshotGate) Agent(id).State = AgentState.Stopped;
                            _writer.Post(new AgentStateWrite(_clusterId, id, AgentState.Stopped));
                        }
                        break;
                    case RejectedInAllCommand all:
                        _iteration = Math.Max(1, all.MaxIterations);
                        _endReason = $"rejected in all {all.MaxIterations} iterations";
                        break;
                    case FinishCommand finish:
                        Finish(finish.State, _endReason);
                        break;
                    default:
                        throw new InvalidOperationException($"unknown supervisor command {command}");
                }
            }
            commands = failedToStart.Count == 0 ? [] : machine.On(new AgentsFailedToStartInput(failedToStart));
        }
    }

    private AgentRuntime Agent(string id) => _agents.First(a => a.Id == id);

    private bool Start(AgentRuntime agent)
    {
        LaunchedAgent launched;
        try
        {
            // An interactive Claude Code agent runs under a session id chosen here: its transcript's name is known.
            agent.SessionId = agent.Config.Interactive ? Guid.NewGuid().ToString() : null;
            launched = _launcher.Launch(agent.Config, _config.Prompt, _iteration, _feedbackText, _feedbackFile, VerdictSchemaFile,
                Volatile.Read(ref _columns), Volatile.Read(ref _rows), agent.SessionId);
        }
        catch (LaunchFailedException e)
        {
            Notify(new ErrorEvent(Now, agent.Id, e.Message));
            lock (_snapshotGate)
            {
                agent.State = AgentState.Failed;
                agent.ExitCode = 127;
            }
            _writer.Post(new AgentEndedWrite(_clusterId, agent.Id, AgentState.Failed, 127, Now));
            return false;
        }
        var (process, pump, interpreter, startTime, fallbackModel, terminal, transcript, geminiChats) = launched;
        if (agent.Config.Interactive)
        {
            // The TUI's own notifications (Codex's approvals, OSC 9) and a person's keys are signals too.
            terminal.ReportsFocus = true;
            terminal.Notified = text => OnTerminalNotification(agent, text);
            terminal.Typed = () =>
            {
                lock (_snapshotGate) agent.Interactive?.OnPersonTyped();
            };
        }
        lock (_snapshotGate)
        {
            ResetHealth(agent);
            agent.Interpreter = interpreter;
            agent.Interactive = agent.Config.Interactive
                ? new InteractiveActivity(ProviderCatalog.AgentPrompt(agent.Config, _config.Prompt).Length > 0,
                    cliSignals: agent.Config.Provider is ProviderCatalog.Claude or ProviderCatalog.Codex)
                : null;
            // Claude's transcript is known before its first line: its tokens are followed from the start.
            agent.Transcript = transcript is null ? null : TranscriptUsage.Follow(ProviderCatalog.Claude, transcript, interpreter.Usage);
            // Gemini's appear with its sessions (one more each time it restarts itself): looked for each tick.
            agent.GeminiChats = geminiChats;
            agent.Process = process;
            agent.Pump = pump;
            agent.Terminal = terminal;
            agent.State = AgentState.Running;
            agent.Pid = process.Pid;
            agent.PidStartTime = startTime;
            if (agent.Config.Model is null && fallbackModel is not null) agent.SeenModel = fallbackModel;
            // Queued under the lock, before the sampler can queue this run's first figures (it clears the last ones).
            agent.StoredLive = null;
            _writer.Post(new AgentStartedWrite(_clusterId, agent.Id, _iteration, process.Pid, startTime, Now));
        }
        if (agent.SeenModel is not null) _writer.Post(new AgentModelWrite(_clusterId, agent.Id, agent.SeenModel));
        Notify(new AgentStartedEvent(Now, agent.Id, process.Pid) { Interactive = agent.Config.Interactive });
        _ = WatchExitAsync(agent, process);
        return true;
    }

    private async Task WatchExitAsync(AgentRuntime agent, PtyProcess process)
    {
        var exit = await process.WaitForExitAsync().ConfigureAwait(false);
        _events.Writer.TryWrite(new SupervisorEvent(SupervisorEventKind.Exited, agent, exit));
    }

    /// <summary>After an agent's exit: drain its output, record the outcome.</summary>
    private async Task CollectAsync(AgentRuntime agent, PtyExit exit)
    {
        if (agent.Process is { } process)
        {
            // Background processes the agent left behind keep its terminal open; they belong to it.
            await process.StopAsync(_services.StopGrace).ConfigureAwait(false);
        }
        // So do those that left its session (setsid, a double fork): found by its cgroup and its marker.
        if (_services.Containment is { } containment)
            await containment.SweepAsync(agent.Id, _killing ? TimeSpan.Zero : _services.StopGrace).ConfigureAwait(false);
        if (agent.Pump is { } pump)
        {
            // Output ends when every holder of the terminal closed it. A descendant that left the
            // session (setsid) may keep it open forever: after the grace period, close the terminal
            // ourselves (the pump then ends, and the straggler gets EIO/SIGHUP).
            await pump.Completion.WaitAsync(_services.StopGrace + TimeSpan.FromSeconds(2)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (!pump.Completion.IsCompleted) agent.Process?.Dispose();
            await pump.Completion.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

            if (pump.LastOutputAt is { } last)
            {
                agent.LastOutputAt = last;
                _writer.Post(new AgentLastOutputWrite(_clusterId, agent.Id, last));
            }
            await pump.DisposeAsync().ConfigureAwait(false);
        }
        // Every byte went through the screen model: attached clients see the end, then the exit.
        agent.Terminal?.Exited(exit.ExitCode, exit.Signal);
        // The pump thread has ended: the last partial line can be flushed from here.
        var interpreter = agent.Interpreter;
        interpreter?.Complete();
        // The transcript's last lines are read before the usage is recorded (the CLI wrote them before exiting); a Gemini
        // chat file written between the last tick and the exit is looked for once more.
        FindGeminiChat(agent);
        lock (_snapshotGate) agent.GeminiChats = null;
        if (agent.Transcript is { } transcript)
        {
            await transcript.CompleteAsync().ConfigureAwait(false);
            agent.Transcript = null;
        }
        agent.SessionFile?.Dispose();
        agent.SessionFile = null;
        agent.Process?.Dispose();
        // An agent we asked to stop is "stopped" unless it still finished its work (exit 0).
        var state = exit.ExitCode == 0 ? AgentState.Completed : agent.StopRequested ? AgentState.Stopped : AgentState.Failed;
        string how = exit.Signal is int s ? $"killed by signal {s}" : $"exit code {exit.ExitCode}";
        var (judged, verdict, error) = RunOutcome.Judge(agent.Config, state, how, exit.ExitCode, interpreter);
        // Stopped by its health action or its budget: that is why.
        if (judged == AgentState.Stopped && agent.StopReason is { } why) error = why;
        lock (_snapshotGate)
        {
            agent.State = judged;
            agent.ExitCode = exit.ExitCode ?? exit.ShellCode;
            agent.Latest = null;
            agent.Cgroup = null;
            agent.Process = null;
            agent.Pump = null;
            agent.Terminal = null;
            agent.FinishedUsage = agent.Usage;
            agent.SeenModel = interpreter?.Usage.Model ?? agent.SeenModel;
            // The run's last line outlives its interpreter: its answer, not the line shown a tick before the exit.
            agent.LastLine = agent.Interactive?.LastMessage ?? interpreter?.LastLine ?? agent.LastLine;
            agent.Interpreter = null;
            agent.Interactive = null;
            agent.LastError = error;
            if (verdict is not null)
            {
                agent.Verdict = verdict;
                agent.VerdictIteration = _iteration;
            }
        }
        _writer.Post(new AgentUsageWrite(_clusterId, agent.Id, agent.FinishedUsage));
        if (agent.SeenModel is not null) _writer.Post(new AgentModelWrite(_clusterId, agent.Id, agent.SeenModel));
        _writer.Post(new AgentOutcomeWrite(_clusterId, agent.Id, agent.Verdict, agent.VerdictIteration, error));
        _writer.Post(new AgentEndedWrite(_clusterId, agent.Id, judged, agent.ExitCode, Now));
        Notify(new AgentExitedEvent(Now, agent.Id, judged, exit.ExitCode, exit.Signal,
            verdict is null ? null : VerdictSnapshot.From(verdict, _iteration), error));
        if (verdict is not null)
            Notify(new VerdictEvent(Now, agent.Id, verdict.Approved, verdict.Summary, verdict.Issues));
    }

    private void StopAll(bool kill)
    {
        if (kill) _killing = true;
        foreach (var agent in _agents)
        {
            if (agent.Process is not { } process) continue;
            agent.StopRequested = true;
            _ = process.StopAsync(kill ? TimeSpan.Zero : _services.StopGrace);
        }
    }

    /// <summary>The sampler loop with this supervisor's agents: the running ones are sampled, their samples applied,
    /// their live figures queued to the store, and the snapshot published.</summary>
    private Task SampleLoopAsync(CancellationToken cancel)
    {
        var owners = new List<AgentRuntime>();
        return _sampling.RunAsync(
            collect: pids =>
            {
                owners.Clear();
                lock (_snapshotGate)
                {
                    foreach (var agent in _agents)
                    {
                        if (agent.State == AgentState.Running && agent.Pid is int pid)
                        {
                            pids.Add(pid);
                            owners.Add(agent);
                        }
                    }
                }
                // Outside the lock (it reports through it): a status change whose inotify event was lost shows a tick later.
                foreach (var agent in owners)
                {
                    agent.SessionFile?.Refresh();
                    FindGeminiChat(agent);
                }
            },
            apply: samples =>
            {
                lock (_snapshotGate)
                {
                    for (int i = 0; i < samples.Count; i++)
                    {
                        if (owners[i].State != AgentState.Running || owners[i].Pid != samples[i].Pid) continue;
                        // The life counters: each sample's rates over the time since this tree's sample before (a new
                        // run's first sample is its baseline).
                        var totals = owners[i].Totals ?? default;
                        if (owners[i].Latest is { } before && before.Pid == samples[i].Pid)
                            totals = totals.Add(samples[i], (samples[i].Timestamp - before.Timestamp).TotalSeconds);
                        owners[i].Totals = totals;
                        owners[i].Latest = samples[i];
                        owners[i].History.Add(samples[i]);
                        JudgeHealth(owners[i], Now);
                    }
                    if (_state == ClusterState.Running) CheckBudgets(Now);
                    // The agents' cgroups, where they have one: the kernel's figures beside the tree sums.
                    if (_services.Containment is { ClusterCgroupPath: not null } containment)
                    {
                        long now = _services.Time.GetTimestamp();
                        foreach (var agent in owners)
                            agent.Cgroup = containment.ExistingCgroup(agent.Id)?.Sample(now, _services.Time.TimestampFrequency);
                    }
                    // Live token counts reach the database once a tick, so `list` shows them without asking
                    // us. Queued to the writer (never SQLite here) under the lock, and only while running: the
                    // final figure (queued after the agent ended) must never be overwritten by a late live one.
                    foreach (var agent in owners)
                    {
                        if (agent.State != AgentState.Running) continue;
                        // `lastOutputAt` reaches the database once a tick too.
                        if (agent.Pump?.LastOutputAt is { } last && last != agent.StoredLastOutput)
                        {
                            _writer.Post(new AgentLastOutputWrite(_clusterId, agent.Id, last));
                            agent.StoredLastOutput = last;
                        }
                        var usage = agent.Usage;
                        if (usage == agent.StoredUsage) continue;
                        _writer.Post(new AgentUsageWrite(_clusterId, agent.Id, usage));
                        agent.StoredUsage = usage;
                    }
                }
            },
            afterTick: () =>
            {
                // A client that fell behind gets its fresh screen once its queue drained, even if the agent went quiet.
                foreach (var agent in _agents) agent.Terminal?.CatchUp();
                ActOnHealthAndBudgets();
                // The tick's snapshot becomes history points in the state database (queued: no SQLite here).
                var snapshot = Publish();
                foreach (var write in _history.Record(snapshot, Now)) _writer.Post(write);
                StoreLive(snapshot);
                EveryTick?.Invoke();
            },
            cancel);
    }

    /// <summary>
    /// Work the supervisor's owner wants done once a sampling tick, on the tick's thread, while the cluster runs (the
    /// control socket's check): one clock wakes the process instead of two. Must be quick and must not throw.
    /// </summary>
    public Action? EveryTick { get; set; }

    /// <summary>Sampling ticks that failed (metrics), for diagnostics.</summary>
    public long SampleFailures => _sampling.Failures;

    /// <summary>
    /// The cluster now: the snapshot built at the last sampling tick or event, the same object for every reader in
    /// this process (built here when there is none yet). Agents carry no history.
    /// </summary>
    public ClusterSnapshot Snapshot() => Volatile.Read(ref _latest) ?? Publish();

    /// <summary>The current snapshot; with <paramref name="history"/>, each agent also carries its last samples.</summary>
    public ClusterSnapshot Snapshot(bool history)
    {
        var snapshot = Snapshot();
        if (!history) return snapshot;
        lock (_snapshotGate)
        {
            var agents = new AgentSnapshot[snapshot.Agents.Count];
            for (int i = 0; i < agents.Length; i++) agents[i] = snapshot.Agents[i] with { History = _agents[i].History.Snapshot() };
            return snapshot with { Agents = agents };
        }
    }

    /// <summary>
    /// What each running agent is doing reaches the database when it changed since the last write (at most once a
    /// tick), so <c>list</c> reads it there instead of asking every supervisor. Queued to the writer, never SQLite here.
    /// </summary>
    private void StoreLive(ClusterSnapshot snapshot)
    {
        var now = Now;
        lock (_snapshotGate)
        {
            for (int i = 0; i < snapshot.Agents.Count && i < _agents.Count; i++)
            {
                var seen = snapshot.Agents[i];
                var agent = _agents[i];
                // The snapshot's run only: a run that began since it was built has its own first tick.
                if (seen.State != AgentState.Running || agent.State != AgentState.Running || seen.Pid != agent.Pid) continue;
                if (agent.StoredLive is { } stored && stored.Matches(seen)) continue;
                agent.StoredLive = AgentLive.Of(seen);
                _writer.Post(new AgentLiveWrite(_clusterId, agent.Id, agent.StoredLive, now));
            }
        }
    }

    /// <summary>
    /// Builds the snapshot (once per tick and after each event), caches it for <see cref="Snapshot()"/> and hands it to
    /// the observers, with the events the agents' activity implies (retrying, a new API error). In order: one at a time.
    /// </summary>
    private ClusterSnapshot Publish()
    {
        lock (_publishGate)
        {
            ClusterSnapshot snapshot;
            List<ClusterEvent>? detected = null;
            lock (_snapshotGate)
            {
                snapshot = _builder.Build(_clusterId, _config, _state, _iteration, _startedAt, _agents, Now, ref detected, _logHealth);
                if (_budgetWarning is { } budget) snapshot = snapshot with { BudgetWarning = budget };
                Volatile.Write(ref _latest, snapshot);
            }
            if (detected is not null)
                foreach (var e in detected) Deliver(e);
            try
            {
                _observer.OnSnapshot(snapshot);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                // A display that is gone; the next tick tries again.
            }
            return snapshot;
        }
    }

    private enum SupervisorEventKind
    {
        Exited,
        Stop,
        Kill,
    }

    private readonly record struct SupervisorEvent(SupervisorEventKind Kind, AgentRuntime? Agent, PtyExit Exit);
}
