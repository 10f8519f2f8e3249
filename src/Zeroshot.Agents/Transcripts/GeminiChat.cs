using System.Text.Json;
using Zeroshot.Agents.Output;

namespace Zeroshot.Agents.Transcripts;

/// <summary>
/// One parsed line of a Gemini CLI chat file: a <c>gemini</c> message with its id, model and <c>tokens</c>
/// ({input (cache included), output (candidates), cached, thoughts, tool, total}), or nothing of interest.
/// </summary>
internal readonly record struct GeminiChatLine(bool IsModelMessage, string? MessageId, string? Model, TokenCounts Usage)
{
    /// <summary>A line that does not matter for tokens.</summary>
    public static GeminiChatLine Other => default;
}

/// <summary>
/// Gemini CLI's session file, <c>~/.gemini/tmp/&lt;project&gt;/chats/session-&lt;date&gt;T&lt;HH-mm&gt;-&lt;session id prefix&gt;.jsonl</c>
/// (&lt;project&gt; was the cwd's folder name, "work", in the recorded run; older versions used a hash): a metadata
/// line, then one line per message, with <c>{"$set": …}</c> lines updating metadata. A model message is written
/// again when its tool calls complete, with the same id and tokens: deduplicate by id. Recorded with the pinned
/// Gemini CLI in tests/Zeroshot.Agents.Tests/Transcripts/Samples/gemini-tool-call.jsonl.
/// </summary>
internal static class GeminiChat
{
    /// <summary>Parses one line; throws <see cref="InvalidDataException"/> on malformed JSON.</summary>
    public static GeminiChatLine Parse(ReadOnlySpan<byte> line, string? previousModel = null)
    {
        var reader = TranscriptJson.Reader(line);
        TranscriptJson.StartObject(ref reader);
        bool gemini = false, typeSeen = false;
        string? id = null, model = null;
        TokenCounts? usage = null;
        while (TranscriptJson.NextName(ref reader))
        {
            if (TranscriptJson.Is(ref reader, "type"u8))
            {
                typeSeen = true;
                gemini = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("gemini"u8);
                if (!gemini)
                {
                    TranscriptJson.Count(ref reader);
                    return GeminiChatLine.Other; // user, info, error messages: no tokens
                }
            }
            else if (TranscriptJson.Is(ref reader, "id"u8))
                id = TranscriptJson.String(ref reader);
            else if (TranscriptJson.Is(ref reader, "model"u8))
                model = TranscriptJson.StringReusing(ref reader, previousModel);
            else if (TranscriptJson.Is(ref reader, "tokens"u8))
                usage = reader.TokenType == JsonTokenType.StartObject ? ReadTokens(ref reader) : Skip(ref reader);
            else
                TranscriptJson.SkipProperty(ref reader);
        }
        TranscriptJson.End(ref reader);
        return typeSeen && gemini && id is not null && usage is { } u ? new GeminiChatLine(true, id, model, u) : GeminiChatLine.Other;
    }

    /// <summary>
    /// Gemini's tokens: <c>input</c> is the prompt count with cached tokens inside it, <c>output</c> the candidates;
    /// thoughts are billed as output, so output is what <c>total</c> holds beyond the prompt (the same split as
    /// <see cref="JsonFields.GeminiUsage"/> applies to stream-json stats).
    /// </summary>
    private static TokenCounts ReadTokens(ref Utf8JsonReader reader)
    {
        long input = 0, output = 0, cached = 0, thoughts = 0, total = 0;
        bool totalSeen = false;
        while (TranscriptJson.NextName(ref reader))
        {
            if (TranscriptJson.Is(ref reader, "input"u8))
                input = TranscriptJson.Count(ref reader);
            else if (TranscriptJson.Is(ref reader, "output"u8))
                output = TranscriptJson.Count(ref reader);
            else if (TranscriptJson.Is(ref reader, "cached"u8))
                cached = TranscriptJson.Count(ref reader);
            else if (TranscriptJson.Is(ref reader, "thoughts"u8))
                thoughts = TranscriptJson.Count(ref reader);
            else if (TranscriptJson.Is(ref reader, "total"u8))
            {
                total = TranscriptJson.Count(ref reader);
                totalSeen = true;
            }
            else
                TranscriptJson.SkipProperty(ref reader);
        }
        long billedOutput = totalSeen ? Math.Max(output, total - input) : output + thoughts;
        return TokenCounts.FromCodex(input, cached, billedOutput);
    }

    private static TokenCounts? Skip(ref Utf8JsonReader reader)
    {
        TranscriptJson.Count(ref reader);
        return null;
    }
}
