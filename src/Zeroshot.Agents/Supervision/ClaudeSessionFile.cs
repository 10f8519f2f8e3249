using System.Text.Json;

namespace Zeroshot.Agents.Supervision;

/// <summary>
/// Watches Claude Code's own status file of one session, <c>&lt;config dir&gt;/sessions/&lt;pid&gt;.json</c> (<c>status</c>:
/// busy, waiting, idle; <c>waitingFor</c>), with inotify (<see cref="FileSystemWatcher"/>), and hands each status of
/// the session to a callback. The file is found by its <c>sessionId</c>, not by a pid: the CLI may run under a wrapper.
/// </summary>
internal sealed class ClaudeSessionFile : IDisposable
{
    private readonly FileSystemWatcher _watcher;
    private readonly string _sessionId;
    private readonly Action<string?, string?> _onStatus;
    private readonly Lock _gate = new();
    private string? _path;
    private bool _disposed;

    private ClaudeSessionFile(string directory, string sessionId, Action<string?, string?> onStatus)
    {
        _sessionId = sessionId;
        _onStatus = onStatus;
        _watcher = new FileSystemWatcher(directory, "*.json")
        {
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size,
        };
        _watcher.Changed += (_, e) => Read(e.FullPath);
        _watcher.Created += (_, e) => Read(e.FullPath);
        _watcher.Renamed += (_, e) => Read(e.FullPath);
        // Events were lost (the queue overflowed): the file says where things are now.
        _watcher.Error += (_, _) => Refresh();
        _watcher.EnableRaisingEvents = true;
        // What is there already (the file is written at start, before the first hook).
        foreach (var file in Directory.EnumerateFiles(directory, "*.json")) Read(file);
    }

    /// <summary>
    /// Starts watching the sessions folder next to <paramref name="transcriptPath"/>
    /// (<c>&lt;config dir&gt;/projects/&lt;folder&gt;/&lt;id&gt;.jsonl</c>); null when that folder does not exist.
    /// </summary>
    public static ClaudeSessionFile? Watch(string transcriptPath, string sessionId, Action<string?, string?> onStatus)
    {
        var configDir = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(transcriptPath)));
        if (configDir is null) return null;
        var sessions = Path.Combine(configDir, "sessions");
        try
        {
            return Directory.Exists(sessions) ? new ClaudeSessionFile(sessions, sessionId, onStatus) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null; // no status file to follow: the hooks alone say what the agent does
        }
    }

    /// <summary>
    /// Reads the session's status file again (once a sampling tick): inotify drops events when its queue overflows
    /// (inotify(7), IN_Q_OVERFLOW), and a change of status must not wait for the next one to be seen.
    /// </summary>
    public void Refresh()
    {
        string? path;
        lock (_gate) path = _path;
        if (path is not null)
        {
            Read(path);
            return;
        }
        try
        {
            foreach (var file in Directory.EnumerateFiles(_watcher.Path, "*.json")) Read(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The folder went away (the CLI is exiting): nothing left to read.
        }
    }

    private void Read(string path)
    {
        lock (_gate)
        {
            if (_disposed || (_path is not null && path != _path)) return;
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return; // replaced or removed between the event and the read: the next event brings it
            }
            if (Parse(bytes, _sessionId) is not { } status) return;
            _path = path;
            _onStatus(status.Status, status.WaitingFor);
        }
    }

    /// <summary>The status of session <paramref name="sessionId"/> in one status file's content; null for another session's
    /// file or one caught half-written.</summary>
    internal static (string? Status, string? WaitingFor)? Parse(ReadOnlySpan<byte> json, string sessionId)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("sessionId", out var id) || id.ValueKind != JsonValueKind.String
                || id.GetString() != sessionId)
                return null;
            string? status = root.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            string? waitingFor = root.TryGetProperty("waitingFor", out var w) ? w.ValueKind switch
            {
                JsonValueKind.String => w.GetString(),
                JsonValueKind.Object or JsonValueKind.Array => w.GetRawText(),
                _ => null,
            } : null;
            return (status, waitingFor);
        }
        catch (JsonException)
        {
            return null; // written in place and read mid-write: the write's own event follows
        }
    }

    public void Dispose()
    {
        lock (_gate) _disposed = true;
        _watcher.Dispose();
    }
}
