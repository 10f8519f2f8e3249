using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Zeroshot.Agents.Sim;

/// <summary>One content block of an assistant message.</summary>
internal abstract record SimBlock;

/// <summary>A <c>{"type":"text","text":...}</c> block.</summary>
internal sealed record SimTextBlock(string Text) : SimBlock;

/// <summary>A <c>{"type":"tool_use","id":...,"name":...,"input":{...}}</c> block; input values are strings.</summary>
internal sealed record SimToolUseBlock(string Id, string Name, IReadOnlyList<KeyValuePair<string, string>> Input) : SimBlock;

/// <summary>
/// Renders the lines Claude Code prints with <c>--output-format stream-json --verbose</c>: one JSON object
/// per line, <c>system/init</c> first, then <c>assistant</c> lines (one per content block, the message id and
/// usage repeated), <c>user</c> lines carrying <c>tool_result</c> blocks, and a final <c>result</c> line.
/// Shapes follow captured Claude Code 1.x/2.x output (see the Claude Agent SDK message types
/// SDKSystemMessage, SDKAssistantMessage, SDKUserMessage, SDKResultMessage).
/// Written with <see cref="Utf8JsonWriter"/> so the code stays trim/AOT clean.
/// </summary>
internal static class SimStreamJson
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // Claude prints raw UTF-8 and does not HTML-escape; the relaxed encoder does the same and still
        // produces valid JSON (RFC 8259 §7 only requires escaping quotes, backslash and control chars).
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    public static readonly string[] Tools =
        ["Task", "Bash", "Glob", "Grep", "LS", "ExitPlanMode", "Read", "Edit", "MultiEdit", "Write", "NotebookEdit",
         "WebFetch", "TodoWrite", "WebSearch", "BashOutput", "KillBash"];

    private static string Render(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static string Init(string cwd, string sessionId, string model, string uuid) => Render(w =>
    {
        w.WriteString("type", "system");
        w.WriteString("subtype", "init");
        w.WriteString("cwd", cwd);
        w.WriteString("session_id", sessionId);
        w.WriteStartArray("tools");
        foreach (var t in Tools) w.WriteStringValue(t);
        w.WriteEndArray();
        w.WriteStartArray("mcp_servers");
        w.WriteEndArray();
        w.WriteString("model", model);
        w.WriteString("permissionMode", "bypassPermissions");
        w.WriteStartArray("slash_commands");
        foreach (var c in (string[])["compact", "context", "cost", "init", "review"]) w.WriteStringValue(c);
        w.WriteEndArray();
        w.WriteString("apiKeySource", "none");
        w.WriteString("output_style", "default");
        w.WriteString("uuid", uuid);
    });

    public static string Assistant(string messageId, string model, SimBlock block, SimUsage usage, string sessionId, string uuid) => Render(w =>
    {
        w.WriteString("type", "assistant");
        w.WriteStartObject("message");
        w.WriteString("id", messageId);
        w.WriteString("type", "message");
        w.WriteString("role", "assistant");
        w.WriteString("model", model);
        w.WriteStartArray("content");
        w.WriteStartObject();
        switch (block)
        {
            case SimTextBlock t:
                w.WriteString("type", "text");
                w.WriteString("text", t.Text);
                break;
            case SimToolUseBlock u:
                w.WriteString("type", "tool_use");
                w.WriteString("id", u.Id);
                w.WriteString("name", u.Name);
                w.WriteStartObject("input");
                foreach (var kv in u.Input) w.WriteString(kv.Key, kv.Value);
                w.WriteEndObject();
                break;
            default:
                throw new ArgumentException($"unknown block {block.GetType().Name}", nameof(block));
        }
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteNull("stop_reason");
        w.WriteNull("stop_sequence");
        w.WriteStartObject("usage");
        WriteTokens(w, usage);
        w.WriteString("service_tier", "standard");
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteNull("parent_tool_use_id");
        w.WriteString("session_id", sessionId);
        w.WriteString("uuid", uuid);
    });

    public static string ToolResult(string toolUseId, string content, bool isError, string sessionId, string uuid) => Render(w =>
    {
        w.WriteString("type", "user");
        w.WriteStartObject("message");
        w.WriteString("role", "user");
        w.WriteStartArray("content");
        w.WriteStartObject();
        w.WriteString("tool_use_id", toolUseId);
        w.WriteString("type", "tool_result");
        w.WriteString("content", content);
        w.WriteBoolean("is_error", isError);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteNull("parent_tool_use_id");
        w.WriteString("session_id", sessionId);
        w.WriteString("uuid", uuid);
    });

    /// <summary>
    /// The final line. A non-zero exit prints <c>"subtype":"success","is_error":true</c> with the reason in
    /// <c>result</c>, as Claude Code does when a turn ends in an error it can describe (e.g. "API Error: …").
    /// </summary>
    public static string Result(bool isError, long durationMs, long durationApiMs, int numTurns, string result,
        string sessionId, string model, decimal costUsd, SimUsage usage, string uuid) => Render(w =>
    {
        w.WriteString("type", "result");
        w.WriteString("subtype", "success");
        w.WriteBoolean("is_error", isError);
        w.WriteNumber("duration_ms", durationMs);
        w.WriteNumber("duration_api_ms", durationApiMs);
        w.WriteNumber("num_turns", numTurns);
        w.WriteString("result", result);
        w.WriteString("session_id", sessionId);
        w.WriteNumber("total_cost_usd", costUsd);
        w.WriteStartObject("usage");
        WriteTokens(w, usage);
        w.WriteStartObject("server_tool_use");
        w.WriteNumber("web_search_requests", 0);
        w.WriteEndObject();
        w.WriteString("service_tier", "standard");
        w.WriteEndObject();
        w.WriteStartObject("modelUsage");
        w.WriteStartObject(model);
        w.WriteNumber("inputTokens", usage.InputTokens);
        w.WriteNumber("outputTokens", usage.OutputTokens);
        w.WriteNumber("cacheReadInputTokens", usage.CacheReadInputTokens);
        w.WriteNumber("cacheCreationInputTokens", usage.CacheCreationInputTokens);
        w.WriteNumber("webSearchRequests", 0);
        w.WriteNumber("costUSD", costUsd);
        w.WriteNumber("contextWindow", 200_000);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteStartArray("permission_denials");
        w.WriteEndArray();
        w.WriteString("uuid", uuid);
    });

    private static void WriteTokens(Utf8JsonWriter w, SimUsage u)
    {
        w.WriteNumber("input_tokens", u.InputTokens);
        w.WriteNumber("cache_creation_input_tokens", u.CacheCreationInputTokens);
        w.WriteNumber("cache_read_input_tokens", u.CacheReadInputTokens);
        w.WriteNumber("output_tokens", u.OutputTokens);
    }

    /// <summary>A validator's verdict object, compact: <c>{"approved":…,"summary":…,"issues":[…]}</c>.</summary>
    public static string Verdict(bool approved, string summary, IReadOnlyList<string> issues) => Render(w =>
    {
        w.WriteBoolean("approved", approved);
        w.WriteString("summary", summary);
        w.WriteStartArray("issues");
        foreach (var issue in issues) w.WriteStringValue(issue);
        w.WriteEndArray();
    });
}
