using Zeroshot.Agents;
using Zeroshot.Agents.Config;
using Zeroshot.Agents.Control;
using Zeroshot.Agents.Pty;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;
using Zeroshot.Metrics;

namespace Zeroshot.Cli.Commands;

/// <summary>Starting clusters: in the foreground, detached, and the hidden supervisor process itself.</summary>
internal static class ClusterHost
{
    /// <summary>The state store, settings and provider catalog of this user's ZEROSHOT_HOME.</summary>
    internal sealed class HomeServices : IDisposable
    {
        /// <summary>
        /// Opens the home's database; with <paramref name="replaceDamaged"/> (<c>run</c>) a damaged one is moved aside and
        /// a fresh one started, said once on stderr (see <see cref="StateStore.Open(ZeroshotHome, TimeProvider?, bool, Action{string}?)"/>).
        /// </summary>
        public HomeServices(CliContext context, bool replaceDamaged = false)
        {
            Home = context.Home().EnsureCreated();
            Store = StateStore.Open(Home, context.Time, replaceDamaged, notice => context.Error.WriteLine($"zeroshot: {notice}"));
            Settings = ZeroshotSettings.Load(Home.SettingsPath);
            Catalog = new ProviderCatalog(Settings, context.SelfCommand);
        }

        public ZeroshotSettings Settings { get; }

        public ZeroshotHome Home { get; }
        public StateStore Store { get; }
        public ProviderCatalog Catalog { get; }

        public void Dispose() => Store.Dispose();
    }

    /// <summary>Creates the cluster's record and runs it here, or in a detached supervisor.</summary>
    /// <param name="config">The cluster.</param>
    /// <param name="detach">Run it in a detached supervisor.</param>
    /// <param name="raw">Show stream-json as written.</param>
    /// <param name="live">The footer's options.</param>
    /// <param name="context">The command's context.</param>
    /// <param name="thenDetached">With <paramref name="detach"/>: what to do with the started cluster's id instead of printing it
    /// (<c>task run --interactive</c> attaches to it).</param>
    /// <param name="export">In the foreground: where to publish the cluster's metrics (<c>--metrics-listen</c>, <c>--otlp-endpoint</c>).</param>
    public static async Task<int> StartAsync(ClusterConfig config, bool detach, bool raw, Output.LiveStatusOptions live, CliContext context,
        Func<string, HomeServices, CancellationToken, Task<int>>? thenDetached = null, Export.ExportTargets? export = null)
    {
        if (export is { Any: true } && detach)
            throw new UserErrorException("--metrics-listen and --otlp-endpoint serve a run in the foreground; for detached clusters use 'zeroshot serve-metrics'", ExitCodes.Usage);
        using var env = new HomeServices(context, replaceDamaged: true);
        // Fail before anything starts when a provider's executable, or the --on-event program, is missing.
        foreach (var agent in config.Agents) env.Catalog.Resolve(agent, config.Prompt, 1, null);
        if (config.OnEvent is { } onEvent)
            _ = Agents.Notify.EventHookRunner.Create(onEvent, Environment.GetEnvironmentVariable("PATH"), env.Settings.Notifications.HookTimeout);

        // Started before the cluster exists, so that a port in use fails the run before anything is recorded or runs; the
        // supervisor's own snapshots feed it (no second sampling, no JSON).
        var metrics = export is { Any: true } ? new Export.ClusterMetricsStore(context.Time) : null;
        using var exporter = metrics is null ? null : Export.MetricsExporter.Start(metrics, export!.Listen, export.Otlp);
        if (exporter is not null)
        {
            context.Error.WriteLine("zeroshot: " + string.Join(", ", new[]
            {
                exporter.Listen is { } listen ? $"serving this run's metrics at {listen.Url}" : null,
                exporter.Otlp is { } otlp ? $"pushing this run's metrics to {otlp}" : null,
            }.OfType<string>()));
        }

        var id = new IdGenerator().Next(env.Store);
        // Nothing runs yet, so waiting for another process's write lock (a backup) costs nothing but time: wait, and say so.
        env.Store.RetryWhileLocked(store => { store.CreateCluster(ClusterRecord.New(id, config, context.Time.GetUtcNow())); return true; },
            StartupLockWait,
            () => context.Error.WriteLine($"zeroshot: the state database {env.Store.Path} is locked by another process; waiting for it (up to {StartupLockWait.TotalSeconds:0} s)"));
        if (!detach)
        {
            var observer = new DeferredObserver();
            ClusterSupervisor? supervisor = null;
            Output.ClusterPrinter? printer = null;
            // The footer reads the supervisor's own snapshot object: no copy, no JSON.
            var status = Output.LiveStatus.Start(context, live,
                () => supervisor?.Snapshot(),
                (columns, rows) => supervisor?.ResizeTerminals(columns, rows),
                line => printer?.Notice(line));
            // Every exit path (completion, Ctrl+C, SIGTERM, SIGHUP, an exception) passes here and restores the terminal.
            await using (status.ConfigureAwait(false))
            {
                printer = new Output.ClusterPrinter(status.Out, context.Colors, config.Agents.Select(a => a.Id), lossy: context.Colors);
                observer.Inner = printer;
                printer.Notice($"{StateNames.Text(config.Kind)} {id} ({config.Agents.Count} agents)");
                try
                {
                    IClusterObserver observers = metrics is null ? observer : new CompositeObserver(observer, new Export.SnapshotStoreObserver(metrics));
                    return await SuperviseAsync(id, env, context, observers, raw, s => supervisor = s, status.Ring).ConfigureAwait(false);
                }
                finally
                {
                    await printer.DrainAsync().ConfigureAwait(false);
                }
            }
        }

        var logPath = Path.Combine(env.Home.LogDirectory(id), "supervisor.log");
        env.Home.EnsureLogDirectory(id);
        // posix_spawn creates it 0600 (the open action's mode); one left by an older version is made private too.
        PrivateFiles.EnsureFile(logPath);
        var argv = context.SelfCommand.Concat(["__supervise", id]).ToList();
        // A null environment: the supervisor inherits this process's own (ProcessEnvironment.Snapshot).
        int pid = PtyProcess.SpawnDetached(argv[0], argv, null, null, logPath);

        // Return as soon as the supervisor has taken the cluster: its record names it, or (the database locked by another
        // process, its record queued) its control socket answers. Or it died trying: say why, from its log.
        var deadline = context.Time.GetUtcNow() + TimeSpan.FromSeconds(30);
        while (env.Store.GetCluster(id) is { SupervisorPid: null } && !await SocketAnswersAsync(id, context.Shutdown).ConfigureAwait(false))
        {
            if (ProcessIdentity.StartTime(pid) is null)
                throw new UserErrorException($"the supervisor of {id} did not start: {LastLogLine(logPath) ?? "it exited without a word"} (log: {logPath})");
            if (context.Time.GetUtcNow() > deadline)
                throw new UserErrorException($"the supervisor of {id} did not take the cluster within 30 s (log: {logPath})");
            await Task.Delay(20, context.Shutdown).ConfigureAwait(false);
        }
        if (thenDetached is not null) return await thenDetached(id, env, context.Shutdown).ConfigureAwait(false);
        context.Out.WriteLine(id);
        return ExitCodes.Success;
    }

    /// <summary>
    /// Connects to the supervisor of running cluster <paramref name="target"/> (an id or a unique prefix) for a command that
    /// needs protocol <paramref name="minVersion"/> (for <paramref name="feature"/>); a cluster that is not running gets
    /// <paramref name="notRunning"/>(its id) after "&lt;id&gt; is &lt;state&gt;: ".
    /// </summary>
    internal static async Task<(ClusterRecord Record, ControlClient Client)> ConnectRunningAsync(HomeServices env, string target, Func<string, string> notRunning,
        int minVersion, string feature, CancellationToken cancel)
    {
        var record = env.Store.GetCluster(env.Store.ResolveId(target))!;
        if (record.State != ClusterState.Running || record.SocketPath is null)
            throw new UserErrorException($"{record.Id} is {StateNames.Text(record.State)}: {notRunning(record.Id)}");
        ControlClient client;
        try
        {
            client = await ControlClient.ConnectAsync(record.SocketPath, cancel).ConfigureAwait(false);
        }
        catch (Exception e) when (ControlClient.IsUnavailable(e))
        {
            throw new UserErrorException($"the supervisor of {record.Id} does not answer ({e.Message})");
        }
        if (client.ProtocolVersion < minVersion)
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw new UserErrorException($"the supervisor of {record.Id} is an older zeroshot ({client.ServerVersion}) without {feature}; restart the cluster with this version");
        }
        return (record, client);
    }

    /// <summary>How long <c>run</c> waits for another process's write lock on the database before creating a cluster.</summary>
    private static readonly TimeSpan StartupLockWait = TimeSpan.FromMinutes(2);

    /// <summary>Whether a supervisor answers on the cluster's default control socket.</summary>
    private static async Task<bool> SocketAnswersAsync(string id, CancellationToken cancel)
    {
        string path;
        try
        {
            path = RuntimeDirectory.SocketPath(RuntimeDirectory.DefaultPath(), id);
        }
        catch (UserErrorException)
        {
            return false; // no socket can exist there (a path too long): the supervisor says so in its log
        }
        if (!File.Exists(path)) return false;
        try
        {
            var client = await ControlClient.ConnectAsync(path, cancel).ConfigureAwait(false);
            await client.DisposeAsync().ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (ControlClient.IsUnavailable(e))
        {
            return false;
        }
    }

    /// <summary>
    /// The last line a dead supervisor wrote to its log (its error: "zeroshot: …"), without the prefix and with control
    /// characters replaced, so the user reads the reason where they ran the command.
    /// </summary>
    private static string? LastLogLine(string logPath)
    {
        try
        {
            using var file = new FileStream(logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var tail = new byte[(int)Math.Min(file.Length, 4096)];
            file.Seek(-tail.Length, SeekOrigin.End);
            file.ReadExactly(tail);
            var line = System.Text.Encoding.UTF8.GetString(tail).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .LastOrDefault();
            if (line is null) return null;
            if (line.StartsWith("zeroshot: ", StringComparison.Ordinal)) line = line["zeroshot: ".Length..];
            return string.Concat(line.Select(c => char.IsControl(c) ? '?' : c));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // no log to quote; the caller names its path
        }
    }

    /// <summary>Runs an existing cluster's supervisor in this process until the cluster ends.</summary>
    /// <param name="id">The cluster.</param>
    /// <param name="env">The home's services.</param>
    /// <param name="context">The command's context.</param>
    /// <param name="observer">Also sees everything (the foreground printer, the detached supervisor's log).</param>
    /// <param name="raw">Show stream-json as written.</param>
    /// <param name="onCreated">Gets the supervisor before it runs.</param>
    /// <param name="ring">Rings the person's terminal (the foreground footer's), or null when the supervisor has none.</param>
    public static async Task<int> SuperviseAsync(string id, HomeServices env, CliContext context, IClusterObserver observer, bool raw = false,
        Action<ClusterSupervisor>? onCreated = null, Action<byte[]>? ring = null)
    {
        var record = env.Store.GetCluster(id) ?? throw new UserErrorException($"no such cluster or task: {id}");
        // A refused supervisor writes nothing: the cluster belongs to whoever supervises (or supervised) it.
        if (record.State != ClusterState.Running)
            throw new UserErrorException($"cluster {id} is already {StateNames.Text(record.State)}; nothing to supervise");
        // One supervisor per cluster, whatever happened to its control socket.
        using var ownership = SupervisorLock.TryAcquire(env.Home, id)
            ?? throw new UserErrorException($"cluster {id} already has a running supervisor" +
                (record.SupervisorPid is int locker ? $" (pid {locker})" : "") + "; a second one would run its agents twice");
        if (record.SupervisorPid is { } owner && owner != Environment.ProcessId && ProcessIdentity.IsAlive(owner, record.SupervisorStartTime ?? 0))
            throw new UserErrorException($"cluster {id} already has a running supervisor (pid {owner})");
        var config = record.LoadConfig();
        var (columns, rows) = context.TerminalSize();
        // Each agent gets a marker, and a cgroup where cgroup v2 is usable, so nothing it starts outlives a stop.
        var clusterCgroup = AgentContainment.ClusterCgroupUnder(AgentCgroup.DiscoverRoot(Environment.GetEnvironmentVariable), id, record.StartedAt);
        if (clusterCgroup is not null) ownership.RecordCgroup(clusterCgroup);
        var services = new SupervisorServices(env.Store, env.Home, env.Catalog, context.Time, context.CreateSampler,
            TerminalColumns: columns, TerminalRows: rows, PriceFor: env.Settings.PriceFor, RawOutput: raw)
        {
            Containment = new AgentContainment(AgentMarker.ClusterPrefix(env.Home.Root, id, record.StartedAt), clusterCgroup),
            Scrollback = env.Settings.Scrollback,
            Health = env.Settings.Health,
            ClusterBudget = env.Settings.ClusterBudget,
            AgentBudget = env.Settings.AgentBudget,
            BudgetAction = env.Settings.BudgetAction,
        };
        var fanout = new OutputFanout();
        var feed = new LiveFeed();
        // The person is called from here, once per event whoever watches: the --on-event program, the desktop, and the
        // terminal when this process owns one (a client of a detached cluster rings its own).
        var notifier = Agents.Notify.Notifier.ForSupervisor(env.Settings.Notifications, Environment.GetEnvironmentVariable, config.OnEvent, context.Time,
            line => context.Error.WriteLine($"zeroshot: {line}"), ring);
        var caller = new Agents.Notify.PersonCaller(id, config.Name, notifier);
        var supervisor = new ClusterSupervisor(id, config, services, new CompositeObserver(observer, fanout, feed, caller), record.StartedAt);
        onCreated?.Invoke(supervisor);
        ControlServer server;
        try
        {
            // The socket file is checked on the supervisor's sampling tick, not on a timer of the server's own.
            server = ControlServer.Start(id, new SupervisorControlHandler(supervisor, fanout, feed), new ControlServerOptions { SocketCheckInterval = Timeout.InfiniteTimeSpan });
            // And the GC's free memory goes back to the system a minute in, then every few minutes (MemoryTrim: why).
            var trim = MemoryTrim.ForThisProcess(context.Time, MemoryTrim.DefaultFirst, MemoryTrim.DefaultInterval);
            supervisor.EveryTick = () =>
            {
                server.CheckSocketFile();
                trim.Tick();
            };
        }
        catch (UserErrorException) when (ClaimedByAnother(env.Store, id))
        {
            // Another supervisor owns the cluster (its socket answered): refused, and its state is not ours to write.
            throw;
        }
        catch (UserErrorException)
        {
            // No control socket, no supervisor: the cluster never started. Best effort: a database locked by another
            // process leaves it to read as crashed later (unclaimed), which is also true.
            try
            {
                env.Store.UpdateClusterState(id, ClusterState.Failed, ExitCodes.Failure);
            }
            catch (Microsoft.Data.Sqlite.SqliteException e) when (StoreErrors.IsBusy(e))
            {
                context.Error.WriteLine($"zeroshot: {StoreErrors.Message(e, env.Store.Path)}");
            }
            throw;
        }
        ClusterState state;
        try
        {
            // Queued like every other write: a database locked by another process must not keep the cluster from running.
            supervisor.ControlSocket = server.SocketPath;
            supervisor.Writer.Post(new SupervisorWrite(id, Environment.ProcessId, ProcessIdentity.StartTime(Environment.ProcessId) ?? 0, server.SocketPath));
            using var stop = context.Shutdown.Register(supervisor.RequestStop);
            // A second Ctrl+C does not wait for the grace period.
            using var kill = context.ForceKill.Register(supervisor.RequestKill);
            state = await supervisor.RunAsync().ConfigureAwait(false);
        }
        catch
        {
            ReportStore(supervisor, context);
            throw;
        }
        finally
        {
            fanout.CompleteAll();
            feed.CompleteAll();
            await server.DisposeAsync().ConfigureAwait(false);
            // The cluster-ended call's program and notification finish (each bounded by its time limit).
            await notifier.DrainAsync().ConfigureAwait(false);
        }
        ReportStore(supervisor, context);
        return state switch
        {
            ClusterState.Completed => ExitCodes.Success,
            ClusterState.Stopped => ExitCodes.Interrupted,
            _ => ExitCodes.Failure,
        };
    }

    /// <summary>
    /// Whether a live supervisor other than this process owns <paramref name="id"/>: recorded with a live pid, or its
    /// control socket answers (its record may still be queued behind a lock).
    /// </summary>
    private static bool ClaimedByAnother(StateStore store, string id)
    {
        if (store.GetCluster(id) is { SupervisorPid: { } pid } record && pid != Environment.ProcessId
            && ProcessIdentity.IsAlive(pid, record.SupervisorStartTime ?? 0))
            return true;
        return SocketAnswersAsync(id, CancellationToken.None).GetAwaiter().GetResult();
    }

    /// <summary>Says what the state database did not get (it stayed locked past the flush deadline, or refused writes).</summary>
    private static void ReportStore(ClusterSupervisor supervisor, CliContext context)
    {
        if (supervisor.StoreReport is not { Complete: false } report) return;
        // SQLITE_FULL is retried like a lock (StoreWriter.IsFull): name which of the two outlasted the deadline.
        string why = report.LastError?.Contains("full", StringComparison.OrdinalIgnoreCase) == true ? "its disk stayed full" : "the database stayed locked";
        var lost = report.Unwritten.Count == 0 ? "" : $"{report.Unwritten.Count} state changes could not be written ({why}); ";
        var failed = report.Failed == 0 ? "" : $"{report.Failed} were refused; ";
        context.Error.WriteLine($"zeroshot: the state database {supervisor.Writer.DatabasePath}: {lost}{failed}last error: {report.LastError ?? "none"}");
    }

    /// <summary>An observer whose target is set once the output it writes to exists.</summary>
    private sealed class DeferredObserver : IClusterObserver
    {
        public IClusterObserver? Inner { get; set; }

        public void OnOutput(string agentId, ReadOnlyMemory<byte> chunk) => Inner?.OnOutput(agentId, chunk);

        public void OnEvent(ClusterEvent e) => Inner?.OnEvent(e);

        public void OnLine(string agentId, Agents.Output.DisplayLine line) => Inner?.OnLine(agentId, line);
    }
}
