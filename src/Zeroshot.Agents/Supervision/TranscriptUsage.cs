using Zeroshot.Agents.Config;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.Transcripts;

namespace Zeroshot.Agents.Supervision;

/// <summary>
/// An interactive agent's tokens, from its CLI's own session transcript followed live (<see cref="TranscriptFollower"/>:
/// inotify) and fed into the run's <see cref="RunUsage"/> under the stream-json rules: each Claude message id once, its
/// last value winning, and Claude's own <c>cost-state</c> totals (written as the session ends) replacing the count, as a
/// <c>result</c> line does; Codex's running total (<c>token_count</c>) replacing the previous one; each Gemini model
/// message id once, its last value winning (Gemini writes a message again when its tool calls complete).
/// </summary>
internal sealed class TranscriptUsage : IAsyncDisposable
{
    private readonly TranscriptFollower _follower;
    private string? _model;

    private TranscriptUsage(string source, string path, RunUsage usage)
    {
        TranscriptLineHandler handler = source == ProviderCatalog.Codex
            ? line =>
            {
                var parsed = CodexRollout.Parse(line, _model);
                if (parsed.Model is { } model) usage.NoteModel(_model = model);
                if (parsed.Kind == CodexLineKind.TokenCount) usage.OnCodexTurnCompleted(null, parsed.Total);
            }
        : source == ProviderCatalog.Gemini
            ? line =>
            {
                var parsed = GeminiChat.Parse(line, _model);
                if (!parsed.IsModelMessage) return;
                _model = parsed.Model ?? _model;
                usage.OnMessage(parsed.MessageId!, parsed.Model, parsed.Usage);
            }
        : line =>
        {
            var parsed = ClaudeTranscript.Parse(line, _model);
            switch (parsed.Kind)
            {
                case ClaudeLineKind.AssistantMessage:
                    _model = parsed.Model ?? _model;
                    usage.OnMessage(parsed.MessageId!, parsed.Model, parsed.Usage);
                    break;
                case ClaudeLineKind.CostState:
                    usage.OnResult(parsed.Usage, parsed.CostUsd);
                    break;
            }
        };
        _follower = new TranscriptFollower(path, handler);
    }

    /// <summary>Starts following <paramref name="path"/> (it may not exist yet), written by <paramref name="source"/>'s CLI
    /// ("claude", "codex" or "gemini").</summary>
    public static TranscriptUsage Follow(string source, string path, RunUsage usage)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(usage);
        return new TranscriptUsage(source, path, usage);
    }

    /// <summary>The followed file.</summary>
    public string Path => _follower.FilePath;

    /// <summary>Reads what is left (the CLI has exited) and stops following.</summary>
    public ValueTask CompleteAsync() => _follower.CompleteAsync();

    /// <summary>Stops following.</summary>
    public ValueTask DisposeAsync() => _follower.DisposeAsync();
}
