using System.Collections.Concurrent;
using System.Net.Sockets;

namespace Zeroshot.Agents.Control;

/// <summary>
/// The supervisor's control socket: a Unix stream socket in the user's 0700 runtime directory, mode 0600,
/// serving the framed protocol of PROTOCOL.md to clients of the same uid only (checked per connection with
/// SO_PEERCRED). Requests go to an <see cref="IControlHandler"/>.
/// </summary>
internal sealed class ControlServer : IAsyncDisposable
{
    private const UnixFileMode SocketMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly Socket _listener;
    private readonly ControlServerOptions _options;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<long, (ControlSession Session, Task Run)> _sessions = new();
    private readonly ulong _socketInode;
    private readonly object _shedGate = new();
    private readonly Task _acceptLoop;
    private long _nextSessionId;
    private long _refusedPeers;
    private int _disposed;

    private ControlServer(string socketPath, string clusterId, IControlHandler handler, ControlServerOptions options, Socket listener, ulong inode)
    {
        SocketPath = socketPath;
        ClusterId = clusterId;
        Handler = handler;
        _options = options;
        _listener = listener;
        _socketInode = inode;
        Budget = new OutboundBudget(options.MaxQueuedTotalBytes);
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The bound socket path.</summary>
    public string SocketPath { get; }

    /// <summary>The cluster this server controls (reported by hello).</summary>
    public string ClusterId { get; }

    /// <summary>Where requests go.</summary>
    public IControlHandler Handler { get; }

    /// <summary>Connections refused because the peer's uid was not ours.</summary>
    public long RefusedPeers => Interlocked.Read(ref _refusedPeers);

    /// <summary>The bytes queued to all clients together.</summary>
    internal OutboundBudget Budget { get; }

    /// <summary>
    /// While the clients' queues together hold more than <see cref="ControlServerOptions.MaxQueuedTotalBytes"/>,
    /// disconnects the client with the largest backlog (the slowest reader: one that reads keeps its queue short).
    /// Its queue is freed at once; a <c>logs -f</c> client reads the rest from the log. Called after each append, on
    /// the appending thread; the common case is one read of a counter.
    /// </summary>
    internal void KeepWithinBudget()
    {
        if (!Budget.Exceeded) return;
        lock (_shedGate)
        {
            while (Budget.Exceeded)
            {
                ControlSession? largest = null;
                long most = 0;
                foreach (var (session, _) in _sessions.Values)
                {
                    long queued = session.QueuedBytes;
                    if (queued > most && !session.IsClosed) (largest, most) = (session, queued);
                }
                if (largest is null) return;
                Raise(new ControlServerEvent(ControlServerEventKind.StreamDropped, largest.Id, largest.PeerPid, largest.PeerUid,
                    $"the clients' queues passed {Budget.Limit >> 20} MiB together: this one had the largest backlog ({most} bytes)"));
                largest.Abort($"disconnected: its backlog ({most} bytes) was the largest when all clients' queues passed {Budget.Limit >> 20} MiB");
            }
        }
    }

    /// <summary>Connections currently open.</summary>
    public int ActiveSessions => _sessions.Count;

    /// <summary>
    /// Serves cluster <paramref name="clusterId"/> at <c>&lt;runtime dir&gt;/&lt;clusterId&gt;.sock</c>, creating and
    /// verifying the runtime directory (see <see cref="RuntimeDirectory"/>).
    /// </summary>
    /// <exception cref="UserErrorException">Unsafe directory, path too long, or a live supervisor already serves the cluster.</exception>
    public static ControlServer Start(string clusterId, IControlHandler handler, ControlServerOptions? options = null)
    {
        options ??= new ControlServerOptions();
        string directory = RuntimeDirectory.EnsureSecure(options.RuntimeDirectory ?? RuntimeDirectory.DefaultPath());
        return Bind(RuntimeDirectory.SocketPath(directory, clusterId), clusterId, handler, options, SocketMode);
    }

    /// <summary>
    /// TEST ONLY: binds at an explicit path without the directory checks, with an explicit socket mode — so a
    /// test can let another uid reach connect(2) and prove the SO_PEERCRED check refuses it.
    /// </summary>
    internal static ControlServer StartAtPathForTesting(string socketPath, string clusterId, IControlHandler handler,
        ControlServerOptions? options = null, UnixFileMode socketMode = SocketMode) =>
        Bind(socketPath, clusterId, handler, options ?? new ControlServerOptions(), socketMode);

    private static ControlServer Bind(string path, string clusterId, IControlHandler handler, ControlServerOptions options, UnixFileMode mode)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("control sockets need Linux (SO_PEERCRED)");
        RuntimeDirectory.CheckSunPathLength(path);
        if (options.MaxQueuedDataBytes < ControlProtocol.MaxDataFrameBytes + FrameWriter.DataHeaderSize)
            throw new ArgumentException("MaxQueuedDataBytes must hold at least one full data frame", nameof(options));
        RemoveStaleSocket(path, clusterId);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(path));
            // The 0700 directory already keeps others out; 0600 on the socket is the second lock (unix(7): connect
            // needs write permission on the socket file).
            File.SetUnixFileMode(path, mode);
            listener.Listen(64);
            ulong inode = ControlNative.LStat(path)?.Inode ?? 0;
            return new ControlServer(path, clusterId, handler, options, listener, inode);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            listener.Dispose();
            throw new UserErrorException($"cluster {clusterId}: another supervisor bound {path} at the same moment");
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
        {
            listener.Dispose();
            throw new UserErrorException($"cannot serve the control socket {path}: {e.Message}");
        }
    }

    /// <summary>
    /// A socket file left by a supervisor that died without cleaning up refuses connections (ECONNREFUSED) and is
    /// replaced; one that answers belongs to a live supervisor, and we must not steal its cluster.
    /// </summary>
    private static void RemoveStaleSocket(string path, string clusterId)
    {
        var status = ControlNative.LStat(path);
        if (status is null) return;
        if (status.Value.Type != ControlNative.SIfSock)
            throw new UserErrorException($"cannot serve the control socket {path}: a file that is not a socket is in the way; remove it");
        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(path));
                throw new UserErrorException($"cluster {clusterId} already has a running supervisor (its control socket {path} answers)");
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
            {
                // stale: fall through and remove it
            }
        }
        File.Delete(path);
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                if (_stopping.IsCancellationRequested) return;
                // EMFILE and friends: back off briefly instead of spinning; the listener stays up.
                try { await Task.Delay(50, _stopping.Token).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
                continue;
            }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(Socket client)
    {
        long id = Interlocked.Increment(ref _nextSessionId);
        int pid;
        uint uid;
        try
        {
            (pid, uid, _) = ControlNative.PeerCredentials(client);
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
        {
            client.Dispose();
            return;
        }
        if (uid != _options.AllowedUid)
        {
            // Root is no exception: the control socket lets a client stop, kill and type into agents, which is the
            // owner's business only. (Root can still do anything to the processes directly; that is not our door.)
            Interlocked.Increment(ref _refusedPeers);
            Raise(new ControlServerEvent(ControlServerEventKind.PeerRefused, id, pid, uid,
                $"refused pid {pid}: uid {uid} is not the supervisor's uid {_options.AllowedUid}"));
            await RefuseAsync(client, uid).ConfigureAwait(false);
            return;
        }
        var session = new ControlSession(this, _options, client, id, pid, uid);
        var run = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _sessions[id] = (session, run.Task);
        Raise(new ControlServerEvent(ControlServerEventKind.Connected, id, pid, uid, "connected"));
        if (_stopping.IsCancellationRequested) session.Abort("server stopping");
        await session.RunAsync().ConfigureAwait(false);
        run.TrySetResult();
    }

    private async Task RefuseAsync(Socket client, uint uid)
    {
        byte[] frame = ControlProtocol.MessageFrame(0, ControlProtocol.Error, w => ControlProtocol.WriteError(w, "forbidden",
            $"uid {uid} may not use this supervisor's control socket (owner uid {_options.AllowedUid})"));
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await client.SendAsync(frame, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            client.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // best effort: closing is the refusal that matters
        }
        finally
        {
            client.Dispose();
        }
    }

    internal void OnSessionClosed(ControlSession session, string reason)
    {
        _sessions.TryRemove(session.Id, out _);
        Raise(new ControlServerEvent(ControlServerEventKind.Closed, session.Id, session.PeerPid, session.PeerUid, reason));
    }

    internal void Raise(ControlServerEvent e)
    {
        try
        {
            _options.OnEvent?.Invoke(e);
        }
        catch (Exception)
        {
            // An observer's bug must not take a client connection down with it.
        }
    }

    /// <summary>Stops accepting, closes every client, and removes the socket file if it is still ours.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _stopping.Cancel();
        _listener.Dispose();
        await _acceptLoop.ConfigureAwait(false);
        var running = new List<Task>();
        foreach (var (session, run) in _sessions.Values)
        {
            session.Abort("server stopped");
            running.Add(run);
        }
        await Task.WhenAll(running).ConfigureAwait(false);
        // Only unlink what we bound: a successor supervisor may have replaced the file. (Socket.Dispose above also
        // unlinks the path it bound, by name, so this is a best effort that mostly finds the file already gone.)
        if (ControlNative.LStat(SocketPath) is { } status && status.Inode == _socketInode)
        {
            try { File.Delete(SocketPath); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        _stopping.Dispose();
    }
}
