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

    /// <summary>
    /// listen(2) backlog: connections the kernel queues before accept. A full queue makes connect(2) on a Unix socket
    /// fail at once with EAGAIN (clients retry, see <see cref="ConnectBackoff"/>); the kernel caps it at
    /// net.core.somaxconn (4096 by default since Linux 5.4).
    /// </summary>
    internal const int ListenBacklog = 512;

    private readonly ControlServerOptions _options;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<long, (ControlSession Session, Task Run)> _sessions = new();
    private readonly object _shedGate = new();
    private readonly object _listenerGate = new();
    private readonly string? _secureDirectory;
    private readonly UnixFileMode _socketMode;
    private readonly Task _watchLoop;
    private Listener _listener;
    private long _nextSessionId;
    private long _refusedPeers;
    private long _rebinds;
    private int _disposed;

    /// <summary>One bound and listening socket with its accept loop (there is a new one after each re-creation).</summary>
    private sealed record Listener(Socket Socket, ulong Inode, CancellationTokenSource Stop, Task AcceptLoop);

    private ControlServer(string socketPath, string clusterId, IControlHandler handler, ControlServerOptions options, Socket listener, ulong inode,
        string? secureDirectory, UnixFileMode socketMode)
    {
        SocketPath = socketPath;
        ClusterId = clusterId;
        Handler = handler;
        _options = options;
        Budget = new OutboundBudget(options.MaxQueuedTotalBytes);
        _secureDirectory = secureDirectory;
        _socketMode = socketMode;
        _listener = StartListener(listener, inode);
        _watchLoop = options.SocketCheckInterval == Timeout.InfiniteTimeSpan ? Task.CompletedTask : Task.Run(WatchSocketFileAsync);
    }

    private Listener StartListener(Socket socket, ulong inode)
    {
        var stop = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        return new Listener(socket, inode, stop, Task.Run(() => AcceptLoopAsync(socket, stop.Token)));
    }

    /// <summary>Why the socket file could not be bound again at the last try; null when it could.</summary>
    public string? LastRebindError { get; private set; }

    /// <summary>How many times the socket file was found gone or replaced and bound again.</summary>
    public long Rebinds => Interlocked.Read(ref _rebinds);

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
        return Bind(RuntimeDirectory.SocketPath(directory, clusterId), clusterId, handler, options, SocketMode, directory);
    }

    /// <summary>
    /// TEST ONLY: binds at an explicit path without the directory checks, with an explicit socket mode — so a
    /// test can let another uid reach connect(2) and prove the SO_PEERCRED check refuses it.
    /// </summary>
    internal static ControlServer StartAtPathForTesting(string socketPath, string clusterId, IControlHandler handler,
        ControlServerOptions? options = null, UnixFileMode socketMode = SocketMode) =>
        Bind(socketPath, clusterId, handler, options ?? new ControlServerOptions(), socketMode, null);

    private static ControlServer Bind(string path, string clusterId, IControlHandler handler, ControlServerOptions options, UnixFileMode mode,
        string? secureDirectory)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("control sockets need Linux (SO_PEERCRED)");
        RuntimeDirectory.CheckSunPathLength(path);
        if (options.MaxQueuedDataBytes < ControlProtocol.MaxDataFrameBytes + FrameWriter.DataHeaderSize)
            throw new ArgumentException("MaxQueuedDataBytes must hold at least one full data frame", nameof(options));
        RemoveStaleSocket(path, clusterId);
        Socket? listener = null;
        try
        {
            (listener, ulong inode) = Listen(path, mode);
            return new ControlServer(path, clusterId, handler, options, listener, inode, secureDirectory, mode);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            listener?.Dispose();
            throw new UserErrorException($"cluster {clusterId}: another supervisor bound {path} at the same moment");
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
        {
            listener?.Dispose();
            throw new UserErrorException($"cannot serve the control socket {path}: {e.Message}");
        }
    }

    /// <summary>Binds and listens at <paramref name="path"/>; returns the socket and the inode of its file.</summary>
    private static (Socket Socket, ulong Inode) Listen(string path, UnixFileMode mode)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("control sockets need Linux (SO_PEERCRED)");
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(path));
            // The 0700 directory already keeps others out; 0600 on the socket is the second lock (unix(7): connect
            // needs write permission on the socket file).
            File.SetUnixFileMode(path, mode);
            listener.Listen(ListenBacklog);
            return (listener, ControlNative.LStat(path)?.Inode ?? 0);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Once per <see cref="ControlServerOptions.SocketCheckInterval"/>: a socket file that was deleted (a logout
    /// removes $XDG_RUNTIME_DIR) or replaced by a dead socket is bound again, so the cluster stays reachable.
    /// </summary>
    private async Task WatchSocketFileAsync()
    {
        using var timer = new PeriodicTimer(_options.SocketCheckInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false)) CheckSocketFile();
        }
        catch (OperationCanceledException)
        {
            // disposed
        }
    }

    /// <summary>
    /// Binds the socket again when its file is gone or is not ours; when that fails, says why in
    /// <see cref="LastRebindError"/> and tries again at the next call. Cheap (one lstat) and never throws.
    /// </summary>
    public void CheckSocketFile()
    {
        try
        {
            EnsureSocketFile();
        }
        catch (Exception e) when (e is IOException or SocketException or UnauthorizedAccessException or UserErrorException)
        {
            // Cannot bind now (the runtime directory is unsafe or unwritable): try again at the next tick.
            LastRebindError = e.Message;
        }
    }

    /// <summary>Binds the socket again when its file is gone or is not ours; true when it did.</summary>
    internal bool EnsureSocketFile()
    {
        lock (_listenerGate)
        {
            if (_stopping.IsCancellationRequested) return false;
            var status = ControlNative.LStat(SocketPath);
            if (status is { } s && s.Inode == _listener.Inode) return false;
            // The directory first: one another user made or swapped in is refused before anything in it is touched.
            if (_secureDirectory is not null) RuntimeDirectory.EnsureSecure(_secureDirectory);
            if (status is not null)
            {
                // Someone else's file at our path: replace only a dead socket, never a live supervisor or another file.
                try
                {
                    RemoveStaleSocket(SocketPath, ClusterId);
                }
                catch (UserErrorException)
                {
                    return false;
                }
            }
            // The old listener first: disposing a socket .NET bound unlinks its path by name, which must not hit the new file.
            var old = _listener;
            old.Stop.Cancel();
            old.Socket.Dispose();
            var (socket, inode) = Listen(SocketPath, _socketMode);
            _listener = StartListener(socket, inode);
            old.Stop.Dispose();
            Interlocked.Increment(ref _rebinds);
            return true;
        }
    }

    /// <summary>Removes <paramref name="path"/> if it is a socket nobody listens on (a dead supervisor's); true if it did.</summary>
    internal static bool TryRemoveStaleSocket(string path)
    {
        try
        {
            if (ControlNative.LStat(path) is not { Type: ControlNative.SIfSock }) return false;
            RemoveStaleSocket(path, "");
            return ControlNative.LStat(path) is null;
        }
        catch (Exception e) when (e is UserErrorException or SocketException or IOException or UnauthorizedAccessException)
        {
            // It answers (a live supervisor), or it is not ours to remove.
            return false;
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
        // Another user's socket is never connected to (it may be a fake supervisor waiting for us) nor removed.
        if (status.Value.Uid != ControlNative.EffectiveUid)
            throw new UserErrorException($"cannot serve the control socket {path}: a socket of uid {status.Value.Uid} is in the way");
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

    private async Task AcceptLoopAsync(Socket listener, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(stop).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                if (stop.IsCancellationRequested) return;
                // EMFILE and friends: back off briefly instead of spinning; the listener stays up.
                try { await Task.Delay(50, stop).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
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
        Listener listener;
        lock (_listenerGate)
        {
            _stopping.Cancel();
            listener = _listener;
        }
        listener.Socket.Dispose();
        await listener.AcceptLoop.ConfigureAwait(false);
        await _watchLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        var running = new List<Task>();
        foreach (var (session, run) in _sessions.Values)
        {
            session.Abort("server stopped");
            running.Add(run);
        }
        await Task.WhenAll(running).ConfigureAwait(false);
        // Only unlink what we bound: a successor supervisor may have replaced the file. (Socket.Dispose above also
        // unlinks the path it bound, by name, so this is a best effort that mostly finds the file already gone.)
        if (ControlNative.LStat(SocketPath) is { } status && status.Inode == listener.Inode)
        {
            try
            {
                File.Delete(SocketPath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Best effort at shutdown: a socket file left behind is found stale (ECONNREFUSED) and replaced by the next bind.
            }
        }
        listener.Stop.Dispose();
        _stopping.Dispose();
    }
}
