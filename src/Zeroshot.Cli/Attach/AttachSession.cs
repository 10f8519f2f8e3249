using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Channels;
using Zeroshot.Agents;
using Zeroshot.Agents.Control;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;
using Zeroshot.Cli.Output;
using Zeroshot.Terminal;
using Zeroshot.Terminal.Attach;
using Zeroshot.Terminal.Screen;

namespace Zeroshot.Cli.Attach;

/// <summary>What the user asked <c>attach</c> for.</summary>
/// <param name="ClusterId">The cluster.</param>
/// <param name="Agents">The cluster's agents in file order, with their provider (for prefix n/p and the rendered view).</param>
/// <param name="Agent">The agent to start with; null: the supervisor's choice (the running worker).</param>
/// <param name="ReadOnly">Forward no keystrokes, never resize.</param>
/// <param name="StatusBar">Show the status bar (not with --no-metrics).</param>
/// <param name="Raw">The PTY screen even for an agent that speaks stream-json.</param>
/// <param name="Prefix">The prefix key's byte.</param>
/// <param name="PrefixLabel">How the prefix is written in the status bar and help (C-b).</param>
/// <param name="LogPath">An agent's log file (the rendered view starts with the end of what it holds).</param>
internal sealed record AttachOptions(string ClusterId, IReadOnlyList<(string Id, string Provider)> Agents, string? Agent, bool ReadOnly, bool StatusBar,
    bool Raw, byte Prefix, string PrefixLabel, Func<string, string> LogPath)
{
    /// <summary>How this terminal is rung when an agent needs the person (<c>notifications</c> in settings.json).</summary>
    public Zeroshot.Agents.Config.NotificationSettings Notifications { get; init; } = Zeroshot.Agents.Config.NotificationSettings.Default;
}

/// <summary>
/// One <c>zeroshot attach</c>: the user's terminal in raw mode, showing one agent's screen below a status bar, keys to the
/// agent, prefix keys to us. The agent's bytes never reach the user's terminal: they go into a local screen model, which a
/// painter draws (only what changed), so no mode, scroll region, title or query of the agent leaks out, and the terminal is
/// put back as it was on every way out (detach, the agent's exit, the supervisor gone, SIGTERM, SIGHUP, an exception).
/// </summary>
/// <remarks>
/// One loop owns the screen: it takes events (stream frames, keys, window changes, snapshots, a 1 s tick) from one channel,
/// applies all that are waiting, then paints once, so a fast agent costs one paint per batch, not per chunk.
/// </remarks>
internal sealed class AttachSession
{
    private readonly ControlClient _client;
    private readonly AttachOptions _options;
    private readonly CliContext _context;
    // Synchronous continuations: the loop runs on the thread that gave it an event when it was waiting for one (the
    // connection's reader for the agent's output, the keyboard thread for keys), so an echo is painted by the thread
    // that received it instead of waking a pool worker for it, one thread hop fewer per keystroke. The loop only awaits
    // (never blocks on) what another of those threads provides, so no thread can end up waiting for itself.
    private readonly Channel<Event> _events = Channel.CreateBounded<Event>(new BoundedChannelOptions(1024)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
        AllowSynchronousContinuations = true,
    });
    private readonly ArrayBufferWriter<byte> _frame = new(64 * 1024);
    private LocalTerminal? _terminal;
    private ScreenPainter _painter;
    private AttachInput _input;
    private ScreenModel _screen;
    private bool _statusBar;
    private bool _help;
    private string _agent = "";
    private ClusterSnapshot? _snapshot;
    private readonly Agents.Notify.Notifier _caller;
    private bool _historyPainted;
    private int _columns, _rows;
    private int _generation; // the attach stream now: events of an earlier one (before prefix n/p) are stale
    private bool _statusDirty = true;
    private long _lastOutputPaint;
    private long _typed; // keystrokes sent to the agent so far (by the loop or the keyboard thread)
    private long _typedPainted; // … when output was last painted: fewer than _typed means the output may be their echo
    private int _keysQueued; // Keys events written to the loop and not yet handled (the keyboard thread's direct path waits for 0)
    private readonly Lock _directKeys = new(); // held while the keyboard thread sends keys directly, and to change _directStream
    private ControlSubscription? _directStream; // where the keyboard thread may send plain keys itself; null when it may not
    private int _wakeScheduled;

    // While output floods in, paint at most this often (a terminal shows ~60 frames a second at best); a keystroke,
    // a resize or the end paints at once, so typing never waits for it.
    private static readonly TimeSpan FloodPaintInterval = TimeSpan.FromMilliseconds(10);

    private AttachSession(ControlClient client, AttachOptions options, CliContext context, int columns, int rows)
    {
        _client = client;
        _options = options;
        _context = context;
        _statusBar = options.StatusBar;
        _columns = columns;
        _rows = rows;
        _painter = new ScreenPainter(Top, synchronized: true);
        _input = new AttachInput(options.Prefix, Top);
        _screen = new ScreenModel(AgentRows, columns, scrollback: ScreenModel.DefaultScrollback);
        // Rings go through the loop, the one writer of this terminal.
        _caller = Agents.Notify.Notifier.ForTerminal(options.Notifications, Environment.GetEnvironmentVariable,
            bytes => _events.Writer.TryWrite(new Event(EventKind.Ring, Data: bytes)), context.Time);
    }

    private int Top => _statusBar ? 1 : 0;

    private int AgentRows => Math.Max(1, _rows - Top);

    /// <summary>Runs the attach until detach or the end; returns the exit code (0 detach or agent exit, 1 supervisor gone).</summary>
    public static async Task<int> RunAsync(ControlClient client, AttachOptions options, CliContext context, CancellationToken cancel)
    {
        var size = LocalTerminal.WindowSize() ?? throw new UserErrorException("attach needs a terminal: standard output has no window size", ExitCodes.Usage);
        var session = new AttachSession(client, options, context, size.Columns, size.Rows);
        return await session.RunAsync(cancel).ConfigureAwait(false);
    }

    private async Task<int> RunAsync(CancellationToken cancel)
    {
        var terminal = _terminal = LocalTerminal.EnterRaw(_context.RawOut);
        // Every way out puts the terminal back: an exception on another thread, the process exiting under us.
        UnhandledExceptionEventHandler onCrash = (_, _) => terminal.Restore(ScreenPainter.Restore);
        EventHandler onExit = (_, _) => terminal.Restore(ScreenPainter.Restore);
        AppDomain.CurrentDomain.UnhandledException += onCrash;
        AppDomain.CurrentDomain.ProcessExit += onExit;
        using var winch = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGWINCH, s =>
        {
            s.Cancel = true;
            _events.Writer.TryWrite(new Event(EventKind.WindowChanged));
        });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        string farewell;
        int exitCode;
        try
        {
            using var keyboard = StartKeyboard();
            _ = TickAsync(stop.Token);
            // The status bar's figures arrive on their own subscription, asked for alongside the attach, not before it:
            // the first screen waits for one round trip less.
            var snapshots = SubscribeSnapshotsAsync(stop.Token);
            try
            {
                (exitCode, farewell) = await AttachLoopAsync(stop.Token).ConfigureAwait(false);
            }
            finally
            {
                await (await snapshots.ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            (exitCode, farewell) = (ExitCodes.Interrupted, $"[detached from {_options.ClusterId}/{_agent}: interrupted]");
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            AppDomain.CurrentDomain.UnhandledException -= onCrash;
            AppDomain.CurrentDomain.ProcessExit -= onExit;
        }
        // The cursor to the last row, below whatever the agent left on the screen, then the reason, as tmux prints it.
        terminal.Restore(Encoding.UTF8.GetBytes($"{Encoding.UTF8.GetString(ScreenPainter.Restore)}\e[{_rows};1H\r\n{farewell}\r\n"));
        return exitCode;
    }

    /// <summary>Attaches to agents in turn (prefix n/p) until detach or the end.</summary>
    private async Task<(int ExitCode, string Farewell)> AttachLoopAsync(CancellationToken cancel)
    {
        string? next = _options.Agent;
        while (true)
        {
            var (outcome, exitCode, farewell) = await AttachOnceAsync(next, cancel).ConfigureAwait(false);
            if (outcome is not (Outcome.Next or Outcome.Previous)) return (exitCode, farewell);
            next = Neighbour(outcome == Outcome.Next ? 1 : -1) ?? _agent;
        }
    }

    /// <summary>The next (or previous) running agent after the current one, in file order; null when none other runs.</summary>
    private string? Neighbour(int step)
    {
        var agents = _options.Agents;
        int at = Math.Max(0, agents.ToList().FindIndex(a => a.Id == _agent));
        for (int i = 1; i <= agents.Count; i++)
        {
            var candidate = agents[((at + step * i) % agents.Count + agents.Count) % agents.Count].Id;
            if (candidate == _agent) continue;
            if (_snapshot?.Agents.FirstOrDefault(a => a.Id == candidate) is { State: AgentState.Running }) return candidate;
        }
        return null;
    }

    private enum Outcome
    {
        Detached,
        Exited,
        Gone,
        Next,
        Previous,
    }

    private async Task<(Outcome Outcome, int ExitCode, string Farewell)> AttachOnceAsync(string? agent, CancellationToken cancel)
    {
        bool rendered = !_options.Raw && agent is not null && ProviderOf(agent) is not ("command" or null);
        ControlSubscription stream;
        try
        {
            if (rendered) stream = await SubscribeRenderedAsync(agent!, cancel).ConfigureAwait(false);
            else stream = await SubscribeScreenAsync(agent, cancel).ConfigureAwait(false);
        }
        catch (ControlErrorException e) when (e.Code == "not-running")
        {
            throw new UserErrorException(e.Message);
        }
        catch (Exception e) when (ControlClient.IsUnavailable(e))
        {
            return (Outcome.Gone, ExitCodes.Failure, $"[the supervisor of {_options.ClusterId} went away: {e.Message}]");
        }
        _agent = stream.Result.TryGetProperty("agent", out var a) && a.GetString() is { } chosen ? chosen : agent ?? "";
        // The supervisor chose: now we know the agent, and whether its output is a JSON stream.
        if (!rendered && agent is null && !_options.Raw && ProviderOf(_agent) is not ("command" or null))
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            return await AttachOnceAsync(_agent, cancel).ConfigureAwait(false);
        }
        _historyPainted = false;
        _painter.Invalidate();
        int generation = ++_generation;
        var renderer = rendered ? new RenderedOutput(_agent, ProviderOf(_agent), _events.Writer, _context, generation) : null;
        // The output stream starts where the log is now (its "offset"): what the agent wrote before is rendered from
        // the log first, as logs -f does, so the view shows the run so far, each line once (at most a scrollback's worth
        // of log lines: they render to at least as many).
        string logPath = _options.LogPath(_agent);
        long position = 0; // of the rendered agent's log: where the stream's next byte goes
        if (renderer is not null && stream.Result.TryGetProperty("offset", out var o) && o.TryGetInt64(out position))
            Commands.LogsCommand.CopyTail(logPath, ScreenModel.DefaultScrollback, position, renderer.Feed);
        var pump = PumpStreamAsync(stream, generation, cancel);
        int? agentExit = null, agentSignal = null;
        if (!rendered && !_options.ReadOnly) lock (_directKeys) _directStream = stream;
        // The loop waits without the token: a channel's wait with a token that can be cancelled allocates a waiter each
        // time (BoundedChannel.WaitToReadAsync), one per keystroke; cancelling wakes it instead (from the pool: never run
        // the loop inside Cancel).
        using var wakeOnCancel = cancel.Register(static state => ThreadPool.UnsafeQueueUserWorkItem(
            static events => events.TryWrite(new Event(EventKind.Wake)), (ChannelWriter<Event>)state!, preferLocal: false), _events.Writer);
        try
        {
            while (true)
            {
                cancel.ThrowIfCancellationRequested();
                if (!await _events.Reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false)) break;
                cancel.ThrowIfCancellationRequested();
                bool urgent = false, woken = false;
                while (_events.Reader.TryRead(out var e))
                {
                    urgent |= e.Kind is not (EventKind.Frame or EventKind.Text or EventKind.Wake);
                    woken |= e.Kind == EventKind.Wake;
                    _statusDirty |= e.Kind is not (EventKind.Frame or EventKind.Text or EventKind.Wake);
                    if (e.Kind is EventKind.Frame or EventKind.Text or EventKind.StreamEnded && e.Generation != generation) continue;
                    switch (e.Kind)
                    {
                        case EventKind.Frame:
                            if (renderer is null) ApplyFrame(e.Data!, ref agentExit, ref agentSignal);
                            else
                            {
                                renderer.Feed(e.Data!);
                                position += e.Data!.Length;
                            }
                            break;
                        case EventKind.Text:
                            _screen.Feed(e.Text!);
                            break;
                        case EventKind.StreamEnded:
                            if (renderer is not null) await FlushRenderedAsync(renderer, generation, cancel).ConfigureAwait(false);
                            Paint();
                            if (e.Text is { } lost)
                                return (Outcome.Gone, ExitCodes.Failure, $"[the supervisor of {_options.ClusterId} went away: {lost}]");
                            string how = agentSignal is int s and >= 0 ? $"was killed by signal {s}" : $"exited with code {agentExit ?? 0}";
                            // The output stream of a rendered agent ends with the cluster: its exit code is in the snapshot,
                            // which may still be on its way on the other stream; the supervisor answers status until it exits.
                            int? renderedExit = rendered ? (await FinalSnapshotAsync(cancel).ConfigureAwait(false))?.ExitCode : null;
                            return (Outcome.Exited, ExitCodes.Success, rendered
                                ? renderedExit is int code0 ? $"[{_options.ClusterId}/{_agent} exited with code {code0}]" : $"[{_options.ClusterId}/{_agent}: its output ended]"
                                : $"[{_options.ClusterId}/{_agent} {how}]");
                        case EventKind.Keys:
                            Outcome? outcome;
                            try
                            {
                                outcome = await KeysAsync(e.Data!, stream, rendered, cancel).ConfigureAwait(false);
                            }
                            finally
                            {
                                Interlocked.Decrement(ref _keysQueued);
                            }
                            if (outcome is { } done)
                                return (done, ExitCodes.Success, done == Outcome.Detached ? $"[detached from {_options.ClusterId}/{_agent}]" : "");
                            break;
                        case EventKind.WindowChanged:
                            await WindowChangedAsync(stream, rendered, cancel).ConfigureAwait(false);
                            break;
                        case EventKind.Ring:
                            _terminal!.Write(e.Data);
                            break;
                        case EventKind.Snapshot:
                            _snapshot = e.Snapshot;
                            // The output stream lasts as long as the cluster, not the agent's run: its end is in the snapshots.
                            // What the stream has not delivered yet is in the log, written before it is relayed.
                            if (renderer is not null && _snapshot!.Agents.FirstOrDefault(x => x.Id == _agent) is { State: AgentState.Completed or AgentState.Failed or AgentState.Stopped } ended)
                            {
                                Commands.LogsCommand.CopyRange(logPath, position, renderer.Feed);
                                await FlushRenderedAsync(renderer, generation, cancel).ConfigureAwait(false);
                                Paint();
                                return (Outcome.Exited, ExitCodes.Success, ended.ExitCode is int code
                                    ? $"[{_options.ClusterId}/{_agent} exited with code {code}]"
                                    : $"[{_options.ClusterId}/{_agent}: its output ended]");
                            }
                            break;
                        case EventKind.Tick:
                            // The rendered view's end is read from snapshots: asked for too, in case the stream lags.
                            if (renderer is not null) _ = PollStatusAsync(cancel);
                            break;
                        case EventKind.Wake:
                            break;
                    }
                }
                // Output right after output painted less than an interval ago is a flood: wait for the wake. Output after
                // a quiet spell (a keystroke's echo) paints at once.
                if (urgent) Paint();
                else if (woken || Volatile.Read(ref _typed) != _typedPainted || _context.Time.GetElapsedTime(_lastOutputPaint) >= FloodPaintInterval)
                {
                    // After a keystroke the output is most likely its echo: shown at once, however fast the typing.
                    long typed = Volatile.Read(ref _typed);
                    Paint();
                    _typedPainted = typed;
                    _lastOutputPaint = _context.Time.GetTimestamp();
                }
                else ScheduleWake();
            }
            return (Outcome.Gone, ExitCodes.Failure, $"[the supervisor of {_options.ClusterId} went away]");
        }
        finally
        {
            // After this, no key goes to this stream from the keyboard thread (a send under way finishes first).
            lock (_directKeys) _directStream = null;
            await stream.DisposeAsync().ConfigureAwait(false);
            await pump.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            renderer?.Dispose();
        }
    }

    /// <summary>
    /// The rendered view's last lines: the interpreter completes here, on the loop that fed it every frame before the
    /// end (never on the pump, which reaches the end while frames still wait in the channel), and the printer's text
    /// comes back as events, taken while it drains.
    /// </summary>
    private async Task FlushRenderedAsync(RenderedOutput renderer, int generation, CancellationToken cancel)
    {
        var flushing = renderer.FlushAsync();
        while (true)
        {
            // The session ends after this: keys and snapshots still waiting are of no use.
            while (_events.Reader.TryRead(out var e))
                if (e.Kind == EventKind.Text && e.Generation == generation) _screen.Feed(e.Text!);
            if (flushing.IsCompleted) break;
            await Task.WhenAny(flushing, _events.Reader.WaitToReadAsync(cancel).AsTask()).ConfigureAwait(false);
        }
        await flushing.ConfigureAwait(false);
    }

    /// <summary>The agent's snapshot from a status request, once its run is over; null when it is not (or no answer).</summary>
    private async Task<AgentSnapshot?> FinalSnapshotAsync(CancellationToken cancel)
    {
        if (_snapshot?.Agents.FirstOrDefault(x => x.Id == _agent) is { State: AgentState.Completed or AgentState.Failed or AgentState.Stopped } known) return known;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            var snapshot = LiveJson.ReadSnapshot(await _client.RequestAsync(ControlProtocol.Status, null, timeout.Token).ConfigureAwait(false));
            return snapshot.Agents.FirstOrDefault(x => x.Id == _agent) is { State: AgentState.Completed or AgentState.Failed or AgentState.Stopped } ended ? ended : null;
        }
        catch (Exception e) when (ControlClient.IsUnavailable(e) || e is OperationCanceledException or ControlErrorException)
        {
            return null; // the supervisor is gone: the exit code is in `zeroshot status`
        }
    }

    /// <summary>Asks for the cluster's snapshot and hands it to the loop like a streamed one.</summary>
    private async Task PollStatusAsync(CancellationToken cancel)
    {
        try
        {
            var snapshot = LiveJson.ReadSnapshot(await _client.RequestAsync(ControlProtocol.Status, null, cancel).ConfigureAwait(false));
            _events.Writer.TryWrite(new Event(EventKind.Snapshot, Snapshot: snapshot));
        }
        catch (Exception e) when (ControlClient.IsUnavailable(e) || e is OperationCanceledException or ControlErrorException)
        {
            // The cluster is ending: its stream's end follows.
        }
    }

    private string? ProviderOf(string agent)
    {
        foreach (var (id, provider) in _options.Agents)
            if (id == agent) return provider;
        return null;
    }

    private Task<ControlSubscription> SubscribeScreenAsync(string? agent, CancellationToken cancel) =>
        _client.SubscribeAsync(ControlProtocol.AttachStream, w =>
        {
            w.WriteStartObject();
            if (agent is not null) w.WriteString("agent", agent);
            w.WriteBoolean("readOnly", _options.ReadOnly);
            w.WriteNumber("cols", _columns);
            w.WriteNumber("rows", AgentRows);
            w.WriteEndObject();
            // Inline: each frame goes from the connection's read loop to the session's loop with one thread wake-up
            // less (PumpStreamAsync only hands it on and never waits for this connection).
        }, capacity: 1024, cancellationToken: cancel, inline: true);

    private Task<ControlSubscription> SubscribeRenderedAsync(string agent, CancellationToken cancel)
    {
        // The rendered view is the `logs -f` rendering, in a screen of our size.
        _screen = new ScreenModel(AgentRows, _columns, ScreenModel.DefaultScrollback);
        return _client.SubscribeAsync(ControlProtocol.OutputStream, w =>
        {
            w.WriteStartObject();
            w.WriteString("agent", agent);
            w.WriteEndObject();
        }, capacity: 1024, cancellationToken: cancel);
    }

    /// <summary>One attach frame (PROTOCOL.md): size, replay, output, exit.</summary>
    private void ApplyFrame(byte[] frame, ref int? exitCode, ref int? signal)
    {
        if (frame.Length == 0) return;
        var payload = frame.AsSpan(1);
        switch (frame[0])
        {
            case AgentTerminal.SizeFrame when payload.Length >= 4:
                int rows = BinaryPrimitives.ReadUInt16BigEndian(payload), columns = BinaryPrimitives.ReadUInt16BigEndian(payload[2..]);
                if (rows != _screen.Rows || columns != _screen.Columns) _screen.Resize(rows, columns);
                break;
            case AgentTerminal.ReplayFrame:
                _screen = new ScreenModel(_screen.Rows, _screen.Columns, ScreenModel.DefaultScrollback);
                _painter.Invalidate();
                break;
            case AgentTerminal.OutputFrame:
                _screen.Feed(payload);
                _screen.ClearReplies(); // the supervisor answers the agent's queries; never twice
                break;
            case AgentTerminal.ExitFrame when payload.Length >= 8:
                int code = BinaryPrimitives.ReadInt32BigEndian(payload), sig = BinaryPrimitives.ReadInt32BigEndian(payload[4..]);
                exitCode = code >= 0 ? code : null;
                signal = sig >= 0 ? sig : null;
                break;
        }
    }

    private async ValueTask<Outcome?> KeysAsync(byte[] keys, ControlSubscription stream, bool rendered, CancellationToken cancel)
    {
        if (_help)
        {
            // Any key closes the help, as in tmux's view mode.
            _help = false;
            _painter.Invalidate();
            return null;
        }
        foreach (var action in _input.Feed(keys))
        {
            switch (action.Kind)
            {
                case AttachActionKind.Forward:
                    if (!_options.ReadOnly && !rendered)
                    {
                        Interlocked.Increment(ref _typed); // before: the echo may be back before the send returns
                        await stream.SendAsync(action.Bytes, cancel).ConfigureAwait(false);
                    }
                    break;
                case AttachActionKind.Detach:
                    return Outcome.Detached;
                case AttachActionKind.Next:
                    if (Neighbour(1) is not null) return Outcome.Next;
                    break;
                case AttachActionKind.Previous:
                    if (Neighbour(-1) is not null) return Outcome.Previous;
                    break;
                case AttachActionKind.Interrupt:
                    if (!_options.ReadOnly && !rendered) await SignalAsync(stream, cancel).ConfigureAwait(false);
                    break;
                case AttachActionKind.ToggleStatusBar:
                    _statusBar = !_statusBar;
                    _painter = new ScreenPainter(Top, synchronized: true);
                    _input = new AttachInput(_options.Prefix, Top);
                    await WindowChangedAsync(stream, rendered, cancel).ConfigureAwait(false);
                    break;
                case AttachActionKind.Help:
                    _help = true;
                    break;
            }
        }
        return null;
    }

    private async Task SignalAsync(ControlSubscription stream, CancellationToken cancel)
    {
        try
        {
            await _client.RequestAsync(ControlProtocol.Signal, w =>
            {
                w.WriteNumber("streamId", stream.StreamId);
                w.WriteString("signal", "INT");
            }, cancel).ConfigureAwait(false);
        }
        catch (ControlErrorException)
        {
            // Nothing in the foreground to interrupt (the agent is between programs): as a terminal would, nothing happens.
        }
    }

    private async Task WindowChangedAsync(ControlSubscription stream, bool rendered, CancellationToken cancel)
    {
        if (LocalTerminal.WindowSize() is { } size) (_columns, _rows) = size;
        _painter.Invalidate();
        if (rendered)
        {
            _screen.Resize(AgentRows, _columns);
            return;
        }
        if (_options.ReadOnly) return;
        try
        {
            await _client.RequestAsync(ControlProtocol.Resize, w =>
            {
                w.WriteNumber("streamId", stream.StreamId);
                w.WriteNumber("cols", _columns);
                w.WriteNumber("rows", AgentRows);
            }, cancel).ConfigureAwait(false);
        }
        catch (ControlErrorException)
        {
            // The stream just ended (the agent exited): its end is on its way.
        }
    }

    /// <summary>A paint skipped during a flood happens at the latest one interval later (the wake event paints).</summary>
    private void ScheduleWake()
    {
        if (Interlocked.Exchange(ref _wakeScheduled, 1) == 1) return;
        _ = Task.Delay(FloodPaintInterval, _context.Time).ContinueWith(_ =>
        {
            Volatile.Write(ref _wakeScheduled, 0);
            _events.Writer.TryWrite(new Event(EventKind.Wake));
        }, TaskScheduler.Default);
    }

    /// <summary>Draws what changed: the status bar, the agent's screen (clipped to our window), the help box.</summary>
    private void Paint()
    {
        _frame.ResetWrittenCount();
        if (!_historyPainted)
        {
            // Once per attach: the agent's scrollback into the terminal's own, then a full paint over it.
            _painter.AppendHistory(_screen, _frame, _rows);
            _historyPainted = true;
            _statusDirty = true;
        }
        _painter.Paint(_screen, _frame, _columns, AgentRows);
        // The status bar changes with a snapshot, a tick, a key or a resize, not with the agent's output.
        if (_statusBar && _statusDirty) AppendStatusBar();
        _statusDirty = false;
        if (_help) _painter.AppendOverlay(_frame, AttachHelp.Lines(_options.PrefixLabel), _columns, _rows);
        _painter.AppendCursor(_screen, _frame);
        _terminal!.Write(_frame.WrittenSpan);
    }

    private void AppendStatusBar()
    {
        var agent = _snapshot?.Agents.FirstOrDefault(a => a.Id == _agent);
        var now = _context.Time.GetUtcNow();
        var info = new StatusBarInfo
        {
            Agent = _agent,
            Model = agent?.Model,
            State = agent is null ? null : StateNames.Text(agent.State),
            ExitCode = agent?.ExitCode,
            Activity = agent is null ? null : StatusText.Activity(agent),
            CpuPercent = agent?.Metrics?.CpuPercent,
            MemoryBytes = agent?.Metrics?.MemoryMB * 1024 * 1024,
            NetReceiveBytesPerSecond = agent?.Metrics?.NetRxBytesPerSec,
            NetSendBytesPerSecond = agent?.Metrics?.NetTxBytesPerSec,
            Tokens = agent?.Tokens.Total,
            CostUsd = agent?.CostUsd,
            CostEstimated = agent?.CostEstimated ?? false,
            LastOutputAt = agent?.LastOutputAt,
            PrefixLabel = _options.PrefixLabel,
            ReadOnly = _options.ReadOnly,
        };
        string line = StatusBarView.Render(info, _columns, _context.Colors, now);
        _frame.Write("\e[1;1H"u8);
        _frame.Write(Encoding.UTF8.GetBytes(line));
    }

    // ---- event sources ----

    private enum EventKind
    {
        Frame,
        Text,
        StreamEnded,
        Keys,
        WindowChanged,
        Snapshot,
        Ring,
        Tick,
        Wake,
    }

    private readonly record struct Event(EventKind Kind, byte[]? Data = null, string? Text = null, ClusterSnapshot? Snapshot = null, int Generation = 0);

    private async Task PumpStreamAsync(ControlSubscription stream, int generation, CancellationToken cancel)
    {
        string? lost = null;
        try
        {
            // Without the token (a waiter per frame otherwise, see AttachOnceAsync): the stream's channel completes when
            // the session disposes the stream, which ends this loop.
            var frames = stream.Frames;
            while (await frames.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
                while (frames.TryRead(out var frame))
                    await _events.Writer.WriteAsync(new Event(EventKind.Frame, frame, Generation: generation), cancel).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e) when (ControlClient.IsUnavailable(e))
        {
            lost = e.Message;
        }
        if (stream.EndReason is ControlProtocol.EndUnsubscribed) return;
        // The connection closing (not the stream ending) means the supervisor is gone.
        if (lost is null && stream.EndReason is ControlProtocol.EndClosed) lost = "the control connection closed";
        _events.Writer.TryWrite(new Event(EventKind.StreamEnded, Text: lost, Generation: generation));
    }

    /// <summary>Takes the terminal's keys (<see cref="TerminalKeyboard"/>) until the session ends.</summary>
    private IDisposable StartKeyboard() => TerminalKeyboard.Listen(keys =>
    {
        // End of input: stop listening (as a read thread that ended would).
        if (keys.Length == 0 || SendDirectly(keys)) return;
        Interlocked.Increment(ref _keysQueued);
        try
        {
            _events.Writer.WriteAsync(new Event(EventKind.Keys, keys)).AsTask().Wait();
        }
        catch (AggregateException e) when (e.InnerException is ChannelClosedException or OperationCanceledException)
        {
            // The session ended while the keys waited for room: they were meant for it, not for whoever listens next.
            Interlocked.Decrement(ref _keysQueued);
        }
    });

    /// <summary>
    /// On the keyboard thread: sends <paramref name="keys"/> to the agent at once when the loop would only forward
    /// them as they are: plain bytes (no prefix, no escape sequence), the key parser between keys, no help shown, no
    /// earlier keys still waiting for the loop. A keystroke then reaches the supervisor without waking the loop's
    /// thread first (tmux's client, too, writes a key to the server from the loop that read it). False: the loop
    /// takes them.
    /// </summary>
    private bool SendDirectly(byte[] keys)
    {
        lock (_directKeys)
        {
            // With no Keys event outstanding the loop is not touching _input or _help (only key handling changes them).
            if (_directStream is not { } stream || Volatile.Read(ref _keysQueued) != 0 || _help || !_input.BetweenKeys ||
                keys.AsSpan().IndexOfAny((byte)0x1B, _input.Prefix) >= 0)
                return false;
            // Counted before sending: the echo may be back before the send returns, and must paint at once.
            Interlocked.Increment(ref _typed);
            try
            {
                var sending = stream.SendAsync(keys);
                if (sending.IsCompletedSuccessfully) sending.GetAwaiter().GetResult();
                else sending.AsTask().GetAwaiter().GetResult();
            }
            catch (Exception e) when (ControlClient.IsUnavailable(e) || e is ObjectDisposedException)
            {
                // The supervisor is gone: the stream's end says so to the loop; these keys had nobody to go to.
            }
            return true;
        }
    }

    private async Task TickAsync(CancellationToken cancel)
    {
        // The status bar's "out 2s ago" ages between snapshots.
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), _context.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancel).ConfigureAwait(false))
                _events.Writer.TryWrite(new Event(EventKind.Tick));
        }
        catch (OperationCanceledException)
        {
            // detached
        }
    }

    private async Task<IAsyncDisposable> SubscribeSnapshotsAsync(CancellationToken cancel)
    {
        ControlSubscription subscription;
        try
        {
            subscription = await _client.SubscribeAsync(ControlProtocol.SnapshotsStream, cancellationToken: cancel).ConfigureAwait(false);
        }
        catch (Exception e) when (ControlClient.IsUnavailable(e))
        {
            return new NoSubscription();
        }
        _ = Task.Run(async () =>
        {
            try
            {
                await foreach (var frame in subscription.ReadAllAsync(cancel).ConfigureAwait(false))
                {
                    var message = LiveJson.ReadMessage(frame.Span);
                    if (message.Snapshot is { } snapshot)
                        _events.Writer.TryWrite(new Event(EventKind.Snapshot, Snapshot: snapshot));
                    // An agent asks for the person, waits for a prompt, or the cluster ended: this terminal rings.
                    else if (message.Event is { } happened && Agents.Notify.PersonCaller.Call(_options.ClusterId, _snapshot?.Name, happened) is { } call)
                        _caller.Notify(call);
                }
            }
            catch (Exception e) when (ControlClient.IsUnavailable(e) || e is OperationCanceledException)
            {
                // The cluster ended or we detached: the status bar keeps its last figures.
            }
        }, CancellationToken.None);
        return subscription;
    }

    private sealed class NoSubscription : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>
    /// The rendered view of an agent that speaks stream-json: its output through the same interpreter and printer as
    /// <c>logs -f</c>, whose text comes back to the session as events (the printer writes on its own task).
    /// </summary>
    private sealed class RenderedOutput : IDisposable
    {
        private readonly AgentOutputInterpreter _interpreter;
        private readonly ClusterPrinter _printer;

        public RenderedOutput(string agent, string? provider, ChannelWriter<Event> events, CliContext context, int generation)
        {
            // Lossy: the printer's writer waits for room in the session's channel, which the loop feeding this printer
            // empties; a printer that blocked its feeder on a full queue could wait for the loop forever.
            _printer = new ClusterPrinter(new EventWriter(events, generation), context.Colors, [agent], prefix: false, lossy: true);
            _interpreter = new AgentOutputInterpreter(line => _printer.OnLine(agent, line), new AgentOutputOptions { TimeProvider = context.Time, Provider = provider });
        }

        public void Feed(ReadOnlySpan<byte> chunk) => _interpreter.Feed(chunk);


        public async Task FlushAsync()
        {
            _interpreter.Complete();
            await _printer.DrainAsync().ConfigureAwait(false);
        }

        public void Dispose() => _interpreter.Complete();

        /// <summary>Lines the printer writes, as text events (LF becomes CR LF: the screen model is a terminal).</summary>
        private sealed class EventWriter(ChannelWriter<Event> events, int generation) : TextWriter
        {
            private readonly StringBuilder _pending = new();

            public override Encoding Encoding => Encoding.UTF8;

            public override void Write(char value)
            {
                if (value == '\n') _pending.Append('\r');
                _pending.Append(value);
            }

            public override void Write(string? value)
            {
                if (value is null) return;
                foreach (char c in value) Write(c);
            }

            public override void Flush()
            {
                if (_pending.Length == 0) return;
                // Waits for room (this is the printer's own task): TryWrite would drop lines while frames fill the channel.
                events.WriteAsync(new Event(EventKind.Text, Text: _pending.ToString(), Generation: generation)).AsTask().GetAwaiter().GetResult();
                _pending.Clear();
            }
        }
    }
}
