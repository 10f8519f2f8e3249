using System.Buffers;

namespace Zeroshot.Agents.Transcripts;

/// <summary>Receives one complete line (UTF-8, without its '\n' or a trailing '\r').</summary>
internal delegate void TranscriptLineHandler(ReadOnlySpan<byte> line);

/// <summary>
/// Follows one append-only JSONL file live: waits for it to appear, hands every complete line to a handler, keeps a
/// partial last line until its newline arrives, and starts over from the beginning when the file is truncated or
/// replaced. Change notices come from <see cref="FileSystemWatcher"/> (inotify on Linux), never from polling.
/// </summary>
/// <remarks>
/// <para>The handler runs on the follower's own task, one line at a time. A handler throwing
/// <see cref="InvalidDataException"/> marks the line malformed (<see cref="MalformedLines"/>); any other exception is
/// counted in <see cref="HandlerErrors"/> and kept in <see cref="LastError"/>: nothing escapes the follower, since
/// an exception on its task would otherwise be lost or end the process.</para>
/// <para>The directory may not exist yet (Claude Code creates <c>projects/&lt;cwd&gt;</c> with the first message): the
/// nearest existing ancestor is then watched (one level, not recursively), moving down as each level appears.</para>
/// </remarks>
internal sealed class TranscriptFollower : IDisposable, IAsyncDisposable
{
    /// <summary>Longest line kept; a longer one is dropped up to its newline and counted malformed.</summary>
    public const int MaxLineBytes = 64 * 1024 * 1024;

    private readonly string _path;
    private readonly string _directory;
    private readonly string _fileName;
    private readonly TranscriptLineHandler _handler;
    private readonly SemaphoreSlim _changed = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _watchLock = new();
    private FileSystemWatcher? _watcher;
    private bool _watchingTargetDirectory;
    private string? _watchedDirectory;
    private Task _loop = Task.CompletedTask;
    private FileStream? _stream;
    private long _offset;
    private byte[] _pending = ArrayPool<byte>.Shared.Rent(64 * 1024);
    private int _pendingLength;
    private bool _dropping;
    private int _disposed;

    /// <summary>Starts following <paramref name="path"/> (it may not exist yet), from its beginning.</summary>
    public TranscriptFollower(string path, TranscriptLineHandler handler)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(handler);
        _path = Path.GetFullPath(path);
        _directory = Path.GetDirectoryName(_path) ?? throw new ArgumentException("a file path is required", nameof(path));
        _fileName = Path.GetFileName(_path);
        _handler = handler;
        lock (_watchLock)
            Watch();
        Signal(); // the file may already be there, with lines
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>The followed file.</summary>
    public string FilePath => _path;

    /// <summary>Complete lines handed to the handler.</summary>
    public long Lines => Interlocked.Read(ref _lines);

    /// <summary>Lines the handler rejected with <see cref="InvalidDataException"/>, plus over-long lines.</summary>
    public long MalformedLines => Interlocked.Read(ref _malformed);

    /// <summary>Other exceptions thrown by the handler.</summary>
    public long HandlerErrors => Interlocked.Read(ref _handlerErrors);

    /// <summary>Times the file was found shorter than what was read (truncated or replaced) and read again from 0.</summary>
    public long Restarts => Interlocked.Read(ref _restarts);

    /// <summary>The last exception of the handler or of reading the file, for diagnostics.</summary>
    public Exception? LastError { get; private set; }

    private long _lines, _malformed, _handlerErrors, _restarts;

    /// <summary>
    /// Watches the file's directory, or while it does not exist its nearest existing ancestor (that one level only,
    /// not recursively: a recursive inotify watch of a home folder could use up the user's watch limit). True when
    /// the watched folder changed, so the caller looks again (a level may have appeared meanwhile).
    /// </summary>
    private bool Watch()
    {
        var dir = _directory;
        while (!Directory.Exists(dir))
        {
            var parent = Path.GetDirectoryName(dir);
            if (parent is null)
                break;
            dir = parent;
        }
        if (string.Equals(dir, _watchedDirectory, StringComparison.Ordinal) || !Directory.Exists(dir))
            return false;
        _watcher?.Dispose();
        _watchedDirectory = dir;
        _watchingTargetDirectory = string.Equals(dir, _directory, StringComparison.Ordinal);
        _watcher = _watchingTargetDirectory
            ? new FileSystemWatcher(dir, _fileName) { NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size }
            : new FileSystemWatcher(dir) { NotifyFilter = NotifyFilters.DirectoryName };
        _watcher.Changed += OnEvent;
        _watcher.Created += OnEvent;
        _watcher.Deleted += OnEvent;
        _watcher.Renamed += OnEvent;
        _watcher.Error += OnError;
        _watcher.EnableRaisingEvents = true;
        return true;
    }

    private void OnEvent(object sender, FileSystemEventArgs e)
    {
        if (e.ChangeType is WatcherChangeTypes.Created or WatcherChangeTypes.Renamed or WatcherChangeTypes.Deleted
            && string.Equals(e.FullPath, _path, StringComparison.Ordinal))
            _replaced = true; // a new file under the name: read it from its start
        Signal();
    }

    // The watcher's buffer overflowed: events were lost, so read whatever is there now.
    private void OnError(object sender, ErrorEventArgs e)
    {
        LastError = e.GetException();
        Signal();
    }

    private volatile bool _replaced;

    private void Signal()
    {
        // One pending signal is enough: every wake-up reads to the end of the file.
        if (_changed.CurrentCount == 0)
        {
            try
            {
                _changed.Release();
            }
            catch (SemaphoreFullException)
            {
                // A concurrent event released it first; the loop wakes either way.
            }
            catch (ObjectDisposedException)
            {
                // An event raced with Dispose: nothing left to wake.
            }
        }
    }

    private async Task LoopAsync()
    {
        var token = _stop.Token;
        try
        {
            while (!token.IsCancellationRequested)
            {
                await _changed.WaitAsync(token).ConfigureAwait(false);
                if (!_watchingTargetDirectory)
                {
                    lock (_watchLock)
                    {
                        while (_disposed == 0 && Watch())
                        {
                            // Moved one or more levels down; look again in case the next level appeared meanwhile.
                        }
                    }
                }
                // A read that began after CompleteAsync was asked for sees everything the (exited) writer wrote.
                bool last = _completing;
                ReadAvailable(token);
                if (last) break;
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Disposed.
        }
    }

    private void ReadAvailable(CancellationToken token)
    {
        try
        {
            if (_replaced)
            {
                _replaced = false;
                if (!StillTheFile())
                    CloseStream();
            }
            if (_stream is null)
            {
                if (!File.Exists(_path))
                    return;
                _stream = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
                _offset = 0;
                _pendingLength = 0;
                _dropping = false;
            }
            if (_stream.Length < _offset)
            {
                // Truncated (or rewritten shorter): what was read is gone; start over.
                Interlocked.Increment(ref _restarts);
                _offset = 0;
                _pendingLength = 0;
                _dropping = false;
            }
            _stream.Position = _offset;
            while (!token.IsCancellationRequested)
            {
                if (_pendingLength == _pending.Length)
                    Grow();
                int n = _stream.Read(_pending, _pendingLength, _pending.Length - _pendingLength);
                if (n == 0)
                    break;
                _offset += n;
                int scanFrom = _pendingLength;
                _pendingLength += n;
                Split(scanFrom);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Deleted or replaced while reading: the next event reopens it.
            LastError = e;
            CloseStream();
        }
    }

    /// <summary>Hands every complete line in the pending bytes to the handler and keeps the partial rest.</summary>
    private void Split(int scanFrom)
    {
        int start = 0;
        int i = scanFrom;
        while (true)
        {
            int nl = _pending.AsSpan(i, _pendingLength - i).IndexOf((byte)'\n');
            if (nl < 0)
                break;
            int end = i + nl;
            if (_dropping)
                _dropping = false; // the rest of an over-long line ends here
            else
                Deliver(_pending.AsSpan(start, end - start));
            start = end + 1;
            i = start;
        }
        if (start > 0)
        {
            _pending.AsSpan(start, _pendingLength - start).CopyTo(_pending);
            _pendingLength -= start;
        }
    }

    private void Deliver(ReadOnlySpan<byte> line)
    {
        if (line.Length > 0 && line[^1] == '\r')
            line = line[..^1];
        if (line.Trim(" \t"u8).IsEmpty)
            return;
        Interlocked.Increment(ref _lines);
        try
        {
            _handler(line);
        }
        catch (InvalidDataException e)
        {
            Interlocked.Increment(ref _malformed);
            LastError = e;
        }
        catch (Exception e)
        {
            // The handler's bug must not stop following (see remarks); it stays visible through the counter.
            Interlocked.Increment(ref _handlerErrors);
            LastError = e;
        }
    }

    private void Grow()
    {
        if (_pending.Length >= MaxLineBytes)
        {
            // An over-long line: drop it up to its newline.
            Interlocked.Increment(ref _malformed);
            _pendingLength = 0;
            _dropping = true;
            return;
        }
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(MaxLineBytes, _pending.Length * 2));
        _pending.AsSpan(0, _pendingLength).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_pending);
        _pending = bigger;
    }

    /// <summary>
    /// Whether the open stream is still the file at the path. A Created event can arrive after the file was opened
    /// (it is the file's own creation), and reopening then would deliver its lines twice; a rename over the path or
    /// a rotation gives a different file. Linux names an open file in /proc/self/fd (" (deleted)" once unlinked);
    /// both names are compared as the kernel resolves them. Without /proc the file is taken as replaced.
    /// </summary>
    private bool StillTheFile()
    {
        if (_stream is null || !File.Exists(_path))
            return false;
        using var current = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
        var ours = FdTarget(_stream);
        return ours is not null && string.Equals(ours, FdTarget(current), StringComparison.Ordinal);
    }

    private static string? FdTarget(FileStream stream) =>
        new FileInfo($"/proc/self/fd/{stream.SafeFileHandle.DangerousGetHandle().ToInt64()}").LinkTarget;

    private void CloseStream()
    {
        _stream?.Dispose();
        _stream = null;
    }

    /// <summary>Stops following and waits for the reading task to end (the handler is not called afterwards).</summary>
    private volatile bool _completing;

    /// <summary>Reads what the file holds now (its writer has exited: nothing more will come), then stops following.</summary>
    public async ValueTask CompleteAsync()
    {
        if (Volatile.Read(ref _disposed) != 0) return;
        _completing = true;
        Signal();
        await _loop.ConfigureAwait(false);
        await DisposeAsync().ConfigureAwait(false);
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <inheritdoc cref="Dispose"/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        lock (_watchLock)
        {
            _watcher?.Dispose();
            _watcher = null;
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        CloseStream();
        ArrayPool<byte>.Shared.Return(_pending);
        _stop.Dispose();
        _changed.Dispose();
    }
}
