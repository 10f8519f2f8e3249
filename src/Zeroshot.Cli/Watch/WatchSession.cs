using System.Runtime.InteropServices;
using System.Text.Json;
using System.Threading.Channels;
using Zeroshot.Agents;
using Zeroshot.Agents.Control;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;
using Zeroshot.Cli.Attach;
using Zeroshot.Cli.Commands;
using Zeroshot.Dashboard;
using Zeroshot.Terminal;
using Zeroshot.Terminal.Attach;

namespace Zeroshot.Cli.Watch;

/// <summary>
/// <c>zeroshot watch</c> on a terminal: the host of the pure <see cref="DashboardState"/>. It finds the clusters (the
/// control sockets in the runtime directory, checked each second, matched against this home's database only when the
/// set changes), follows every supervisor's <c>snapshots</c> stream (nothing is sampled twice), reads the keys, and
/// draws on each change through <see cref="DashboardScreen"/>. One loop owns the state and the screen: every source
/// posts typed events to one channel. Commands (attach, log, stop, kill) are carried out here.
/// </summary>
internal sealed class WatchSession
{
    /// <summary>Clusters that ended are listed when they started within this long (newest first, at most <see cref="MaxEnded"/>).</summary>
    private static readonly TimeSpan RecentlyEnded = TimeSpan.FromHours(24);

    private const int MaxEnded = 20;

    private readonly ClusterHost.HomeServices _env;
    private readonly CliContext _context;
    private readonly DashboardState _state = new();
    private readonly DashboardKeys _keys = new();
    // Synchronous continuations: the loop runs on the thread that posts (a stream's reader, the keyboard, a timer) instead
    // of waking a pool thread for each of the supervisors' messages, ten a second with ten clusters.
    private readonly Channel<WatchEvent> _events = Channel.CreateUnbounded<WatchEvent>(new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = true });
    private readonly Dictionary<string, ControlClient?> _followed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _foreign = new(StringComparer.Ordinal);
    private readonly string _runtimeDirectory;
    private DashboardScreen _screen = null!;
    private Agents.Notify.Notifier _caller = null!;
    private int _width, _height;
    private Task<int>? _attach;
    private long _lastDraw;         // the monotonic clock's timestamp of the last frame
    private bool _drawScheduled;

    /// <summary>At most this often a frame for data alone (snapshots, the clock): keys and resizes draw at once.</summary>
    private static readonly TimeSpan DataFrameInterval = TimeSpan.FromMilliseconds(1000);
    private CancellationTokenSource? _logFollow;

    private WatchSession(ClusterHost.HomeServices env, CliContext context)
    {
        _env = env;
        _context = context;
        _runtimeDirectory = RuntimeDirectory.DefaultPath();
    }

    private abstract record WatchEvent;

    private sealed record SnapshotArrived(ClusterSnapshot Snapshot) : WatchEvent;

    private sealed record SupervisorGone(string Cluster) : WatchEvent;

    private sealed record KeysTyped(byte[] Bytes) : WatchEvent;

    private sealed record WindowChanged : WatchEvent;

    private sealed record Tick : WatchEvent;

    private sealed record LogLines(string Title, List<DisplayLine> Lines) : WatchEvent;

    /// <summary>Something a person should hear of (an agent needs input or is idle, a cluster ended): the terminal rings.</summary>
    private sealed record Happened(string Cluster, ClusterEvent Event) : WatchEvent;

    private sealed record Outcome(string Message) : WatchEvent;

    private sealed record AttachEnded : WatchEvent;

    private sealed record Connected(string Cluster, ControlClient Client) : WatchEvent;

    private sealed record DrawDue : WatchEvent;

    /// <summary>Runs the dashboard until q, Ctrl+C, SIGTERM or SIGHUP; the terminal is put back on every way out.</summary>
    public static async Task<int> RunAsync(ClusterHost.HomeServices env, CliContext context, CancellationToken cancel)
    {
        var session = new WatchSession(env, context);
        return await session.RunAsync(cancel).ConfigureAwait(false);
    }

    private async Task<int> RunAsync(CancellationToken cancel)
    {
        var size = LocalTerminal.WindowSize() ?? throw new UserErrorException("watch needs a terminal: standard output has no window size (use --once or --json in scripts)", ExitCodes.Usage);
        (_width, _height) = size;
        _screen = new DashboardScreen(_context.RawOut, TerminalCapabilities.FromEnvironment(Environment.GetEnvironmentVariable));
        // Called on the loop (Happened), which owns the screen: rings are written between frames.
        _caller = Agents.Notify.Notifier.ForTerminal(_env.Settings.Notifications, Environment.GetEnvironmentVariable, bytes => _screen.Ring(bytes), _context.Time);
        var terminal = LocalTerminal.EnterRaw(_context.RawOut);
        UnhandledExceptionEventHandler onCrash = (_, _) => terminal.Restore(DashboardScreen.Restore);
        EventHandler onExit = (_, _) => terminal.Restore(DashboardScreen.Restore);
        AppDomain.CurrentDomain.UnhandledException += onCrash;
        AppDomain.CurrentDomain.ProcessExit += onExit;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        using var winch = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGWINCH, s =>
        {
            s.Cancel = true;
            _events.Writer.TryWrite(new WindowChanged());
        });
        using var keyboard = TerminalKeyboard.Listen(bytes => _events.Writer.TryWrite(new KeysTyped(bytes)));
        try
        {
            _screen.Enter();
            LoadFromDatabase();
            Discover(stop.Token);
            _ = TickAsync(stop.Token);
            await LoopAsync(stop.Token).ConfigureAwait(false);
            return ExitCodes.Success;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return ExitCodes.Interrupted;
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            _logFollow?.Cancel();
            foreach (var client in _followed.Values)
            {
                if (client is not null) await client.DisposeAsync().ConfigureAwait(false);
            }
            terminal.Restore(DashboardScreen.Restore);
            AppDomain.CurrentDomain.UnhandledException -= onCrash;
            AppDomain.CurrentDomain.ProcessExit -= onExit;
        }
    }

    private async Task LoopAsync(CancellationToken cancel)
    {
        Draw();
        var reader = _events.Reader;
        while (await reader.WaitToReadAsync(cancel).ConfigureAwait(false))
        {
            bool quit = false, urgent = false;
            while (reader.TryRead(out var e))
            {
                // The person's own actions are drawn at once; the supervisors' ticks (each on its own phase) are
                // gathered into one frame per DataFrameInterval, so ten clusters cost one frame a second, not ten (their figures
                // change once a second anyway).
                urgent |= e is not (SnapshotArrived or Tick or LogLines);
                if (e is DrawDue) _drawScheduled = false;
                if (await ApplyAsync(e, cancel).ConfigureAwait(false)) quit = true;
            }
            if (quit) return;
            if (_attach is not null) continue;
            var wait = DataFrameInterval - _context.Time.GetElapsedTime(_lastDraw);
            if (urgent || wait <= TimeSpan.Zero)
            {
                Draw();
            }
            else if (!_drawScheduled)
            {
                _drawScheduled = true;
                _ = PostLaterAsync(new DrawDue(), wait, cancel);
            }
        }
    }

    private async Task PostLaterAsync(WatchEvent e, TimeSpan delay, CancellationToken cancel)
    {
        try
        {
            await Task.Delay(delay, _context.Time, cancel).ConfigureAwait(false);
            _events.Writer.TryWrite(e);
        }
        catch (OperationCanceledException)
        {
            // quitting
        }
    }

    /// <summary>Applies one event; true to quit.</summary>
    private async Task<bool> ApplyAsync(WatchEvent e, CancellationToken cancel)
    {
        switch (e)
        {
            case SnapshotArrived s:
                _state.Update(s.Snapshot);
                break;
            // Events that waited while an attach ran (it rang its own terminal) are old news.
            case Happened h when _context.Time.GetUtcNow() - h.Event.Time < TimeSpan.FromSeconds(10):
                var name = _state.Clusters.TryGetValue(h.Cluster, out var known) ? known.Snapshot.Name : null;
                if (Agents.Notify.PersonCaller.Call(h.Cluster, name, h.Event) is { } call) _caller.Notify(call);
                break;
            case SupervisorGone gone:
                _state.SupervisorLost(gone.Cluster);
                if (_followed.Remove(gone.Cluster, out var client) && client is not null) await client.DisposeAsync().ConfigureAwait(false);
                // The database says how it ended (or, for a supervisor that died, marks it crashed).
                LoadFromDatabase(gone.Cluster);
                break;
            case Tick:
                Discover(cancel);
                // The log view was closed (Esc): stop reading the log.
                if (_state.Mode != DashboardMode.Logs && _logFollow is { IsCancellationRequested: false } follow) await follow.CancelAsync().ConfigureAwait(false);
                break;
            case WindowChanged:
                if (LocalTerminal.WindowSize() is { } size) (_width, _height) = size;
                break;
            case LogLines lines when _state.Mode == DashboardMode.Logs && _state.Log.Title == lines.Title:
                foreach (var line in lines.Lines) _state.Log.Add(line);
                break;
            case Outcome outcome:
                _state.Message = outcome.Message;
                break;
            case AttachEnded:
                string? failure = null;
                try
                {
                    if (_attach is { } attach) await attach.ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException and not OperationCanceledException)
                {
                    failure = $"the attach failed: {ex.Message}";
                }
                _attach = null;
                if (LocalTerminal.WindowSize() is { } now) (_width, _height) = now;
                _screen.Enter();
                if (failure is not null) _state.Message = failure;
                break;
            case Connected connected:
                if (_followed.ContainsKey(connected.Cluster)) _followed[connected.Cluster] = connected.Client;
                else await connected.Client.DisposeAsync().ConfigureAwait(false);
                break;
            case KeysTyped keys when _attach is null:
                if (keys.Bytes.Length == 0) return true; // end of input
                foreach (var key in _keys.Decode(keys.Bytes))
                {
                    if (_state.OnKey(key, _width, _height, _context.Time.GetUtcNow()) is not { } command) continue;
                    if (command is DashboardCommand.Quit) return true;
                    Execute(command, cancel);
                    if (_attach is not null) break;
                }
                break;
        }
        return false;
    }

    private void Draw()
    {
        _lastDraw = _context.Time.GetTimestamp();
        var frame = DashboardView.Render(_state, _width, _height, _context.Time.GetUtcNow());
        _state.KeepSelectionVisible(DashboardView.Layout(_width, _height).TableRows, _context.Time.GetUtcNow());
        _screen.Draw(frame);
    }

    private void Execute(DashboardCommand command, CancellationToken cancel)
    {
        switch (command)
        {
            case DashboardCommand.Attach attach:
                StartAttach(attach.Cluster, attach.Agent, cancel);
                break;
            case DashboardCommand.OpenLog log:
                OpenLog(log.Cluster, log.Agent, cancel);
                break;
            case DashboardCommand.StopCluster stopCluster:
                _state.Message = $"stopping {stopCluster.Cluster}…";
                _ = RequestAsync(stopCluster.Cluster, ControlProtocol.Stop, null, $"{stopCluster.Cluster} is stopping", cancel);
                break;
            case DashboardCommand.KillAgent kill:
                if (_followed.GetValueOrDefault(kill.Cluster) is { ProtocolVersion: < 4 } old)
                {
                    _state.Message = $"the supervisor of {kill.Cluster} is an older zeroshot ({old.ServerVersion}): it cannot kill one agent (s stops the cluster)";
                    break;
                }
                _state.Message = $"killing {kill.Agent} of {kill.Cluster}…";
                _ = RequestAsync(kill.Cluster, ControlProtocol.Kill, w => w.WriteString("agent", kill.Agent), $"{kill.Agent} of {kill.Cluster} killed", cancel);
                break;
        }
    }

    /// <summary>Sends a request to a cluster's supervisor on the connection its stream uses; the outcome becomes the message.</summary>
    private async Task RequestAsync(string cluster, string type, Action<Utf8JsonWriter>? fields, string done, CancellationToken cancel)
    {
        string message;
        try
        {
            var client = _followed.GetValueOrDefault(cluster) ?? throw new IOException("its supervisor is not connected");
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            await client.RequestAsync(type, fields, timeout.Token).ConfigureAwait(false);
            message = done;
        }
        catch (ControlErrorException e)
        {
            message = e.Message;
        }
        catch (Exception e) when (ControlClient.IsUnavailable(e) || e is OperationCanceledException)
        {
            if (cancel.IsCancellationRequested) return;
            message = $"{cluster}: the supervisor did not answer ({e.Message})";
        }
        _events.Writer.TryWrite(new Outcome(message));
    }

    private void StartAttach(string cluster, string agent, CancellationToken cancel)
    {
        if (!_state.Clusters.TryGetValue(cluster, out var entry) || _env.Store.GetCluster(cluster)?.SocketPath is not { } socket)
        {
            _state.Message = $"{cluster} has no supervisor to attach through";
            return;
        }
        string prefixText = _env.Settings.PrefixKey ?? "C-b";
        if (!AttachInput.TryParsePrefix(prefixText, out byte prefix, out string label, out _)) (prefix, label) = (AttachInput.DefaultPrefix, "C-b");
        var options = new AttachOptions(cluster, entry.Snapshot.Agents.Select(a => (a.Id, a.OutputDialect)).ToList(), agent, ReadOnly: false, StatusBar: true,
            Raw: false, prefix, label, a => _env.Home.AgentLogPath(cluster, a))
        {
            Notifications = _env.Settings.Notifications,
        };
        _screen.Leave();
        _attach = Task.Run(async () =>
        {
            try
            {
                var client = await ControlClient.ConnectAsync(socket, cancel).ConfigureAwait(false);
                await using (client.ConfigureAwait(false))
                    return await AttachSession.RunAsync(client, options, _context, cancel).ConfigureAwait(false);
            }
            catch (Exception e) when (ControlClient.IsUnavailable(e) || e is UserErrorException)
            {
                _events.Writer.TryWrite(new Outcome($"cannot attach to {agent} of {cluster}: {e.Message}"));
                return ExitCodes.Success;
            }
            finally
            {
                _events.Writer.TryWrite(new AttachEnded());
            }
        }, cancel);
    }

    /// <summary>Shows the last 256 KB of an agent's log rendered as <c>zeroshot logs</c> does, then what it appends.</summary>
    private void OpenLog(string cluster, string agent, CancellationToken cancel)
    {
        _logFollow?.Cancel();
        string title = $"{agent} @ {cluster}";
        _state.Log.Open(title);
        var follow = _logFollow = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        string path = _env.Home.AgentLogPath(cluster, agent);
        var record = _env.Store.GetCluster(cluster);
        _ = Task.Run(async () =>
        {
            var pending = new List<DisplayLine>();
            var interpreter = new AgentOutputInterpreter(pending.Add, new AgentOutputOptions
            {
                PriceFor = _env.Settings.PriceFor,
                Model = record?.FindAgent(agent)?.Model,
                TimeProvider = _context.Time,
            });
            long position = -1;
            var buffer = new byte[64 * 1024];
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250), _context.Time);
            try
            {
                do
                {
                    if (!File.Exists(path)) continue;
                    using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                    if (position < 0)
                    {
                        // Start at a line boundary within the last 256 KB.
                        position = Math.Max(0, file.Length - 256 * 1024);
                        if (position > 0)
                        {
                            file.Position = position;
                            int n = file.Read(buffer, 0, buffer.Length);
                            int newline = buffer.AsSpan(0, n).IndexOf((byte)'\n');
                            position += newline < 0 ? 0 : newline + 1;
                        }
                    }
                    if (file.Length < position) position = 0; // truncated: start over
                    file.Position = position;
                    int read;
                    while ((read = file.Read(buffer, 0, buffer.Length)) > 0)
                    {
                        interpreter.Feed(buffer.AsSpan(0, read));
                        position += read;
                    }
                    if (pending.Count > 0)
                    {
                        _events.Writer.TryWrite(new LogLines(title, [.. pending]));
                        pending.Clear();
                    }
                }
                while (await timer.WaitForNextTickAsync(follow.Token).ConfigureAwait(false));
            }
            catch (OperationCanceledException)
            {
                // closed (Esc) or quitting
            }
            catch (IOException e)
            {
                _events.Writer.TryWrite(new Outcome($"cannot read {path}: {e.Message}"));
            }
        }, follow.Token);
    }

    private async Task TickAsync(CancellationToken cancel)
    {
        // "2s ago" ages, and new clusters are looked for, once a second.
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), _context.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancel).ConfigureAwait(false))
            {
                _events.Writer.TryWrite(new Tick());
            }
        }
        catch (OperationCanceledException)
        {
            // quitting
        }
    }

    /// <summary>
    /// Looks for control sockets not yet followed; a new one is matched against this home's database (a socket of
    /// another home's cluster is remembered as foreign and looked at again a minute later).
    /// </summary>
    private void Discover(CancellationToken cancel)
    {
        string[] sockets;
        try
        {
            sockets = Directory.Exists(_runtimeDirectory) ? Directory.GetFiles(_runtimeDirectory, "*.sock") : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }
        var now = _context.Time.GetUtcNow();
        List<string>? fresh = null;
        foreach (var socket in sockets)
        {
            string id = Path.GetFileNameWithoutExtension(socket);
            if (_followed.ContainsKey(id) || (_foreign.TryGetValue(id, out var retry) && retry > now)) continue;
            (fresh ??= []).Add(id);
        }
        if (fresh is null) return;
        foreach (var id in fresh)
        {
            var record = _env.Store.GetCluster(id);
            if (record is not { State: ClusterState.Running, SocketPath: { } path })
            {
                _foreign[id] = now + TimeSpan.FromMinutes(1);
                continue;
            }
            _foreign.Remove(id);
            _followed[id] = null;
            _ = FollowAsync(id, path, cancel);
        }
    }

    /// <summary>Follows one supervisor's <c>snapshots</c> stream until it ends; then says it is gone.</summary>
    private async Task FollowAsync(string cluster, string socket, CancellationToken cancel)
    {
        try
        {
            // The client is owned by the loop from here (it disposes it when the stream ends or at the end).
            var client = await ControlClient.ConnectAsync(socket, cancel).ConfigureAwait(false);
            _events.Writer.TryWrite(new Connected(cluster, client));
            if (client.ProtocolVersion < 2) throw new IOException("an older supervisor without the snapshots stream");
            // Inline: each snapshot is read, parsed and applied (the loop runs inline too) on the connection's read loop,
            // one thread wake-up per message instead of three (measured: most of the dashboard's CPU was wake-ups).
            var subscription = await client.SubscribeAsync(ControlProtocol.SnapshotsStream, capacity: 64, cancellationToken: cancel, inline: true).ConfigureAwait(false);
            await using (subscription.ConfigureAwait(false))
            {
                await foreach (var frame in subscription.ReadAllAsync(cancel).ConfigureAwait(false))
                {
                    var message = LiveJson.ReadMessage(frame.Span);
                    if (message.Snapshot is { } snapshot) _events.Writer.TryWrite(new SnapshotArrived(snapshot));
                    else if (message.Event is NeedsInputEvent or IdleEvent or ClusterEndedEvent or HealthEvent or BudgetEvent) _events.Writer.TryWrite(new Happened(cluster, message.Event));
                }
            }
            // Off the read loop before the loop disposes this connection (which waits for that read loop to end).
            await Task.Yield();
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e) when (ControlClient.IsUnavailable(e) || e is JsonException)
        {
            // Gone: ended, or crashed (the database tells which).
            await Task.Yield();
        }
        _events.Writer.TryWrite(new SupervisorGone(cluster));
    }

    /// <summary>Clusters from the database: at start every recently ended one; later the one named (reconciled first).</summary>
    private void LoadFromDatabase(string? only = null)
    {
        try
        {
            if (only is null)
            {
                AddRecentlyEnded(_env.Store.ListClusters(), _state, _context.Time.GetUtcNow());
                return;
            }
            // A supervisor killed by SIGKILL leaves the record "running": the reconciliation says crashed.
            ClusterCommands.ReconcileCrashed(_env.Store);
            if (_env.Store.GetCluster(only) is { } record) _state.UpdateEnded(ClusterSnapshot.FromRecord(record));
        }
        catch (Microsoft.Data.Sqlite.SqliteException)
        {
            // Busy or damaged: the live clusters still show; the ended ones come with the next change.
        }
    }

    /// <summary>The clusters that ended and started within <see cref="RecentlyEnded"/>, newest first, at most <see cref="MaxEnded"/>.</summary>
    private static void AddRecentlyEnded(IEnumerable<ClusterRecord> records, DashboardState state, DateTimeOffset now)
    {
        var since = now - RecentlyEnded;
        foreach (var record in records.Where(r => r.State != ClusterState.Running && r.StartedAt >= since).Take(MaxEnded))
            state.UpdateEnded(ClusterSnapshot.FromRecord(record));
    }

    /// <summary>Gets the last state of every running cluster once (for <c>--once</c> and <c>--json</c>).</summary>
    public static async Task<DashboardState> CollectOnceAsync(ClusterHost.HomeServices env, CliContext context, CancellationToken cancel)
    {
        var state = new DashboardState();
        var records = env.Store.ListClusters();
        foreach (var record in records)
        {
            if (record.State != ClusterState.Running || record.SocketPath is not { } socket) continue;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                var client = await ControlClient.ConnectAsync(socket, timeout.Token).ConfigureAwait(false);
                await using (client.ConfigureAwait(false))
                    state.Update(LiveJson.ReadSnapshot(await client.RequestAsync(ControlProtocol.Status, null, timeout.Token).ConfigureAwait(false)));
            }
            catch (Exception e) when (ControlClient.IsUnavailable(e) || (e is OperationCanceledException && !cancel.IsCancellationRequested))
            {
                // Its supervisor is gone: shown as the database has it, marked crashed.
                state.Update(ClusterSnapshot.FromRecord(record));
                state.SupervisorLost(record.Id);
            }
        }
        AddRecentlyEnded(records, state, context.Time.GetUtcNow());
        return state;
    }
}
