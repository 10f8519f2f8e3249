namespace Zeroshot.Agents.Control;

/// <summary>Tunables of <see cref="ControlServer"/>; the defaults suit a supervisor.</summary>
internal sealed record ControlServerOptions
{
    /// <summary>The socket directory; null means <see cref="RuntimeDirectory.DefaultPath()"/>. Always verified.</summary>
    public string? RuntimeDirectory { get; init; }

    /// <summary>Largest JSON message accepted from a client (1 MiB).</summary>
    public int MaxJsonMessageBytes { get; init; } = FrameLimits.DefaultMax;

    /// <summary>Largest data frame accepted from a client (64 KiB: keystrokes, pastes).</summary>
    public int MaxInboundDataBytes { get; init; } = 64 * 1024;

    /// <summary>Bytes of data frames that may wait in one client's outbound queue before stream writes are refused (8 MiB).</summary>
    public int MaxQueuedDataBytes { get; init; } = 8 << 20;

    /// <summary>
    /// Bytes that may wait in all clients' outbound queues together (64 MiB). Past it, the client with the largest
    /// backlog (the slowest reader) is disconnected, then the next, until the total is below it again: without this,
    /// a hundred subscribers that never read hold a hundred times <see cref="MaxQueuedDataBytes"/>.
    /// </summary>
    public long MaxQueuedTotalBytes { get; init; } = 64L << 20;

    /// <summary>Extra room for control messages beyond <see cref="MaxQueuedDataBytes"/>; past it the client is closed.</summary>
    public int MaxQueuedControlBytes { get; init; } = 4 << 20;

    /// <summary>
    /// How long a client may sit in the middle of a frame, before completing the hello, or with the server
    /// blocked writing to it, before it is disconnected (10 s).
    /// </summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The only peer uid let in; the effective uid. (Tests set another to be refused themselves.)</summary>
    public uint AllowedUid { get; init; } = ControlNative.EffectiveUid;

    /// <summary>The version string reported by hello.</summary>
    public string ServerVersion { get; init; } = "zeroshot " + (typeof(ControlServer).Assembly.GetName().Version?.ToString() ?? "0");

    /// <summary>Called (on a pool thread, must not block) for connections, refusals, closes and dropped streams.</summary>
    public Action<ControlServerEvent>? OnEvent { get; init; }

    /// <summary>
    /// How often the server checks that its socket file still exists and is its own (and binds it again if not);
    /// <see cref="Timeout.InfiniteTimeSpan"/>: never by itself, its owner calls <see cref="ControlServer.CheckSocketFile"/>
    /// (a supervisor does it on its sampling tick: one timer fewer to wake the process).
    /// </summary>
    public TimeSpan SocketCheckInterval { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>Kinds of <see cref="ControlServerEvent"/>.</summary>
internal enum ControlServerEventKind
{
    /// <summary>A client of the same uid connected.</summary>
    Connected,

    /// <summary>A client of another uid was refused (SO_PEERCRED).</summary>
    PeerRefused,

    /// <summary>A client connection closed; Detail says why.</summary>
    Closed,

    /// <summary>A client was dropped from a stream because it read too slowly.</summary>
    StreamDropped,
}

/// <summary>Something that happened to a client connection, for logs and tests.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="SessionId">Server-local connection number.</param>
/// <param name="PeerPid">The peer's pid from SO_PEERCRED.</param>
/// <param name="PeerUid">The peer's uid from SO_PEERCRED.</param>
/// <param name="Detail">A one-line explanation.</param>
internal sealed record ControlServerEvent(ControlServerEventKind Kind, long SessionId, int PeerPid, uint PeerUid, string Detail);
