using System.Text;
using System.Text.Json;
using Zeroshot.Agents.Config;

namespace Zeroshot.Agents.Output;

/// <summary>Which agent protocol a JSON line belongs to.</summary>
internal enum OutputDialect
{
    /// <summary>Valid JSON of neither protocol: shown as written.</summary>
    None,

    /// <summary>Claude Code <c>--output-format stream-json</c>: type system/assistant/user/result/stream_event.</summary>
    Claude,

    /// <summary>Codex <c>exec --json</c>: thread.*, turn.*, item.*, error.</summary>
    Codex,

    /// <summary>Gemini CLI <c>--output-format stream-json</c>: init, message, tool_use, tool_result, error, result.</summary>
    Gemini,
}

/// <summary>Why a tool call did not do its work, when the CLI's permission mode or sandbox is the cause.</summary>
internal enum ToolFailure
{
    /// <summary>It ran (or failed for its own reasons).</summary>
    None,

    /// <summary>Refused by the permission mode or the approval policy: it never ran.</summary>
    Denied,

    /// <summary>It ran, and the sandbox forbade what it tried (read-only file system, no network…).</summary>
    Sandbox,
}

/// <summary>
/// Pure rendering of one parsed stream-json event into display lines for people. Shapes: Claude Agent SDK
/// message types (SDKSystemMessage, SDKAssistantMessage, SDKUserMessage, SDKResultMessage,
/// SDKPartialAssistantMessage) and Codex <c>codex-rs/exec/src/exec_events.rs</c> (ThreadEvent, ThreadItem).
/// Never emits escape codes: text from inside JSON has its control characters removed.
/// </summary>
internal static class StreamJsonRenderer
{
    /// <summary>Longest tool detail / summary shown on a one-line item.</summary>
    public const int MaxDetailChars = 100;

    /// <summary>Longest line of assistant text shown (longer is cut; the log keeps it all).</summary>
    public const int MaxTextLineChars = 4096;

    /// <summary>Tool input fields, most telling first.</summary>
    private static readonly string[] DetailFields =
        ["command", "file_path", "notebook_path", "pattern", "url", "query", "path", "description", "prompt", "skill"];

    private static readonly string[] ShellPrefixes = ["bash -lc ", "/bin/bash -lc ", "/bin/zsh -lc ", "zsh -lc ", "sh -c ", "/bin/sh -c "];

    /// <summary>
    /// The dialect of a parsed line from its <c>type</c> field. Gemini shares <c>result</c> with Claude and
    /// <c>error</c> with Codex: <paramref name="provider"/> ("gemini") decides those, else their fields do
    /// (Gemini's result carries <c>stats</c>, its error a <c>severity</c>).
    /// </summary>
    public static OutputDialect Detect(JsonElement root, string? provider, out string? type)
    {
        type = root.Str("type");
        bool gemini = provider == "gemini";
        return type switch
        {
            "init" or "message" or "tool_use" or "tool_result" => OutputDialect.Gemini,
            "result" when gemini || root.Get("stats") is not null => OutputDialect.Gemini,
            "error" when gemini || root.Get("severity") is not null => OutputDialect.Gemini,
            "system" or "assistant" or "user" or "result" or "stream_event" => OutputDialect.Claude,
            "thread.started" or "turn.started" or "turn.completed" or "turn.failed" or "error"
                or "item.started" or "item.updated" or "item.completed" => OutputDialect.Codex,
            _ => OutputDialect.None,
        };
    }

    /// <summary>The dialect of a parsed line from its <c>type</c> field alone.</summary>
    public static OutputDialect Detect(JsonElement root, out string? type) => Detect(root, null, out type);

    /// <summary>Appends the display lines of one event of a known dialect (zero or more).</summary>
    /// <param name="root">The parsed line.</param>
    /// <param name="dialect">From <c>Detect</c>.</param>
    /// <param name="priceFor">Prices Codex turn totals (Codex prints no cost).</param>
    /// <param name="model">The model for that price (Codex prints none).</param>
    /// <param name="output">Receives the lines.</param>
    /// <param name="toolNames">Tool call id → tool name, as the interpreter saw them start (names denied results).</param>
    public static void Render(JsonElement root, OutputDialect dialect, Func<string?, ModelPrice> priceFor, string? model,
        IReadOnlyDictionary<string, string>? toolNames, List<DisplayLine> output)
    {
        ArgumentNullException.ThrowIfNull(priceFor);
        ArgumentNullException.ThrowIfNull(output);
        toolNames ??= new Dictionary<string, string>();
        if (dialect == OutputDialect.Claude)
            RenderClaude(root, toolNames, output);
        else if (dialect == OutputDialect.Codex)
            RenderCodex(root, priceFor, model, output);
        else if (dialect == OutputDialect.Gemini)
            RenderGemini(root, priceFor, model, toolNames, output);
    }

    /// <summary>Renders without tool names (tests, one-off lines).</summary>
    public static void Render(JsonElement root, OutputDialect dialect, Func<string?, ModelPrice> priceFor, string? model, List<DisplayLine> output) =>
        Render(root, dialect, priceFor, model, null, output);

    private static void RenderClaude(JsonElement root, IReadOnlyDictionary<string, string> toolNames, List<DisplayLine> output)
    {
        switch (root.Str("type"))
        {
            case "system":
                if (root.Str("subtype") == "init")
                    output.Add(new($"● session {root.Str("session_id") ?? "?"} · model {root.Str("model") ?? "?"}", DisplayStyle.Dim));
                else if (root.Str("subtype") == "compact_boundary")
                    output.Add(new("● context compacted", DisplayStyle.Dim));
                else if (root.Str("subtype") == "api_retry")
                    output.Add(new($"↻ retrying {ClaudeRetryDetail(root)}" + (ClaudeRetryError(root) is { } e ? ": " + e : ""), DisplayStyle.Error));
                break;
            case "assistant":
                if (root.Str("error") is { Length: > 0 } apiError)
                {
                    output.Add(new("✗ " + ClaudeAssistantError(root, apiError), DisplayStyle.Error));
                    break;
                }
                if (root.Obj("message")?.Arr("content") is { } content)
                    foreach (var block in content.EnumerateArray())
                        RenderClaudeBlock(block, output);
                break;
            case "user":
                if (root.Obj("message")?.Arr("content") is { } results)
                    foreach (var block in results.EnumerateArray())
                        if (block.Str("type") == "tool_result")
                        {
                            var text = ToolResultText(block.Get("content"));
                            if (block.Bool("is_error") && IsDenial(text))
                            {
                                var name = block.Str("tool_use_id") is { } id && toolNames.TryGetValue(id, out var n) ? n : "tool";
                                output.Add(new($"✗ {OneLine(name, MaxDetailChars)} denied: {FirstLine(StripToolError(text), MaxDetailChars)}", DisplayStyle.Error));
                            }
                            else
                            {
                                output.Add(ToolResultSummary(text, block.Bool("is_error")));
                            }
                        }
                break;
            case "result":
                output.Add(ClaudeResult(root));
                break;
        }
    }

    private static void RenderClaudeBlock(JsonElement block, List<DisplayLine> output)
    {
        switch (block.Str("type"))
        {
            case "text":
                AddText(block.Str("text"), DisplayStyle.Text, output);
                break;
            case "thinking":
                AddThought(block.Str("thinking"), output);
                break;
            case "tool_use" or "server_tool_use":
                output.Add(ToolLine(block.Str("name") ?? "tool", ToolDetail(block.Get("input"))));
                break;
        }
    }

    private static DisplayLine ClaudeResult(JsonElement root)
    {
        bool isError = root.Bool("is_error") || (root.Str("subtype") is { } s && s != "success");
        var sb = new StringBuilder(isError ? "✗ " : "✓ ");
        sb.Append(isError ? (root.Str("subtype") is { } sub && sub != "success" ? sub : "failed") : "done");
        if (root.Long("duration_ms") is { } ms)
            sb.Append(" in ").Append(OutputFormat.Duration(TimeSpan.FromMilliseconds(ms)));
        if (JsonFields.ClaudeUsage(root.Get("usage")) is { } usage)
            sb.Append(" · ").Append(OutputFormat.Tokens(usage.Total)).Append(" tokens");
        if (root.Decimal("total_cost_usd") is { } cost)
            sb.Append(" · ").Append(OutputFormat.Cost(cost, estimated: false));
        if (isError)
        {
            string? reason = root.Str("result");
            if (string.IsNullOrWhiteSpace(reason) && root.Arr("errors") is { } errors)
                foreach (var e in errors.EnumerateArray())
                    if (e.ValueKind == JsonValueKind.String && (reason = e.GetString()) is { Length: > 0 })
                        break;
            if (FirstLine(reason, MaxDetailChars) is { Length: > 0 } r)
                sb.Append(" · ").Append(r);
        }

        return new(sb.ToString(), isError ? DisplayStyle.Error : DisplayStyle.Ok);
    }

    /// <summary>"529 3/10 in 4s" from a Claude <c>system/api_retry</c> line (attempt, max_retries, retry_delay_ms, error_status).</summary>
    internal static string ClaudeRetryDetail(JsonElement root)
    {
        var sb = new StringBuilder();
        if ((root.Long("error_status") ?? root.Long("status")) is { } status)
            sb.Append(status.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append(' ');
        else if (root.Str("error_status") is { Length: > 0 } statusText)
            sb.Append(OneLine(statusText, 20)).Append(' ');
        var attempt = root.Long("attempt");
        var max = root.Long("max_retries") ?? root.Long("maxRetries");
        if (attempt is { } a)
            sb.Append(a.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append(max is { } m ? "/" + m.ToString(System.Globalization.CultureInfo.InvariantCulture) : "");
        if ((root.Long("retry_delay_ms") ?? root.Long("retryDelayMs")) is { } delay)
            sb.Append(" in ").Append(OutputFormat.Duration(TimeSpan.FromMilliseconds(delay)));
        return sb.Length == 0 ? "request" : sb.ToString().Trim();
    }

    /// <summary>The error a Claude retry line reports ("overloaded_error: Overloaded"), or null.</summary>
    internal static string? ClaudeRetryError(JsonElement root)
    {
        var error = root.Get("error");
        string? text = error switch
        {
            { ValueKind: JsonValueKind.String } e => e.GetString(),
            { ValueKind: JsonValueKind.Object } e => e.Str("message") ?? e.Obj("error")?.Str("message") ?? e.Str("type"),
            _ => null,
        };
        var status = root.Long("error_status");
        var line = OneLine(text, MaxDetailChars);
        return line.Length == 0 ? status is { } s ? $"HTTP {s}" : null : status is { } st && !line.Contains(st.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal) ? $"{st} {line}" : line;
    }

    /// <summary>An API error Claude reports as an assistant message: its kind and its text.</summary>
    internal static string ClaudeAssistantError(JsonElement root, string kind)
    {
        string? text = null;
        if (root.Obj("message")?.Arr("content") is { } content)
            foreach (var block in content.EnumerateArray())
                if (block.Str("text") is { Length: > 0 } t)
                {
                    text = t;
                    break;
                }
        var line = FirstLine(text, MaxDetailChars);
        return line.Length == 0 ? kind : $"{kind}: {line}";
    }

    /// <summary>Why a Claude <c>result</c> is an error: its text, its errors, else its subtype.</summary>
    internal static string ClaudeResultError(JsonElement root)
    {
        string? reason = root.Str("result");
        if (string.IsNullOrWhiteSpace(reason) && root.Arr("errors") is { } errors)
            foreach (var e in errors.EnumerateArray())
                if (e.ValueKind == JsonValueKind.String && (reason = e.GetString()) is { Length: > 0 })
                    break;
        var line = FirstLine(reason, MaxDetailChars);
        if (line.Length == 0)
            line = root.Str("terminal_reason") ?? root.Str("subtype") ?? "error";
        // An API error names its HTTP status (api_error_status, Claude Code 2.1): "401 Invalid API key · …".
        return root.Long("api_error_status") is { } status ? $"{status.ToString(System.Globalization.CultureInfo.InvariantCulture)} {line}" : line;
    }

    /// <summary>
    /// Whether a failed tool result says the CLI's permission mode refused the call (it never ran): Claude Code's
    /// "Claude requested permissions to use Bash, but you haven't granted it yet", "… was blocked", and the like.
    /// </summary>
    internal static bool IsDenial(string text) =>
        text.Contains("requested permissions", StringComparison.OrdinalIgnoreCase)
        || text.Contains("was blocked", StringComparison.OrdinalIgnoreCase)
        || text.Contains("needs approval", StringComparison.OrdinalIgnoreCase)
        || text.Contains("requires approval", StringComparison.OrdinalIgnoreCase)
        || text.Contains("haven't granted", StringComparison.OrdinalIgnoreCase)
        || text.Contains("permission denied by", StringComparison.OrdinalIgnoreCase)
        || text.Contains("denied by the user", StringComparison.OrdinalIgnoreCase)
        || text.Contains("rejected by user", StringComparison.OrdinalIgnoreCase);

    private static string StripToolError(string text) =>
        text.Replace("<tool_use_error>", "", StringComparison.Ordinal).Replace("</tool_use_error>", "", StringComparison.Ordinal);

    /// <summary>Signs in a command's output that the sandbox, not the command, failed it.</summary>
    private static readonly string[] SandboxSigns = ["Read-only file system", "Operation not permitted", "Permission denied"];

    /// <summary>The sandbox sign found in <paramref name="text"/>, lower-cased ("read-only file system"), or null.</summary>
    private static string? SandboxSign(string? text)
    {
        if (text is null)
            return null;
        foreach (var sign in SandboxSigns)
            if (text.Contains(sign, StringComparison.OrdinalIgnoreCase))
                return sign.ToLowerInvariant();
        return null;
    }

    /// <summary>Whether a completed Codex tool item was declined or failed in the sandbox.</summary>
    internal static ToolFailure CodexToolFailure(JsonElement item)
    {
        if (item.Str("status") == "declined")
            return ToolFailure.Denied;
        bool failed = (item.Long("exit_code") is { } code && code != 0) || item.Str("status") == "failed";
        return failed && SandboxSign(item.Str("aggregated_output")) is not null ? ToolFailure.Sandbox : ToolFailure.None;
    }

    /// <summary>"2/5" (and the HTTP status when the message names one) from codex's "Reconnecting... 2/5 (…)" errors; null for other errors.</summary>
    internal static string? CodexRetryDetail(string message)
    {
        var match = System.Text.RegularExpressions.Regex.Match(message, @"^\s*(?:Re-?connecting|Retrying)\D*?(\d+)\s*/\s*(\d+)",
            System.Text.RegularExpressions.RegexOptions.IgnoreCase, TimeSpan.FromMilliseconds(50));
        if (!match.Success)
            return null;
        var status = System.Text.RegularExpressions.Regex.Match(message, @"\b([45]\d\d)\b", System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromMilliseconds(50));
        return (status.Success ? status.Groups[1].Value + " " : "") + match.Groups[1].Value + "/" + match.Groups[2].Value;
    }

    /// <summary>Whether a Gemini tool_result was refused or failed in the sandbox.</summary>
    internal static ToolFailure GeminiToolFailure(JsonElement root)
    {
        if (root.Str("status") is not { } status || status == "success")
            return ToolFailure.None;
        var error = root.Obj("error");
        var text = (error?.Str("message") ?? "") + " " + (error?.Str("type") ?? "") + " " + (root.Str("output") ?? "");
        if (text.Contains("denied", StringComparison.OrdinalIgnoreCase) || text.Contains("not allowed", StringComparison.OrdinalIgnoreCase)
            || text.Contains("cancel", StringComparison.OrdinalIgnoreCase) || text.Contains("policy", StringComparison.OrdinalIgnoreCase))
            return ToolFailure.Denied;
        return SandboxSign(text) is not null ? ToolFailure.Sandbox : ToolFailure.None;
    }

    /// <summary>Gemini reports retries as error events mentioning the attempt ("Attempt 2 failed… Retrying"); the detail, or null.</summary>
    internal static string? GeminiRetryDetail(JsonElement root)
    {
        var message = root.Str("message") ?? "";
        if (!message.Contains("retry", StringComparison.OrdinalIgnoreCase) && !message.Contains("retrying", StringComparison.OrdinalIgnoreCase))
            return null;
        var attempt = System.Text.RegularExpressions.Regex.Match(message, @"[Aa]ttempt\s+(\d+)(?:\s*(?:/|of)\s*(\d+))?", System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromMilliseconds(50));
        var status = System.Text.RegularExpressions.Regex.Match(message, @"\b([45]\d\d)\b", System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromMilliseconds(50));
        var detail = (status.Success ? status.Groups[1].Value + " " : "") + (attempt.Success ? attempt.Groups[1].Value + (attempt.Groups[2].Success ? "/" + attempt.Groups[2].Value : "") : "");
        return detail.Trim().Length == 0 ? "request" : detail.Trim();
    }

    private static void RenderGemini(JsonElement root, Func<string?, ModelPrice> priceFor, string? model,
        IReadOnlyDictionary<string, string> toolNames, List<DisplayLine> output)
    {
        switch (root.Str("type"))
        {
            case "init":
                output.Add(new($"● session {root.Str("session_id") ?? "?"} · model {root.Str("model") ?? "?"}", DisplayStyle.Dim));
                break;
            case "tool_use":
                output.Add(ToolLine(root.Str("tool_name") ?? "tool", ToolDetail(root.Get("parameters"))));
                break;
            case "tool_result":
                var name = root.Str("tool_id") is { } id && toolNames.TryGetValue(id, out var n) ? n : "tool";
                var errorText = root.Obj("error")?.Str("message") ?? root.Str("output");
                switch (GeminiToolFailure(root))
                {
                    case ToolFailure.Denied:
                        output.Add(new($"✗ {OneLine(name, MaxDetailChars)} denied: {FirstLine(errorText, MaxDetailChars)}", DisplayStyle.Error));
                        break;
                    case ToolFailure.Sandbox:
                        output.Add(new($"✗ {OneLine(name, MaxDetailChars)} failed: {SandboxSign(errorText) ?? FirstLine(errorText, MaxDetailChars)}", DisplayStyle.Error));
                        break;
                    default:
                        output.Add(root.Str("status") is { } status && status != "success"
                            ? ToolResultSummary(errorText ?? status, isError: true)
                            : ToolResultSummary(root.Str("output") ?? "", isError: false));
                        break;
                }
                break;
            case "error":
                output.Add(GeminiRetryDetail(root) is { } retry
                    ? new($"↻ retrying {retry}: {OneLine(root.Str("message"), MaxDetailChars)}", DisplayStyle.Error)
                    : new("✗ " + OneLine(root.Str("message") ?? "error", MaxDetailChars), DisplayStyle.Error));
                break;
            case "result":
                bool ok = root.Str("status") is null or "success";
                var sb = new StringBuilder(ok ? "✓ done" : "✗ " + (root.Str("status") ?? "failed"));
                if (root.Obj("stats") is { } stats)
                {
                    if (stats.Long("duration_ms") is { } ms)
                        sb.Append(" in ").Append(OutputFormat.Duration(TimeSpan.FromMilliseconds(ms)));
                    if (JsonFields.GeminiUsage(stats) is { } usage)
                        sb.Append(" · ").Append(OutputFormat.Tokens(usage.Total)).Append(" tokens · ")
                            .Append(OutputFormat.Cost(usage.CostAt(priceFor(model)), estimated: true));
                }
                if (!ok && root.Obj("error")?.Str("message") is { } message)
                    sb.Append(" · ").Append(OneLine(message, MaxDetailChars));
                output.Add(new(sb.ToString(), ok ? DisplayStyle.Ok : DisplayStyle.Error));
                break;
        }
    }

    private static void RenderCodex(JsonElement root, Func<string?, ModelPrice> priceFor, string? model, List<DisplayLine> output)
    {
        switch (root.Str("type"))
        {
            case "thread.started":
                output.Add(new($"● thread {root.Str("thread_id") ?? "?"}", DisplayStyle.Dim));
                break;
            case "turn.completed":
                var usage = JsonFields.CodexUsage(root.Get("usage")) ?? default;
                var cost = OutputFormat.Cost(usage.CostAt(priceFor(model)), estimated: true);
                output.Add(new($"✓ turn done · {OutputFormat.Tokens(usage.Total)} tokens · {cost}", DisplayStyle.Ok));
                break;
            case "turn.failed":
                output.Add(new("✗ turn failed: " + OneLine(root.Obj("error")?.Str("message"), MaxDetailChars), DisplayStyle.Error));
                break;
            case "error":
                var message = root.Str("message") ?? "";
                output.Add(CodexRetryDetail(message) is { } retry
                    ? new($"↻ retrying {retry}: {OneLine(message, MaxDetailChars)}", DisplayStyle.Error)
                    : new("✗ error: " + OneLine(message, MaxDetailChars), DisplayStyle.Error));
                break;
            case "item.started":
                if (root.Obj("item") is { } started)
                    RenderCodexStarted(started, output);
                break;
            case "item.completed":
                if (root.Obj("item") is { } completed)
                    RenderCodexCompleted(completed, output);
                break;
        }
    }

    private static void RenderCodexStarted(JsonElement item, List<DisplayLine> output)
    {
        switch (item.Str("type"))
        {
            case "command_execution":
                output.Add(ToolLine("shell", ShellCommand(item.Str("command"))));
                break;
            case "mcp_tool_call":
                output.Add(ToolLine(CodexToolName(item), ToolDetail(item.Get("arguments"))));
                break;
        }
    }

    private static void RenderCodexCompleted(JsonElement item, List<DisplayLine> output)
    {
        switch (item.Str("type"))
        {
            case "agent_message" or "plan":
                AddText(item.Str("text"), DisplayStyle.Text, output);
                break;
            case "reasoning":
                AddThought(item.Str("text"), output);
                break;
            case "command_execution":
                long? exit = item.Long("exit_code");
                bool failed = (exit is { } code && code != 0) || item.Str("status") is "failed" or "declined";
                string text = item.Str("aggregated_output") ?? "";
                var failure = CodexToolFailure(item);
                if (failure == ToolFailure.Denied)
                {
                    output.Add(new("✗ shell denied: " + (FirstLine(LastNonEmptyLine(text), MaxDetailChars) is { Length: > 0 } why ? why : ShellCommand(item.Str("command"))), DisplayStyle.Error));
                    break;
                }
                if (failure == ToolFailure.Sandbox)
                {
                    output.Add(new("✗ shell failed: " + SandboxSign(text), DisplayStyle.Error));
                    break;
                }
                output.Add(failed
                    ? new($"  ↳ error: exit {exit?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? item.Str("status")}"
                          + (FirstLine(LastNonEmptyLine(text), MaxDetailChars) is { Length: > 0 } l ? " · " + l : ""), DisplayStyle.Error)
                    : ToolResultSummary(text, isError: false));
                break;
            case "file_change":
                var changes = new StringBuilder();
                if (item.Arr("changes") is { } list)
                    foreach (var change in list.EnumerateArray())
                        changes.Append(changes.Length == 0 ? "" : ", ").Append(change.Str("kind") ?? "change").Append(' ').Append(change.Str("path") ?? "?");
                output.Add(item.Str("status") == "failed"
                    ? new("⚙ patch failed: " + OneLine(changes.ToString(), MaxDetailChars), DisplayStyle.Error)
                    : ToolLine("patch", changes.ToString()));
                break;
            case "mcp_tool_call":
                output.Add(item.Str("status") == "failed" || item.Obj("error") is not null
                    ? new("  ↳ error: " + OneLine(item.Obj("error")?.Str("message") ?? "failed", MaxDetailChars), DisplayStyle.Error)
                    : new("  ↳ done", DisplayStyle.Dim));
                break;
            case "web_search":
                output.Add(ToolLine("web_search", item.Str("query")));
                break;
            case "todo_list":
                int done = 0, total = 0;
                if (item.Arr("items") is { } todos)
                    foreach (var todo in todos.EnumerateArray())
                        (done, total) = (done + (todo.Bool("completed") ? 1 : 0), total + 1);
                output.Add(new($"● todo {done}/{total} done", DisplayStyle.Dim));
                break;
            case "error":
                output.Add(new("✗ " + OneLine(item.Str("message"), MaxDetailChars), DisplayStyle.Error));
                break;
        }
    }

    /// <summary>"server.tool" of a Codex MCP item (also the activity detail).</summary>
    internal static string CodexToolName(JsonElement item) =>
        item.Str("server") is { Length: > 0 } server ? $"{server}.{item.Str("tool") ?? "?"}" : item.Str("tool") ?? "mcp";

    /// <summary>"⚙ Bash: npm test", or "⚙ Bash" without a detail.</summary>
    private static DisplayLine ToolLine(string name, string? detail)
    {
        string d = OneLine(detail, MaxDetailChars);
        return new(d.Length == 0 ? $"⚙ {OneLine(name, MaxDetailChars)}" : $"⚙ {OneLine(name, MaxDetailChars)}: {d}", DisplayStyle.Tool);
    }

    /// <summary>The most telling input of a tool call: command, file path, pattern, URL, … else the first string value.</summary>
    internal static string? ToolDetail(JsonElement? input)
    {
        if (input is not { ValueKind: JsonValueKind.Object } obj)
            return null;
        foreach (var field in DetailFields)
            if (obj.Str(field) is { Length: > 0 } value)
                return value;
        if (obj.Arr("todos") is { } todos)
            return $"{todos.GetArrayLength()} todos";
        foreach (var property in obj.EnumerateObject())
            if (property.Value.ValueKind == JsonValueKind.String && property.Value.GetString() is { Length: > 0 } value)
                return value;
        return null;
    }

    /// <summary>"  ↳ 42 lines", "  ↳ (no output)" or "  ↳ error: first line" (Claude wraps tool errors in &lt;tool_use_error&gt;).</summary>
    private static DisplayLine ToolResultSummary(string text, bool isError)
    {
        if (isError)
            return new("  ↳ error: " + FirstLine(text.Replace("<tool_use_error>", "", StringComparison.Ordinal).Replace("</tool_use_error>", "", StringComparison.Ordinal), MaxDetailChars), DisplayStyle.Error);
        int lines = CountLines(text);
        return new(lines switch { 0 => "  ↳ (no output)", 1 => "  ↳ 1 line", _ => $"  ↳ {lines} lines" }, DisplayStyle.Dim);
    }

    /// <summary>A tool_result's content: a string, or an array of blocks whose text blocks are joined.</summary>
    internal static string ToolResultText(JsonElement? content)
    {
        if (content is not { } c)
            return "";
        if (c.ValueKind == JsonValueKind.String)
            return c.GetString() ?? "";
        if (c.ValueKind != JsonValueKind.Array)
            return "";
        var sb = new StringBuilder();
        foreach (var block in c.EnumerateArray())
            if (block.Str("text") is { } text)
                sb.Append(sb.Length == 0 ? "" : "\n").Append(text);
        return sb.ToString();
    }

    private static string ShellCommand(string? command)
    {
        if (command is null)
            return "";
        foreach (var prefix in ShellPrefixes)
            if (command.StartsWith(prefix, StringComparison.Ordinal))
            {
                var rest = command[prefix.Length..].Trim();
                return rest.Length >= 2 && (rest[0] is '\'' or '"') && rest[^1] == rest[0] ? rest[1..^1] : rest;
            }
        return command;
    }

    private static int CountLines(string text)
    {
        var span = text.AsSpan().TrimEnd("\r\n");
        if (span.IsWhiteSpace())
            return 0;
        return span.Count('\n') + 1;
    }

    private static string? LastNonEmptyLine(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? null : lines[^1];
    }

    /// <summary>The first non-blank line, cleaned and cut.</summary>
    internal static string FirstLine(string? text, int max)
    {
        if (text is null)
            return "";
        foreach (var line in text.Split('\n'))
            if (!string.IsNullOrWhiteSpace(line))
                return OneLine(line, max);
        return "";
    }

    /// <summary>Whitespace runs (line breaks included) become one space; controls dropped; cut with "…".</summary>
    internal static string OneLine(string? text, int max)
    {
        if (string.IsNullOrEmpty(text))
            return "";
        var sb = new StringBuilder(Math.Min(text.Length, max + 1));
        bool space = false;
        foreach (char ch in text)
        {
            if (char.IsWhiteSpace(ch))
            {
                space = sb.Length > 0;
                continue;
            }
            if (char.IsControl(ch))
                continue;
            if (space)
            {
                sb.Append(' ');
                space = false;
            }
            sb.Append(ch);
            if (sb.Length > max)
                break;
        }
        return Cut(sb.ToString(), max);
    }

    /// <summary>Reasoning (Claude thinking, Codex reasoning summary) as one dim line.</summary>
    private static void AddThought(string? text, List<DisplayLine> output)
    {
        if (OneLine(text, MaxDetailChars) is { Length: > 0 } thought)
            output.Add(new("✻ " + thought, DisplayStyle.Dim));
    }

    internal static void AddText(string? text, DisplayStyle style, List<DisplayLine> output)
    {
        if (string.IsNullOrEmpty(text))
            return;
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd('\n').Split('\n');
        foreach (var line in lines)
        {
            var sb = new StringBuilder(line.Length);
            foreach (char ch in line)
                if (ch == '\t' || !char.IsControl(ch))
                    sb.Append(ch);
            output.Add(new(Cut(sb.ToString(), MaxTextLineChars), style));
        }
    }

    /// <summary>Cuts to <paramref name="max"/> chars with a trailing "…", never splitting a surrogate pair.</summary>
    internal static string Cut(string s, int max)
    {
        if (s.Length <= max)
            return s;
        int n = max - 1;
        if (n > 0 && char.IsHighSurrogate(s[n - 1]))
            n--;
        return string.Concat(s.AsSpan(0, n), "…");
    }
}
