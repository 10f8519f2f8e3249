using System.CommandLine;
using System.Text.Json;
using Zeroshot.Agents;
using Zeroshot.Agents.Config;
using Zeroshot.Agents.Control;
using Zeroshot.Agents.Sim;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;
using Zeroshot.Cli.Output;
using Zeroshot.Metrics;
using Zeroshot.Terminal;

namespace Zeroshot.Cli.Commands;

/// <summary>The supervisor's commands: run, task run, list, status, logs, stop, kill (and two hidden ones).</summary>
internal static class ClusterCommands
{
    public static IEnumerable<Command> Create(CliContext context)
    {
        yield return Run(context);
        yield return Task(context);
        yield return List(context);
        yield return Status(context);
        yield return Logs(context);
        yield return Signal(context, "stop", "Stop a cluster: SIGTERM to every agent's process group, SIGKILL after a grace period.", kill: false);
        yield return Signal(context, "kill", "Kill a cluster's agents at once (SIGKILL).", kill: true);
        yield return SimAgentCommand(context);
        yield return Supervise(context);
    }

    private static Option<string?> ProviderOption() => new("--provider") { Description = "Provider for the agents: claude, codex or sim." };

    private static Option<string?> ModelOption() => new("--model") { Description = "Model for the agents (e.g. sonnet, haiku)." };

    /// <summary>--no-metrics, --refresh and --status-interval, shared by run, task run and logs -f.</summary>
    internal sealed class LiveOptions
    {
        public Option<bool> NoMetrics { get; } = new("--no-metrics") { Description = "No status footer." };

        public Option<int> Refresh { get; } = new("--refresh")
        {
            Description = "Milliseconds between footer refreshes (100 to 60000).",
            DefaultValueFactory = _ => 1000,
        };

        public Option<int> StatusInterval { get; } = new("--status-interval")
        {
            Description = "When output is not a terminal: seconds between one-line status reports (0 for never).",
            DefaultValueFactory = _ => 30,
        };

        public LiveOptions()
        {
            Refresh.Validators.Add(r => { if (OptionChecks.Value<int>(r) is { } v && (v < 100 || v > 60_000)) r.AddError($"--refresh must be between 100 and 60000 ms (got {v})."); });
            StatusInterval.Validators.Add(r => { if (OptionChecks.Value<int>(r) is < 0) r.AddError("--status-interval must be 0 or more."); });
        }

        public void AddTo(Command command)
        {
            command.Options.Add(NoMetrics);
            command.Options.Add(Refresh);
            command.Options.Add(StatusInterval);
        }

        public Output.LiveStatusOptions Read(ParseResult parse) => new(
            !parse.GetValue(NoMetrics), TimeSpan.FromMilliseconds(parse.GetValue(Refresh)), TimeSpan.FromSeconds(parse.GetValue(StatusInterval)));
    }

    /// <summary>--metrics-listen and --otlp-endpoint, shared by run and task run.</summary>
    private sealed class ExportOptions
    {
        public Option<string?> Listen { get; } = new("--metrics-listen")
        {
            Description = "Serve this run's agents as Prometheus metrics at host:port/metrics (e.g. 127.0.0.1:9464) while it runs.",
        };

        public Option<string?> Otlp { get; } = ServeMetricsCommand.OtlpEndpointOption();

        public void AddTo(Command command)
        {
            command.Options.Add(Listen);
            command.Options.Add(Otlp);
        }

        public Export.ExportTargets Read(ParseResult parse) => new(
            parse.GetValue(Listen) is { } listen ? Export.ListenAddress.Parse(listen, "--metrics-listen") : null,
            parse.GetValue(Otlp) is { } otlp ? Export.MetricsExporter.ParseOtlpEndpoint(otlp, "--otlp-endpoint") : null);
    }

    private static Option<bool> RawOption() => new("--raw") { Description = "Show agent output as written (stream-json lines as JSON) instead of rendered." };

    private static Option<string?> OnEventOption() => new("--on-event")
    {
        Description = "A program to run when an agent needs input or is idle, or the cluster ends, with the event as JSON on its standard input "
            + "(split into words as a shell would, with '…' and \"…\" quoting, but never run through one: no variables, globs or pipes).",
    };

    /// <summary>The cluster with <c>--on-event</c>'s program, when given.</summary>
    private static ClusterConfig WithOnEvent(ClusterConfig config, string? onEvent)
    {
        if (onEvent is null) return config;
        return config with { OnEvent = Agents.Notify.EventHookRunner.ParseCommand(onEvent) };
    }

    private static Option<bool> DetachOption() => new("--detach", "-d") { Description = "Run in a background supervisor that survives the terminal closing; print the id and return." };

    private static Command Run(CliContext context)
    {
        var target = new Argument<string?>("cluster.json | prompt")
        {
            Description = "A cluster file, or a prompt for the default cluster (one worker, one validator).",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var demo = new Option<bool>("--demo") { Description = "Run the built-in demo cluster (simulated agents, about 40 s, one rejection)." };
        var detach = DetachOption();
        var provider = ProviderOption();
        var model = ModelOption();
        var raw = RawOption();
        var onEvent = OnEventOption();
        var command = new Command("run", "Run a cluster of agents (worker and validators) and show their output.") { target, demo, detach, provider, model, raw, onEvent };
        var live = new LiveOptions();
        live.AddTo(command);
        var export = new ExportOptions();
        export.AddTo(command);
        command.SetAction((parse, _) =>
        {
            string? given = parse.GetValue(target);
            ClusterConfig config;
            if (parse.GetValue(demo))
            {
                if (given is not null) throw new UserErrorException("--demo takes no cluster file or prompt", ExitCodes.Usage);
                config = ClusterTemplates.Demo();
            }
            else if (string.IsNullOrWhiteSpace(given))
            {
                throw new UserErrorException("run needs a cluster file or a prompt (or --demo)", ExitCodes.Usage);
            }
            else if (File.Exists(given) || (given.EndsWith(".json", StringComparison.OrdinalIgnoreCase) && !given.Any(char.IsWhiteSpace)))
            {
                // A lone word ending in .json is a file (a missing one is reported as such); "fix package.json" is a prompt.
                config = Override(ClusterConfigLoader.Load(given, ZeroshotSettings.Load(context.Home().SettingsPath).MaxAgents),
                    parse.GetValue(provider), parse.GetValue(model));
            }
            else
            {
                config = ClusterTemplates.DefaultForPrompt(given, parse.GetValue(provider), parse.GetValue(model));
            }
            config = WithOnEvent(config, parse.GetValue(onEvent));
            return ClusterHost.StartAsync(config, parse.GetValue(detach), parse.GetValue(raw), live.Read(parse), context, export: export.Read(parse));
        });
        return command;
    }

    /// <summary>--provider/--model on a cluster file apply to every provider agent (command agents keep their command).</summary>
    private static ClusterConfig Override(ClusterConfig config, string? provider, string? model)
    {
        if (provider is null && model is null) return config;
        if (provider is not null && !ProviderCatalog.IsKnownProvider(provider))
            throw new UserErrorException($"unknown provider '{provider}' (expected {string.Join(", ", ProviderCatalog.KnownProviders)})", ExitCodes.Usage);
        return config with
        {
            Agents = config.Agents.Select(a => a.Provider is null ? a : a with { Provider = provider ?? a.Provider, Model = model ?? a.Model }).ToList(),
        };
    }

    private static Command Task(CliContext context)
    {
        var prompt = new Argument<string>("prompt") { Description = "What the agent should do." };
        var provider = ProviderOption();
        var model = ModelOption();
        var cwd = new Option<string?>("--cwd") { Description = "Working directory of the agent (default: the current one)." };
        var detach = DetachOption();
        var raw = RawOption();
        var interactive = new Option<bool>("--interactive", "-i")
        {
            Description = "Run the provider's own TUI with the prompt as its first message, in a background supervisor, and attach this terminal to it (C-b d detaches; the agent goes on; zeroshot send types more prompts).",
        };
        var onEvent = OnEventOption();
        var run = new Command("run", "Run one agent on a prompt (a one-agent cluster of kind task).") { prompt, provider, model, cwd, detach, raw, interactive, onEvent };
        var live = new LiveOptions();
        live.AddTo(run);
        var export = new ExportOptions();
        export.AddTo(run);
        run.SetAction((parse, _) =>
        {
            string? dir = parse.GetValue(cwd);
            if (dir is not null)
            {
                dir = Path.GetFullPath(dir);
                if (!Directory.Exists(dir)) throw new UserErrorException($"--cwd: no such directory: {dir}", ExitCodes.Usage);
            }
            bool tui = parse.GetValue(interactive);
            var config = WithOnEvent(ClusterTemplates.Task(parse.GetValue(prompt)!, parse.GetValue(provider), parse.GetValue(model), dir, tui), parse.GetValue(onEvent));
            if (!tui) return ClusterHost.StartAsync(config, parse.GetValue(detach), parse.GetValue(raw), live.Read(parse), context, export: export.Read(parse));
            if (export.Read(parse).Any)
                throw new UserErrorException("--metrics-listen and --otlp-endpoint serve a run in the foreground; for --interactive use 'zeroshot serve-metrics'", ExitCodes.Usage);
            // A TUI needs a terminal of its own that outlives this one: a detached supervisor owns its PTY, and this
            // terminal attaches to it (as tmux new-session does), unless asked not to or there is no terminal to attach.
            bool attach = !parse.GetValue(detach) && Attach.LocalTerminal.IsInteractive;
            return ClusterHost.StartAsync(config, detach: true, parse.GetValue(raw), live.Read(parse), context,
                attach ? (id, env, cancel) => AttachCommand.AttachAsync(env, id, "worker", readOnly: false, noMetrics: false, raw: false, null, context, cancel) : null);
        });
        return new Command("task", "Single-agent tasks.") { run };
    }

    private static Option<bool> JsonOption(string what) => new("--json") { Description = what };

    private static Command List(CliContext context)
    {
        var json = JsonOption("One JSON array of {id, kind, name, state, agents, startedAt}.");
        var command = new Command("list", "List clusters and tasks, newest first.") { json };
        command.Aliases.Add("ls");
        command.SetAction(parse =>
        {
            using var env = new ClusterHost.HomeServices(context);
            ReconcileCrashed(env.Store);
            var clusters = env.Store.ListClusters();
            if (parse.GetValue(json))
            {
                var entries = clusters.Select(c => ClusterListEntry.From(ClusterSnapshot.FromRecord(c))).ToList();
                context.Out.WriteLine(JsonSerializer.Serialize(entries, LiveJson.Default.ListClusterListEntry));
                return ExitCodes.Success;
            }
            if (clusters.Count == 0)
            {
                context.Out.WriteLine("no clusters yet: try 'zeroshot run --demo'");
                return ExitCodes.Success;
            }
            context.Out.WriteLine($"{"ID",-24} {"KIND",-8} {"STATE",-10} {"ITER",-5} {"TOKENS",7} {"COST",9}  {"STARTED",-19}  {"NAME",-20} AGENTS");
            // Every figure comes from the database: supervisors write their agents' tokens, cost and activity there
            // when they change (at most once a tick), so a list of many clusters costs no round trips. Only a running
            // cluster with a run its supervisor has not written yet (its first second, or a supervisor of an older
            // zeroshot) is asked, all of those at once. A cluster with an agent waiting for the person comes first
            // (then newest first, as stored).
            var asked = clusters.Select(c => NotWrittenYet(c) ? LiveSnapshotAsync(c, false, default) : null).ToArray();
            var views = clusters.Select((c, i) => (Record: c, View: asked[i]?.GetAwaiter().GetResult().Snapshot ?? ClusterSnapshot.FromRecord(c))).ToList();
            foreach (var (c, view) in views.Where(v => StatusText.WaitsForPerson(v.View)).Concat(views.Where(v => !StatusText.WaitsForPerson(v.View))))
            {
                context.Out.WriteLine($"{c.Id,-24} {StateNames.Text(c.Kind),-8} {StateNames.Text(view.State),-10} {c.Iteration + "/" + c.MaxIterations,-5} {StatusText.Tokens(view.Usage),7} {StatusText.Cost(view.Usage),9}  {c.StartedAt.ToLocalTime():yyyy-MM-dd HH:mm:ss}  {Agents.Output.StreamJsonRenderer.OneLine(c.Name, 20),-20} {StatusText.AgentSummary(view)}");
            }
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>A running cluster with a running agent whose activity its supervisor has not written to the database.</summary>
    private static bool NotWrittenYet(ClusterRecord cluster) =>
        cluster.State == ClusterState.Running && cluster.Agents.Any(a => a.State == AgentState.Running && a.Live is null);

    private static Argument<string> IdArgument() => new("id") { Description = "Cluster or task id (a unique prefix is enough)." };

    private static Command Status(CliContext context)
    {
        var id = IdArgument();
        var json = JsonOption("One JSON object: id, kind, state, iteration, startedAt, agents with their latest metrics.");
        var history = new Option<bool>("--history") { Description = "With --json: add each agent's samples (\"history\"): the last 60 from a running supervisor, every stored one of a cluster that ended." };
        var command = new Command("status", "Show a cluster's state and each agent's state and live metrics.") { id, json, history };
        command.SetAction(async (parse, cancel) =>
        {
            bool withHistory = parse.GetValue(history);
            // A live cluster named by its full id answers from its supervisor's memory, before the database is opened: a
            // database locked by another process (or slow) cannot delay it.
            if (LiveSocketOf(parse.GetValue(id)!) is { } socket
                && await LiveSnapshotAsync(socket, withHistory, cancel).ConfigureAwait(false) is { Snapshot: { } liveOnly } answer)
            {
                if (parse.GetValue(json))
                    context.Out.WriteLine(answer.Json);
                else
                    WriteLiveStatus(context, liveOnly);
                return ExitCodes.Success;
            }
            using var env = new ClusterHost.HomeServices(context);
            ReconcileCrashed(env.Store);
            var record = env.Store.GetCluster(env.Store.ResolveId(parse.GetValue(id)!))!;
            var snapshot = await LiveSnapshotAsync(record, withHistory, cancel).ConfigureAwait(false);
            var stillRunning = record.State == ClusterState.Crashed ? LeftoverAgents.Find(record, env.Home).RunningAgents : null;
            if (parse.GetValue(json))
            {
                // The JSON on stdout stays one document; a script's log still shows it is not live.
                if (snapshot.Json is null && record.State == ClusterState.Running)
                    context.Error.WriteLine($"zeroshot: the supervisor of {record.Id} did not answer{(snapshot.Why is null ? "" : $" ({snapshot.Why})")}: showing the stored state");
                // The supervisor's answer is the document (the same record, serialized once, there).
                context.Out.WriteLine(snapshot.Json
                    ?? JsonSerializer.Serialize((withHistory ? ClusterSnapshot.FromRecord(record, env.Store.ReadSamples(record.Id)) : ClusterSnapshot.FromRecord(record))
                        with
                    { StillRunning = stillRunning is { Count: > 0 } ? stillRunning : null },
                        LiveJson.Default.ClusterSnapshot));
                return ExitCodes.Success;
            }
            if (snapshot.Snapshot is null && record.State == ClusterState.Running)
                context.Out.WriteLine($"(the supervisor did not answer{(snapshot.Why is null ? "" : $": {snapshot.Why}")}: showing the stored state, without live metrics)");
            StatusText.WriteStatus(context.Out, snapshot.Snapshot ?? ClusterSnapshot.FromRecord(record), MetricsLine);
            if (stillRunning is { Count: > 0 } left)
                context.Out.WriteLine($"  still running after their supervisor died: {string.Join(", ", left)} ('zeroshot stop {record.Id}' ends them)");
            var events = env.Store.ReadEvents(record.Id, last: StatusEvents);
            if (events.Count > 0)
            {
                context.Out.WriteLine("  recent events:");
                foreach (var e in events) context.Out.WriteLine("    " + ClusterEventRows.Line(e));
            }
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>
    /// The live status, then the recent events when the database gives them within a second (it is only the history;
    /// a database locked by another process, or damaged, is said instead of waited for).
    /// </summary>
    private static void WriteLiveStatus(CliContext context, ClusterSnapshot snapshot)
    {
        StatusText.WriteStatus(context.Out, snapshot, MetricsLine);
        IReadOnlyList<Agents.State.StoredEvent> events;
        try
        {
            using var store = StateStore.Open(context.Home().DatabasePath, context.Time, TimeSpan.FromSeconds(1));
            events = store.ReadEvents(snapshot.Id, last: StatusEvents);
        }
        catch (Exception e) when (e is UserErrorException or Microsoft.Data.Sqlite.SqliteException)
        {
            string why = e is Microsoft.Data.Sqlite.SqliteException s ? StoreErrors.Message(s, context.Home().DatabasePath) : e.Message;
            context.Out.WriteLine($"  (recent events not shown: {why})");
            return;
        }
        if (events.Count == 0) return;
        context.Out.WriteLine("  recent events:");
        foreach (var e in events) context.Out.WriteLine("    " + ClusterEventRows.Line(e));
    }

    /// <summary>The control socket a live supervisor of exactly <paramref name="id"/> would serve, when that file exists.</summary>
    private static string? LiveSocketOf(string id)
    {
        try
        {
            var path = RuntimeDirectory.SocketPath(RuntimeDirectory.DefaultPath(), id);
            return File.Exists(path) ? path : null;
        }
        catch (UserErrorException)
        {
            return null; // not an id a socket can have: a prefix with other characters, or too long
        }
    }

    /// <summary>How many of the latest recorded events <c>status</c> shows.</summary>
    private const int StatusEvents = 5;

    private static string MetricsLine(TreeSample m)
    {
        // Rounded as in the JSON document first, so the text and status --json agree.
        static double? D(double? value, int decimals) => value is { } v && double.IsFinite(v) ? Math.Round(v, decimals) : null;
        return $"CPU {Format.Percent(D(m.CpuPercent, 1), compact: true)}  MEM {Format.MegaBytes(D(m.MemoryMB, 1), compact: true)}  " +
               $"NET {(D(m.NetRxBytesPerSec, 0) is { } rx && D(m.NetTxBytesPerSec, 0) is { } tx ? $"↓{Format.Rate(rx, compact: true)} ↑{Format.Rate(tx, compact: true)}" : "-")}";
    }

    private sealed record LiveStatus(string? Json, ClusterSnapshot? Snapshot, string? Why = null);

    /// <summary>Asks the cluster's supervisor for its live snapshot; null fields when it does not answer.</summary>
    private static Task<LiveStatus> LiveSnapshotAsync(ClusterRecord record, bool history, CancellationToken cancel) =>
        record.State != ClusterState.Running || SocketOf(record) is not { } socket
            ? System.Threading.Tasks.Task.FromResult(new LiveStatus(null, null))
            : LiveSnapshotAsync(socket, history, cancel);

    /// <summary>Asks the supervisor at <paramref name="socket"/> for its live snapshot; null fields when it does not answer.</summary>
    private static async Task<LiveStatus> LiveSnapshotAsync(string socket, bool history, CancellationToken cancel)
    {
        try
        {
            var client = await ControlClient.ConnectAsync(socket, cancel).ConfigureAwait(false);
            await using (client.ConfigureAwait(false))
            {
                var result = await client.RequestAsync(ControlProtocol.Status, history ? w => w.WriteBoolean("history", true) : null, cancel).ConfigureAwait(false);
                return new LiveStatus(result.GetRawText(), LiveJson.ReadSnapshot(result));
            }
        }
        catch (Exception e) when (ControlClient.IsUnavailable(e))
        {
            return new LiveStatus(null, null, e.Message);
        }
    }

    private static Command Logs(CliContext context)
    {
        var id = IdArgument();
        var agentOption = new Option<string?>("--agent", "-a") { Description = "Only this agent's output." };
        var lines = new Option<int>("--lines", "-n") { Description = "How many lines of each log to show first (default 200; 0 for none).", DefaultValueFactory = _ => 200 };
        lines.Validators.Add(r => { if (OptionChecks.Value<int>(r) is < 0) r.AddError("--lines must be 0 or more."); });
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing output as it arrives, until the cluster ends." };
        var raw = RawOption();
        var command = new Command("logs", "Show the output of a cluster's agents: rendered, or with --raw as written (one agent's log byte for byte).") { id, agentOption, lines, follow, raw };
        var live = new LiveOptions();
        live.AddTo(command);
        command.SetAction(async (parse, cancel) =>
        {
            using var env = new ClusterHost.HomeServices(context);
            var record = env.Store.GetCluster(env.Store.ResolveId(parse.GetValue(id)!))!;
            string? only = parse.GetValue(agentOption);
            if (only is not null && record.FindAgent(only) is null)
                throw new UserErrorException($"cluster {record.Id} has no agent '{only}' (agents: {string.Join(", ", record.Agents.Select(a => a.AgentId))})");
            var agents = only is null ? record.Agents.Select(a => a.AgentId).ToList() : [only];
            return await LogsCommand.RunAsync(record, env, agents, parse.GetValue(lines), parse.GetValue(follow), parse.GetValue(raw), live.Read(parse), context, cancel).ConfigureAwait(false);
        });
        return command;
    }

    private static Command Signal(CliContext context, string name, string description, bool kill)
    {
        var id = IdArgument();
        var command = new Command(name, description) { id };
        command.SetAction(async (parse, cancel) =>
        {
            using var env = new ClusterHost.HomeServices(context);
            ReconcileCrashed(env.Store);
            var record = env.Store.GetCluster(env.Store.ResolveId(parse.GetValue(id)!))!;
            if (record.State != ClusterState.Running)
                return await StopLeftoversAsync(record, env, kill, context, cancel).ConfigureAwait(false);
            try
            {
                var client = await ControlClient.ConnectAsync(SocketOf(record) ?? throw new ControlUnavailableException("no control socket recorded"), cancel)
                    .ConfigureAwait(false);
                await using (client.ConfigureAwait(false))
                    await client.RequestAsync(kill ? ControlProtocol.Kill : ControlProtocol.Stop, null, cancel).ConfigureAwait(false);
            }
            catch (Exception e) when (ControlClient.IsUnavailable(e))
            {
                // No socket to talk to (deleted with $XDG_RUNTIME_DIR, or its supervisor just died): signal directly.
                if (!await SignalSupervisorAsync(record, kill, env, context, e.Message, cancel).ConfigureAwait(false))
                {
                    ReconcileCrashed(env.Store);
                    var now = env.Store.GetCluster(record.Id)!;
                    if (now.State == ClusterState.Running)
                        throw new UserErrorException($"the supervisor of {record.Id} does not answer ({e.Message})");
                    return await StopLeftoversAsync(now, env, kill, context, cancel).ConfigureAwait(false);
                }
            }
            // Wait until the cluster has ended, so a script can rely on it: recorded, or said by the supervisor itself (it
            // answers until its records are written; a database locked by another process delays only those).
            var deadline = context.Time.GetUtcNow() + TimeSpan.FromSeconds(30);
            var state = ClusterState.Running;
            while (context.Time.GetUtcNow() < deadline)
            {
                state = env.Store.GetCluster(record.Id)!.State;
                if (state == ClusterState.Running && (await LiveSnapshotAsync(record, false, cancel).ConfigureAwait(false)).Snapshot is { } live)
                    state = live.State;
                if (state != ClusterState.Running) break;
                await System.Threading.Tasks.Task.Delay(50, cancel).ConfigureAwait(false);
            }
            if (state == ClusterState.Running)
                throw new UserErrorException($"{record.Id} is still running 30 s after '{name}'; try 'zeroshot kill {record.Id}'");
            context.Out.WriteLine($"{record.Id} {StateNames.Text(state)}");
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>
    /// A cluster that is not running: its socket file, if its supervisor left one, is removed; a crashed one's agents
    /// that still run (their recorded pid and start time match, or they carry its marker, or its cgroups hold them)
    /// are stopped here, since no supervisor will.
    /// </summary>
    private static async Task<int> StopLeftoversAsync(ClusterRecord record, ClusterHost.HomeServices env, bool kill, CliContext context,
        CancellationToken cancel)
    {
        if (record.SocketPath is { } socket) ControlServer.TryRemoveStaleSocket(socket);
        var leftovers = record.State == ClusterState.Crashed ? LeftoverAgents.Find(record, env.Home) : null;
        if (leftovers is not { RunningAgents.Count: > 0 })
        {
            leftovers?.RemoveEmptyCgroups();
            context.Out.WriteLine($"{record.Id} is already {StateNames.Text(record.State)}");
            return ExitCodes.Success;
        }
        if (!await leftovers.StopAsync(kill ? TimeSpan.Zero : StopGrace, cancel).ConfigureAwait(false))
            throw new UserErrorException($"processes of {record.Id}'s agents survived SIGKILL (uninterruptible sleep?); see 'zeroshot status {record.Id}'");
        context.Out.WriteLine($"{record.Id} crashed: its supervisor is gone; {(kill ? "killed" : "stopped")} the agents it left running: {string.Join(", ", leftovers.RunningAgents)}");
        return ExitCodes.Success;
    }

    /// <summary>Grace between SIGTERM and SIGKILL for agents stopped without their supervisor (as the supervisor's own).</summary>
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Signals a live supervisor whose control socket cannot be reached: SIGTERM stops its cluster as Ctrl+C would;
    /// for kill a second SIGTERM (once the first was taken: its "stopping" event is recorded) kills at once. False
    /// when the recorded supervisor (pid and start time) is not alive.
    /// </summary>
    private static async Task<bool> SignalSupervisorAsync(ClusterRecord record, bool kill, ClusterHost.HomeServices env, CliContext context,
        string why, CancellationToken cancel)
    {
        if (record.SupervisorPid is not int pid || record.SupervisorStartTime is not long start || start == 0
            || ProcessIdentity.StartTime(pid) != start)
            return false;
        context.Error.WriteLine($"zeroshot: the control socket of {record.Id} does not answer ({why}); signalling its supervisor (pid {pid})");
        if (Agents.Pty.PtyNative.kill(pid, Agents.Pty.PtyNative.SIGTERM) != 0) return false;
        if (!kill) return true;
        // Two signals sent back to back may merge into one (a pending signal is not queued twice, signal(7)).
        var deadline = context.Time.GetUtcNow() + TimeSpan.FromSeconds(2);
        while (context.Time.GetUtcNow() < deadline && !env.Store.ReadEvents(record.Id, last: 5).Any(e => e.Kind == "stopping"))
            await System.Threading.Tasks.Task.Delay(20, cancel).ConfigureAwait(false);
        _ = Agents.Pty.PtyNative.kill(pid, Agents.Pty.PtyNative.SIGTERM);
        return true;
    }

    private static Command SimAgentCommand(CliContext context)
    {
        var agent = new Option<string?>("--agent") { Description = "Agent id (for messages)." };
        var options = new Option<string?>("--options") { Description = "Simulation options as JSON." };
        var command = new Command("sim-agent", "The simulated agent of the 'sim' provider.") { agent, options };
        command.Hidden = true;
        command.SetAction((parse, _) => Agents.Sim.SimAgent.RunFromCommandLineAsync(parse.GetValue(options), context.Shutdown));
        return command;
    }

    private static Command Supervise(CliContext context)
    {
        var id = new Argument<string>("id");
        var command = new Command("__supervise", "The detached supervisor of a cluster.") { id };
        command.Hidden = true;
        command.SetAction(async (parse, _) =>
        {
            using var env = new ClusterHost.HomeServices(context);
            var printer = new Output.ClusterPrinter(context.Out, false, []);
            try
            {
                return await ClusterHost.SuperviseAsync(parse.GetValue(id)!, env, context, new EventsOnly(printer)).ConfigureAwait(false);
            }
            finally
            {
                await printer.DrainAsync().ConfigureAwait(false);
            }
        });
        return command;
    }

    /// <summary>The detached supervisor logs its own events, not the agents' output (that is in their logs).</summary>
    private sealed class EventsOnly(IClusterObserver inner) : IClusterObserver
    {
        public void OnOutput(string agentId, ReadOnlyMemory<byte> chunk)
        {
        }

        public void OnEvent(ClusterEvent e) => inner.OnEvent(e);
    }

    /// <summary>
    /// The cluster's control socket: as recorded, else (its supervisor's record still queued behind another process's
    /// lock on the database) where a supervisor started from this environment serves it.
    /// </summary>
    private static string? SocketOf(ClusterRecord record)
    {
        if (record.SocketPath is not null) return record.SocketPath;
        try
        {
            return RuntimeDirectory.SocketPath(RuntimeDirectory.DefaultPath(), record.Id);
        }
        catch (UserErrorException)
        {
            return null;
        }
    }

    /// <summary>Marks clusters whose supervisor is gone as crashed, and removes the sockets they left.</summary>
    internal static void ReconcileCrashed(StateStore store)
    {
        // A supervisor killed by SIGKILL leaves its socket file behind: remove it with the verdict.
        foreach (var crashed in store.ReconcileCrashed(ProcessIdentity.IsAlive))
            if (store.GetCluster(crashed)?.SocketPath is { } socket) ControlServer.TryRemoveStaleSocket(socket);
    }
}
