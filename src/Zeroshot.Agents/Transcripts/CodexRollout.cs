using System.Globalization;
using System.Text.Json;
using Zeroshot.Agents.Output;

namespace Zeroshot.Agents.Transcripts;

/// <summary>What a Codex rollout line is, as far as token accounting goes.</summary>
internal enum CodexLineKind
{
    /// <summary>Anything else (response items, item events, world state…).</summary>
    Other,

    /// <summary>The first line: <c>session_meta</c> with the thread id, cwd and start time.</summary>
    SessionMeta,

    /// <summary><c>turn_context</c>: the model of the turn.</summary>
    TurnContext,

    /// <summary><c>event_msg</c> of type <c>token_count</c>: the thread's exact running total.</summary>
    TokenCount,
}

/// <summary>
/// One parsed rollout line. <see cref="Total"/> is the running total of a <see cref="CodexLineKind.TokenCount"/>
/// (<c>info.total_token_usage</c>, split like <see cref="TokenCounts.FromCodex"/>); <see cref="SessionId"/>,
/// <see cref="Cwd"/> and <see cref="StartedAt"/> come from <see cref="CodexLineKind.SessionMeta"/>;
/// <see cref="Model"/> from <see cref="CodexLineKind.TurnContext"/>.
/// </summary>
internal readonly record struct CodexRolloutLine(CodexLineKind Kind, TokenCounts Total, string? Model, string? SessionId, string? Cwd, DateTimeOffset? StartedAt)
{
    /// <summary>A line that does not matter for tokens.</summary>
    public static CodexRolloutLine Other => default;
}

/// <summary>
/// Codex's rollout, <c>$CODEX_HOME/sessions/YYYY/MM/DD/rollout-&lt;local timestamp&gt;-&lt;thread id&gt;.jsonl</c>, written
/// per item (field notes). Its <c>token_count</c> events carry the thread's exact running total, so the last one
/// wins. Recorded with codex 0.171 in tests/Zeroshot.Agents.Tests/Transcripts/Samples/codex-tool-call.jsonl.
/// </summary>
internal static class CodexRollout
{
    /// <summary>
    /// Parses one rollout line (UTF-8, without its newline). Throws <see cref="InvalidDataException"/> on
    /// malformed JSON.
    /// </summary>
    /// <param name="line">The line.</param>
    /// <param name="previousModel">The model last seen, reused when equal instead of allocating it again.</param>
    public static CodexRolloutLine Parse(ReadOnlySpan<byte> line, string? previousModel = null)
    {
        var reader = TranscriptJson.Reader(line);
        TranscriptJson.StartObject(ref reader);
        // "type" precedes "payload" in every line Codex writes (serde field order of RolloutLine), so the kind is
        // known when the payload is read; a payload before its type is read as if it could be any kind.
        string? type = null;
        CodexRolloutLine result = CodexRolloutLine.Other;
        while (TranscriptJson.NextName(ref reader))
        {
            if (TranscriptJson.Is(ref reader, "type"u8))
            {
                type = reader.TokenType != JsonTokenType.String ? null
                    : reader.ValueTextEquals("session_meta"u8) ? "session_meta"
                    : reader.ValueTextEquals("turn_context"u8) ? "turn_context"
                    : reader.ValueTextEquals("event_msg"u8) ? "event_msg"
                    : "";
                if (type is null)
                    TranscriptJson.Count(ref reader);
                else if (type.Length == 0)
                    return CodexRolloutLine.Other; // cheap exit: response items are most of the file
            }
            else if (TranscriptJson.Is(ref reader, "payload"u8))
            {
                if (reader.TokenType != JsonTokenType.StartObject)
                    TranscriptJson.Count(ref reader);
                else
                    result = ReadPayload(ref reader, type, previousModel);
            }
            else
            {
                TranscriptJson.SkipProperty(ref reader);
            }
        }
        TranscriptJson.End(ref reader);
        return type switch
        {
            "session_meta" when result.Kind == CodexLineKind.SessionMeta => result,
            "turn_context" when result.Kind == CodexLineKind.TurnContext => result,
            "event_msg" when result.Kind == CodexLineKind.TokenCount => result,
            _ => CodexRolloutLine.Other,
        };
    }

    private static CodexRolloutLine ReadPayload(ref Utf8JsonReader reader, string? type, string? previousModel)
    {
        string? id = null, cwd = null, model = null;
        DateTimeOffset? started = null;
        bool tokenCount = false;
        TokenCounts? total = null;
        while (TranscriptJson.NextName(ref reader))
        {
            if (type == "session_meta" && TranscriptJson.Is(ref reader, "id"u8))
                id = TranscriptJson.String(ref reader);
            else if (type == "session_meta" && TranscriptJson.Is(ref reader, "cwd"u8))
                cwd = TranscriptJson.String(ref reader);
            else if (type == "session_meta" && TranscriptJson.Is(ref reader, "timestamp"u8))
                started = DateTimeOffset.TryParse(TranscriptJson.String(ref reader), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null;
            else if (type == "turn_context" && TranscriptJson.Is(ref reader, "model"u8))
                model = TranscriptJson.StringReusing(ref reader, previousModel);
            else if (type == "event_msg" && TranscriptJson.Is(ref reader, "type"u8))
                tokenCount = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("token_count"u8);
            else if (type == "event_msg" && TranscriptJson.Is(ref reader, "info"u8))
                total = reader.TokenType == JsonTokenType.StartObject ? ReadInfo(ref reader) : SkipToNull(ref reader);
            else
                TranscriptJson.SkipProperty(ref reader);
        }
        return type switch
        {
            "session_meta" => new(CodexLineKind.SessionMeta, default, null, id, cwd, started),
            "turn_context" => new(CodexLineKind.TurnContext, default, model, null, null, null),
            // token_count with "info": null is sent before any response completed (rate-limit update only).
            "event_msg" when tokenCount && total is { } t => new(CodexLineKind.TokenCount, t, null, null, null, null),
            _ => CodexRolloutLine.Other,
        };
    }

    /// <summary><c>info</c> {total_token_usage {input_tokens (cache included), cached_input_tokens, output_tokens,
    /// reasoning_output_tokens (inside output_tokens)}, last_token_usage, model_context_window}.</summary>
    private static TokenCounts? ReadInfo(ref Utf8JsonReader reader)
    {
        TokenCounts? total = null;
        while (TranscriptJson.NextName(ref reader))
        {
            if (TranscriptJson.Is(ref reader, "total_token_usage"u8) && reader.TokenType == JsonTokenType.StartObject)
            {
                long input = 0, cached = 0, output = 0;
                while (TranscriptJson.NextName(ref reader))
                {
                    if (TranscriptJson.Is(ref reader, "input_tokens"u8))
                        input = TranscriptJson.Count(ref reader);
                    else if (TranscriptJson.Is(ref reader, "cached_input_tokens"u8))
                        cached = TranscriptJson.Count(ref reader);
                    else if (TranscriptJson.Is(ref reader, "output_tokens"u8))
                        output = TranscriptJson.Count(ref reader);
                    else
                        TranscriptJson.SkipProperty(ref reader);
                }
                total = TokenCounts.FromCodex(input, cached, output);
            }
            else if (reader.TokenType == JsonTokenType.PropertyName)
            {
                TranscriptJson.SkipProperty(ref reader);
            }
            else
            {
                TranscriptJson.Count(ref reader); // total_token_usage that is not an object (null)
            }
        }
        return total;
    }

    private static TokenCounts? SkipToNull(ref Utf8JsonReader reader)
    {
        TranscriptJson.Count(ref reader);
        return null;
    }

    /// <summary>
    /// The rollout of the Codex session started in <paramref name="cwd"/> at or after <paramref name="startedAfter"/>
    /// (the earliest such), or null when none is there yet. Codex chooses the thread id itself, so the session is
    /// recognized by its <c>session_meta</c> first line (cwd and start time). Day folders are in local time, as the
    /// file names are; the folders from the day before <paramref name="startedAfter"/> to today are searched.
    /// </summary>
    /// <returns>The path and the thread id, or null.</returns>
    public static (string Path, string ThreadId)? FindRollout(string codexHome, string cwd, DateTimeOffset startedAfter)
    {
        ArgumentException.ThrowIfNullOrEmpty(codexHome);
        ArgumentException.ThrowIfNullOrEmpty(cwd);
        string fullCwd = Path.TrimEndingDirectorySeparator(Path.GetFullPath(cwd));
        (string Path, string ThreadId, DateTimeOffset At)? best = null;
        var sessions = Path.Combine(codexHome, "sessions");
        for (var day = startedAfter.ToLocalTime().Date.AddDays(-1); day <= DateTime.Now.Date.AddDays(1); day = day.AddDays(1))
        {
            var dir = Path.Combine(sessions, day.ToString("yyyy", CultureInfo.InvariantCulture), day.ToString("MM", CultureInfo.InvariantCulture), day.ToString("dd", CultureInfo.InvariantCulture));
            if (!Directory.Exists(dir))
                continue;
            foreach (var file in Directory.EnumerateFiles(dir, "rollout-*.jsonl"))
            {
                // A file last written before T cannot belong to a session started after T.
                if (File.GetLastWriteTimeUtc(file) < startedAfter.UtcDateTime.AddSeconds(-2))
                    continue;
                var meta = ReadMeta(file);
                if (meta is not { SessionId: { } id, Cwd: { } metaCwd, StartedAt: { } at })
                    continue;
                if (at < startedAfter || !string.Equals(Path.TrimEndingDirectorySeparator(metaCwd), fullCwd, StringComparison.Ordinal))
                    continue;
                if (best is null || at < best.Value.At)
                    best = (file, id, at);
            }
        }
        return best is { } b ? (b.Path, b.ThreadId) : null;
    }

    /// <summary>How many of the newest day folders are searched (a session started before midnight ends after it).</summary>
    private const int RecentDays = 3;

    /// <summary>
    /// The rollout file of thread <paramref name="threadId"/> under <paramref name="codexHome"/>, or null: only a session's
    /// own thread has one (a side thread, such as the one naming the session, has none), so this also tells them apart.
    /// </summary>
    public static string? FindByThread(string codexHome, string threadId)
    {
        if (threadId.Length == 0 || threadId.AsSpan().ContainsAny(['/', '\0', '*', '?'])) return null;
        try
        {
            var sessions = Path.Combine(codexHome, "sessions");
            if (!Directory.Exists(sessions)) return null;
            // Newest first by name (the folders are zero-padded numbers), a few days deep: never the whole history.
            var days = Directory.EnumerateDirectories(sessions).OrderDescending(StringComparer.Ordinal).Take(2)
                .SelectMany(y => Directory.EnumerateDirectories(y).OrderDescending(StringComparer.Ordinal).Take(2))
                .SelectMany(m => Directory.EnumerateDirectories(m).OrderDescending(StringComparer.Ordinal).Take(RecentDays))
                .Take(RecentDays);
            foreach (var day in days)
                if (Directory.EnumerateFiles(day, $"rollout-*-{threadId}.jsonl").FirstOrDefault() is { } found)
                    return found;
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static CodexRolloutLine? ReadMeta(string file)
    {
        try
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var first = new MemoryStream();
            int b;
            while ((b = stream.ReadByte()) >= 0 && b != '\n')
                first.WriteByte((byte)b);
            if (b != '\n')
                return null; // the first line is not complete yet
            var line = Parse(first.GetBuffer().AsSpan(0, (int)first.Length));
            return line.Kind == CodexLineKind.SessionMeta ? line : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            // Another session's rollout being written or removed meanwhile: it is not ours to fail on.
            return null;
        }
    }
}
