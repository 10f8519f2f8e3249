using Zeroshot.Agents.Output;

namespace Zeroshot.Agents.Transcripts;

// The tests' totals of a transcript, deduplicated as the CLIs' own records require (the supervisor feeds the same lines
// into its RunUsage instead): linked into Zeroshot.RealAgents.Tests as well.

/// <summary>
/// Token totals of one Claude Code transcript, fed line by line. Not thread-safe: one follower feeds it; readers
/// take <see cref="Tokens"/> from the same thread or under their own lock.
/// </summary>
/// <remarks>
/// <para>Every message id counts once and its LAST usage wins: the transcript repeats the id on one line per content
/// block (the same rule as <see cref="RunUsage"/> applies to stream-json).</para>
/// <para>A <c>cost-state</c> line is Claude Code's own running total for the session (its <c>modelUsage</c> per model
/// and <c>totalCostUSD</c>), so it is authoritative: it replaces what was counted from messages so far, and the ids
/// counted until then are settled. Messages written after it count on top until the next cost-state. Claude Code
/// 2.1.332 writes it when the session ends (recorded sample); the counting from messages covers the live part.</para>
/// </remarks>
internal sealed class ClaudeTranscriptUsage
{
    private readonly Dictionary<string, TokenCounts> _live = new(StringComparer.Ordinal);
    private readonly HashSet<string> _settled = new(StringComparer.Ordinal);
    private TokenCounts _liveSum;
    private TokenCounts _reported;

    /// <summary>The last model named by an assistant message (<c>&lt;synthetic&gt;</c> notices excluded).</summary>
    public string? Model { get; private set; }

    /// <summary>Tokens so far: the last cost-state's totals plus messages counted since.</summary>
    public TokenCounts Tokens => _reported + _liveSum;

    /// <summary>Claude Code's own session cost from the last cost-state line, if one was seen.</summary>
    public decimal? CostUsd { get; private set; }

    /// <summary>Distinct message ids seen.</summary>
    public int Messages => _live.Count + _settled.Count;

    /// <summary>Lines that mattered (assistant messages and cost-states).</summary>
    public int UsageLines { get; private set; }

    /// <summary>Parses <paramref name="line"/> and applies it; false when it carried nothing about tokens.
    /// Throws <see cref="InvalidDataException"/> when the line is malformed (nothing is applied then).</summary>
    public bool AddLine(ReadOnlySpan<byte> line) => Add(ClaudeTranscript.Parse(line, Model));

    /// <summary>Applies a parsed line; false when it is <see cref="ClaudeLineKind.Other"/>.</summary>
    public bool Add(in ClaudeTranscriptLine line)
    {
        switch (line.Kind)
        {
            case ClaudeLineKind.AssistantMessage when line.MessageId is { } id:
                UsageLines++;
                // Claude Code names its own error notices "<synthetic>": not a model (same rule as RunUsage).
                if (!string.IsNullOrEmpty(line.Model) && line.Model[0] != '<')
                    Model = line.Model;
                if (_settled.Contains(id))
                    return true;
                if (_live.TryGetValue(id, out var old))
                    _liveSum -= old;
                _live[id] = line.Usage;
                _liveSum += line.Usage;
                return true;
            case ClaudeLineKind.CostState:
                UsageLines++;
                _reported = line.Usage;
                CostUsd = line.CostUsd ?? CostUsd;
                foreach (var settled in _live.Keys)
                    _settled.Add(settled);
                _live.Clear();
                _liveSum = default;
                return true;
            default:
                return false;
        }
    }
}

/// <summary>
/// Token totals of one Codex rollout: the last <c>token_count</c> running total wins (Codex's own total is
/// authoritative, so nothing is summed), and the model of the last <c>turn_context</c>.
/// </summary>
internal sealed class CodexRolloutUsage
{
    /// <summary>The thread id from <c>session_meta</c>.</summary>
    public string? ThreadId { get; private set; }

    /// <summary>The model of the last turn.</summary>
    public string? Model { get; private set; }

    /// <summary>The last running total (zero before the first response completed).</summary>
    public TokenCounts Tokens { get; private set; }

    /// <summary>token_count events seen.</summary>
    public int TokenCountEvents { get; private set; }

    /// <summary>Parses and applies one line; false when it carried nothing of interest. Throws
    /// <see cref="InvalidDataException"/> when malformed.</summary>
    public bool AddLine(ReadOnlySpan<byte> line) => Add(CodexRollout.Parse(line, Model));

    /// <summary>Applies a parsed line.</summary>
    public bool Add(in CodexRolloutLine line)
    {
        switch (line.Kind)
        {
            case CodexLineKind.SessionMeta:
                ThreadId = line.SessionId;
                return true;
            case CodexLineKind.TurnContext:
                Model = line.Model ?? Model;
                return true;
            case CodexLineKind.TokenCount:
                Tokens = line.Total;
                TokenCountEvents++;
                return true;
            default:
                return false;
        }
    }
}

/// <summary>Token totals of one Gemini chat file: each message id once, its last tokens win.</summary>
internal sealed class GeminiChatUsage
{
    private readonly Dictionary<string, TokenCounts> _messages = new(StringComparer.Ordinal);

    /// <summary>The last model named by a message.</summary>
    public string? Model { get; private set; }

    /// <summary>Sum over distinct messages.</summary>
    public TokenCounts Tokens { get; private set; }

    /// <summary>Distinct model messages.</summary>
    public int Messages => _messages.Count;

    /// <summary>Parses and applies one line; throws <see cref="InvalidDataException"/> when malformed.</summary>
    public bool AddLine(ReadOnlySpan<byte> line) => Add(GeminiChat.Parse(line, Model));

    /// <summary>Applies a parsed line.</summary>
    public bool Add(in GeminiChatLine line)
    {
        if (!line.IsModelMessage || line.MessageId is not { } id)
            return false;
        Model = line.Model ?? Model;
        if (_messages.TryGetValue(id, out var old))
            Tokens -= old;
        _messages[id] = line.Usage;
        Tokens += line.Usage;
        return true;
    }
}
