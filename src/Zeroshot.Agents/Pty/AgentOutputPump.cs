using System.Threading.Channels;
using Zeroshot.Agents.State;

namespace Zeroshot.Agents.Pty;

/// <summary>
/// Moves an agent's terminal output to its log file and then to the display, on a dedicated thread.
/// </summary>
/// <remarks>
/// <para>Order per chunk (one read(2) of up to 64 KiB from the PTY master): FIRST the bytes are written to
/// the log with one write(2) (the FileStream has no user-space buffer), THEN a copy is offered to
/// <see cref="Display"/>. Whatever happens downstream — a slow or crashed display, an exception in the
/// supervisor, the zeroshot process dying — every byte the agent produced before that point is in the
/// kernel's page cache of the log file. At the end of output the log is fsync'ed.</para>
/// <para>Back-pressure: a log that is slow to write (a slow disk) slows the pump, the PTY's buffer fills and the
/// agent blocks in write(2), as it would on a slow terminal. A log write that FAILS (a full disk, a quota) never
/// stops the pump: the bytes that did not reach the file are counted exactly (the file's length after the failed
/// write says how much of the chunk got in) in <see cref="LogBytesLost"/> and the shared <see cref="LogWriteHealth"/>,
/// the chunk still goes to the display and the subscribers, and the next chunk tries the file again, so writing
/// resumes by itself when space returns. The
/// display never slows the agent: it is a bounded channel of chunks that drops its OLDEST chunk when full;
/// dropped bytes are counted in <see cref="DroppedDisplayBytes"/> (the log still has them), so a display
/// can say "n bytes skipped" and re-read the log if it wants to.</para>
/// </remarks>
internal sealed class AgentOutputPump : IAsyncDisposable
{
    /// <summary>Bytes asked of each read(2) of the PTY master.</summary>
    public const int ChunkSize = 64 * 1024;

    private readonly PtyProcess _pty;
    private readonly FileStream _log;
    private readonly TimeProvider _time;
    private readonly Channel<ReadOnlyMemory<byte>> _display;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _totalBytes;
    private long _droppedBytes;
    private long _lastOutputTicks;
    private long _logBytesLost;
    private long _logOffset;
    private LogWriteHealth? _health;
    private Microsoft.Win32.SafeHandles.SafeFileHandle? _handle;
    private Action<ReadOnlyMemory<byte>>? _onLogged;
    private bool _displayEnabled = true;

    private AgentOutputPump(PtyProcess pty, FileStream log, TimeProvider time, int displayCapacity)
    {
        _pty = pty;
        _log = log;
        _time = time;
        _display = Channel.CreateBounded<ReadOnlyMemory<byte>>(
            new BoundedChannelOptions(Math.Max(1, displayCapacity))
            {
                FullMode = BoundedChannelFullMode.DropOldest,
                SingleWriter = true,
                SingleReader = true,
                AllowSynchronousContinuations = false,
            },
            dropped => Interlocked.Add(ref _droppedBytes, dropped.Length));
    }

    /// <summary>
    /// Opens (appending; creating it and its directory if needed) the log file and starts pumping
    /// <paramref name="pty"/>'s output. The pump does not own the PtyProcess.
    /// </summary>
    /// <param name="pty">The agent's terminal.</param>
    /// <param name="logPath">The agent's log file.</param>
    /// <param name="timeProvider">Clock for <see cref="LastOutputAt"/>; <see cref="TimeProvider.System"/> by default.</param>
    /// <param name="displayCapacity">
    /// Chunks the display channel holds before dropping the oldest (each up to 64 KiB); 0 turns the
    /// channel off (no copy per chunk) for callers that take every chunk through <paramref name="onLogged"/>.
    /// </param>
    /// <param name="onLogged">
    /// Called on the pump thread with every chunk right after it reached the log and before the display gets
    /// it: for consumers that must see every byte in order (token accounting), which the lossy display
    /// channel cannot promise. It must be fast; an exception from it ends the pump.
    /// </param>
    /// <param name="health">Where failed log writes are counted and reported (shared by a cluster's pumps).</param>
    public static AgentOutputPump Start(PtyProcess pty, string logPath, TimeProvider? timeProvider = null, int displayCapacity = 256,
        Action<ReadOnlyMemory<byte>>? onLogged = null, LogWriteHealth? health = null)
    {
        ArgumentNullException.ThrowIfNull(pty);
        ArgumentOutOfRangeException.ThrowIfLessThan(displayCapacity, 0);
        string? directory = Path.GetDirectoryName(Path.GetFullPath(logPath));
        if (directory is not null)
        {
            PrivateFiles.CreateMissing(directory);
        }

        // BufferSize 0: every Write is one write(2), nothing waits in our process to be lost.
        // Private to the user (0600, an older 0644 log included): agent output carries prompts and secrets.
        var log = PrivateFiles.OpenWrite(logPath, FileMode.Append, FileShare.Read | FileShare.Delete, bufferSize: 0);
        var pump = new AgentOutputPump(pty, log, timeProvider ?? TimeProvider.System, displayCapacity)
        {
            _onLogged = onLogged,
            _displayEnabled = displayCapacity > 0,
            _health = health,
            _logOffset = log.Length, // appending: writes go at explicit offsets from the end (pwrite)
            _handle = log.SafeFileHandle,
        };
        var thread = new Thread(static state => ((AgentOutputPump)state!).Run(), maxStackSize: 256 * 1024)
        {
            IsBackground = true,
            Name = $"pty-pump {pty.Pid}",
        };
        thread.Start(pump);
        return pump;
    }

    /// <summary>
    /// Output chunks for the display, in order, each a private copy; completes after end of output (with the
    /// pump's exception if it failed). Oldest chunks are dropped when the reader falls behind.
    /// </summary>
    public ChannelReader<ReadOnlyMemory<byte>> Display => _display.Reader;

    /// <summary>Bytes read from the terminal and written to the log.</summary>
    public long TotalBytes => Interlocked.Read(ref _totalBytes);

    /// <summary>Bytes read from the terminal that a failed log write (a full disk) kept out of the log.</summary>
    public long LogBytesLost => Interlocked.Read(ref _logBytesLost);

    /// <summary>Bytes the display channel dropped because its reader was too slow (they are in the log).</summary>
    public long DroppedDisplayBytes => Interlocked.Read(ref _droppedBytes);

    /// <summary>When the last output chunk was read; null before any output.</summary>
    public DateTimeOffset? LastOutputAt
    {
        get
        {
            long ticks = Interlocked.Read(ref _lastOutputTicks);
            return ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    /// <summary>
    /// Completes when output has ended (every holder of the terminal closed it) and the log is flushed to
    /// disk, or when the pump was stopped; faults if reading the terminal or writing the log failed.
    /// </summary>
    public Task Completion => _completion.Task;

    /// <summary>Stops reading (output not yet read stays in the PTY), closes the log and waits for the thread.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        // A failure was already reported through Completion.
        await ((Task)_completion.Task).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

        _stop.Dispose();
    }

    /// <summary>
    /// Appends a chunk to the log with pwrite(2) at the log's end (RandomAccess.Write writes it whole or throws). When
    /// it throws (ENOSPC, EDQUOT, EIO), part of the chunk may be in the file: the file's length says how much, so the
    /// loss counted is exact and the next write continues right after what got in.
    /// </summary>
    private void WriteLog(ReadOnlySpan<byte> chunk)
    {
        var handle = _handle!;
        try
        {
            RandomAccess.Write(handle, chunk, _logOffset);
            _logOffset += chunk.Length;
            _health?.Written();
        }
        catch (IOException e)
        {
            long end = _logOffset;
            try
            {
                end = Math.Clamp(RandomAccess.GetLength(handle), _logOffset, _logOffset + chunk.Length);
            }
            catch (IOException)
            {
                // fstat failed too: count the whole chunk as lost, and write the next one where this one began.
                end = _logOffset;
            }
            long lost = chunk.Length - (end - _logOffset);
            _logOffset = end;
            Interlocked.Add(ref _logBytesLost, lost);
            _health?.Lost(lost, e);
        }
    }

    /// <summary>fsync(2) at the end of output; on a full disk it may fail, which loses nothing more than the writes said.</summary>
    private void FlushLog()
    {
        try
        {
            _log.Flush(flushToDisk: true);
        }
        catch (IOException e) when (_health is not null && Interlocked.Read(ref _logBytesLost) > 0)
        {
            // The failure was already reported through the health; the fsync error adds nothing.
            _ = e;
        }
    }

    private void Run()
    {
        var buffer = new byte[ChunkSize];
        Exception? failure = null;
        try
        {
            while (true)
            {
                int n = _pty.Read(buffer, _stop.Token);
                if (n == 0)
                {
                    break;
                }

                WriteLog(buffer.AsSpan(0, n));
                // The memory is the pump's buffer: valid only during the call.
                _onLogged?.Invoke(buffer.AsMemory(0, n));
                Interlocked.Add(ref _totalBytes, n);
                Interlocked.Exchange(ref _lastOutputTicks, _time.GetUtcNow().UtcTicks);
                // DropOldest: TryWrite always succeeds; a displaced chunk is counted by the itemDropped callback.
                if (_displayEnabled) _display.Writer.TryWrite(buffer.AsSpan(0, n).ToArray());
            }

            FlushLog();
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Stopped by DisposeAsync.
        }
        catch (Exception e)
        {
            // Reported through Completion and the display channel; an escape would kill the process.
            failure = e;
        }
        finally
        {
            try
            {
                _log.Dispose();
            }
            catch (IOException e)
            {
                failure ??= e;
            }

            _display.Writer.TryComplete(failure);
            if (failure is null)
            {
                _completion.TrySetResult();
            }
            else
            {
                _completion.TrySetException(failure);
            }
        }
    }
}
