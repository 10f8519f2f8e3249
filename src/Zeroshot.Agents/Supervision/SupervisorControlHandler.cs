using System.Text.Json;
using Zeroshot.Agents.Control;
using Zeroshot.Agents.State;

namespace Zeroshot.Agents.Supervision;

/// <summary>
/// Answers the control socket for one supervisor: <c>status</c> (the cluster's snapshot, the <c>status --json</c>
/// document; <c>"history": true</c> adds each agent's last samples), <c>stop</c>, <c>kill</c>, the <c>output</c>
/// stream (an agent's output as it arrives, after what its log already holds) and the <c>snapshots</c> stream
/// (the snapshot at once, then one per tick and the events as they happen; protocol version 2).
/// </summary>
internal sealed class SupervisorControlHandler(ClusterSupervisor supervisor, OutputFanout output, LiveFeed live) : IControlHandler
{
    public ValueTask<ControlReply> HandleAsync(ControlRequest request, CancellationToken cancellationToken)
    {
        switch (request.Type)
        {
            case ControlProtocol.Status:
                bool history = request.Message.TryGetProperty("history", out var h) && h.ValueKind == JsonValueKind.True;
                return ValueTask.FromResult(ControlReply.Ok(LiveJson.ToUtf8(supervisor.Snapshot(history))));
            case ControlProtocol.Stop:
                supervisor.RequestStop();
                return ValueTask.FromResult(ControlReply.Ok());
            case ControlProtocol.Kill:
                // With "agent": that agent's process group alone (the dashboard's k); without: the whole cluster.
                if (request.Message.TryGetProperty("agent", out var named))
                {
                    if (named.ValueKind != JsonValueKind.String) return ValueTask.FromResult(ControlReply.Error("bad-request", "\"agent\" must be a string"));
                    string? refused = supervisor.KillAgent(named.GetString()!);
                    return ValueTask.FromResult(refused is null ? ControlReply.Ok() : ControlReply.Error("not-running", refused));
                }
                supervisor.RequestKill();
                return ValueTask.FromResult(ControlReply.Ok());
            case ControlProtocol.Hook:
                return ValueTask.FromResult(Hook(request.Message));
            case ControlProtocol.Send:
                return ValueTask.FromResult(Send(request.Message));
            case ControlProtocol.Resize:
            case ControlProtocol.Signal:
                return ValueTask.FromResult(AttachRequest(request));
            default:
                return ValueTask.FromResult(ControlReply.UnknownRequest(request.Type));
        }
    }

    public ValueTask<ControlReply> SubscribeAsync(ControlRequest request, string stream, IStreamSink sink, CancellationToken cancellationToken)
    {
        if (stream == ControlProtocol.SnapshotsStream)
        {
            if (request.Session.ProtocolVersion < 2)
                return ValueTask.FromResult(ControlReply.Error("unsupported-version", "the snapshots stream needs control protocol version 2"));
            var every = TimeSpan.Zero;
            if (request.Message.TryGetProperty("args", out var snapshotArgs) && snapshotArgs.ValueKind == JsonValueKind.Object
                && snapshotArgs.TryGetProperty("everySeconds", out var seconds))
            {
                if (seconds.ValueKind != JsonValueKind.Number || !seconds.TryGetInt32(out int n) || n is < 1 or > 3600)
                    return ValueTask.FromResult(ControlReply.Error("bad-request", "\"everySeconds\" must be a whole number of seconds, 1 to 3600"));
                every = TimeSpan.FromSeconds(n);
            }
            live.Add(sink, supervisor.Snapshot(), every);
            return ValueTask.FromResult(ControlReply.Ok());
        }
        if (stream == ControlProtocol.AttachStream) return ValueTask.FromResult(Attach(request, sink));
        if (stream != ControlProtocol.OutputStream)
            return ValueTask.FromResult(ControlReply.Error("unknown-stream", $"unknown stream '{stream}'"));
        string? agent = null;
        if (request.Message.TryGetProperty("args", out var args) && args.ValueKind == JsonValueKind.Object &&
            args.TryGetProperty("agent", out var a) && a.ValueKind == JsonValueKind.String)
            agent = a.GetString();
        // The offset tells the client where in the agent's log this stream begins, so it can print the
        // log up to there and then the stream, with no byte missing or repeated.
        long offset = output.Add(agent, sink);
        return ValueTask.FromResult(ControlReply.Ok(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("offset", offset);
            w.WriteEndObject();
        }));
    }

    /// <summary><c>{"agent": id, "from": "claude"|"codex", "payload": {…}, "codexHome"?: dir}</c>: what an interactive agent's CLI said.</summary>
    private ControlReply Hook(JsonElement m)
    {
        if (!m.TryGetProperty("agent", out var agent) || agent.ValueKind != JsonValueKind.String
            || !m.TryGetProperty("from", out var from) || from.ValueKind != JsonValueKind.String
            || !m.TryGetProperty("payload", out var payload) || payload.ValueKind != JsonValueKind.Object)
            return ControlReply.Error("bad-request", "hook needs \"agent\" and \"from\" (strings) and \"payload\" (an object)");
        try
        {
            string? codexHome = m.TryGetProperty("codexHome", out var home) && home.ValueKind == JsonValueKind.String ? home.GetString() : null;
            string? refused = supervisor.OnAgentSignal(agent.GetString()!, from.GetString()!, payload, codexHome);
            return refused is null ? ControlReply.Ok() : ControlReply.Error("not-interactive", refused);
        }
        catch (InvalidDataException e)
        {
            return ControlReply.Error("bad-request", e.Message);
        }
    }

    /// <summary><c>{"text": …, "agent"?: id}</c>: types the text into an interactive agent; the result names the agent.</summary>
    private ControlReply Send(JsonElement m)
    {
        if (!m.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
            return ControlReply.Error("bad-request", "send needs \"text\" (a string)");
        string? agent = null;
        if (m.TryGetProperty("agent", out var named))
        {
            if (named.ValueKind != JsonValueKind.String) return ControlReply.Error("bad-request", "\"agent\" must be a string");
            agent = named.GetString();
        }
        var (typedTo, error) = supervisor.SendText(agent, text.GetString()!);
        if (error is not null) return ControlReply.Error("not-interactive", error);
        return ControlReply.Ok(w =>
        {
            w.WriteStartObject();
            w.WriteString("agent", typedTo);
            w.WriteEndObject();
        });
    }

    // Attach streams by (connection, stream id): resize and signal requests name the stream.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(long Session, uint Stream), (AgentTerminal Terminal, IStreamSink Sink)> _attached = new();

    private ControlReply Attach(ControlRequest request, IStreamSink sink)
    {
        if (request.Session.ProtocolVersion < 3)
            return ControlReply.Error("unsupported-version", "the attach stream needs control protocol version 3");
        string? agent = null;
        bool readOnly = false;
        int? columns = null, rows = null;
        if (request.Message.TryGetProperty("args", out var args) && args.ValueKind == JsonValueKind.Object)
        {
            if (args.TryGetProperty("agent", out var a) && a.ValueKind == JsonValueKind.String) agent = a.GetString();
            readOnly = args.TryGetProperty("readOnly", out var r) && r.ValueKind == JsonValueKind.True;
            if (!TryReadSize(args, out columns, out rows, out string? bad)) return ControlReply.Error("bad-request", bad!);
        }
        var (terminal, agentId, error) = supervisor.FindTerminal(agent);
        if (terminal is null) return ControlReply.Error("not-running", error!);
        var key = (request.Session.Id, sink.StreamId);
        _attached[key] = (terminal, sink);
        sink.Closed.Register(() => _attached.TryRemove(key, out _));
        terminal.Attach(sink, readOnly, columns, rows);
        return ControlReply.Ok(w =>
        {
            w.WriteStartObject();
            w.WriteString("agent", agentId);
            w.WriteBoolean("readOnly", readOnly);
            w.WriteEndObject();
        });
    }

    private ControlReply AttachRequest(ControlRequest request)
    {
        var m = request.Message;
        if (!m.TryGetProperty("streamId", out var sid) || !sid.TryGetUInt32(out uint streamId)
            || !_attached.TryGetValue((request.Session.Id, streamId), out var attached))
            return ControlReply.Error("unknown-stream", $"{request.Type} needs the \"streamId\" of an attach stream of this connection");
        if (request.Type == ControlProtocol.Resize)
        {
            if (!TryReadSize(m, out int? columns, out int? rows, out string? bad) || columns is null || rows is null)
                return ControlReply.Error("bad-request", bad ?? "resize needs \"cols\" and \"rows\"");
            return attached.Terminal.Resize(attached.Sink, columns.Value, rows.Value)
                ? ControlReply.Ok()
                : ControlReply.Error("read-only", "a read-only client does not resize the agent's terminal");
        }
        string? name = m.TryGetProperty("signal", out var sg) && sg.ValueKind == JsonValueKind.String ? sg.GetString() : null;
        int signal = name switch { "INT" => 2, "TERM" => 15, "QUIT" => 3, "TSTP" => 20, "CONT" => 18, _ => 0 };
        if (signal == 0) return ControlReply.Error("bad-request", "signal must be one of INT, TERM, QUIT, TSTP, CONT");
        return attached.Terminal.Signal(attached.Sink, signal)
            ? ControlReply.Ok()
            : ControlReply.Error("not-signalled", "no foreground process group to signal, or the client is read-only");
    }

    /// <summary>Reads optional "cols" and "rows" (1..65535 each, both or neither).</summary>
    private static bool TryReadSize(JsonElement o, out int? columns, out int? rows, out string? error)
    {
        columns = rows = null;
        error = null;
        bool hasColumns = o.TryGetProperty("cols", out var c), hasRows = o.TryGetProperty("rows", out var r);
        if (!hasColumns && !hasRows) return true;
        if (!hasColumns || !hasRows || !c.TryGetInt32(out int cv) || !r.TryGetInt32(out int rv) || cv is < 1 or > 65535 || rv is < 1 or > 65535)
        {
            error = "\"cols\" and \"rows\" must both be given, each 1..65535";
            return false;
        }
        columns = cv;
        rows = rv;
        return true;
    }
}

/// <summary>
/// The <c>snapshots</c> stream's subscribers: each gets the snapshot current when it subscribed, then every published
/// snapshot and event, one JSON <see cref="LiveMessage"/> per data frame, serialized once for all of them. A subscriber
/// may ask for snapshots at most every so many seconds (<c>serve-metrics</c>: a wake-up a second per supervisor was most
/// of its CPU, for figures Prometheus reads every 15 s); it still gets every event, and a cluster's snapshots once it
/// no longer runs. Never waits: a subscriber whose queue is full is dropped from the stream by the transport
/// (slow-consumer), the supervisor and the other subscribers go on.
/// </summary>
internal sealed class LiveFeed(TimeProvider? time = null) : IClusterObserver
{
    /// <summary>A tick comes a little early or late: a subscriber every N s takes the tick nearest to N s, not the one after.</summary>
    private static readonly TimeSpan Slack = TimeSpan.FromMilliseconds(250);

    private readonly object _gate = new();
    private readonly LiveMessageWriter _writer = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private Subscriber[] _sinks = [];

    private sealed class Subscriber(IStreamSink sink, TimeSpan every)
    {
        public readonly IStreamSink Sink = sink;
        public readonly TimeSpan Every = every;
        /// <summary>When its last snapshot was queued (a <see cref="TimeProvider"/> timestamp).</summary>
        public long SentAt;
    }

    /// <summary>
    /// Adds a subscriber; <paramref name="current"/> is its first message. With <paramref name="every"/> above zero, it
    /// gets a snapshot only when that long has passed since its last one (or the cluster no longer runs).
    /// </summary>
    public void Add(IStreamSink sink, ClusterSnapshot current, TimeSpan every = default)
    {
        ArgumentNullException.ThrowIfNull(sink);
        lock (_gate)
        {
            if (!sink.TryWrite(_writer.Write(new LiveMessage(current, null)))) return;
            _sinks = [.. _sinks, new Subscriber(sink, every) { SentAt = _time.GetTimestamp() }];
        }
        sink.Closed.Register(() => Remove(sink));
    }

    /// <summary>Subscribers now.</summary>
    public int Count => Volatile.Read(ref _sinks).Length;

    private void Remove(IStreamSink sink)
    {
        lock (_gate) _sinks = Array.FindAll(_sinks, s => !ReferenceEquals(s.Sink, sink));
    }

    public void OnOutput(string agentId, ReadOnlyMemory<byte> chunk)
    {
    }

    public void OnSnapshot(ClusterSnapshot snapshot)
    {
        if (Volatile.Read(ref _sinks).Length == 0) return;
        lock (_gate)
        {
            var sinks = _sinks; // a failed write removes its sink (re-entrantly): walk this array, not the field
            long now = _time.GetTimestamp();
            bool final = snapshot.State != ClusterState.Running;
            ReadOnlySpan<byte> bytes = default;
            bool written = false;
            foreach (var subscriber in sinks)
            {
                if (!final && subscriber.Every > TimeSpan.Zero && _time.GetElapsedTime(subscriber.SentAt, now) < subscriber.Every - Slack) continue;
                if (!written)
                {
                    // Serialized once, and only when someone takes it.
                    bytes = _writer.Write(new LiveMessage(snapshot, null));
                    written = true;
                }
                subscriber.SentAt = now;
                subscriber.Sink.TryWrite(bytes);
            }
        }
    }

    public void OnEvent(ClusterEvent e)
    {
        if (Volatile.Read(ref _sinks).Length == 0) return;
        lock (_gate)
        {
            var sinks = _sinks;
            if (sinks.Length == 0) return;
            var bytes = _writer.Write(new LiveMessage(null, e));
            foreach (var subscriber in sinks) subscriber.Sink.TryWrite(bytes);
        }
    }

    /// <summary>Ends every stream (the cluster is over).</summary>
    public void CompleteAll()
    {
        Subscriber[] sinks;
        lock (_gate)
        {
            sinks = _sinks;
            _sinks = [];
        }
        foreach (var subscriber in sinks) subscriber.Sink.Complete();
    }
}

/// <summary>
/// Hands every output chunk of the cluster to the control clients following it (<c>logs -f</c>,
/// later <c>attach</c>), without ever blocking the agents: a client that cannot keep up is dropped
/// from the stream by the transport (slow-consumer), not waited for.
/// </summary>
internal sealed class OutputFanout : IClusterObserver
{
    private readonly object _gate = new();
    private readonly List<(string? Agent, IStreamSink Sink)> _sinks = new();
    private readonly Dictionary<string, long> _relayed = new(StringComparer.Ordinal);

    /// <summary>Adds a follower of one agent (or of all, when null); returns how many bytes of that agent were relayed before it.</summary>
    public long Add(string? agent, IStreamSink sink)
    {
        long offset;
        lock (_gate)
        {
            _sinks.Add((agent, sink));
            offset = agent is null ? 0 : _relayed.GetValueOrDefault(agent);
        }
        sink.Closed.Register(() => { lock (_gate) _sinks.RemoveAll(s => ReferenceEquals(s.Sink, sink)); });
        return offset;
    }

    /// <summary>A new run of an agent appends to the same log: offsets continue.</summary>
    public void OnOutput(string agentId, ReadOnlyMemory<byte> chunk)
    {
        lock (_gate)
        {
            _relayed[agentId] = _relayed.GetValueOrDefault(agentId) + chunk.Length;
            // A copy: a sink that fails ends its stream, whose Closed callback removes it from _sinks
            // re-entrantly (same thread, same lock) while we would still be walking the list.
            foreach (var (agent, sink) in _sinks.ToArray())
            {
                if (agent is not null && agent != agentId) continue;
                if (!sink.TryWrite(chunk.Span)) _sinks.RemoveAll(s => ReferenceEquals(s.Sink, sink));
            }
        }
    }

    public void OnEvent(ClusterEvent e)
    {
    }

    /// <summary>Ends every stream (the cluster is over).</summary>
    public void CompleteAll()
    {
        lock (_gate)
        {
            var sinks = _sinks.ToArray();
            _sinks.Clear();
            foreach (var (_, sink) in sinks) sink.Complete();
        }
    }
}

/// <summary>Sends every observation to several observers.</summary>
internal sealed class CompositeObserver(params IClusterObserver[] observers) : IClusterObserver
{
    public void OnOutput(string agentId, ReadOnlyMemory<byte> chunk)
    {
        foreach (var o in observers) o.OnOutput(agentId, chunk);
    }

    public void OnEvent(ClusterEvent e)
    {
        foreach (var o in observers) o.OnEvent(e);
    }

    public void OnSnapshot(ClusterSnapshot snapshot)
    {
        foreach (var o in observers) o.OnSnapshot(snapshot);
    }

    public void OnLine(string agentId, Output.DisplayLine line)
    {
        foreach (var o in observers) o.OnLine(agentId, line);
    }
}
