using System.Text.Json;
using Zeroshot.Agents.Config;
using Zeroshot.Agents.Output;

namespace Zeroshot.Agents.Supervision;

/// <summary>One line of a CLI's session transcript that carries usage.</summary>
/// <param name="MessageId">Claude: the assistant message's id (a message is repeated once per content block).</param>
/// <param name="Model">The model named on the line, when it names one.</param>
/// <param name="Tokens">Claude: the message's usage; Codex: the session's running total.</param>
/// <param name="Cumulative">True for a running total (Codex <c>token_count</c>): the last one wins.</param>
internal readonly record struct TranscriptUsageLine(string? MessageId, string? Model, TokenCounts? Tokens, bool Cumulative);

/// <summary>
/// Parsers of the session transcripts the CLIs write in their interactive mode (field notes): Claude Code's
/// <c>&lt;config dir&gt;/projects/&lt;cwd&gt;/&lt;session id&gt;.jsonl</c> (one line per content block, each repeating its
/// message's id and final usage) and Codex's rollout (<c>event_msg</c> <c>token_count</c> with the session's running total
/// in <c>info.total_token_usage</c>; <c>turn_context</c> names the model). Spans in, so captured lines test them.
/// </summary>
internal static class TranscriptLines
{
    /// <summary>The usage on one Claude transcript line; null for a line without any (a user message, a snapshot).</summary>
    /// <exception cref="InvalidDataException">The line is not a JSON object.</exception>
    public static TranscriptUsageLine? Claude(ReadOnlySpan<byte> line)
    {
        using var document = Parse(line);
        var root = document.RootElement;
        if (Text(root, "type") != "assistant" || !root.TryGetProperty("message", out var message) || message.ValueKind != JsonValueKind.Object)
            return null;
        string? id = Text(message, "id");
        if (id is null || !message.TryGetProperty("usage", out var usage) || usage.ValueKind != JsonValueKind.Object) return null;
        return new TranscriptUsageLine(id, Text(message, "model"),
            new TokenCounts(Number(usage, "input_tokens"), Number(usage, "output_tokens"), Number(usage, "cache_read_input_tokens"),
                Number(usage, "cache_creation_input_tokens")), Cumulative: false);
    }

    /// <summary>The usage (or model) on one Codex rollout line; null for the others.</summary>
    /// <exception cref="InvalidDataException">The line is not a JSON object.</exception>
    public static TranscriptUsageLine? Codex(ReadOnlySpan<byte> line)
    {
        using var document = Parse(line);
        var root = document.RootElement;
        if (!root.TryGetProperty("payload", out var payload) || payload.ValueKind != JsonValueKind.Object) return null;
        switch (Text(root, "type"))
        {
            case "turn_context":
                return Text(payload, "model") is { } model ? new TranscriptUsageLine(null, model, null, Cumulative: false) : null;
            case "event_msg" when Text(payload, "type") == "token_count":
                if (!payload.TryGetProperty("info", out var info) || info.ValueKind != JsonValueKind.Object
                    || !info.TryGetProperty("total_token_usage", out var total) || total.ValueKind != JsonValueKind.Object)
                    return null; // a rate-limit update without usage
                // input_tokens includes the cached ones (OpenAI's convention, as in exec --json's turn.completed).
                return new TranscriptUsageLine(null, null,
                    TokenCounts.FromCodex(Number(total, "input_tokens"), Number(total, "cached_input_tokens"), Number(total, "output_tokens")),
                    Cumulative: true);
            default:
                return null;
        }
    }

    private static JsonDocument Parse(ReadOnlySpan<byte> line)
    {
        try
        {
            var reader = new Utf8JsonReader(line);
            var document = JsonDocument.ParseValue(ref reader);
            if (document.RootElement.ValueKind == JsonValueKind.Object) return document;
            document.Dispose();
            throw new InvalidDataException("a transcript line is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"a transcript line is not JSON: {e.Message}", e);
        }
    }

    private static string? Text(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static long Number(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long n) && n >= 0 ? n : 0;
}

/// <summary>
/// Follows an interactive agent's session transcript as the CLI appends to it (inotify, through
/// <see cref="FileSystemWatcher"/>; no polling) and feeds its usage into the run's <see cref="RunUsage"/> under the
/// stream-json rules: each Claude message id once, its last value winning; Codex's running total replacing the
/// previous one. Reads complete lines only; a line that is not JSON is counted and skipped.
/// </summary>
internal sealed class TranscriptUsage : IDisposable
{
    private const int ReadChunk = 64 * 1024;

    /// <summary>A line longer than this is not a transcript line (a runaway write): skipped, not buffered.</summary>
    private const int MaxLine = 16 << 20;

    private readonly Lock _gate = new();
    private readonly string _path;
    private readonly string _source;
    private readonly RunUsage _usage;
    private readonly FileSystemWatcher? _watcher;
    private readonly MemoryStream _partial = new();
    private readonly byte[] _buffer = new byte[ReadChunk];
    private long _offset;
    private bool _skipping;
    private bool _done;

    private TranscriptUsage(string source, string path, RunUsage usage)
    {
        _source = source;
        _path = path;
        _usage = usage;
        var directory = Path.GetDirectoryName(path);
        if (directory is not null && Directory.Exists(directory))
        {
            _watcher = new FileSystemWatcher(directory, Path.GetFileName(path))
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size,
            };
            _watcher.Changed += (_, _) => ReadNew();
            _watcher.Created += (_, _) => ReadNew();
            _watcher.EnableRaisingEvents = true;
        }
    }

    /// <summary>False when the transcript's folder did not exist yet, so nothing watches it: follow it again later.</summary>
    public bool Watching => _watcher is not null;

    /// <summary>Lines skipped because they were not JSON objects.</summary>
    public int MalformedLines { get; private set; }

    /// <summary>Starts following <paramref name="path"/> (written by <paramref name="source"/>'s CLI: "claude" or "codex"),
    /// reading what it holds already.</summary>
    public static TranscriptUsage Follow(string source, string path, RunUsage usage)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(usage);
        var follower = new TranscriptUsage(source, path, usage);
        follower.ReadNew();
        return follower;
    }

    /// <summary>Reads what is left (the CLI has exited) and stops following.</summary>
    public void Complete()
    {
        ReadNew();
        Dispose();
    }

    /// <summary>Stops following.</summary>
    public void Dispose()
    {
        lock (_gate) _done = true;
        _watcher?.Dispose();
    }

    private void ReadNew()
    {
        lock (_gate)
        {
            if (_done) return;
            try
            {
                using var file = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None);
                if (file.Length < _offset)
                {
                    // Rewritten from the start: read it again (the usage rules make re-reading harmless).
                    _offset = 0;
                    _partial.SetLength(0);
                    _skipping = false;
                }
                file.Position = _offset;
                int read;
                while ((read = file.Read(_buffer)) > 0)
                {
                    _offset += read;
                    Split(_buffer.AsSpan(0, read));
                }
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or IOException)
            {
                // Not written yet, or unreadable: the next change brings it (the tokens stay as counted).
            }
        }
    }

    private void Split(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            int newline = bytes.IndexOf((byte)'\n');
            var piece = newline < 0 ? bytes : bytes[..newline];
            if (!_skipping)
            {
                if (_partial.Length + piece.Length > MaxLine)
                {
                    _skipping = true;
                    _partial.SetLength(0);
                    MalformedLines++;
                }
                else
                {
                    _partial.Write(piece);
                }
            }
            if (newline < 0) return;
            if (!_skipping && _partial.Length > 0) Apply(_partial.GetBuffer().AsSpan(0, (int)_partial.Length));
            _partial.SetLength(0);
            _skipping = false;
            bytes = bytes[(newline + 1)..];
        }
    }

    private void Apply(ReadOnlySpan<byte> line)
    {
        TranscriptUsageLine? parsed;
        try
        {
            parsed = _source == ProviderCatalog.Codex ? TranscriptLines.Codex(line) : TranscriptLines.Claude(line);
        }
        catch (InvalidDataException)
        {
            MalformedLines++;
            return;
        }
        if (parsed is not { } u) return;
        if (u.Model is not null) _usage.NoteModel(u.Model);
        if (u.Tokens is not { } tokens) return;
        if (u.Cumulative) _usage.OnCodexTurnCompleted(null, tokens);
        else _usage.OnMessage(u.MessageId!, u.Model, tokens);
    }
}
