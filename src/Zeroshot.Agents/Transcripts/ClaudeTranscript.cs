using System.Text;
using System.Text.Json;
using Zeroshot.Agents.Output;

namespace Zeroshot.Agents.Transcripts;

/// <summary>What a Claude Code transcript line is, as far as token accounting goes.</summary>
internal enum ClaudeLineKind
{
    /// <summary>Anything else (user turns, attachments, request shapes, queue operations…).</summary>
    Other,

    /// <summary>An <c>assistant</c> line: one content block of a message, with the message's id and usage.</summary>
    AssistantMessage,

    /// <summary>A <c>cost-state</c> line: Claude Code's own running totals for the session (per model, and cost).</summary>
    CostState,
}

/// <summary>
/// One parsed line of a Claude Code session transcript. For <see cref="ClaudeLineKind.AssistantMessage"/>,
/// <see cref="MessageId"/>, <see cref="Model"/> and <see cref="Usage"/> are the message's; for
/// <see cref="ClaudeLineKind.CostState"/>, <see cref="Usage"/> is the sum over models and <see cref="CostUsd"/> the
/// session's <c>totalCostUSD</c>.
/// </summary>
internal readonly record struct ClaudeTranscriptLine(ClaudeLineKind Kind, string? MessageId, string? Model, TokenCounts Usage, decimal? CostUsd)
{
    /// <summary>A line that does not matter for tokens.</summary>
    public static ClaudeTranscriptLine Other => default;
}

/// <summary>
/// Claude Code's session transcript, <c>&lt;config dir&gt;/projects/&lt;cwd-derived&gt;/&lt;session-id&gt;.jsonl</c>:
/// where it is and what its lines say about tokens (field notes, "The real CLIs in their interactive TUIs").
/// </summary>
/// <remarks>
/// Claude Code writes one <c>assistant</c> line per content block once the message is complete (after
/// <c>message_stop</c>; a tool-use message only after the tool ran), each repeating the message id and its final
/// usage, so totals deduplicate by id (the supervisor feeds the lines into its <see cref="Output.RunUsage"/>). Recorded with 2.1.332 in
/// tests/Zeroshot.Agents.Tests/Transcripts/Samples/claude-tool-call.jsonl.
/// </remarks>
internal static class ClaudeTranscript
{
    /// <summary>Claude Code's limit on a project folder name; longer names are cut and suffixed with a hash.</summary>
    public const int MaxProjectDirLength = 200;

    /// <summary>
    /// The config dir Claude Code uses: <c>CLAUDE_CONFIG_DIR</c> when set, else <c>~/.claude</c>.
    /// </summary>
    /// <param name="environment">Variable lookup (normally <see cref="Environment.GetEnvironmentVariable(string)"/>).</param>
    public static string ConfigDir(Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (environment("CLAUDE_CONFIG_DIR") is { Length: > 0 } dir)
            return dir;
        string home = environment("HOME") is { Length: > 0 } h ? h : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(home, ".claude");
    }

    /// <summary>
    /// The project folder name Claude Code derives from a working directory: every character that is not an ASCII
    /// letter or digit becomes '-' (so <c>/root/.cache/x</c> is <c>-root--cache-x</c>, as recorded). Names over
    /// <see cref="MaxProjectDirLength"/> characters are cut to 200 and suffixed with '-' and a hash of the path:
    /// the 32-bit string hash <c>h = (h &lt;&lt; 5) - h + c</c> over its UTF-16 code units, absolute value, base 36.
    /// </summary>
    /// <remarks>
    /// The long-name rule was found by experiment with Claude Code 2.1.332: a 319-character sanitized cwd gave
    /// <c>&lt;first 200&gt;-t49cjw</c>, which this hash reproduces (TranscriptTests in Zeroshot.RealAgents.Tests checks
    /// it against the real CLI). <see cref="FindBySessionId"/> and a hook's <c>transcript_path</c> remain exact
    /// fallbacks should a later version change the hash.
    /// </remarks>
    public static string ProjectDirName(string resolvedCwd)
    {
        ArgumentException.ThrowIfNullOrEmpty(resolvedCwd);
        var sb = new StringBuilder(resolvedCwd.Length);
        foreach (char c in resolvedCwd)
            sb.Append(char.IsAsciiLetterOrDigit(c) ? c : '-');
        if (sb.Length <= MaxProjectDirLength)
            return sb.ToString();
        return sb.ToString(0, MaxProjectDirLength) + "-" + Base36(Math.Abs((long)StringHash(resolvedCwd)));
    }

    /// <summary>JavaScript's classic string hash (<c>hash = (hash &lt;&lt; 5) - hash + charCode; hash |= 0</c>).</summary>
    internal static int StringHash(string s)
    {
        int h = 0;
        foreach (char c in s)
            h = unchecked((h << 5) - h + c);
        return h;
    }

    private static string Base36(long n)
    {
        const string digits = "0123456789abcdefghijklmnopqrstuvwxyz";
        Span<char> buffer = stackalloc char[16];
        int i = buffer.Length;
        do
        {
            buffer[--i] = digits[(int)(n % 36)];
            n /= 36;
        }
        while (n > 0);
        return new string(buffer[i..]);
    }

    /// <summary>
    /// The transcript path of session <paramref name="sessionId"/> (the <c>--session-id</c> we pass) started in
    /// <paramref name="cwd"/>. The cwd is resolved first (symlinks followed), as Claude Code does with its real cwd.
    /// </summary>
    public static string PathFor(string configDir, string cwd, string sessionId)
    {
        ArgumentException.ThrowIfNullOrEmpty(configDir);
        ArgumentException.ThrowIfNullOrEmpty(cwd);
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        return Path.Combine(configDir, "projects", ProjectDirName(Resolve(cwd)), sessionId + ".jsonl");
    }

    /// <summary>
    /// The transcript of <paramref name="sessionId"/> in any project folder of <paramref name="configDir"/>, or null.
    /// Session ids are UUIDs we choose (<c>--session-id</c>), so the name alone is exact: a fallback to
    /// <see cref="PathFor"/> that depends on no folder-naming rule (like the <c>transcript_path</c> of a hook). One directory listing, not a watch: call it when the session
    /// has started (SessionStart hook, or the first change under <c>projects</c>).
    /// </summary>
    public static string? FindBySessionId(string configDir, string sessionId)
    {
        ArgumentException.ThrowIfNullOrEmpty(configDir);
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        var projects = Path.Combine(configDir, "projects");
        if (!Directory.Exists(projects))
            return null;
        foreach (var dir in Directory.EnumerateDirectories(projects))
        {
            var candidate = Path.Combine(dir, sessionId + ".jsonl");
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }

    /// <summary>
    /// Parses one transcript line (UTF-8, without its newline). Lines of other kinds give
    /// <see cref="ClaudeTranscriptLine.Other"/>. Throws <see cref="InvalidDataException"/> on malformed JSON.
    /// </summary>
    /// <param name="line">The line.</param>
    /// <param name="previousModel">The model last seen, reused when equal instead of allocating it again.</param>
    public static ClaudeTranscriptLine Parse(ReadOnlySpan<byte> line, string? previousModel = null)
    {
        var reader = TranscriptJson.Reader(line);
        TranscriptJson.StartObject(ref reader);
        ClaudeLineKind kind = ClaudeLineKind.Other;
        string? id = null, model = null;
        TokenCounts usage = default, modelUsage = default;
        decimal? cost = null;
        while (TranscriptJson.NextName(ref reader))
        {
            if (TranscriptJson.Is(ref reader, "type"u8))
            {
                if (reader.TokenType != JsonTokenType.String)
                    TranscriptJson.Count(ref reader);
                else if (reader.ValueTextEquals("assistant"u8))
                    kind = ClaudeLineKind.AssistantMessage;
                else if (reader.ValueTextEquals("cost-state"u8))
                    kind = ClaudeLineKind.CostState;
                else
                    return ClaudeTranscriptLine.Other; // cheap exit: most lines are not about tokens (the rest is not read)
            }
            else if (TranscriptJson.Is(ref reader, "message"u8))
            {
                if (reader.TokenType == JsonTokenType.StartObject)
                    ReadMessage(ref reader, previousModel, ref id, ref model, ref usage);
                else
                    TranscriptJson.String(ref reader);
            }
            else if (TranscriptJson.Is(ref reader, "modelUsage"u8))
            {
                if (reader.TokenType == JsonTokenType.StartObject)
                    modelUsage = ReadModelUsage(ref reader);
                else
                    TranscriptJson.Count(ref reader);
            }
            else if (TranscriptJson.Is(ref reader, "totalCostUSD"u8))
            {
                cost = TranscriptJson.Decimal(ref reader);
            }
            else
            {
                TranscriptJson.SkipProperty(ref reader);
            }
        }
        TranscriptJson.End(ref reader);
        return kind switch
        {
            ClaudeLineKind.AssistantMessage when id is not null => new(kind, id, model, usage, null),
            ClaudeLineKind.CostState => new(kind, null, null, modelUsage, cost),
            _ => ClaudeTranscriptLine.Other,
        };
    }

    private static void ReadMessage(ref Utf8JsonReader reader, string? previousModel, ref string? id, ref string? model, ref TokenCounts usage)
    {
        while (TranscriptJson.NextName(ref reader))
        {
            if (TranscriptJson.Is(ref reader, "id"u8))
                id = TranscriptJson.String(ref reader);
            else if (TranscriptJson.Is(ref reader, "model"u8))
                model = TranscriptJson.StringReusing(ref reader, previousModel);
            else if (TranscriptJson.Is(ref reader, "usage"u8))
                usage = reader.TokenType == JsonTokenType.StartObject ? ReadUsage(ref reader) : SkipToZero(ref reader);
            else
                TranscriptJson.SkipProperty(ref reader);
        }
    }

    /// <summary>Anthropic's usage object (<c>input_tokens</c> excludes cache reads and writes).</summary>
    private static TokenCounts ReadUsage(ref Utf8JsonReader reader)
    {
        long input = 0, output = 0, read = 0, write = 0;
        while (TranscriptJson.NextName(ref reader))
        {
            if (TranscriptJson.Is(ref reader, "input_tokens"u8))
                input = TranscriptJson.Count(ref reader);
            else if (TranscriptJson.Is(ref reader, "output_tokens"u8))
                output = TranscriptJson.Count(ref reader);
            else if (TranscriptJson.Is(ref reader, "cache_read_input_tokens"u8))
                read = TranscriptJson.Count(ref reader);
            else if (TranscriptJson.Is(ref reader, "cache_creation_input_tokens"u8))
                write = TranscriptJson.Count(ref reader);
            else
                TranscriptJson.SkipProperty(ref reader); // cache_creation {ephemeral_5m…}, server_tool_use, service_tier
        }
        return new TokenCounts(input, output, read, write);
    }

    /// <summary><c>modelUsage</c> of a cost-state line: {model: {inputTokens, outputTokens, cacheReadInputTokens,
    /// cacheCreationInputTokens, …}}, summed over models.</summary>
    private static TokenCounts ReadModelUsage(ref Utf8JsonReader reader)
    {
        TokenCounts sum = default;
        while (TranscriptJson.NextName(ref reader))
        {
            TranscriptJson.Next(ref reader);
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                TranscriptJson.Count(ref reader);
                continue;
            }
            long input = 0, output = 0, read = 0, write = 0;
            while (TranscriptJson.NextName(ref reader))
            {
                if (TranscriptJson.Is(ref reader, "inputTokens"u8))
                    input = TranscriptJson.Count(ref reader);
                else if (TranscriptJson.Is(ref reader, "outputTokens"u8))
                    output = TranscriptJson.Count(ref reader);
                else if (TranscriptJson.Is(ref reader, "cacheReadInputTokens"u8))
                    read = TranscriptJson.Count(ref reader);
                else if (TranscriptJson.Is(ref reader, "cacheCreationInputTokens"u8))
                    write = TranscriptJson.Count(ref reader);
                else
                    TranscriptJson.SkipProperty(ref reader);
            }
            sum += new TokenCounts(input, output, read, write);
        }
        return sum;
    }

    private static TokenCounts SkipToZero(ref Utf8JsonReader reader)
    {
        TranscriptJson.Count(ref reader);
        return default;
    }

    internal static string Resolve(string cwd)
    {
        // process.cwd() has no trailing separator (except for "/").
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(cwd));
        var info = new DirectoryInfo(full);
        // Claude Code keys projects by its real cwd (process.cwd() is already resolved by the kernel). Only a link at
        // the last component is followed here; a symlinked parent is not (callers pass the cwd they chdir'd to).
        return info.Exists && info.ResolveLinkTarget(returnFinalTarget: true) is { } target ? target.FullName : full;
    }
}
