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
        public HomeServices(CliContext context)
        {
            Home = context.Home().EnsureCreated();
            Store = StateStore.Open(Home, context.Time);
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
    public static async Task<int> StartAsync(ClusterConfig config, bool detach, bool raw, Output.LiveStatusOptions live, CliContext context)
    {
        using var env = new HomeServices(context);
        // Fail before anything starts when a provider's executable is missing.
        foreach (var agent in config.Agents) env.Catalog.Resolve(agent, config.Prompt, 1, null);

        var id = new IdGenerator().Next(env.Store);
        env.Store.CreateCluster(ClusterRecord.New(id, config, context.Time.GetUtcNow()));
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
                    return await SuperviseAsync(id, env, context, observer, raw, s => supervisor = s).ConfigureAwait(false);
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

        // Return as soon as the supervisor has taken the cluster (or died trying, which the log says).
        var deadline = context.Time.GetUtcNow() + TimeSpan.FromSeconds(30);
        while (env.Store.GetCluster(id) is { SupervisorPid: null })
        {
            if (ProcessIdentity.StartTime(pid) is null || context.Time.GetUtcNow() > deadline)
                throw new UserErrorException($"the supervisor of {id} did not start; see {logPath}");
            await Task.Delay(20, context.Shutdown).ConfigureAwait(false);
        }
        context.Out.WriteLine(id);
        return ExitCodes.Success;
    }

    /// <summary>Runs an existing cluster's supervisor in this process until the cluster ends.</summary>
    public static async Task<int> SuperviseAsync(string id, HomeServices env, CliContext context, IClusterObserver observer, bool raw = false,
        Action<ClusterSupervisor>? onCreated = null)
    {
        var record = env.Store.GetCluster(id) ?? throw new UserErrorException($"no such cluster or task: {id}");
        var config = record.LoadConfig();
        var (columns, rows) = context.TerminalSize();
        var services = new SupervisorServices(env.Store, env.Home, env.Catalog, context.Time, context.CreateSampler,
            TerminalColumns: columns, TerminalRows: rows, PriceFor: env.Settings.PriceFor, RawOutput: raw);
        var fanout = new OutputFanout();
        var feed = new LiveFeed();
        var supervisor = new ClusterSupervisor(id, config, services, new CompositeObserver(observer, fanout, feed), record.StartedAt);
        onCreated?.Invoke(supervisor);
        ControlServer server;
        try
        {
            server = ControlServer.Start(id, new SupervisorControlHandler(supervisor, fanout, feed));
        }
        catch (UserErrorException)
        {
            // No control socket, no supervisor: the cluster never started.
            env.Store.UpdateClusterState(id, ClusterState.Failed, ExitCodes.Failure);
            throw;
        }
        ClusterState state;
        try
        {
            env.Store.SetSupervisor(id, Environment.ProcessId, ProcessIdentity.StartTime(Environment.ProcessId) ?? 0, server.SocketPath);
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
        }
        ReportStore(supervisor, context);
        return state switch
        {
            ClusterState.Completed => ExitCodes.Success,
            ClusterState.Stopped => ExitCodes.Interrupted,
            _ => ExitCodes.Failure,
        };
    }

    /// <summary>Says what the state database did not get (it stayed locked past the flush deadline, or refused writes).</summary>
    private static void ReportStore(ClusterSupervisor supervisor, CliContext context)
    {
        if (supervisor.StoreReport is not { Complete: false } report) return;
        var lost = report.Unwritten.Count == 0 ? "" : $"{report.Unwritten.Count} state changes could not be written (the database stayed locked); ";
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
