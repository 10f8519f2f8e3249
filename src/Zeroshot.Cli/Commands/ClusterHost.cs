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
    internal sealed class Environment : IDisposable
    {
        public Environment(CliContext context)
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
    public static async Task<int> StartAsync(ClusterConfig config, bool detach, bool raw, CliContext context)
    {
        using var env = new Environment(context);
        // Fail before anything starts when a provider's executable is missing.
        foreach (var agent in config.Agents) env.Catalog.Resolve(agent, config.Prompt, 1, null);

        var id = new IdGenerator().Next(env.Store);
        env.Store.CreateCluster(ClusterRecord.New(id, config, context.Time.GetUtcNow()));
        if (!detach)
        {
            var printer = new Output.ClusterPrinter(context.Out, context.Colors, config.Agents.Select(a => a.Id));
            printer.OnEvent(null, $"{StateNames.Text(config.Kind)} {id} ({config.Agents.Count} agents)");
            return await SuperviseAsync(id, env, context, printer, raw).ConfigureAwait(false);
        }

        var logPath = Path.Combine(env.Home.LogDirectory(id), "supervisor.log");
        Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
        var argv = context.SelfCommand.Concat(["__supervise", id]).ToList();
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry e in System.Environment.GetEnvironmentVariables())
            variables[(string)e.Key] = (string?)e.Value ?? "";
        int pid = PtyProcess.SpawnDetached(argv[0], argv, variables, null, logPath);

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
    public static async Task<int> SuperviseAsync(string id, Environment env, CliContext context, IClusterObserver observer, bool raw = false)
    {
        var record = env.Store.GetCluster(id) ?? throw new UserErrorException($"no such cluster or task: {id}");
        var config = record.LoadConfig();
        var (columns, rows) = context.TerminalSize();
        var services = new SupervisorServices(env.Store, env.Home, env.Catalog, context.Time, context.CreateSampler,
            TerminalColumns: columns, TerminalRows: rows, PriceFor: env.Settings.PriceFor, RawOutput: raw);
        var fanout = new OutputFanout();
        var supervisor = new ClusterSupervisor(id, config, services, new CompositeObserver(observer, fanout));
        var server = ControlServer.Start(id, new SupervisorControlHandler(supervisor, fanout));
        ClusterState state;
        try
        {
            env.Store.SetSupervisor(id, System.Environment.ProcessId, ProcessIdentity.StartTime(System.Environment.ProcessId) ?? 0, server.SocketPath);
            using var stop = context.Shutdown.Register(supervisor.RequestStop);
            state = await supervisor.RunAsync().ConfigureAwait(false);
        }
        finally
        {
            fanout.CompleteAll();
            await server.DisposeAsync().ConfigureAwait(false);
        }
        return state switch
        {
            ClusterState.Completed => ExitCodes.Success,
            ClusterState.Stopped => ExitCodes.Interrupted,
            _ => ExitCodes.Failure,
        };
    }
}
