using System.Buffers.Binary;
using System.Threading.Channels;
using Zeroshot.Agents.Control;
using Zeroshot.Agents.Pty;
using Zeroshot.Terminal.Screen;

namespace Zeroshot.Agents.Supervision;

/// <summary>
/// One run of an agent's terminal as <c>zeroshot attach</c> sees it: the screen model the supervisor keeps of the
/// agent's PTY (fed on the pump thread right after the log write), the answers to the queries programs send (DA1, DA2,
/// DSR, DECRQM: given from the model, as tmux does, so the user's own terminal is never asked and programs that query
/// work whether or not anyone is attached; unlike tmux, only while the terminal is not in canonical mode), the attached
/// clients, their keystrokes and the window size.
/// </summary>
/// <remarks>
/// <para>Every attach stream data frame starts with one kind byte (PROTOCOL.md): <c>s</c> the agent's window size (rows,
/// columns as u16be), <c>r</c> a replay begins (the client forgets its screen), <c>o</c> terminal bytes, <c>x</c> the
/// agent's process ended (exit code as i32be, signal as i32be, -1 when none). The model and the client list share one
/// lock, so a client's replay and the live bytes after it are exactly contiguous.</para>
/// <para>A client that cannot take a chunk (its queue is full) is marked behind and gets nothing more until its queue
/// has drained; then it gets a fresh replay (without scrollback) instead of a stream with a hole. The agent and the
/// other clients never wait for it.</para>
/// <para>Size: the most recently active writable client's window sets the PTY's size; when it detaches the previous
/// one's returns; after the last one the size stays, until the size the supervisor gives every agent changes (<see cref="SetBaseSize"/>).
/// Read-only clients never resize.</para>
/// </remarks>
internal sealed class AgentTerminal
{
    /// <summary>Frame kinds of the attach stream.</summary>
    public const byte SizeFrame = (byte)'s', ReplayFrame = (byte)'r', OutputFrame = (byte)'o', ExitFrame = (byte)'x';

    /// <summary>A behind client is replayed once its queue holds less than this.</summary>
    internal const long CatchUpBelowBytes = 256 * 1024;

    // Serialized replays go out in pieces of this size, so no piece is split into two data frames (each carries one kind byte).
    private const int ReplayPiece = 256 * 1024;

    private readonly object _gate = new();
    private readonly PtyProcess _pty;
    private readonly ScreenModel _screen;
    private readonly TerminalSizes _sizes;
    private readonly byte[] _frame = new byte[AgentOutputPump.ChunkSize + 1];
    private Client[] _clients = [];
    private Channel<byte[]>? _input;
    private readonly Lock _inputWrite = new(); // held while input is written to the PTY, by the writer or directly
    private long _replyBytesDropped;
    private bool _ended;

    /// <summary>A terminal of <paramref name="columns"/> × <paramref name="rows"/> (the PTY's size at start).</summary>
    public AgentTerminal(PtyProcess pty, int columns, int rows, int scrollback = ScreenModel.DefaultScrollback)
    {
        _pty = pty;
        _screen = new ScreenModel(rows, columns, scrollback);
        _sizes = new TerminalSizes(columns, rows);
    }

    /// <summary>Clients attached now.</summary>
    public int Attached => Volatile.Read(ref _clients).Length;

    /// <summary>Query answers that could not be queued to the agent (its input queue was full).</summary>
    public long ReplyBytesDropped => Interlocked.Read(ref _replyBytesDropped);

    /// <summary>The visible screen's text (tests, diagnostics).</summary>
    internal string[] ScreenText()
    {
        lock (_gate) return _screen.Text();
    }

    /// <summary>
    /// A chunk of the agent's output, on the pump thread, after the log write: into the model, the queries' answers
    /// to the agent, the bytes to every client. Allocates nothing unless the model answered a query.
    /// </summary>
    /// <summary>Gets the desktop notifications the program sends (OSC 9), on the pump thread.</summary>
    public Action<string>? Notified { get; set; }

    /// <summary>Gets told when a writable client types (the person answers a dialog, or writes a prompt).</summary>
    public Action? Typed { get; set; }

    /// <summary>
    /// Tell a program that asks for focus events (mode 1004) that nobody is looking (<c>CSI O</c>, as a terminal does when
    /// its window loses focus) when it turns them on and when the last writable client detaches: a TUI that notifies only
    /// an unfocused user (Codex's approvals) then writes its notifications. Set for interactive agents.
    /// </summary>
    public bool ReportsFocus { get; set; }

    private bool _focusOutSent;

    public void OnOutput(ReadOnlySpan<byte> chunk)
    {
        byte[]? replies = null;
        List<string>? notifications;
        bool focusOut = false;
        lock (_gate)
        {
            _screen.Feed(chunk);
            notifications = _screen.TakeNotifications();
            // Not known to be focused until a terminal says so: a client's terminal reports focus only when it changes
            // (xterm's focus tracking), so an attached person's "focus in" comes when they look, not before.
            if (ReportsFocus && _screen.FocusEvents && !_focusOutSent)
            {
                _focusOutSent = focusOut = true;
            }
            else if (!_screen.FocusEvents)
            {
                _focusOutSent = false;
            }
            if (!_screen.Replies.IsEmpty)
            {
                replies = _screen.Replies.ToArray();
                _screen.ClearReplies();
            }
            var clients = _clients;
            if (clients.Length > 0)
            {
                _frame[0] = OutputFrame;
                chunk.CopyTo(_frame.AsSpan(1));
                var frame = _frame.AsSpan(0, chunk.Length + 1);
                foreach (var client in clients)
                {
                    if (client.Behind) CatchUp(client);
                    else if (!client.Sink.TryWriteOrSkip(frame)) client.Behind = true;
                }
            }
        }
        // Only a program that reads its terminal raw can take an answer: in canonical mode the answer would be typed
        // into a line (a shell's prompt, echoed into the output) because the output merely looked like a query
        // (`cat` of a binary file). A program that queries switches ICANON off first (termios(3)).
        if (replies is not null && !IsCanonical() && !QueueInput(replies)) Interlocked.Add(ref _replyBytesDropped, replies.Length);
        if (focusOut) QueueInput(FocusOut.ToArray());
        if (notifications is not null && Notified is { } notified)
            foreach (var text in notifications) notified(text);
    }

    private static ReadOnlySpan<byte> FocusOut => "\u001b[O"u8;

    private bool HasWriter()
    {
        foreach (var client in _clients)
            if (!client.ReadOnly) return true;
        return false;
    }

    /// <summary>Replays the screen to clients that fell behind and whose queues have drained (each sampling tick).</summary>
    public void CatchUp()
    {
        if (Volatile.Read(ref _clients).Length == 0) return;
        lock (_gate)
        {
            foreach (var client in _clients)
                if (client.Behind) CatchUp(client);
        }
    }

    /// <summary>
    /// Attaches <paramref name="sink"/>: a writable client's window size (when given) becomes the PTY's; then the
    /// size, the replay of the screen with its scrollback, and from then on every byte of output. Its keystrokes go to
    /// the agent unless <paramref name="readOnly"/>. Detaches by itself when the stream closes.
    /// </summary>
    public void Attach(IStreamSink sink, bool readOnly, int? columns, int? rows)
    {
        ArgumentNullException.ThrowIfNull(sink);
        var client = new Client(sink, readOnly);
        lock (_gate)
        {
            if (_ended)
            {
                sink.Complete();
                return;
            }
            if (!readOnly && columns is int c && rows is int r) ApplySize(_sizes.Activate(client, c, r));
            client.Behind = !Replay(client, scrollback: true);
            _clients = [.. _clients, client];
        }
        if (!readOnly) sink.SetInputHandler((data, token) => InputAsync(client, data, token));
        sink.Closed.Register(() => Detach(client));
    }

    /// <summary>A writable client's window changed (read-only clients are ignored).</summary>
    public bool Resize(IStreamSink sink, int columns, int rows)
    {
        lock (_gate)
        {
            var client = Find(sink);
            if (client is null || client.ReadOnly) return false;
            ApplySize(_sizes.Activate(client, columns, rows));
            return true;
        }
    }

    /// <summary>The size the supervisor gives agents nobody writable is attached to (the footer's space).</summary>
    public void SetBaseSize(int columns, int rows)
    {
        lock (_gate) ApplySize(_sizes.SetBase(columns, rows));
    }

    /// <summary>SIGINT (or another signal) to the agent terminal's foreground process group, for a writable client.</summary>
    public bool Signal(IStreamSink sink, int signal)
    {
        lock (_gate)
        {
            if (Find(sink) is not { ReadOnly: false }) return false;
        }
        try
        {
            return _pty.SignalForeground(signal);
        }
        catch (ObjectDisposedException)
        {
            return false; // the run just ended
        }
    }

    /// <summary>Whether <paramref name="sink"/> is attached here.</summary>
    public bool Has(IStreamSink sink)
    {
        lock (_gate) return Find(sink) is not null;
    }

    /// <summary>
    /// The agent's run is over and every byte of its output went through <see cref="OnOutput"/>: each client gets the
    /// exit frame and the end of its stream.
    /// </summary>
    public void Exited(int? exitCode, int? signal)
    {
        Client[] clients;
        lock (_gate)
        {
            _ended = true;
            clients = _clients;
            _clients = [];
        }
        Span<byte> frame = stackalloc byte[9];
        frame[0] = ExitFrame;
        BinaryPrimitives.WriteInt32BigEndian(frame[1..], exitCode ?? -1);
        BinaryPrimitives.WriteInt32BigEndian(frame[5..], signal ?? -1);
        foreach (var client in clients)
        {
            // A behind client gets the final screen first, so it ends where the agent ended.
            if (client.Behind) lock (_gate) Replay(client, scrollback: false);
            client.Sink.TryWrite(frame);
            client.Sink.Complete();
        }
        _input?.Writer.TryComplete();
    }

    private Client? Find(IStreamSink sink)
    {
        foreach (var client in _clients)
            if (ReferenceEquals(client.Sink, sink)) return client;
        return null;
    }

    private void Detach(Client client)
    {
        bool focusOut;
        lock (_gate)
        {
            _clients = Array.FindAll(_clients, c => !ReferenceEquals(c, client));
            if (!client.ReadOnly) ApplySize(_sizes.Remove(client));
            // The last person looking left: whatever focus their terminal reported, nobody is looking now.
            focusOut = ReportsFocus && !client.ReadOnly && _screen.FocusEvents && !HasWriter();
        }
        if (focusOut) QueueInput(FocusOut.ToArray());
    }

    private void CatchUp(Client client)
    {
        if (client.Sink.QueuedBytes < CatchUpBelowBytes) client.Behind = !Replay(client, scrollback: false);
    }

    /// <summary>Under the lock: the size, a replay marker and the serialized screen. False when it did not all fit.</summary>
    private bool Replay(Client client, bool scrollback)
    {
        Span<byte> head = stackalloc byte[6];
        WriteSize(head[..5], _screen.Rows, _screen.Columns);
        head[5] = ReplayFrame;
        if (!client.Sink.TryWriteOrSkip(head[..5]) || !client.Sink.TryWriteOrSkip(head[5..])) return false;
        byte[] bytes = ScreenSerializer.Serialize(_screen, scrollback);
        byte[] piece = new byte[Math.Min(bytes.Length, ReplayPiece) + 1];
        piece[0] = OutputFrame;
        for (int at = 0; at < bytes.Length; at += ReplayPiece)
        {
            int n = Math.Min(ReplayPiece, bytes.Length - at);
            bytes.AsSpan(at, n).CopyTo(piece.AsSpan(1));
            if (!client.Sink.TryWriteOrSkip(piece.AsSpan(0, n + 1))) return false;
        }
        return true;
    }

    private static void WriteSize(Span<byte> frame, int rows, int columns)
    {
        frame[0] = SizeFrame;
        BinaryPrimitives.WriteUInt16BigEndian(frame[1..], (ushort)rows);
        BinaryPrimitives.WriteUInt16BigEndian(frame[3..], (ushort)columns);
    }

    /// <summary>Under the lock: resizes the model and the PTY when the size changed, and tells every client.</summary>
    private void ApplySize((int Columns, int Rows)? size)
    {
        if (size is not var (columns, rows) || (columns == _screen.Columns && rows == _screen.Rows) || _ended) return;
        _screen.Resize(rows, columns);
        try
        {
            _pty.Resize(columns, rows);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The agent is exiting: its terminal is gone, nothing to resize.
        }
        Span<byte> frame = stackalloc byte[5];
        WriteSize(frame, rows, columns);
        foreach (var client in _clients)
            if (!client.Behind && !client.Sink.TryWriteOrSkip(frame)) client.Behind = true;
    }

    private async ValueTask InputAsync(Client client, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        Typed?.Invoke();
        // Typing makes this client the active one: its window size is the agent's again (tmux: the latest client).
        lock (_gate)
        {
            if (_sizes.Touch(client) is { } size) ApplySize(size);
        }
        var channel = InputChannel();
        var rest = WriteOrQueue(channel, data.Span);
        if (rest.IsEmpty) return;
        try
        {
            // The agent is not reading its input: this client waits (its frames are read no faster), nobody else does.
            await channel.Writer.WriteAsync(rest.ToArray(), cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            // The run ended while the keystrokes waited.
        }
    }

    private bool QueueInput(byte[] data) => WriteOrQueue(InputChannel(), data).IsEmpty;

    /// <summary>
    /// Writes <paramref name="data"/> to the PTY at once, on this thread, when nothing waits in the queue before it and
    /// the writer is not writing (a keystroke's echo then costs no thread wake-up: tmux writes a key to the pane in
    /// the server's event loop that read it), queueing what the terminal did not take; or queues it all. Returns what
    /// could be neither written nor queued (the queue is full).
    /// </summary>
    private ReadOnlySpan<byte> WriteOrQueue(Channel<byte[]> channel, ReadOnlySpan<byte> data)
    {
        if (channel.Reader.Count == 0 && _inputWrite.TryEnter())
        {
            try
            {
                // Under the writer's lock, an empty queue means nothing typed earlier is still on its way.
                if (channel.Reader.Count == 0)
                {
                    try
                    {
                        data = data[_pty.TryWrite(data)..];
                    }
                    catch (Exception e) when (e is IOException or ObjectDisposedException)
                    {
                        return []; // the terminal closed (the agent is gone): nobody would read it
                    }
                    if (data.IsEmpty) return [];
                }
                // Queued while the lock is held, so input arriving meanwhile goes after it.
                return channel.Writer.TryWrite(data.ToArray()) ? [] : data;
            }
            finally
            {
                _inputWrite.Exit();
            }
        }
        return channel.Writer.TryWrite(data.ToArray()) ? [] : data;
    }

    /// <summary>How long <see cref="Type"/> waits between the text and its Enter (field notes: about 300 ms is safe for
    /// Claude Code and Codex, which take an Enter arriving with the text as part of a paste).</summary>
    internal static readonly TimeSpan EnterDelay = TimeSpan.FromMilliseconds(300);

    /// <summary>
    /// Types <paramref name="text"/> into the agent, as a bracketed paste when its program turned them on (mode 2004,
    /// read from the screen model) so that a TUI takes newlines in it as text, then Enter on its own after
    /// <see cref="EnterDelay"/>. Queued behind what attached clients typed; never waits.
    /// </summary>
    public void Type(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        bool bracketed;
        lock (_gate) bracketed = _screen.BracketedPaste;
        // A paste must not end the paste itself early: the terminator inside the text is dropped (xterm does the same
        // for pasted text, "Bracketed Paste Mode" in ctlseqs).
        string body = text.Replace("\u001b[201~", "", StringComparison.Ordinal);
        var bytes = System.Text.Encoding.UTF8.GetBytes(bracketed ? "\u001b[200~" + body + "\u001b[201~" : body);
        QueueInput(bytes);
        _ = EnterLaterAsync();

        async Task EnterLaterAsync()
        {
            await Task.Delay(EnterDelay).ConfigureAwait(false);
            // False when the run ended meanwhile: nobody reads the Enter.
            QueueInput("\r"u8.ToArray());
        }
    }

    private bool IsCanonical()
    {
        try
        {
            return _pty.IsCanonical();
        }
        catch (ObjectDisposedException)
        {
            return true; // the run is over: nobody reads an answer
        }
    }

    /// <summary>The agent's input queue, and its writer, started at the first input or query answer.</summary>
    private Channel<byte[]> InputChannel()
    {
        if (Volatile.Read(ref _input) is { } existing) return existing;
        var channel = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(1024) { SingleReader = true });
        if (Interlocked.CompareExchange(ref _input, channel, null) is { } raced) return raced;
        _ = Task.Run(() => WriteInputAsync(channel.Reader));
        return channel;
    }

    private async Task WriteInputAsync(ChannelReader<byte[]> reader)
    {
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            // Taken and written under the lock, so a direct write (WriteOrQueue) never overtakes what is queued.
            lock (_inputWrite)
            {
                try
                {
                    // Blocks while the PTY's input queue is full (the agent reads no input): only this writer waits.
                    while (reader.TryRead(out var data)) _pty.Write(data);
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException)
                {
                    // The terminal closed (the agent is gone): what was typed has nobody to read it.
                    return;
                }
            }
        }
    }

    private sealed class Client(IStreamSink sink, bool readOnly)
    {
        public IStreamSink Sink { get; } = sink;
        public bool ReadOnly { get; } = readOnly;
        public bool Behind { get; set; }
    }
}

/// <summary>
/// Which window size an agent's terminal has while clients attach (pure; <see cref="AgentTerminal"/> holds it under its
/// lock): the most recently active writable client's, the previous one's when it goes, the last one's after all left,
/// until the base size (the supervisor's) changes.
/// Each method returns the size to apply now, or null when it did not change.
/// </summary>
internal sealed class TerminalSizes(int columns, int rows)
{
    private readonly List<(object Client, int Columns, int Rows)> _active = []; // least recently active first
    private (int Columns, int Rows) _base = (columns, rows);

    /// <summary>The size the terminal should have now.</summary>
    public (int Columns, int Rows) Current => _active.Count == 0 ? _base : (_active[^1].Columns, _active[^1].Rows);

    /// <summary><paramref name="client"/> attached or resized, with this window: it becomes the most recently active.</summary>
    public (int Columns, int Rows)? Activate(object client, int columns, int rows)
    {
        var before = Current;
        int index = _active.FindIndex(a => ReferenceEquals(a.Client, client));
        if (index >= 0) _active.RemoveAt(index);
        _active.Add((client, Math.Clamp(columns, 1, ushort.MaxValue), Math.Clamp(rows, 1, ushort.MaxValue)));
        return Changed(before);
    }

    /// <summary><paramref name="client"/> typed: it becomes the most recently active, with the size it gave last.</summary>
    public (int Columns, int Rows)? Touch(object client)
    {
        int index = _active.FindIndex(a => ReferenceEquals(a.Client, client));
        if (index < 0 || index == _active.Count - 1) return null;
        var before = Current;
        var entry = _active[index];
        _active.RemoveAt(index);
        _active.Add(entry);
        return Changed(before);
    }

    /// <summary>
    /// <paramref name="client"/> detached. The last writable client leaving keeps its size, as tmux keeps a window's
    /// size after the last client detaches: a full-screen program is not made to redraw for nobody (and lose what only
    /// its first drawing showed, such as vi's file message) until the supervisor's own size changes.
    /// </summary>
    public (int Columns, int Rows)? Remove(object client)
    {
        var before = Current;
        _active.RemoveAll(a => ReferenceEquals(a.Client, client));
        if (_active.Count == 0) _base = before;
        return Changed(before);
    }

    /// <summary>The size without writable clients changed.</summary>
    public (int Columns, int Rows)? SetBase(int columns, int rows)
    {
        var before = Current;
        _base = (Math.Max(1, columns), Math.Max(1, rows));
        return Changed(before);
    }

    private (int Columns, int Rows)? Changed((int Columns, int Rows) before) => Current == before ? null : Current;
}
