using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Zeroshot.Agents.Config;

namespace Zeroshot.Agents.Output;

/// <summary>Options of an <see cref="AgentOutputInterpreter"/>.</summary>
internal sealed record AgentOutputOptions
{
    /// <summary>Show every line as written (<c>--raw</c>); accounting and activity still run.</summary>
    public bool Raw { get; init; }

    /// <summary>Price table lookup; defaults to the built-in <see cref="ZeroshotSettings.Default"/> prices.</summary>
    public Func<string?, ModelPrice>? PriceFor { get; init; }

    /// <summary>The agent's configured model: prices output that names no model (Codex prints none).</summary>
    public string? Model { get; init; }

    /// <summary>Clock of the activity tracker.</summary>
    public TimeProvider? TimeProvider { get; init; }

    /// <summary>How long plain output shows as activity "output".</summary>
    public TimeSpan? OutputWindow { get; init; }

    /// <summary>Bytes kept of one line; longer lines are cut and counted unparsed.</summary>
    public int MaxLineBytes { get; init; } = LineAssembler.DefaultMaxLineBytes;

    /// <summary>Bytes of one raw line shown at most (display only; the log keeps everything).</summary>
    public int MaxRawDisplayBytes { get; init; } = 16 * 1024;

    /// <summary>
    /// The provider that writes this output (claude, codex, gemini, sim), when known: Gemini's stream-json shares
    /// event names with Claude's (<c>result</c>) and Codex's (<c>error</c>), so the provider decides those lines.
    /// </summary>
    public string? Provider { get; init; }
}

/// <summary>
/// Reads one agent process run's output (PTY chunks, split anywhere) and turns it into display lines,
/// token/cost accounting (<see cref="Usage"/>) and activity (<see cref="Activity"/>).
/// </summary>
/// <remarks>
/// <para>Each line is classified on its own, so a run may mix dialects and plain output: a line whose first
/// non-blank byte is <c>{</c> is parsed as JSON; Claude stream-json and Codex exec events are rendered for
/// people, other valid JSON and every non-JSON line pass through unchanged (ANSI escapes included).</para>
/// <para>Hostile input never throws and never stops the stream: malformed or truncated JSON, lines over
/// <see cref="AgentOutputOptions.MaxLineBytes"/>, invalid UTF-8 and NUL bytes are shown raw (cut for
/// display) and counted in <see cref="UnparsedLines"/>.</para>
/// <para><see cref="Feed"/>/<see cref="Complete"/> are called by one thread; <see cref="Usage"/>,
/// <see cref="Activity"/> and the counters can be read from any thread.</para>
/// </remarks>
internal sealed class AgentOutputInterpreter
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64 };

    private readonly Action<DisplayLine>? _sink;
    private readonly AgentOutputOptions _options;
    private readonly Func<string?, ModelPrice> _priceFor;
    private readonly LineAssembler _lines;
    private readonly List<DisplayLine> _pending = [];
    private readonly Dictionary<string, string> _toolNames = new(StringComparer.Ordinal);
    private readonly System.Text.StringBuilder _geminiText = new();
    private bool _geminiTurnText;
    private string? _codexThread;
    private long _lineCount;
    private long _unparsed;
    private string? _finalText;
    private string? _lastLine;
    private Verdict? _structuredVerdict;
    private Verdict? _lastStatedVerdict;
    private string? _runError;
    private int _toolCalls;
    private int _deniedTools;
    private int _failedTools;

    /// <param name="sink">Receives display lines in order, synchronously on the feeding thread (its exceptions propagate to
    /// the caller of Feed); null to only account (nothing is decoded or rendered then).</param>
    /// <param name="options">Options; defaults when null.</param>
    public AgentOutputInterpreter(Action<DisplayLine>? sink, AgentOutputOptions? options = null)
    {
        // Every line shown also becomes the last line (the dashboard's "last output"): a reference kept, no copy.
        _sink = sink is null ? null : line =>
        {
            // A line of escape sequences alone (Claude's closing ESC[?25h) is not a last line to show.
            if (!Terminal.Escapes.EscapeStripper.StripsToNothing(line.Text, whiteSpaceIsNothing: true))
                Volatile.Write(ref _lastLine, line.Text);
            sink(line);
        };
        _options = options ?? new AgentOutputOptions();
        _priceFor = _options.PriceFor ?? ZeroshotSettings.Default.PriceFor;
        Usage = new RunUsage(_priceFor, _options.Model);
        Activity = new ActivityTracker(_options.TimeProvider, _options.OutputWindow);
        _lines = new LineAssembler(OnLine, _options.MaxLineBytes);
    }

    /// <summary>Tokens and cost of this run.</summary>
    public RunUsage Usage { get; }

    /// <summary>The text of the last non-blank display line, as rendered (a raw line may hold escapes); null before
    /// one, and always without a sink.</summary>
    public string? LastLine => Volatile.Read(ref _lastLine);

    /// <summary>What the agent is doing.</summary>
    public ActivityTracker Activity { get; }

    /// <summary>Lines seen (complete, plus a final unterminated one after <see cref="Complete"/>).</summary>
    public long Lines => Interlocked.Read(ref _lineCount);

    /// <summary>Lines that could not be understood: malformed JSON, cut, invalid UTF-8, binary.</summary>
    public long UnparsedLines => Interlocked.Read(ref _unparsed);

    /// <summary>
    /// The agent's final answer: Claude's <c>result.result</c> (else its last assistant text), Codex's last
    /// <c>agent_message</c>, Gemini's last assistant message. Validators' verdicts are read from it.
    /// </summary>
    public string? FinalText => Volatile.Read(ref _finalText);

    /// <summary>
    /// The validator's verdict: the CLI's structured output when it gave one, else a JSON object in
    /// <see cref="FinalText"/>, else the last verdict any of its messages gave (a CLI may send one more turn after
    /// the answer, e.g. Claude Code asking for its StructuredOutput tool under <c>--json-schema</c>).
    /// </summary>
    public Verdict? Verdict => Volatile.Read(ref _structuredVerdict) ?? Output.Verdict.FromText(FinalText) ?? Volatile.Read(ref _lastStatedVerdict);

    /// <summary>Why the run failed by its own account (an error result, a failed turn, an API error), null when it did not.</summary>
    public string? RunError => Volatile.Read(ref _runError);

    /// <summary>Tool calls the agent made.</summary>
    public int ToolCalls => Volatile.Read(ref _toolCalls);

    /// <summary>Tool calls refused by the CLI's permission mode or sandbox (Claude permission denials, Codex declined commands).</summary>
    public int DeniedToolCalls => Volatile.Read(ref _deniedTools);

    /// <summary>Tool calls that failed because the sandbox forbade what they did (e.g. a read-only file system).</summary>
    public int SandboxFailedToolCalls => Volatile.Read(ref _failedTools);

    /// <summary>Current size of the line buffer in bytes (bounded by MaxLineBytes).</summary>
    internal int LineBufferCapacity => _lines.BufferCapacity;

    /// <summary>One chunk of output as read from the terminal.</summary>
    public void Feed(ReadOnlySpan<byte> chunk)
    {
        if (chunk.IsEmpty)
            return;
        Activity.NoteOutput();
        _lines.Feed(chunk);
    }

    /// <summary>End of output: interprets a last line that had no line end.</summary>
    public void Complete()
    {
        _lines.Complete();
        FlushGeminiText();
        foreach (var item in _pending)
            _sink?.Invoke(item);
        _pending.Clear();
    }

    private void OnLine(ReadOnlySpan<byte> line, bool truncated, long totalLength)
    {
        Interlocked.Increment(ref _lineCount);
        if (truncated || !Utf8.IsValid(line) || line.Contains((byte)0))
        {
            Interlocked.Increment(ref _unparsed);
            EmitRaw(line, totalLength);
            return;
        }

        // A terminal mode switch may precede the JSON on the same line: .NET and Node programs write
        // e.g. ESC[?1h ESC= (application cursor keys and keypad, terminfo smkx) when they start on a
        // terminal. Skip such sequences before deciding whether the line is JSON.
        var json = SkipEscapeSequences(line.TrimStart(" \t"u8)).TrimStart(" \t"u8);
        if (json.IsEmpty || json[0] != (byte)'{')
        {
            EmitRaw(line, totalLength);
            // Gemini CLI reports its retries only on stderr, which shares the agent's terminal:
            // "Attempt 1 failed with status 429. Retrying with backoff... _ApiError: {…}".
            if (line.StartsWith("Attempt "u8) && CliRefusal.GeminiRetry(Encoding.UTF8.GetString(line[..Math.Min(line.Length, 4096)])) is { } retry)
            {
                Activity.Retrying(retry.Detail, retry.Error);
                return;
            }
            if (line.Length < 1024 && CliRefusal.Explain(Encoding.UTF8.GetString(line)) is { } advice)
            {
                // The CLI refused to start and said why in plain text: say what to do, once, as the run's error.
                Volatile.Write(ref _runError, advice);
                Activity.Failed(advice);
                _sink?.Invoke(new DisplayLine("✗ " + advice, DisplayStyle.Error));
            }
            return;
        }

        bool understood;
        try
        {
            understood = Interpret(json);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            // JsonException: malformed or too deep (RFC 8259 text it is not). The others: a shape the lenient
            // accessors did not anticipate. Either way the line is data we could not read, not a crash.
            _pending.Clear();
            Interlocked.Increment(ref _unparsed);
            EmitRaw(line, totalLength);
            return;
        }

        if (!understood || _options.Raw)
        {
            _pending.Clear();
            EmitRaw(line, totalLength);
            return;
        }

        foreach (var item in _pending)
            _sink?.Invoke(item);
        _pending.Clear();
    }

    /// <summary>Parses, accounts, renders into <see cref="_pending"/>; false for JSON of neither dialect.</summary>
    private bool Interpret(ReadOnlySpan<byte> line)
    {
        var reader = new Utf8JsonReader(line, ReaderOptions);
        using var document = JsonDocument.ParseValue(ref reader);
        if (!line[(int)reader.BytesConsumed..].TrimEnd(" \t\r"u8).IsEmpty)
            throw new JsonException("trailing data after the JSON value");
        var root = document.RootElement;
        var dialect = StreamJsonRenderer.Detect(root, _options.Provider, out var type);
        if (dialect == OutputDialect.None)
            return false;
        if (dialect != OutputDialect.Gemini || type != "message")
            FlushGeminiText();
        if (dialect == OutputDialect.Claude)
            AccountClaude(root, type);
        else if (dialect == OutputDialect.Codex)
            AccountCodex(root, type);
        else
            AccountGemini(root, type);
        if (!_options.Raw && _sink is not null)
            StreamJsonRenderer.Render(root, dialect, _priceFor, Usage.Model ?? _options.Model, _toolNames, _pending);
        return true;
    }

    private void AccountClaude(JsonElement root, string? type)
    {
        switch (type)
        {
            case "system" when root.Str("subtype") == "init":
                Usage.NoteModel(root.Str("model"));
                Activity.ModelRequested();
                break;
            case "system" when root.Str("subtype") == "api_retry":
                // Claude Code retries failed API requests itself (10 times by default, minutes of back-off, 401
                // included) and says so only in these lines: without them the agent reads "model" with no error.
                Activity.Retrying(StreamJsonRenderer.ClaudeRetryDetail(root), StreamJsonRenderer.ClaudeRetryError(root));
                break;
            case "assistant":
                var message = root.Obj("message");
                string? id = message?.Str("id");
                if (id is not null && JsonFields.ClaudeUsage(message?.Get("usage")) is { } usage)
                    Usage.OnMessage(id, message?.Str("model"), usage);
                // An API error that ended the turn is reported as an assistant message with an "error" field
                // (e.g. authentication_failed) and the error text as its content: not a model response.
                if (root.Str("error") is { Length: > 0 } apiError)
                {
                    Activity.Failed(StreamJsonRenderer.ClaudeAssistantError(root, apiError));
                    break;
                }
                Activity.ModelResponded(id, topLevel: root.Get("parent_tool_use_id") is null);
                if (message?.Arr("content") is { } content)
                    foreach (var block in content.EnumerateArray())
                    {
                        if (block.Str("type") == "tool_use" && block.Str("id") is { } toolId)
                        {
                            var name = block.Str("name") ?? "tool";
                            Activity.ToolStarted(toolId, name, id);
                            _toolNames[toolId] = name;
                            if (root.Get("parent_tool_use_id") is null)
                                Interlocked.Increment(ref _toolCalls);
                            // --json-schema: the answer is the input of Claude Code's StructuredOutput tool.
                            if (name == "StructuredOutput" && block.Obj("input") is { } input && Output.Verdict.FromJson(input) is { } structuredVerdict)
                                Volatile.Write(ref _structuredVerdict, structuredVerdict);
                        }
                        else if (block.Str("type") == "text" && root.Get("parent_tool_use_id") is null && block.Str("text") is { Length: > 0 } text)
                        {
                            Volatile.Write(ref _finalText, text);
                            NoteStatedVerdict(text);
                        }
                    }
                break;
            case "user":
                bool anyResult = false;
                if (root.Obj("message")?.Arr("content") is { } results)
                    foreach (var block in results.EnumerateArray())
                        if (block.Str("type") == "tool_result")
                        {
                            anyResult = true;
                            if (block.Str("tool_use_id") is { } toolUseId)
                                Activity.ToolFinished(toolUseId);
                            if (block.Bool("is_error") && StreamJsonRenderer.IsDenial(StreamJsonRenderer.ToolResultText(block.Get("content"))))
                                Interlocked.Increment(ref _deniedTools);
                        }
                if (anyResult)
                    Activity.ModelRequested();
                break;
            case "stream_event":
                var ev = root.Obj("event");
                switch (ev?.Str("type"))
                {
                    case "message_start" when ev?.Obj("message") is { } started && started.Str("id") is { } startedId:
                        Usage.OnMessageStart(startedId, started.Str("model"), JsonFields.ClaudeUsage(started.Get("usage")) ?? default);
                        Activity.ModelRequested();
                        break;
                    case "message_delta" when ev?.Obj("usage") is { } delta:
                        Usage.OnMessageDelta(delta.Long("input_tokens"), delta.Long("output_tokens"),
                            delta.Long("cache_read_input_tokens"), delta.Long("cache_creation_input_tokens"));
                        break;
                }
                break;
            case "result":
                // total_cost_usd since Claude Code 1.0.x; cost_usd before.
                Usage.OnResult(JsonFields.ClaudeUsage(root.Get("usage")), root.Decimal("total_cost_usd") ?? root.Decimal("cost_usd"));
                Activity.TurnEnded();
                if (root.Str("result") is { Length: > 0 } resultText)
                    Volatile.Write(ref _finalText, resultText);
                // --json-schema: the validated answer arrives as an object of its own.
                if (root.Obj("structured_output") is { } structured && Output.Verdict.FromJson(structured) is { } verdict)
                    Volatile.Write(ref _structuredVerdict, verdict);
                if (root.Bool("is_error") || (root.Str("subtype") is { } subtype && subtype != "success"))
                {
                    var error = StreamJsonRenderer.ClaudeResultError(root);
                    Volatile.Write(ref _runError, error);
                    Activity.Failed(error);
                }
                break;
        }
    }

    private void AccountCodex(JsonElement root, string? type)
    {
        var item = root.Obj("item");
        switch (type)
        {
            case "thread.started":
                _codexThread = root.Str("thread_id");
                break;
            case "turn.started":
                Activity.ModelRequested();
                break;
            case "turn.completed":
                if (JsonFields.CodexUsage(root.Get("usage")) is { } usage)
                    Usage.OnCodexTurnCompleted(_codexThread, usage);
                Activity.TurnEnded();
                break;
            case "turn.failed":
                Activity.TurnEnded();
                var failure = root.Obj("error")?.Str("message") ?? "turn failed";
                Volatile.Write(ref _runError, StreamJsonRenderer.OneLine(failure, StreamJsonRenderer.MaxDetailChars));
                Activity.Failed(StreamJsonRenderer.OneLine(failure, StreamJsonRenderer.MaxDetailChars));
                break;
            case "error":
                // codex exec reports its own retries as error events ("Reconnecting... 2/5 (…)"); anything else
                // is an error that stays visible until the next success.
                var text = root.Str("message") ?? "error";
                if (StreamJsonRenderer.CodexRetryDetail(text) is { } retry)
                    Activity.Retrying(retry, StreamJsonRenderer.OneLine(text, StreamJsonRenderer.MaxDetailChars));
                else
                    Activity.Failed(StreamJsonRenderer.OneLine(text, StreamJsonRenderer.MaxDetailChars));
                break;
            case "item.started" when item is { } started && CodexToolName(started) is { } name && started.Str("id") is { } id:
                Activity.ToolStarted(id, name);
                _toolNames[id] = name;
                Interlocked.Increment(ref _toolCalls);
                break;
            case "item.completed" when item is { } done:
                if (CodexToolName(done) is not null && done.Str("id") is { } doneId)
                {
                    Activity.ToolFinished(doneId);
                    Activity.ModelRequested();
                    if (!_toolNames.ContainsKey(doneId))
                        Interlocked.Increment(ref _toolCalls);
                    CountFailure(StreamJsonRenderer.CodexToolFailure(done));
                }
                else if (done.Str("type") == "agent_message")
                {
                    Activity.ModelResponded();
                    if (done.Str("text") is { Length: > 0 } message)
                    {
                        Volatile.Write(ref _finalText, message);
                        NoteStatedVerdict(message);
                    }
                }
                else if (done.Str("type") == "error" && done.Str("message") is { Length: > 0 } itemError)
                {
                    Activity.Failed(StreamJsonRenderer.OneLine(itemError, StreamJsonRenderer.MaxDetailChars));
                }
                break;
        }
    }

    /// <summary>
    /// Gemini CLI <c>--output-format stream-json</c> (packages/core output/types.ts JsonStreamEventType): init
    /// (session_id, model), message (role, content, delta), tool_use (tool_name, tool_id, parameters),
    /// tool_result (tool_id, status, output, error), error (severity, message), result (status, error, stats).
    /// </summary>
    private void AccountGemini(JsonElement root, string? type)
    {
        switch (type)
        {
            case "init":
                // "auto" (Gemini CLI's model router) is not a model: the one it chose is named in the result.
                if (root.Str("model") is { } model && !model.StartsWith("auto", StringComparison.Ordinal))
                    Usage.NoteModel(model);
                Activity.ModelRequested();
                break;
            case "message":
                if (root.Str("role") == "assistant")
                {
                    Activity.ModelResponded();
                    if (root.Str("content") is { } chunk)
                    {
                        // Deltas of one assistant turn arrive as fragments; the turn's text is their concatenation.
                        if (!_geminiTurnText)
                            _geminiText.Clear();
                        _geminiTurnText = true;
                        _geminiText.Append(chunk);
                        Volatile.Write(ref _finalText, _geminiText.ToString());
                    }
                }
                else
                {
                    Activity.ModelRequested();
                }
                break;
            case "tool_use":
                if (root.Str("tool_id") is { } toolId)
                {
                    var name = root.Str("tool_name") ?? "tool";
                    Activity.ToolStarted(toolId, name);
                    _toolNames[toolId] = name;
                    Interlocked.Increment(ref _toolCalls);
                }
                break;
            case "tool_result":
                if (root.Str("tool_id") is { } resultId)
                    Activity.ToolFinished(resultId);
                Activity.ModelRequested();
                CountFailure(StreamJsonRenderer.GeminiToolFailure(root));
                break;
            case "error":
                var message = StreamJsonRenderer.OneLine(root.Str("message") ?? "error", StreamJsonRenderer.MaxDetailChars);
                if (StreamJsonRenderer.GeminiRetryDetail(root) is { } retry)
                    Activity.Retrying(retry, message);
                else
                    Activity.Failed(message);
                break;
            case "result":
                // stats.models: per-model usage; the model that used the most tokens is the agent's model.
                if (root.Obj("stats")?.Obj("models") is { } models)
                {
                    string? busiest = null;
                    long most = -1;
                    foreach (var entry in models.EnumerateObject())
                        if ((entry.Value.Long("total_tokens") ?? 0) > most)
                            (busiest, most) = (entry.Name, entry.Value.Long("total_tokens") ?? 0);
                    Usage.NoteModel(busiest);
                }
                if (JsonFields.GeminiUsage(root.Obj("stats")) is { } usage)
                    Usage.OnGeminiResult(usage);
                Activity.TurnEnded();
                if (root.Str("status") is { } status && status != "success")
                {
                    var error = StreamJsonRenderer.OneLine(root.Obj("error")?.Str("message") ?? status, StreamJsonRenderer.MaxDetailChars);
                    Volatile.Write(ref _runError, error);
                    Activity.Failed(error);
                }
                break;
        }
    }

    /// <summary>Counts a tool call the permission mode refused or the sandbox failed.</summary>
    private void CountFailure(ToolFailure failure)
    {
        if (failure == ToolFailure.Denied)
            Interlocked.Increment(ref _deniedTools);
        else if (failure == ToolFailure.Sandbox)
            Interlocked.Increment(ref _failedTools);
    }

    /// <summary>Remembers a verdict stated in a message that may not be the last one. Only text that mentions
    /// "approved" is parsed, so ordinary messages cost one substring search.</summary>
    private void NoteStatedVerdict(string text)
    {
        if (text.Contains("\"approved\"", StringComparison.Ordinal) && Output.Verdict.FromText(text) is { } stated)
            Volatile.Write(ref _lastStatedVerdict, stated);
    }

    /// <summary>Gemini streams assistant text in fragments: they are shown as whole lines once the message ends.</summary>
    private void FlushGeminiText()
    {
        if (!_geminiTurnText)
            return;
        _geminiTurnText = false;
        NoteStatedVerdict(_geminiText.ToString());
        if (!_options.Raw && _sink is not null)
            StreamJsonRenderer.AddText(_geminiText.ToString(), DisplayStyle.Text, _pending);
    }

    /// <summary>The activity detail of a Codex item that is a tool, null for other items.</summary>
    private static string? CodexToolName(JsonElement item) => item.Str("type") switch
    {
        "command_execution" => "shell",
        "mcp_tool_call" => StreamJsonRenderer.CodexToolName(item),
        "web_search" => "web_search",
        _ => null,
    };

    private DisplayLine RawLine(ReadOnlySpan<byte> line, long totalLength)
    {
        int max = _options.MaxRawDisplayBytes;
        if (line.Length <= max && totalLength == line.Length)
            return new(Encoding.UTF8.GetString(line), DisplayStyle.Raw);
        var head = line[..Math.Min(line.Length, max)];
        // Do not end inside a UTF-8 sequence: back up over continuation bytes (10xxxxxx) to a lead byte.
        if (head.Length < line.Length)
        {
            int cut = head.Length;
            while (cut > 0 && cut > head.Length - 4 && (line[cut] & 0xC0) == 0x80)
                cut--;
            head = line[..cut];
        }
        return new($"{Encoding.UTF8.GetString(head)} … [{totalLength} bytes, cut]", DisplayStyle.Raw);
    }

    /// <summary>Shows a line as written; without a sink (accounting only) nothing is decoded.</summary>
    private void EmitRaw(ReadOnlySpan<byte> line, long totalLength)
    {
        if (_sink is not null)
            _sink(RawLine(line, totalLength));
    }

    /// <summary>
    /// Skips leading escape sequences (CSI, OSC ended by BEL or ST, DCS, nF sequences such as ESC ( B,
    /// and ESC = / ESC &gt;) with the product's one parser, <see cref="Zeroshot.Terminal.Escapes.EscapeParser"/>;
    /// an incomplete sequence is not skipped.
    /// </summary>
    internal static ReadOnlySpan<byte> SkipEscapeSequences(ReadOnlySpan<byte> line) =>
        Zeroshot.Terminal.Escapes.EscapeStripper.SkipLeading(line);
}
