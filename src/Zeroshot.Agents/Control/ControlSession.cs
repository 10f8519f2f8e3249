using System.Buffers;
using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text.Json;

namespace Zeroshot.Agents.Control;

/// <summary>
/// One accepted client connection of a <see cref="ControlServer"/>: a read loop that decodes frames and dispatches
/// requests, and a write loop that drains a bounded outbound queue. Every failure here closes this client only.
/// </summary>
internal sealed class ControlSession
{
    private readonly ControlServer _server;
    private readonly ControlServerOptions _options;
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly OutboundQueue _outbound;
    private readonly CancellationTokenSource _closing = new();
    private readonly ConcurrentDictionary<uint, StreamSink> _streams = new();
    private TaskCompletionSource _space = NewSpaceSignal();
    private int _spaceWaiters;
    private int _closed;

    internal ControlSession(ControlServer server, ControlServerOptions options, Socket socket, long id, int peerPid, uint peerUid)
    {
        _server = server;
        _options = options;
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        _outbound = new OutboundQueue(server.Budget) { SendNow = bytes => ControlNative.SendNoWait(socket, bytes) };
        Id = id;
        PeerPid = peerPid;
        PeerUid = peerUid;
    }

    /// <summary>Server-local connection number.</summary>
    public long Id { get; }

    /// <summary>The client's pid at connect time (SO_PEERCRED).</summary>
    public int PeerPid { get; }

    /// <summary>The client's uid (always the server's effective uid: others are refused).</summary>
    public uint PeerUid { get; }

    /// <summary>The negotiated protocol version; 0 before the hello.</summary>
    public int ProtocolVersion { get; private set; }

    /// <summary>The "v" of the messages this server sends: the negotiated version, or its newest before the hello.</summary>
    internal int OutVersion => ProtocolVersion == 0 ? ControlProtocol.Version : ProtocolVersion;

    /// <summary>Cancelled when the connection closes.</summary>
    public CancellationToken Closing => _closing.Token;

    /// <summary>Why the connection closed, once it has.</summary>
    public string? CloseReason { get; private set; }

    private static TaskCompletionSource NewSpaceSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Runs the connection to its end; never throws.</summary>
    internal async Task RunAsync()
    {
        Task writer = WriteLoopAsync();
        string reason;
        try
        {
            reason = await StartReading().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // A handler's input callback threw, or something unforeseen: this client goes, the server stays.
            reason = $"internal error: {e.GetType().Name}: {e.Message}";
        }
        // Let queued responses and a final error frame go out (the write loop has its own stall timeout).
        _outbound.Complete();
        await writer.ConfigureAwait(false);
        Abort(reason);
    }

    /// <summary>Closes the connection now, discarding anything still queued. Idempotent.</summary>
    internal void Abort(string reason)
    {
        if (Interlocked.Exchange(ref _closed, 1) == 1) return;
        CloseReason = reason;
        _outbound.Discard();
        try
        {
            _closing.Cancel();
        }
        catch (AggregateException)
        {
            // a handler's cancellation callback threw; the connection closes regardless
        }
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The peer already went away (ENOTCONN) or the socket is closed: nothing left to shut down.
        }
        _socket.Dispose();
        foreach (var sink in _streams.Values) sink.End(null);
        _space.TrySetResult();
        _server.OnSessionClosed(this, reason);
    }

    // ---- reading ----

    /// <summary>
    /// Reads on a thread of its own (<see cref="SocketFrameSource"/>): a keystroke for an attached agent then wakes this
    /// one thread, which writes it to the agent's terminal, instead of the socket engine's epoll thread and a pool worker.
    /// </summary>
    private Task<string> StartReading() => SocketFrameSource.RunOnOwnThread("zeroshot control reader", ReadLoop);

    private string ReadLoop()
    {
        var source = new SocketFrameSource(_socket, new FrameLimits(_options.MaxJsonMessageBytes, _options.MaxInboundDataBytes));
        int stallMs = (int)Math.Min(int.MaxValue, _options.StallTimeout.TotalMilliseconds);
        try
        {
            while (true)
            {
                // Idle between frames is fine (a `logs -f` client only listens); silence inside a frame or before
                // the hello is a stalled or hostile client holding a connection and a buffer.
                bool midFrame = source.MidFrame;
                SocketFrameSource.Result result;
                Frame frame;
                try
                {
                    result = source.Next(midFrame || ProtocolVersion == 0 ? stallMs : -1, out frame);
                }
                catch (InvalidDataException e)
                {
                    SendFatal(0, "bad-frame", e.Message);
                    return $"bad frame: {e.Message}";
                }
                if (result == SocketFrameSource.Result.Closed) return CloseReason ?? "client closed the connection";
                if (result == SocketFrameSource.Result.TimedOut)
                {
                    string what = source.MidFrame ? "in the middle of a frame" : "before the hello";
                    SendFatal(0, "stalled", $"no data for {_options.StallTimeout.TotalSeconds:0.#} s {what}");
                    return $"stalled {what}";
                }
                string? fatal;
                try
                {
                    var handled = HandleFrameAsync(frame);
                    // Waited for here: the frame's bytes live in the reader's buffer, and a slow input handler holds
                    // the client back (the socket fills and its writes wait), which is the backpressure wanted.
                    fatal = handled.IsCompletedSuccessfully ? handled.Result : handled.AsTask().GetAwaiter().GetResult();
                }
                catch (InvalidDataException e)
                {
                    SendFatal(0, "bad-frame", e.Message);
                    return $"bad frame: {e.Message}";
                }
                if (fatal != null) return fatal;
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            return CloseReason ?? $"read failed: {e.Message}";
        }
    }

    /// <summary>Handles one frame; returns a close reason when the connection must end.</summary>
    private async ValueTask<string?> HandleFrameAsync(Frame frame)
    {
        if (frame.Type == FrameType.Data)
        {
            if (ProtocolVersion == 0) throw new InvalidDataException("data frame before the hello");
            if (!_streams.TryGetValue(frame.StreamId, out var sink) || sink.Input is not { } input) return null; // discarded (PROTOCOL.md)
            int length = (int)frame.Payload.Length;
            byte[] copy = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
            try
            {
                frame.Payload.CopyTo(copy);
                await input(copy.AsMemory(0, length), sink.Closed).ConfigureAwait(false);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(copy);
            }
            return null;
        }

        // A copy: JsonDocument.Parse(ReadOnlySequence) reads the caller's memory for the document's whole life (its docs:
        // "the caller must ensure that the data therein does not change"), and requests are handed off to another task
        // while this loop advances the pipe, which reuses that memory for the next frame. Reading the pipe's buffer, a
        // subscribe handed off could read the next subscribe's stream id: CI saw "stream id 2 is already in use" when
        // attach sent its two subscribes back to back. Control messages are small and few; data frames are not parsed.
        var document = ControlProtocol.Parse(new ReadOnlySequence<byte>(frame.Payload.ToArray()));
        bool handedOff = false;
        try
        {
            var root = document.RootElement;
            var (version, id, type) = ControlProtocol.ReadEnvelope(root);
            if (ProtocolVersion == 0)
            {
                if (type != ControlProtocol.Hello)
                {
                    SendFatal(id, "hello-required", $"the first message must be a hello, not '{type}'");
                    return "no hello";
                }
                return Hello(id, version, root);
            }
            if (version != ProtocolVersion)
            {
                SendFatal(id, "unsupported-version", $"message version {version} but protocol {ProtocolVersion} was negotiated");
                return $"unsupported message version {version}";
            }
            if (id == 0) throw new InvalidDataException("request id 0 is reserved for server messages");
            switch (type)
            {
                case ControlProtocol.Hello:
                    Respond(id, ControlReply.Error("bad-request", "hello was already done"));
                    break;
                case ControlProtocol.Unsubscribe:
                    if (TryGetStreamId(root, out uint unsubscribed) && _streams.TryGetValue(unsubscribed, out var sink))
                        sink.End(ControlProtocol.EndUnsubscribed);
                    Respond(id, ControlReply.Ok()); // idempotent: the stream may just have ended on its own
                    break;
                case ControlProtocol.Subscribe:
                    handedOff = true;
                    _ = Task.Run(() => SubscribeAsync(document, id));
                    break;
                default:
                    handedOff = true;
                    _ = Task.Run(() => DispatchAsync(document, id, type));
                    break;
            }
            return null;
        }
        finally
        {
            if (!handedOff) document.Dispose();
        }
    }

    private string? Hello(long id, int version, JsonElement root)
    {
        // The client lists the versions it speaks; we take the newest we share. Without a list, the envelope's "v".
        int chosen = 0;
        if (root.TryGetProperty("versions", out var versions) && versions.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in versions.EnumerateArray())
                if (item.TryGetInt32(out int offered) && offered is >= 1 and <= ControlProtocol.Version && offered > chosen) chosen = offered;
        }
        else if (version is >= 1 and <= ControlProtocol.Version) chosen = version;
        if (chosen == 0)
        {
            SendFatal(id, "unsupported-version", $"this supervisor speaks control protocol version 1 to {ControlProtocol.Version} only");
            return "no common protocol version";
        }
        ProtocolVersion = chosen;
        Respond(id, ControlReply.Ok(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("protocol", chosen);
            w.WriteString("server", _options.ServerVersion);
            w.WriteString("cluster", _server.ClusterId);
            w.WriteNumber("pid", Environment.ProcessId);
            w.WriteEndObject();
        }));
        return null;
    }

    private async Task DispatchAsync(JsonDocument document, long id, string type)
    {
        using (document)
        {
            ControlReply reply;
            try
            {
                reply = await _server.Handler.HandleAsync(new ControlRequest(id, type, document.RootElement, this), Closing).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (Closing.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                reply = ControlReply.Error("internal-error", $"{type} failed: {e.Message}");
            }
            Respond(id, reply);
        }
    }

    private async Task SubscribeAsync(JsonDocument document, long id)
    {
        using (document)
        {
            var root = document.RootElement;
            if (!TryGetStreamId(root, out uint streamId) || streamId == 0
                || !root.TryGetProperty("stream", out var nameElement) || nameElement.ValueKind != JsonValueKind.String)
            {
                Respond(id, ControlReply.Error("bad-request", "subscribe needs a \"streamId\" (1..2^32-1) and a \"stream\" name"));
                return;
            }
            var sink = new StreamSink(this, streamId);
            if (!_streams.TryAdd(streamId, sink))
            {
                Respond(id, ControlReply.Error("stream-in-use", $"stream id {streamId} is already in use on this connection"));
                return;
            }
            ControlReply reply;
            try
            {
                reply = await _server.Handler.SubscribeAsync(
                    new ControlRequest(id, ControlProtocol.Subscribe, root, this), nameElement.GetString()!, sink, Closing).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (Closing.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                reply = ControlReply.Error("internal-error", $"subscribe failed: {e.Message}");
            }
            if (!reply.IsOk)
            {
                _streams.TryRemove(streamId, out _);
                sink.End(null);
            }
            Respond(id, reply);
        }
    }

    private static bool TryGetStreamId(JsonElement root, out uint streamId)
    {
        streamId = 0;
        return root.TryGetProperty("streamId", out var element) && element.TryGetUInt32(out streamId);
    }

    // ---- writing ----

    private void Respond(long id, ControlReply reply)
    {
        byte[] frame;
        try
        {
            frame = ControlProtocol.ResponseFrame(id, reply, OutVersion);
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            // The handler produced invalid JSON: a bug, reported to the client instead of corrupting the stream.
            frame = ControlProtocol.ResponseFrame(id, ControlReply.Error("internal-error", $"invalid result JSON: {e.Message}"), OutVersion);
        }
        EnqueueControl(frame);
    }

    private void SendFatal(long id, string code, string message) =>
        EnqueueControl(ControlProtocol.MessageFrame(id, ControlProtocol.Error, w => ControlProtocol.WriteError(w, code, message), OutVersion));

    internal void EnqueueControl(byte[] frame)
    {
        // Control messages may use room beyond the data budget; a client that lets even that fill is not reading.
        if (!_outbound.TryAppendFrame(frame, (long)_options.MaxQueuedDataBytes + _options.MaxQueuedControlBytes) && !_outbound.IsCompleted)
            Abort("the client is not reading its responses");
        else _server.KeepWithinBudget();
    }

    /// <summary>Bytes waiting to be written to this client.</summary>
    internal long QueuedBytes => _outbound.QueuedBytes;

    /// <summary>Queues <paramref name="data"/> as data frames if the whole of it fits the data budget.</summary>
    internal bool TryEnqueueData(uint streamId, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty) return !IsClosed;
        if (!_outbound.TryAppendData(streamId, data, ControlProtocol.MaxDataFrameBytes, _options.MaxQueuedDataBytes)) return false;
        _server.KeepWithinBudget();
        return !IsClosed; // this very client may have been the one shed
    }

    /// <summary>Waits until the write loop frees queue space (or the session closes).</summary>
    internal async ValueTask WaitForSpaceAsync(Task signal, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _spaceWaiters);
        try
        {
            await signal.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _spaceWaiters);
        }
    }

    /// <summary>The task that completes at the next release of queue space; read it BEFORE trying to enqueue.</summary>
    internal Task SpaceSignal => Volatile.Read(ref _space).Task;

    internal bool IsClosed => Volatile.Read(ref _closed) != 0;

    internal void RemoveStream(uint streamId) => _streams.TryRemove(streamId, out _);

    private void Release(OutboundQueue.Segment segment)
    {
        _outbound.Release(segment);
        if (Volatile.Read(ref _spaceWaiters) > 0) Interlocked.Exchange(ref _space, NewSpaceSignal()).TrySetResult();
    }

    private async Task WriteLoopAsync()
    {
        var stall = new CancellationTokenSource();
        try
        {
            while (await _outbound.WaitToReadAsync().ConfigureAwait(false))
            {
                while (_outbound.TryDequeue(out var segment))
                {
                    try
                    {
                        stall = await WriteAsync(segment.Memory, stall).ConfigureAwait(false);
                    }
                    finally
                    {
                        Release(segment);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stall.IsCancellationRequested)
        {
            Abort($"stalled: the client read nothing for {_options.StallTimeout.TotalSeconds:0.#} s");
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            Abort(CloseReason ?? $"write failed: {e.Message}");
        }
        finally
        {
            stall.Dispose();
        }
    }

    /// <summary>
    /// Writes with the stall timeout: a client that stops reading fills the socket buffer and blocks the write;
    /// after the timeout it is disconnected, so it cannot pin memory or a stream forever. Returns the timer to reuse.
    /// </summary>
    private async ValueTask<CancellationTokenSource> WriteAsync(ReadOnlyMemory<byte> bytes, CancellationTokenSource stall)
    {
        stall.CancelAfter(_options.StallTimeout);
        await _stream.WriteAsync(bytes, stall.Token).ConfigureAwait(false);
        if (stall.TryReset()) return stall;
        stall.Dispose(); // the timer fired just as the write completed: start a fresh one
        return new CancellationTokenSource();
    }

    internal void RaiseStreamDropped(uint streamId) =>
        _server.Raise(new ControlServerEvent(ControlServerEventKind.StreamDropped, Id, PeerPid, PeerUid,
            $"stream {streamId}: the client read too slowly"));

    /// <summary>The server side of one subscription.</summary>
    private sealed class StreamSink(ControlSession session, uint streamId) : IStreamSink
    {
        private readonly CancellationTokenSource _closed = new();
        private int _ended;

        public uint StreamId => streamId;

        public ControlSession Session => session;

        public CancellationToken Closed => _closed.Token;

        public Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask>? Input { get; private set; }

        public void SetInputHandler(Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> onInput) => Input = onInput;

        public bool TryWrite(ReadOnlySpan<byte> data)
        {
            if (Volatile.Read(ref _ended) != 0) return false;
            if (session.TryEnqueueData(streamId, data)) return true;
            if (!session.IsClosed)
            {
                session.RaiseStreamDropped(streamId);
                End(ControlProtocol.EndSlowConsumer);
            }
            return false;
        }

        public bool TryWriteOrSkip(ReadOnlySpan<byte> data) => Volatile.Read(ref _ended) == 0 && session.TryEnqueueData(streamId, data);

        public long QueuedBytes => session.QueuedBytes;

        public async ValueTask<bool> WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
        {
            CancellationTokenSource? linked = null; // only allocated when the queue is full and we must wait
            try
            {
                while (!data.IsEmpty)
                {
                    var chunk = data[..Math.Min(ControlProtocol.MaxDataFrameBytes, data.Length)];
                    while (true)
                    {
                        if (Volatile.Read(ref _ended) != 0) return false;
                        var signal = session.SpaceSignal;
                        if (session.TryEnqueueData(streamId, chunk.Span)) break;
                        if (session.IsClosed) return false;
                        linked ??= CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closed.Token);
                        try
                        {
                            await session.WaitForSpaceAsync(signal, linked.Token).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException) when (_closed.IsCancellationRequested)
                        {
                            return false;
                        }
                    }
                    data = data[chunk.Length..];
                }
                return true;
            }
            finally
            {
                linked?.Dispose();
            }
        }

        public void Complete(string reason = ControlProtocol.EndNormal) => End(reason);

        /// <summary>Ends the stream; a null reason ends it silently (the connection is gone or never had it).</summary>
        public void End(string? reason)
        {
            if (Interlocked.Exchange(ref _ended, 1) == 1) return;
            session.RemoveStream(streamId);
            if (reason != null)
                session.EnqueueControl(ControlProtocol.MessageFrame(0, ControlProtocol.StreamEnd, w =>
                {
                    w.WriteNumber("streamId", streamId);
                    w.WriteString("reason", reason);
                }, session.OutVersion));
            _closed.Cancel();
        }
    }
}
