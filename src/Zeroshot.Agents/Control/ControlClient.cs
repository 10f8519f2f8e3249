using System.Buffers;
using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;

namespace Zeroshot.Agents.Control;

/// <summary>
/// A connection to a supervisor's control socket (PROTOCOL.md): performs the hello on connect, then multiplexes
/// requests (by id) and subscriptions (by client-chosen stream id) over the one connection. Thread-safe.
/// </summary>
internal sealed class ControlClient : IAsyncDisposable
{
    /// <summary>Largest JSON message accepted from the server (a big status document is fine).</summary>
    private static readonly FrameLimits Limits = new(16 << 20, ControlProtocol.MaxDataFrameBytes);

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly CancellationTokenSource _disposing = new();
    private readonly ConcurrentDictionary<long, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly ConcurrentDictionary<uint, ControlSubscription> _subscriptions = new();
    private readonly Task _readLoop;
    private Exception? _fault;
    private long _nextId;
    private int _nextStreamId;
    private int _disposed;

    private ControlClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        _readLoop = StartReading();
    }

    /// <summary>The negotiated protocol version.</summary>
    public int ProtocolVersion { get; private set; }

    /// <summary>The server's version string.</summary>
    public string ServerVersion { get; private set; } = "";

    /// <summary>The cluster the supervisor controls.</summary>
    public string ClusterId { get; private set; } = "";

    /// <summary>The supervisor's pid.</summary>
    public int ServerPid { get; private set; }

    /// <summary>Completes when the connection is gone (server closed it, a protocol error, or disposal).</summary>
    public Task Completion => _readLoop;

    /// <summary>Connects to <paramref name="socketPath"/> and performs the hello.</summary>
    /// <exception cref="ControlUnavailableException">No supervisor answers there: the cluster is not running.</exception>
    /// <exception cref="ControlErrorException">The supervisor refused (e.g. code "forbidden", "unsupported-version").</exception>
    public static Task<ControlClient> ConnectAsync(string socketPath, CancellationToken cancellationToken = default) =>
        ConnectAsync(socketPath, DefaultHelloTimeout, cancellationToken);

    /// <summary>Connects and performs the hello, waiting at most <paramref name="helloTimeout"/> for its answer.</summary>
    internal static Task<ControlClient> ConnectAsync(string socketPath, TimeSpan helloTimeout, CancellationToken cancellationToken) =>
        ConnectAsync(socketPath, helloTimeout, ConnectBackoff.DefaultBudget, TimeProvider.System, cancellationToken);

    /// <summary>
    /// Connects (trying again while the server's listen backlog is full, for at most <paramref name="retryBudget"/>
    /// measured on <paramref name="time"/>; see <see cref="ConnectBackoff"/>) and performs the hello.
    /// </summary>
    internal static async Task<ControlClient> ConnectAsync(string socketPath, TimeSpan helloTimeout, TimeSpan retryBudget, TimeProvider time,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(time);
        RuntimeDirectory.CheckSunPathLength(socketPath);
        RuntimeDirectory.CheckForClient(socketPath);
        long started = time.GetTimestamp();
        Socket socket;
        for (int attempt = 0; ; attempt++)
        {
            socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (SocketException e)
            {
                socket.Dispose();
                if (ConnectBackoff.IsTransient(e.SocketErrorCode)
                    && ConnectBackoff.Next(attempt, time.GetElapsedTime(started), retryBudget, Random.Shared.NextDouble()) is { } pause)
                {
                    await Task.Delay(pause, time, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                string why = e.SocketErrorCode switch
                {
                    SocketError.ConnectionRefused => "the socket is stale",
                    SocketError.AddressNotAvailable or SocketError.AddressFamilyNotSupported => "no socket",
                    _ when ConnectBackoff.IsTransient(e.SocketErrorCode) => $"{e.Message}, still after {time.GetElapsedTime(started).TotalSeconds:0.#} s",
                    _ => e.Message,
                };
                throw new ControlUnavailableException($"no supervisor answers on {socketPath} ({why})", e);
            }
        }
        try
        {
            CheckServerIsUs(socket, socketPath);
        }
        catch (UserErrorException)
        {
            socket.Dispose();
            throw;
        }
        var client = new ControlClient(socket);
        // A supervisor that accepts but never answers (hung, or not a supervisor at all) must not hang the CLI.
        using var helloCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        helloCts.CancelAfter(helloTimeout);
        try
        {
            var hello = await client.RequestAsync(ControlProtocol.Hello, w =>
            {
                w.WriteStartArray("versions");
                for (int v = 1; v <= ControlProtocol.Version; v++) w.WriteNumberValue(v);
                w.WriteEndArray();
            }, helloCts.Token).ConfigureAwait(false);
            client.ProtocolVersion = hello.GetProperty("protocol").GetInt32();
            client.ServerVersion = hello.GetProperty("server").GetString() ?? "";
            client.ClusterId = hello.GetProperty("cluster").GetString() ?? "";
            client.ServerPid = hello.GetProperty("pid").GetInt32();
            return client;
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw new InvalidDataException($"the supervisor on {socketPath} sent a malformed hello response", e);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw new ControlUnavailableException($"the supervisor on {socketPath} did not answer within {helloTimeout.TotalSeconds:0.#} s");
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Whoever listens on the socket must run as this user: the server checks its clients the same way. SO_PEERCRED
    /// gives the listener's credentials as of its listen(2), which it cannot forge (socket(7), unix(7)); a socket
    /// planted by another user (in a directory swapped while nobody looked) is refused before a byte is sent to it.
    /// </summary>
    private static void CheckServerIsUs(Socket socket, string socketPath)
    {
        var (pid, uid, _) = ControlNative.PeerCredentials(socket);
        if (uid != ControlNative.EffectiveUid)
            throw new UserErrorException(
                $"refusing the supervisor on {socketPath}: it runs as uid {uid} (pid {pid}), not as you (uid {ControlNative.EffectiveUid}); " +
                "another user may be impersonating it");
    }

    /// <summary>
    /// True for the failures that mean "no supervisor to talk to" (not running, gone mid-request, refused, or speaking
    /// nonsense): callers fall back to the state database or the logs.
    /// </summary>
    public static bool IsUnavailable(Exception e) =>
        e is ControlUnavailableException or IOException or ControlErrorException or InvalidDataException or System.Text.Json.JsonException;

    /// <summary>How long <see cref="ConnectAsync(string, CancellationToken)"/> waits for the hello response.</summary>
    internal static readonly TimeSpan DefaultHelloTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Sends request <paramref name="type"/> with extra fields written by <paramref name="fields"/> (property
    /// writes inside the message object) and returns the response's "result".
    /// </summary>
    /// <exception cref="ControlErrorException">The server answered with an error.</exception>
    /// <exception cref="IOException">The connection is gone.</exception>
    public async Task<JsonElement> RequestAsync(string type, Action<Utf8JsonWriter>? fields = null, CancellationToken cancellationToken = default)
    {
        long id = Interlocked.Increment(ref _nextId);
        var response = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = response;
        if (Volatile.Read(ref _fault) is { } fault)
        {
            _pending.TryRemove(id, out _);
            throw Rethrowable(fault);
        }
        try
        {
            await SendAsync(ControlProtocol.MessageFrame(id, type, fields, ProtocolVersion == 0 ? ControlProtocol.Version : ProtocolVersion), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _pending.TryRemove(id, out _);
            throw;
        }
        using var registration = cancellationToken.Register(() =>
        {
            if (_pending.TryRemove(id, out var pending)) pending.TrySetCanceled(cancellationToken);
        });
        return await response.Task.ConfigureAwait(false);
    }

    /// <summary>
    /// Subscribes to <paramref name="stream"/> ("output", later "snapshots", "attach"); <paramref name="args"/>
    /// writes the "args" value (one JSON object). Data arrives on the returned subscription in order.
    /// </summary>
    /// <param name="stream">The stream name.</param>
    /// <param name="args">Writes the stream's arguments object, or null for none.</param>
    /// <param name="capacity">Frames buffered client-side before the connection stops reading (backpressure).</param>
    /// <param name="cancellationToken">Cancels waiting for the server's answer.</param>
    /// <param name="inline">The reader's continuation runs on the connection's read loop, as each frame arrives, instead of
    /// on a thread-pool thread woken for it: for a reader that does little per frame and must not block (a few
    /// messages a second each cost one wake-up, not three); it must not wait for this connection.</param>
    public async Task<ControlSubscription> SubscribeAsync(string stream, Action<Utf8JsonWriter>? args = null, int capacity = 256,
        CancellationToken cancellationToken = default, bool inline = false)
    {
        uint streamId = (uint)Interlocked.Increment(ref _nextStreamId);
        var subscription = new ControlSubscription(this, streamId, capacity, inline);
        // Registered before asking: the server may push data before its response arrives.
        _subscriptions[streamId] = subscription;
        try
        {
            subscription.Result = await RequestAsync(ControlProtocol.Subscribe, w =>
            {
                w.WriteNumber("streamId", streamId);
                w.WriteString("stream", stream);
                if (args != null)
                {
                    w.WritePropertyName("args");
                    args(w);
                }
            }, cancellationToken).ConfigureAwait(false);
            return subscription;
        }
        catch
        {
            _subscriptions.TryRemove(streamId, out _);
            throw;
        }
    }

    /// <summary>Sends bytes to the server on a stream (attach input); discarded by streams that take no input.</summary>
    public ValueTask SendDataAsync(uint streamId, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        SendAsync(FrameWriter.DataFrame(streamId, data.Span), cancellationToken);

    internal async Task UnsubscribeAsync(ControlSubscription subscription)
    {
        _subscriptions.TryRemove(subscription.StreamId, out _);
        if (Volatile.Read(ref _fault) != null) return;
        try
        {
            await RequestAsync(ControlProtocol.Unsubscribe, w => w.WriteNumber("streamId", subscription.StreamId)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ControlErrorException or ObjectDisposedException)
        {
            // the connection is going anyway
        }
    }

    private async ValueTask SendAsync(byte[] frame, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Not cancellable once started: a frame cut in half would corrupt the connection for everyone.
            await _stream.WriteAsync(frame, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // The server may have closed after telling us why (a refusal): prefer its reason to EPIPE.
            await Task.WhenAny(_readLoop, Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None)).ConfigureAwait(false);
            if (Volatile.Read(ref _fault) is ControlErrorException refusal) throw Rethrowable(refusal);
            throw new IOException($"lost the control connection: {e.Message}", e);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Reads on a thread of its own (<see cref="SocketFrameSource"/>): an attached agent's echo then wakes this one
    /// thread, which hands it to an inline subscriber, instead of the socket engine's epoll thread and a pool worker.
    /// </summary>
    private Task StartReading() => SocketFrameSource.RunOnOwnThread("zeroshot control client reader", ReadLoop);

    private bool ReadLoop()
    {
        var source = new SocketFrameSource(_socket, Limits);
        Exception fault;
        try
        {
            while (source.Next(-1, out var frame) == SocketFrameSource.Result.Frame)
            {
                var handled = HandleFrameAsync(frame);
                // Waited for here: a subscriber whose buffer is full stops this connection's reading (backpressure).
                if (!handled.IsCompletedSuccessfully) handled.AsTask().GetAwaiter().GetResult();
            }
            fault = new IOException("the supervisor closed the control connection");
        }
        catch (Exception e)
        {
            fault = e;
        }
        // Disposal shuts the socket down, which reads as the end of the stream.
        if (_disposing.IsCancellationRequested) fault = new ObjectDisposedException(nameof(ControlClient));
        // A server "error" message that preceded the close is the better explanation.
        fault = Interlocked.CompareExchange(ref _fault, fault, null) ?? fault;
        foreach (var id in _pending.Keys)
            if (_pending.TryRemove(id, out var pending)) pending.TrySetException(Rethrowable(fault));
        foreach (var subscription in _subscriptions.Values) subscription.End(fault);
        _subscriptions.Clear();
        return true;
    }

    private async ValueTask HandleFrameAsync(Frame frame)
    {
        if (frame.Type == FrameType.Data)
        {
            if (_subscriptions.TryGetValue(frame.StreamId, out var subscription))
                await subscription.DeliverAsync(frame.Payload.ToArray(), _disposing.Token).ConfigureAwait(false);
            return;
        }
        using var document = ControlProtocol.Parse(frame.Payload);
        var root = document.RootElement;
        var (_, id, type) = ControlProtocol.ReadEnvelope(root);
        switch (type)
        {
            case ControlProtocol.Response:
                if (!_pending.TryRemove(id, out var pending)) return; // cancelled meanwhile
                if (root.TryGetProperty("ok", out var ok) && ok.ValueKind == JsonValueKind.True)
                    pending.TrySetResult(root.TryGetProperty("result", out var r) ? r.Clone() : default);
                else
                    pending.TrySetException(ControlProtocol.ReadError(root));
                break;
            case ControlProtocol.StreamEnd:
                if (root.TryGetProperty("streamId", out var sid) && sid.TryGetUInt32(out uint streamId)
                    && _subscriptions.TryRemove(streamId, out var ended))
                {
                    string reason = root.TryGetProperty("reason", out var re) && re.ValueKind == JsonValueKind.String ? re.GetString()! : "end";
                    ended.End(reason is ControlProtocol.EndNormal or ControlProtocol.EndUnsubscribed
                        ? null
                        : new ControlErrorException(reason, reason == ControlProtocol.EndSlowConsumer
                            ? $"the supervisor dropped this client from stream {streamId}: it read too slowly"
                            : $"stream {streamId} ended: {reason}"), reason);
                }
                break;
            case ControlProtocol.Error:
                // Fatal: the server closes the connection after this.
                Interlocked.CompareExchange(ref _fault, ControlProtocol.ReadError(root), null);
                break;
            default:
                break; // forward compatibility: newer servers may push message types we do not know
        }
    }

    private static Exception Rethrowable(Exception fault) => fault switch
    {
        ControlErrorException e => new ControlErrorException(e.Code, e.Message),
        ObjectDisposedException => new ObjectDisposedException(nameof(ControlClient)),
        _ => new IOException(fault.Message, fault),
    };

    /// <summary>Closes the connection; pending requests fail and subscriptions end.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _disposing.Cancel();
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // The supervisor already closed the connection (ENOTCONN): nothing left to shut down.
        }
        _socket.Dispose();
        await _readLoop.ConfigureAwait(false);
        _disposing.Dispose();
    }
}

/// <summary>The client side of one subscription: the data frames of one stream, in order.</summary>
internal sealed class ControlSubscription : IAsyncDisposable
{
    private readonly ControlClient _client;
    private readonly Channel<byte[]> _frames;

    internal ControlSubscription(ControlClient client, uint streamId, int capacity, bool inline = false)
    {
        _client = client;
        StreamId = streamId;
        _frames = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleWriter = true,
            AllowSynchronousContinuations = inline,
        });
    }

    /// <summary>The stream id this client chose.</summary>
    public uint StreamId { get; }

    /// <summary>The handler's result for the subscribe request.</summary>
    public JsonElement Result { get; internal set; }

    /// <summary>Why the stream ended ("end", "unsubscribed", "slow-consumer", …); null while it runs.</summary>
    public string? EndReason { get; private set; }

    /// <summary>The data frames; completes at a normal end, faults with <see cref="ControlErrorException"/> when dropped.</summary>
    public ChannelReader<byte[]> Frames => _frames.Reader;

    /// <summary>Each data frame's bytes, in order; throws when the stream ended abnormally (see <see cref="Frames"/>).</summary>
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var frame in _frames.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false)) yield return frame;
    }

    /// <summary>Sends input bytes on this stream (attach keystrokes).</summary>
    public ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        _client.SendDataAsync(StreamId, data, cancellationToken);

    internal async ValueTask DeliverAsync(byte[] data, CancellationToken cancellationToken)
    {
        try
        {
            await _frames.Writer.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            // unsubscribed locally while data was in flight
        }
    }

    internal void End(Exception? error, string? reason = null)
    {
        EndReason ??= reason ?? (error as ControlErrorException)?.Code ?? ControlProtocol.EndClosed;
        _frames.Writer.TryComplete(error);
    }

    /// <summary>Unsubscribes (if the stream still runs) and stops delivery.</summary>
    public async ValueTask DisposeAsync()
    {
        if (EndReason != null) return;
        End(null, ControlProtocol.EndUnsubscribed); // first, so a blocked delivery cannot deadlock the unsubscribe
        await _client.UnsubscribeAsync(this).ConfigureAwait(false);
    }
}
