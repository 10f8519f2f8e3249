namespace Zeroshot.TestModelServer;

/// <summary>The wire protocol a request arrived in.</summary>
public enum ModelProtocol
{
    /// <summary>Anthropic Messages API (<c>POST /v1/messages</c>), used by Claude Code.</summary>
    Anthropic,

    /// <summary>OpenAI Responses API (<c>POST /v1/responses</c>), used by Codex.</summary>
    OpenAIResponses,

    /// <summary>Gemini API (<c>:streamGenerateContent</c>, <c>:generateContent</c>), used by Gemini CLI.</summary>
    Gemini,
}

/// <summary>
/// Token figures of one scripted response, protocol-neutral. <see cref="Input"/> is the uncached input;
/// on the wire: Anthropic <c>input_tokens</c>=Input, <c>cache_read_input_tokens</c>=CacheRead,
/// <c>cache_creation_input_tokens</c>=CacheCreation, <c>output_tokens</c>=Output; OpenAI <c>input_tokens</c>=Input+CacheRead,
/// <c>cached_tokens</c>=CacheRead, <c>output_tokens</c>=Output, <c>reasoning_tokens</c>=Reasoning (part of Output);
/// Gemini <c>promptTokenCount</c>=Input+CacheRead, <c>cachedContentTokenCount</c>=CacheRead,
/// <c>candidatesTokenCount</c>=Output, <c>thoughtsTokenCount</c>=Reasoning, <c>totalTokenCount</c>=their sum.
/// </summary>
public readonly record struct TokenUsage(long Input, long Output, long CacheRead = 0, long CacheCreation = 0, long Reasoning = 0)
{
    /// <summary>No tokens.</summary>
    public static TokenUsage Zero => default;

    /// <summary>Field-wise sum.</summary>
    public static TokenUsage operator +(TokenUsage a, TokenUsage b) =>
        new(a.Input + b.Input, a.Output + b.Output, a.CacheRead + b.CacheRead, a.CacheCreation + b.CacheCreation, a.Reasoning + b.Reasoning);

    /// <summary>Every field times <paramref name="n"/>.</summary>
    public static TokenUsage operator *(long n, TokenUsage u) =>
        new(n * u.Input, n * u.Output, n * u.CacheRead, n * u.CacheCreation, n * u.Reasoning);

    /// <summary>OpenAI/Gemini style input: uncached plus cache reads.</summary>
    public long InputIncludingCache => Input + CacheRead;
}

/// <summary>One scripted model response. Build them with the static factories.</summary>
public abstract record ScriptedTurn
{
    /// <summary>Usage reported by this response (errors report none).</summary>
    public TokenUsage Usage { get; init; }

    /// <summary>A tool call running <paramref name="command"/> in the CLI's shell tool (Bash, exec_command,
    /// run_shell_command), optionally preceded by <paramref name="preamble"/> text.</summary>
    public static ScriptedTurn Shell(string command, TokenUsage usage, string? preamble = null) =>
        new ShellTurn(command, preamble) { Usage = usage };

    /// <summary>A call of the tool <paramref name="name"/> with <paramref name="argumentsJson"/> as its input
    /// (e.g. Claude Code's StructuredOutput tool under <c>--json-schema</c>).</summary>
    public static ScriptedTurn Tool(string name, string argumentsJson, TokenUsage usage, string? preamble = null) =>
        new ToolTurn(name, argumentsJson, preamble) { Usage = usage };

    /// <summary>A final text answer (e.g. a JSON verdict).</summary>
    public static ScriptedTurn Text(string text, TokenUsage usage) => new TextTurn([text], TimeSpan.Zero) { Usage = usage };

    /// <summary>A final text answer sent as several deltas with <paramref name="delay"/> between them.</summary>
    public static ScriptedTurn Trickle(IReadOnlyList<string> pieces, TimeSpan delay, TokenUsage usage) =>
        new TextTurn(pieces, delay) { Usage = usage };

    /// <summary>An HTTP error with the protocol's error body (500, 529 overloaded, 401, 429...).</summary>
    public static ScriptedTurn Error(int status, string? message = null, int? retryAfterSeconds = null) =>
        new ErrorTurn(status, message, retryAfterSeconds);

    /// <summary>A stream that sends its start and <paramref name="partialText"/>, then nothing until the client gives
    /// up or the server is disposed. Counts no usage as served (the response never completes).</summary>
    public static ScriptedTurn Stall(string partialText, TokenUsage usage) => new StallTurn(partialText) { Usage = usage };
}

/// <summary>A shell tool call.</summary>
public sealed record ShellTurn(string Command, string? Preamble) : ScriptedTurn;

/// <summary>A call of a named tool with JSON arguments.</summary>
public sealed record ToolTurn(string Name, string ArgumentsJson, string? Preamble) : ScriptedTurn;

/// <summary>A final text answer, possibly trickled.</summary>
public sealed record TextTurn(IReadOnlyList<string> Pieces, TimeSpan Delay) : ScriptedTurn
{
    /// <summary>The whole text.</summary>
    public string FullText => string.Concat(Pieces);
}

/// <summary>An HTTP error answer.</summary>
public sealed record ErrorTurn(int Status, string? Message, int? RetryAfterSeconds) : ScriptedTurn;

/// <summary>A stream that stalls after its first part.</summary>
public sealed record StallTurn(string PartialText) : ScriptedTurn;

/// <summary>
/// The turns one route (one agent) will be served, in order, whatever the protocol. Thread-safe.
/// </summary>
public sealed class ModelScript
{
    private readonly Lock _gate = new();
    private readonly Queue<ScriptedTurn> _turns = new();

    internal ModelScript(string route) => Route = route;

    /// <summary>The route (API key) this script answers.</summary>
    public string Route { get; }

    /// <summary>Appends turns.</summary>
    public ModelScript Then(params ScriptedTurn[] turns)
    {
        lock (_gate)
            foreach (var turn in turns)
                _turns.Enqueue(turn);
        return this;
    }

    /// <summary>Turns not served yet.</summary>
    public int Remaining
    {
        get
        {
            lock (_gate)
                return _turns.Count;
        }
    }

    internal ScriptedTurn? Next()
    {
        lock (_gate)
            return _turns.TryDequeue(out var turn) ? turn : null;
    }
}
