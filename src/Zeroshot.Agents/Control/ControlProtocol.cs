using System.Buffers;
using System.Text.Json;

namespace Zeroshot.Agents.Control;

/// <summary>Constants and JSON helpers of the control protocol (PROTOCOL.md).</summary>
internal static class ControlProtocol
{
    /// <summary>The newest protocol version this build speaks (5: <c>hook</c> and <c>send</c> for interactive agents); the
    /// "v" of its hello.</summary>
    public const int Version = 5;

    /// <summary>Requests of protocol version 5: an interactive agent's CLI signal (relayed by <c>zeroshot hook</c>), and
    /// text typed into an interactive agent (<c>zeroshot send</c>).</summary>
    public const string Hook = "hook", Send = "send";

    /// <summary>Stream names.</summary>
    public const string OutputStream = "output", SnapshotsStream = "snapshots", AttachStream = "attach";

    /// <summary>Requests on an attach stream (protocol version 3): the client's window size, a signal to the agent.</summary>
    public const string Resize = "resize", Signal = "signal";

    /// <summary>A write up to this size is delivered as exactly one data frame; larger writes are split.</summary>
    public const int MaxDataFrameBytes = FrameLimits.DefaultMax;

    /// <summary>Message types.</summary>
    public const string Hello = "hello", Status = "status", Stop = "stop", Kill = "kill",
        Subscribe = "subscribe", Unsubscribe = "unsubscribe", Response = "response", Error = "error", StreamEnd = "stream-end";

    /// <summary>Stream-end reasons that are not failures.</summary>
    public const string EndNormal = "end", EndUnsubscribed = "unsubscribed";

    /// <summary>Stream-end reason when the client could not keep up with a stream and was dropped from it.</summary>
    public const string EndSlowConsumer = "slow-consumer";

    /// <summary>Stream-end reason when the connection or the server is closing.</summary>
    public const string EndClosed = "closed";

    /// <summary>
    /// Encodes one JSON message as a complete frame: <c>{"v":1,"id":id,"type":type, …fields}</c>.
    /// Allocates; control messages are small and rare next to data frames.
    /// </summary>
    /// <param name="id">The request id (0 for server messages).</param>
    /// <param name="type">The message type.</param>
    /// <param name="fields">Writes the other fields.</param>
    /// <param name="version">The envelope's "v": the negotiated version once there is one.</param>
    public static byte[] MessageFrame(long id, string type, Action<Utf8JsonWriter>? fields, int version = Version)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("v", version);
            writer.WriteNumber("id", id);
            writer.WriteString("type", type);
            fields?.Invoke(writer);
            writer.WriteEndObject();
        }
        return FrameWriter.JsonFrame(buffer.WrittenSpan);
    }

    /// <summary>A response frame: ok with an optional raw JSON result, or an error.</summary>
    public static byte[] ResponseFrame(long id, ControlReply reply, int version = Version) => MessageFrame(id, Response, w =>
    {
        w.WriteBoolean("ok", reply.IsOk);
        if (reply.IsOk)
        {
            w.WritePropertyName("result");
            if (reply.ResultJson.IsEmpty) { w.WriteStartObject(); w.WriteEndObject(); }
            else w.WriteRawValue(reply.ResultJson.Span); // validated: a handler bug must not corrupt the stream
        }
        else WriteError(w, reply.ErrorCode!, reply.ErrorMessage!);
    }, version);

    /// <summary>Writes <c>"error":{"code":…,"message":…}</c>.</summary>
    public static void WriteError(Utf8JsonWriter w, string code, string message)
    {
        w.WriteStartObject("error");
        w.WriteString("code", code);
        w.WriteString("message", message);
        w.WriteEndObject();
    }

    /// <summary>Reads the envelope of a message; throws <see cref="InvalidDataException"/> when it is not one.</summary>
    public static (int Version, long Id, string Type) ReadEnvelope(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException("control message is not a JSON object");
        if (!root.TryGetProperty("v", out var v) || !v.TryGetInt32(out int version))
            throw new InvalidDataException("control message without an integer \"v\"");
        if (!root.TryGetProperty("id", out var idElement) || !idElement.TryGetInt64(out long id) || id < 0)
            throw new InvalidDataException("control message without a non-negative integer \"id\"");
        if (!root.TryGetProperty("type", out var typeElement) || typeElement.ValueKind != JsonValueKind.String)
            throw new InvalidDataException("control message without a string \"type\"");
        return (version, id, typeElement.GetString()!);
    }

    /// <summary>Parses a JSON payload; malformed JSON becomes <see cref="InvalidDataException"/>.</summary>
    public static JsonDocument Parse(in ReadOnlySequence<byte> payload)
    {
        try
        {
            return JsonDocument.Parse(payload, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"control message is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>The (code, message) of an <c>"error"</c> object, tolerating a malformed one.</summary>
    public static ControlErrorException ReadError(JsonElement root)
    {
        string code = "error", message = "the supervisor reported an error";
        if (root.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.Object)
        {
            if (e.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String) code = c.GetString()!;
            if (e.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String) message = m.GetString()!;
        }
        return new ControlErrorException(code, message);
    }
}

/// <summary>The answer to a request: ok with an optional result document, or an error code and message.</summary>
internal readonly struct ControlReply
{
    private ControlReply(bool ok, ReadOnlyMemory<byte> result, string? code, string? message)
    {
        IsOk = ok;
        ResultJson = result;
        ErrorCode = code;
        ErrorMessage = message;
    }

    /// <summary>True for success.</summary>
    public bool IsOk { get; }

    /// <summary>The result as UTF-8 JSON (opaque to the transport); empty means <c>{}</c>.</summary>
    public ReadOnlyMemory<byte> ResultJson { get; }

    /// <summary>Machine-readable error code (e.g. "unknown-request", "no-such-agent").</summary>
    public string? ErrorCode { get; }

    /// <summary>Human-readable one-line error message.</summary>
    public string? ErrorMessage { get; }

    /// <summary>Success with an already-encoded UTF-8 JSON result (must be valid JSON).</summary>
    public static ControlReply Ok(ReadOnlyMemory<byte> resultJson = default) => new(true, resultJson, null, null);

    /// <summary>Success with a result written by <paramref name="write"/> (which writes one JSON value).</summary>
    public static ControlReply Ok(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer)) write(writer);
        return new(true, buffer.WrittenMemory, null, null);
    }

    /// <summary>A failure.</summary>
    public static ControlReply Error(string code, string message) => new(false, default, code, message);

    /// <summary>The reply for a request type the handler does not know.</summary>
    public static ControlReply UnknownRequest(string type) => Error("unknown-request", $"unknown request type '{type}'");
}

/// <summary>An incoming request as the handler sees it; valid only until the handler's task completes.</summary>
/// <param name="Id">The client's request id.</param>
/// <param name="Type">The message type, e.g. "status".</param>
/// <param name="Message">The whole JSON message object, for request-specific fields.</param>
/// <param name="Session">The connection it came from.</param>
internal sealed record ControlRequest(long Id, string Type, JsonElement Message, ControlSession Session);

/// <summary>
/// What the supervisor implements to serve the control socket. The transport handles framing, the handshake,
/// stream ids and backpressure; the handler sees requests and stream sinks only. Calls may be concurrent.
/// </summary>
internal interface IControlHandler
{
    /// <summary>Handles a request other than hello/subscribe/unsubscribe (status, stop, kill, and future ones);
    /// returns <see cref="ControlReply.UnknownRequest"/> for types it does not know.</summary>
    ValueTask<ControlReply> HandleAsync(ControlRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Starts streaming <paramref name="stream"/> (e.g. "output", later "snapshots", "attach") to <paramref name="sink"/>;
    /// the message's <c>"args"</c> object carries stream arguments. Return an error to refuse. The handler may write
    /// to the sink before returning (the client registered the stream id before asking) and keeps writing from
    /// its own tasks until it calls <see cref="IStreamSink.Complete"/> or <see cref="IStreamSink.Closed"/> fires.
    /// </summary>
    ValueTask<ControlReply> SubscribeAsync(ControlRequest request, string stream, IStreamSink sink, CancellationToken cancellationToken);
}

/// <summary>
/// The server side of one subscription. Writes are queued on the client's bounded outbound queue; only one
/// thread may write to a given sink at a time (data order is the write order).
/// </summary>
internal interface IStreamSink
{
    /// <summary>The client-chosen stream id.</summary>
    uint StreamId { get; }

    /// <summary>The connection this stream belongs to.</summary>
    ControlSession Session { get; }

    /// <summary>Fires when the stream ends for any reason: unsubscribed, dropped as too slow, connection closed.</summary>
    CancellationToken Closed { get; }

    /// <summary>
    /// Queues <paramref name="data"/> without waiting (for live fan-out). When the client's queue is full, the client
    /// is dropped from this stream with reason "slow-consumer" and false is returned; false also once closed.
    /// </summary>
    bool TryWrite(ReadOnlySpan<byte> data);

    /// <summary>
    /// Queues <paramref name="data"/> if the client's queue has room for all of it; otherwise returns false and the
    /// stream goes on (for streams that skip what a slow client cannot take and send it a fresh state later, as attach
    /// does). False also once closed.
    /// </summary>
    bool TryWriteOrSkip(ReadOnlySpan<byte> data);

    /// <summary>Bytes queued for this stream's connection and not yet written to it.</summary>
    long QueuedBytes { get; }

    /// <summary>Queues <paramref name="data"/>, waiting for queue space (for replaying history). False once closed.</summary>
    ValueTask<bool> WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default);

    /// <summary>Ends the stream: the client gets a stream-end with <paramref name="reason"/> after all queued data.</summary>
    void Complete(string reason = ControlProtocol.EndNormal);

    /// <summary>
    /// Accepts data frames the client sends on this stream (keystrokes for attach); without a handler such frames
    /// are discarded. Calls are sequential, in arrival order; the memory is valid only during the call.
    /// </summary>
    void SetInputHandler(Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> onInput);
}

/// <summary>The server answered with an error, or refused the connection.</summary>
internal sealed class ControlErrorException(string code, string message) : Exception(message)
{
    /// <summary>Machine-readable error code ("forbidden", "unknown-request", "slow-consumer", …).</summary>
    public string Code { get; } = code;
}

/// <summary>No supervisor answers on the socket path: the cluster is not running.</summary>
internal sealed class ControlUnavailableException(string message, Exception? inner = null) : IOException(message, inner);
