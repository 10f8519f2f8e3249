using System.Text;
using System.Text.Json;

namespace Zeroshot.TestModelServer;

/// <summary>Writes scripted turns in one protocol's wire format.</summary>
internal abstract class ProtocolWriter(ModelServer server, HttpConnection connection, JsonElement request, bool streaming)
{
    protected ModelServer Server { get; } = server;
    protected HttpConnection Connection { get; } = connection;
    protected JsonElement Request { get; } = request;
    protected bool Streaming { get; } = streaming;

    public static ProtocolWriter For(ModelProtocol protocol, ModelServer server, HttpConnection connection, JsonElement json, HttpRequest request, bool streaming) =>
        protocol switch
        {
            ModelProtocol.Anthropic => new AnthropicWriter(server, connection, json, streaming),
            ModelProtocol.OpenAIResponses => new OpenAIResponsesWriter(server, connection, json, streaming),
            _ => new GeminiWriter(server, connection, json, streaming, request.Path),
        };

    /// <summary>Whether the request offers tools (the CLI's real turns do; its side requests do not).</summary>
    public abstract bool HasTools { get; }

    public abstract Task WriteTextAsync(TextTurn turn, CancellationToken ct);
    public abstract Task WriteShellAsync(ShellTurn turn, CancellationToken ct);
    public abstract Task WriteToolAsync(string name, string argumentsJson, string? preamble, TokenUsage usage, CancellationToken ct);
    /// <summary>Writes the start of a stalled response; returns the usage put on the wire before the stall.</summary>
    public abstract Task<TokenUsage> WriteStallStartAsync(StallTurn turn, CancellationToken ct);
    public abstract Task WriteErrorAsync(ErrorTurn turn, CancellationToken ct);

    protected static string Json(object value) => JsonSerializer.Serialize(value);

    protected static IEnumerable<JsonElement> Tools(JsonElement request)
    {
        if (request.ValueKind == JsonValueKind.Object && request.TryGetProperty("tools", out var tools) && tools.ValueKind == JsonValueKind.Array)
            foreach (var tool in tools.EnumerateArray())
                yield return tool;
    }

    protected static string? Str(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    protected Task WriteErrorBodyAsync(ErrorTurn turn, string body, CancellationToken ct)
    {
        var headers = new List<KeyValuePair<string, string>> { new("request-id", Server.NextId("req_")) };
        if (turn.RetryAfterSeconds is { } seconds)
            headers.Add(new("retry-after", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return Connection.WriteFullAsync(turn.Status, "application/json", Encoding.UTF8.GetBytes(body), ct, headers);
    }

    protected static async Task PauseAsync(TimeSpan delay, CancellationToken ct)
    {
        if (delay > TimeSpan.Zero)
            await Task.Delay(delay, ct).ConfigureAwait(false);
    }
}

/// <summary>Anthropic Messages API: SSE events message_start … message_stop.</summary>
internal sealed class AnthropicWriter(ModelServer server, HttpConnection connection, JsonElement request, bool streaming)
    : ProtocolWriter(server, connection, request, streaming)
{
    private readonly string _model = Str(request, "model") ?? "claude-test";

    public override bool HasTools => Tools(Request).Any();

    private string ShellToolName =>
        Tools(Request).Select(t => Str(t, "name")).FirstOrDefault(n => n == "Bash")
        ?? Tools(Request).Select(t => Str(t, "name")).FirstOrDefault(n => n is not null && n.Contains("bash", StringComparison.OrdinalIgnoreCase))
        ?? "Bash";

    private static object UsageOf(TokenUsage u, bool start) => new
    {
        input_tokens = u.Input,
        cache_creation_input_tokens = u.CacheCreation,
        cache_read_input_tokens = u.CacheRead,
        output_tokens = start ? Math.Min(1, u.Output) : u.Output,
    };

    private Task EventAsync(string type, object data, CancellationToken ct) =>
        Connection.WriteChunkAsync($"event: {type}\ndata: {Json(data)}\n\n", ct);

    private async Task StartAsync(string id, TokenUsage usage, CancellationToken ct)
    {
        await Connection.StartChunkedAsync("text/event-stream", ct, [new("request-id", Server.NextId("req_"))]).ConfigureAwait(false);
        await EventAsync("message_start", new
        {
            type = "message_start",
            message = new
            {
                id,
                type = "message",
                role = "assistant",
                model = _model,
                content = Array.Empty<object>(),
                stop_reason = (string?)null,
                stop_sequence = (string?)null,
                usage = UsageOf(usage, start: true),
            },
        }, ct).ConfigureAwait(false);
    }

    private async Task TextBlockAsync(int index, IReadOnlyList<string> pieces, TimeSpan delay, CancellationToken ct, bool stop = true)
    {
        await EventAsync("content_block_start", new { type = "content_block_start", index, content_block = new { type = "text", text = "" } }, ct).ConfigureAwait(false);
        for (int i = 0; i < pieces.Count; i++)
        {
            if (i > 0)
                await PauseAsync(delay, ct).ConfigureAwait(false);
            await EventAsync("content_block_delta", new { type = "content_block_delta", index, delta = new { type = "text_delta", text = pieces[i] } }, ct).ConfigureAwait(false);
        }
        if (stop)
            await EventAsync("content_block_stop", new { type = "content_block_stop", index }, ct).ConfigureAwait(false);
    }

    private async Task EndAsync(string stopReason, TokenUsage usage, CancellationToken ct)
    {
        await EventAsync("message_delta", new
        {
            type = "message_delta",
            delta = new { stop_reason = stopReason, stop_sequence = (string?)null },
            usage = UsageOf(usage, start: false),
        }, ct).ConfigureAwait(false);
        await EventAsync("message_stop", new { type = "message_stop" }, ct).ConfigureAwait(false);
        await Connection.EndChunkedAsync(ct).ConfigureAwait(false);
    }

    public override async Task WriteTextAsync(TextTurn turn, CancellationToken ct)
    {
        string id = Server.NextId("msg_");
        if (!Streaming)
        {
            var message = Json(new
            {
                id,
                type = "message",
                role = "assistant",
                model = _model,
                content = new[] { new { type = "text", text = turn.FullText } },
                stop_reason = "end_turn",
                stop_sequence = (string?)null,
                usage = UsageOf(turn.Usage, start: false),
            });
            await Connection.WriteFullAsync(200, "application/json", Encoding.UTF8.GetBytes(message), ct).ConfigureAwait(false);
            return;
        }
        await StartAsync(id, turn.Usage, ct).ConfigureAwait(false);
        await TextBlockAsync(0, turn.Pieces, turn.Delay, ct).ConfigureAwait(false);
        await EndAsync("end_turn", turn.Usage, ct).ConfigureAwait(false);
    }

    public override Task WriteShellAsync(ShellTurn turn, CancellationToken ct) =>
        WriteToolAsync(ShellToolName, Json(new { command = turn.Command, description = "Run the scripted command" }), turn.Preamble, turn.Usage, ct);

    public override async Task WriteToolAsync(string name, string input, string? preamble, TokenUsage usage, CancellationToken ct)
    {
        string id = Server.NextId("msg_");
        string toolId = Server.NextId("toolu_");
        await StartAsync(id, usage, ct).ConfigureAwait(false);
        int index = 0;
        if (preamble is not null)
            await TextBlockAsync(index++, [preamble], TimeSpan.Zero, ct).ConfigureAwait(false);
        await EventAsync("content_block_start", new
        {
            type = "content_block_start",
            index,
            content_block = new { type = "tool_use", id = toolId, name, input = new { } },
        }, ct).ConfigureAwait(false);
        int half = input.Length / 2;
        foreach (var part in new[] { input[..half], input[half..] })
            await EventAsync("content_block_delta", new { type = "content_block_delta", index, delta = new { type = "input_json_delta", partial_json = part } }, ct).ConfigureAwait(false);
        await EventAsync("content_block_stop", new { type = "content_block_stop", index }, ct).ConfigureAwait(false);
        await EndAsync("tool_use", usage, ct).ConfigureAwait(false);
    }

    public override async Task<TokenUsage> WriteStallStartAsync(StallTurn turn, CancellationToken ct)
    {
        await StartAsync(Server.NextId("msg_"), turn.Usage, ct).ConfigureAwait(false);
        await TextBlockAsync(0, [turn.PartialText], TimeSpan.Zero, ct, stop: false).ConfigureAwait(false);
        // message_start carried the input and cache figures and output_tokens of at most 1.
        return turn.Usage with { Output = Math.Min(1, turn.Usage.Output), Reasoning = 0 };
    }

    public override Task WriteErrorAsync(ErrorTurn turn, CancellationToken ct)
    {
        var (type, message) = turn.Status switch
        {
            400 => ("invalid_request_error", "Invalid request"),
            401 => ("authentication_error", "invalid x-api-key"),
            403 => ("permission_error", "Permission denied"),
            404 => ("not_found_error", "Not found"),
            429 => ("rate_limit_error", "Rate limited"),
            529 => ("overloaded_error", "Overloaded"),
            _ => ("api_error", "Internal server error"),
        };
        var body = Json(new { type = "error", error = new { type, message = turn.Message ?? message } });
        return WriteErrorBodyAsync(turn, body, ct);
    }
}

/// <summary>OpenAI Responses API as Codex reads it: response.created, output items, response.completed with usage.</summary>
internal sealed class OpenAIResponsesWriter(ModelServer server, HttpConnection connection, JsonElement request, bool streaming)
    : ProtocolWriter(server, connection, request, streaming)
{
    private readonly string _model = Str(request, "model") ?? "gpt-test";
    private int _sequence;

    // The Codex TUI names each session with a side thread that carries the tools too but asks for a title: a side
    // request, answered with the side text, not a scripted turn (it races the session's own first request).
    public override bool HasTools => Tools(Request).Any() && !Request.GetRawText().Contains("single-line task title", StringComparison.Ordinal);

    private static object UsageOf(TokenUsage u) => new
    {
        input_tokens = u.InputIncludingCache,
        input_tokens_details = new { cached_tokens = u.CacheRead },
        output_tokens = u.Output,
        output_tokens_details = new { reasoning_tokens = u.Reasoning },
        total_tokens = u.InputIncludingCache + u.Output,
    };

    private Task EventAsync(string type, Dictionary<string, object?> data, CancellationToken ct)
    {
        var all = new Dictionary<string, object?> { ["type"] = type, ["sequence_number"] = _sequence++ };
        foreach (var (k, v) in data)
            all[k] = v;
        return Connection.WriteChunkAsync($"event: {type}\ndata: {Json(all)}\n\n", ct);
    }

    private object ResponseObject(string id, string status, object[] output, TokenUsage? usage) => new Dictionary<string, object?>
    {
        ["id"] = id,
        ["object"] = "response",
        ["created_at"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        ["status"] = status,
        ["model"] = _model,
        ["output"] = output,
        ["usage"] = usage is { } u ? UsageOf(u) : null,
    };

    private async Task StartAsync(string responseId, CancellationToken ct)
    {
        await Connection.StartChunkedAsync("text/event-stream", ct, [new("x-request-id", Server.NextId("req_"))]).ConfigureAwait(false);
        await EventAsync("response.created", new() { ["response"] = ResponseObject(responseId, "in_progress", [], null) }, ct).ConfigureAwait(false);
        await EventAsync("response.in_progress", new() { ["response"] = ResponseObject(responseId, "in_progress", [], null) }, ct).ConfigureAwait(false);
    }

    private async Task<object> MessageItemAsync(int outputIndex, IReadOnlyList<string> pieces, TimeSpan delay, CancellationToken ct, bool complete = true)
    {
        string itemId = Server.NextId("msg_");
        await EventAsync("response.output_item.added", new()
        {
            ["output_index"] = outputIndex,
            ["item"] = new { id = itemId, type = "message", status = "in_progress", role = "assistant", content = Array.Empty<object>() },
        }, ct).ConfigureAwait(false);
        await EventAsync("response.content_part.added", new()
        {
            ["item_id"] = itemId, ["output_index"] = outputIndex, ["content_index"] = 0,
            ["part"] = new { type = "output_text", text = "", annotations = Array.Empty<object>() },
        }, ct).ConfigureAwait(false);
        for (int i = 0; i < pieces.Count; i++)
        {
            if (i > 0)
                await PauseAsync(delay, ct).ConfigureAwait(false);
            await EventAsync("response.output_text.delta", new()
            {
                ["item_id"] = itemId, ["output_index"] = outputIndex, ["content_index"] = 0, ["delta"] = pieces[i],
            }, ct).ConfigureAwait(false);
        }
        string text = string.Concat(pieces);
        var item = new
        {
            id = itemId,
            type = "message",
            status = "completed",
            role = "assistant",
            content = new[] { new { type = "output_text", text, annotations = Array.Empty<object>() } },
        };
        if (!complete)
            return item;
        await EventAsync("response.output_text.done", new()
        {
            ["item_id"] = itemId, ["output_index"] = outputIndex, ["content_index"] = 0, ["text"] = text,
        }, ct).ConfigureAwait(false);
        await EventAsync("response.content_part.done", new()
        {
            ["item_id"] = itemId, ["output_index"] = outputIndex, ["content_index"] = 0,
            ["part"] = new { type = "output_text", text, annotations = Array.Empty<object>() },
        }, ct).ConfigureAwait(false);
        await EventAsync("response.output_item.done", new() { ["output_index"] = outputIndex, ["item"] = item }, ct).ConfigureAwait(false);
        return item;
    }

    private async Task CompleteAsync(string responseId, object[] output, TokenUsage usage, CancellationToken ct)
    {
        await EventAsync("response.completed", new() { ["response"] = ResponseObject(responseId, "completed", output, usage) }, ct).ConfigureAwait(false);
        await Connection.EndChunkedAsync(ct).ConfigureAwait(false);
    }

    public override async Task WriteTextAsync(TextTurn turn, CancellationToken ct)
    {
        string responseId = Server.NextId("resp_");
        if (!Streaming)
        {
            var item = new
            {
                id = Server.NextId("msg_"),
                type = "message",
                status = "completed",
                role = "assistant",
                content = new[] { new { type = "output_text", text = turn.FullText, annotations = Array.Empty<object>() } },
            };
            await Connection.WriteFullAsync(200, "application/json", Encoding.UTF8.GetBytes(Json(ResponseObject(responseId, "completed", [item], turn.Usage))), ct).ConfigureAwait(false);
            return;
        }
        await StartAsync(responseId, ct).ConfigureAwait(false);
        var message = await MessageItemAsync(0, turn.Pieces, turn.Delay, ct).ConfigureAwait(false);
        await CompleteAsync(responseId, [message], turn.Usage, ct).ConfigureAwait(false);
    }

    /// <summary>The shell tool offered in the request: Codex 0.171 offers <c>exec_command</c> ({"cmd": …});
    /// older shapes (<c>shell</c> with an argv, <c>shell_command</c>) are answered in kind.</summary>
    private (string Name, string Arguments) ShellCall(string command)
    {
        var names = Tools(Request).Select(t => Str(t, "name")).Where(n => n is not null).ToHashSet(StringComparer.Ordinal);
        if (names.Contains("exec_command") || names.Count == 0)
            return ("exec_command", Json(new { cmd = command }));
        if (names.Contains("shell_command"))
            return ("shell_command", Json(new { command }));
        if (names.Contains("shell"))
            return ("shell", Json(new { command = new[] { "bash", "-lc", command } }));
        return ("exec_command", Json(new { cmd = command }));
    }

    public override Task WriteShellAsync(ShellTurn turn, CancellationToken ct)
    {
        var (name, arguments) = ShellCall(turn.Command);
        return WriteToolAsync(name, arguments, turn.Preamble, turn.Usage, ct);
    }

    public override async Task WriteToolAsync(string name, string arguments, string? preamble, TokenUsage usage, CancellationToken ct)
    {
        string responseId = Server.NextId("resp_");
        await StartAsync(responseId, ct).ConfigureAwait(false);
        var output = new List<object>();
        int index = 0;
        if (preamble is not null)
            output.Add(await MessageItemAsync(index++, [preamble], TimeSpan.Zero, ct).ConfigureAwait(false));
        string itemId = Server.NextId("fc_");
        string callId = Server.NextId("call_");
        await EventAsync("response.output_item.added", new()
        {
            ["output_index"] = index,
            ["item"] = new { id = itemId, type = "function_call", status = "in_progress", call_id = callId, name, arguments = "" },
        }, ct).ConfigureAwait(false);
        await EventAsync("response.function_call_arguments.delta", new() { ["item_id"] = itemId, ["output_index"] = index, ["delta"] = arguments }, ct).ConfigureAwait(false);
        await EventAsync("response.function_call_arguments.done", new() { ["item_id"] = itemId, ["output_index"] = index, ["arguments"] = arguments }, ct).ConfigureAwait(false);
        var item = new { id = itemId, type = "function_call", status = "completed", call_id = callId, name, arguments };
        await EventAsync("response.output_item.done", new() { ["output_index"] = index, ["item"] = item }, ct).ConfigureAwait(false);
        output.Add(item);
        await CompleteAsync(responseId, [.. output], usage, ct).ConfigureAwait(false);
    }

    public override async Task<TokenUsage> WriteStallStartAsync(StallTurn turn, CancellationToken ct)
    {
        await StartAsync(Server.NextId("resp_"), ct).ConfigureAwait(false);
        await MessageItemAsync(0, [turn.PartialText], TimeSpan.Zero, ct, complete: false).ConfigureAwait(false);
        return TokenUsage.Zero;
    }

    public override Task WriteErrorAsync(ErrorTurn turn, CancellationToken ct)
    {
        var (type, code, message) = turn.Status switch
        {
            401 => ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
            429 => ("requests", "rate_limit_exceeded", "Rate limit reached. Please try again later."),
            400 => ("invalid_request_error", "invalid_request", "Invalid request."),
            _ => ("server_error", "server_error", "The server had an error while processing your request."),
        };
        var body = Json(new { error = new { message = turn.Message ?? message, type, param = (string?)null, code } });
        return WriteErrorBodyAsync(turn, body, ct);
    }
}

/// <summary>Gemini API: <c>streamGenerateContent?alt=sse</c> chunks with candidates and usageMetadata.</summary>
internal sealed class GeminiWriter(ModelServer server, HttpConnection connection, JsonElement request, bool streaming, string path)
    : ProtocolWriter(server, connection, request, streaming)
{
    private readonly string _model = ModelOf(path);

    private static string ModelOf(string path)
    {
        int at = path.LastIndexOf("/models/", StringComparison.Ordinal);
        if (at < 0)
            return "gemini-test";
        var rest = path[(at + 8)..];
        int colon = rest.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? rest : rest[..colon];
    }

    public override bool HasTools =>
        Tools(Request).Any(t => t.ValueKind == JsonValueKind.Object && t.TryGetProperty("functionDeclarations", out var f)
            && f.ValueKind == JsonValueKind.Array && f.GetArrayLength() > 0);

    private string ShellToolName
    {
        get
        {
            var names = Tools(Request)
                .Where(t => t.ValueKind == JsonValueKind.Object && t.TryGetProperty("functionDeclarations", out _))
                .SelectMany(t => t.GetProperty("functionDeclarations").EnumerateArray())
                .Select(f => Str(f, "name"))
                .ToList();
            return names.FirstOrDefault(n => n == "run_shell_command")
                ?? names.FirstOrDefault(n => n is not null && n.Contains("shell", StringComparison.Ordinal))
                ?? "run_shell_command";
        }
    }

    private static object UsageOf(TokenUsage u) => new
    {
        promptTokenCount = u.InputIncludingCache,
        candidatesTokenCount = u.Output,
        cachedContentTokenCount = u.CacheRead,
        thoughtsTokenCount = u.Reasoning,
        totalTokenCount = u.InputIncludingCache + u.Output + u.Reasoning,
    };

    private Dictionary<string, object?> Chunk(object[] parts, string? finishReason, TokenUsage? usage, string responseId)
    {
        var candidate = new Dictionary<string, object?>
        {
            ["content"] = new { role = "model", parts },
            ["index"] = 0,
        };
        if (finishReason is not null)
            candidate["finishReason"] = finishReason;
        var chunk = new Dictionary<string, object?>
        {
            ["candidates"] = new[] { candidate },
            ["modelVersion"] = _model,
            ["responseId"] = responseId,
        };
        if (usage is { } u)
            chunk["usageMetadata"] = UsageOf(u);
        return chunk;
    }

    private Task DataAsync(object chunk, CancellationToken ct) => Connection.WriteChunkAsync($"data: {Json(chunk)}\r\n\r\n", ct);

    public override async Task WriteTextAsync(TextTurn turn, CancellationToken ct)
    {
        string responseId = Server.NextId("resp_");
        if (!Streaming)
        {
            var whole = Chunk([new { text = turn.FullText }], "STOP", turn.Usage, responseId);
            await Connection.WriteFullAsync(200, "application/json", Encoding.UTF8.GetBytes(Json(whole)), ct).ConfigureAwait(false);
            return;
        }
        await Connection.StartChunkedAsync("text/event-stream", ct).ConfigureAwait(false);
        for (int i = 0; i < turn.Pieces.Count; i++)
        {
            if (i > 0)
                await PauseAsync(turn.Delay, ct).ConfigureAwait(false);
            bool last = i == turn.Pieces.Count - 1;
            await DataAsync(Chunk([new { text = turn.Pieces[i] }], last ? "STOP" : null, last ? turn.Usage : null, responseId), ct).ConfigureAwait(false);
        }
        await Connection.EndChunkedAsync(ct).ConfigureAwait(false);
    }

    public override Task WriteShellAsync(ShellTurn turn, CancellationToken ct) =>
        WriteToolAsync(ShellToolName, Json(new { command = turn.Command, description = "Run the scripted command" }), turn.Preamble, turn.Usage, ct);

    public override async Task WriteToolAsync(string name, string argumentsJson, string? preamble, TokenUsage usage, CancellationToken ct)
    {
        string responseId = Server.NextId("resp_");
        await Connection.StartChunkedAsync("text/event-stream", ct).ConfigureAwait(false);
        if (preamble is not null)
            await DataAsync(Chunk([new { text = preamble }], null, null, responseId), ct).ConfigureAwait(false);
        using var args = JsonDocument.Parse(argumentsJson);
        var call = new { functionCall = new { name, args = args.RootElement.Clone() } };
        await DataAsync(Chunk([call], "STOP", usage, responseId), ct).ConfigureAwait(false);
        await Connection.EndChunkedAsync(ct).ConfigureAwait(false);
    }

    public override async Task<TokenUsage> WriteStallStartAsync(StallTurn turn, CancellationToken ct)
    {
        await Connection.StartChunkedAsync("text/event-stream", ct).ConfigureAwait(false);
        await DataAsync(Chunk([new { text = turn.PartialText }], null, null, Server.NextId("resp_")), ct).ConfigureAwait(false);
        return TokenUsage.Zero;
    }

    public override Task WriteErrorAsync(ErrorTurn turn, CancellationToken ct)
    {
        var (status, message) = turn.Status switch
        {
            400 => ("INVALID_ARGUMENT", "Request contains an invalid argument."),
            401 => ("UNAUTHENTICATED", "API key not valid. Please pass a valid API key."),
            403 => ("PERMISSION_DENIED", "Permission denied."),
            429 => ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
            503 => ("UNAVAILABLE", "The model is overloaded. Please try again later."),
            _ => ("INTERNAL", "An internal error has occurred."),
        };
        var body = Json(new { error = new { code = turn.Status, message = turn.Message ?? message, status } });
        return WriteErrorBodyAsync(turn, body, ct);
    }
}
