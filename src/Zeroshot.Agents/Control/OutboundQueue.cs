using System.Buffers;
using System.Threading.Tasks.Sources;

namespace Zeroshot.Agents.Control;

/// <summary>
/// The bytes waiting to be written to one client: frames are appended into 64 KiB segments (a frame may span
/// segments — the wire is a byte stream), so a burst of small frames costs one write and steady streaming
/// allocates nothing: segments are recycled through a small free list. One writer task dequeues; any thread
/// appends. All-or-nothing appends keep frames whole.
/// </summary>
/// <param name="budget">The server-wide count of queued bytes this queue adds to (null: counted here only).</param>
internal sealed class OutboundQueue(OutboundBudget? budget = null) : IValueTaskSource<bool>
{
    /// <summary>Segment size: one write(2) per segment.</summary>
    public const int SegmentSize = 64 * 1024;

    private const int FreeListCap = 8;

    private readonly object _gate = new();
    private readonly Queue<Segment> _segments = new();
    private readonly Stack<Segment> _free = new();
    private ManualResetValueTaskSourceCore<bool> _readable = new() { RunContinuationsAsynchronously = true };
    private Segment? _tail; // the last queued segment, still open for appends
    private long _queuedBytes;
    private bool _readerWaiting;
    private bool _completed;

    /// <summary>A filled part of a segment, handed to the writer.</summary>
    internal sealed class Segment(byte[] buffer)
    {
        public byte[] Buffer { get; } = buffer;

        public int Length { get; set; }

        public ReadOnlyMemory<byte> Memory => Buffer.AsMemory(0, Length);
    }

    /// <summary>True once <see cref="Complete"/> ran: appends fail from then on.</summary>
    public bool IsCompleted
    {
        get { lock (_gate) return _completed; }
    }

    /// <summary>Bytes queued and not yet released by the writer.</summary>
    public long QueuedBytes
    {
        get { lock (_gate) return _queuedBytes; }
    }

    /// <summary>
    /// Appends <paramref name="data"/> as data frames for <paramref name="streamId"/> (split every
    /// <paramref name="maxFrameData"/> bytes) if the queue would then hold at most <paramref name="limit"/> bytes;
    /// all or nothing. An empty queue admits any write, so one large write cannot be refused forever.
    /// False when full or completed.
    /// </summary>
    public bool TryAppendData(uint streamId, ReadOnlySpan<byte> data, int maxFrameData, long limit)
    {
        int frames = Math.Max(1, (data.Length + maxFrameData - 1) / maxFrameData);
        long total = data.Length + (long)frames * FrameWriter.DataHeaderSize;
        Span<byte> header = stackalloc byte[FrameWriter.DataHeaderSize];
        lock (_gate)
        {
            if (_completed) return false;
            if (_queuedBytes > 0 && _queuedBytes + total > limit) return false;
            do
            {
                var chunk = data[..Math.Min(maxFrameData, data.Length)];
                FrameWriter.WriteDataHeader(header, streamId, chunk.Length);
                Copy(header);
                Copy(chunk);
                data = data[chunk.Length..];
            }
            while (!data.IsEmpty);
            Appended(total);
            return true;
        }
    }

    /// <summary>Appends a complete frame if the queue would then hold at most <paramref name="limit"/> bytes.</summary>
    public bool TryAppendFrame(ReadOnlySpan<byte> frame, long limit)
    {
        lock (_gate)
        {
            if (_completed) return false;
            if (_queuedBytes > 0 && _queuedBytes + frame.Length > limit) return false;
            Copy(frame);
            Appended(frame.Length);
            return true;
        }
    }

    /// <summary>
    /// Writes what it can of <paramref name="bytes"/> to the connection now without waiting (a non-blocking send):
    /// the count written; zero or less when nothing went (a full buffer, or an error left for the writer to meet and report).
    /// </summary>
    public delegate int DirectSend(ReadOnlySpan<byte> bytes);

    /// <summary>
    /// When set, an append that finds the writer idle sends the bytes itself, on the appending thread, and wakes the
    /// writer only for what the socket did not take: a keystroke's echo then crosses one thread fewer (the pump thread
    /// writes the client's socket, as tmux's event loop writes its clients' directly).
    /// </summary>
    public DirectSend? SendNow { get; set; }

    private void Appended(long bytes)
    {
        _queuedBytes += bytes;
        budget?.Add(bytes);
        if (_readerWaiting)
        {
            if (SendNow is { } send && SendQueued(send)) return; // all of it went out: the writer sleeps on
            _readerWaiting = false;
            _readable.SetResult(true);
        }
    }

    /// <summary>
    /// Sends the queue through <paramref name="send"/>, under the lock, while the writer is parked with nothing in hand
    /// (so nothing can overtake these bytes, and they overtake nothing); true when all of it went.
    /// </summary>
    private bool SendQueued(DirectSend send)
    {
        while (_segments.TryPeek(out var segment))
        {
            int n = send(segment.Buffer.AsSpan(0, segment.Length));
            if (n <= 0) return false;
            _queuedBytes -= n;
            budget?.Add(-n);
            if (n < segment.Length)
            {
                // The rest waits for the writer, from the segment's start.
                segment.Buffer.AsSpan(n, segment.Length - n).CopyTo(segment.Buffer);
                segment.Length -= n;
                return false;
            }
            _segments.Dequeue();
            if (ReferenceEquals(segment, _tail)) _tail = null;
            Recycle(segment);
        }
        return true;
    }

    private void Copy(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            if (_tail == null || _tail.Length == _tail.Buffer.Length)
            {
                _tail = _free.Count > 0 ? _free.Pop() : new Segment(ArrayPool<byte>.Shared.Rent(SegmentSize));
                _segments.Enqueue(_tail);
            }
            int n = Math.Min(bytes.Length, _tail.Buffer.Length - _tail.Length);
            bytes[..n].CopyTo(_tail.Buffer.AsSpan(_tail.Length));
            _tail.Length += n;
            bytes = bytes[n..];
        }
    }

    /// <summary>Takes the oldest segment for writing; the caller must <see cref="Release"/> it after the write.</summary>
    public bool TryDequeue(out Segment segment)
    {
        lock (_gate)
        {
            if (!_segments.TryDequeue(out segment!)) return false;
            if (ReferenceEquals(segment, _tail)) _tail = null; // closed for appends: the writer owns it now
            return true;
        }
    }

    /// <summary>Returns a written segment's buffer and frees its bytes from the budget.</summary>
    public void Release(Segment segment)
    {
        lock (_gate)
        {
            _queuedBytes -= segment.Length;
            budget?.Add(-segment.Length);
            Recycle(segment);
        }
    }

    /// <summary>A segment whose bytes are written: kept for reuse, or its buffer returned (under the lock).</summary>
    private void Recycle(Segment segment)
    {
        if (_free.Count < FreeListCap && !_completed)
        {
            segment.Length = 0;
            _free.Push(segment);
        }
        else ArrayPool<byte>.Shared.Return(segment.Buffer);
    }

    /// <summary>
    /// Completes when a segment can be dequeued (true) or the queue is completed and empty (false).
    /// Single reader only; allocation-free (a reusable value-task source).
    /// </summary>
    public ValueTask<bool> WaitToReadAsync()
    {
        lock (_gate)
        {
            if (_segments.Count > 0) return new ValueTask<bool>(true);
            if (_completed) return new ValueTask<bool>(false);
            _readable.Reset();
            _readerWaiting = true;
            return new ValueTask<bool>(this, _readable.Version);
        }
    }

    /// <summary>No more appends; the reader drains what is queued, then sees false.</summary>
    public void Complete()
    {
        lock (_gate)
        {
            _completed = true;
            if (_readerWaiting)
            {
                _readerWaiting = false;
                _readable.SetResult(false);
            }
        }
    }

    /// <summary>Completes and drops everything queued, returning the buffers to the pool.</summary>
    public void Discard()
    {
        Complete();
        lock (_gate)
        {
            while (_segments.TryDequeue(out var segment))
            {
                _queuedBytes -= segment.Length;
                budget?.Add(-segment.Length);
                ArrayPool<byte>.Shared.Return(segment.Buffer);
            }
            _tail = null;
            while (_free.TryPop(out var free)) ArrayPool<byte>.Shared.Return(free.Buffer);
        }
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _readable.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _readable.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _readable.OnCompleted(continuation, state, token, flags);
}

/// <summary>
/// The bytes queued to every client of one server together. Each queue is bounded on its own
/// (<see cref="ControlServerOptions.MaxQueuedDataBytes"/>), but a hundred clients that subscribe and never read would
/// each fill theirs: this total lets the server shed the largest backlog first when the sum passes
/// <see cref="ControlServerOptions.MaxQueuedTotalBytes"/>.
/// </summary>
internal sealed class OutboundBudget(long limit)
{
    private long _bytes;

    /// <summary>The most bytes all queues together may hold.</summary>
    public long Limit { get; } = limit;

    /// <summary>Bytes queued to all clients now.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>True while the queues together hold more than <see cref="Limit"/>.</summary>
    public bool Exceeded => Interlocked.Read(ref _bytes) > Limit;

    /// <summary>Adds (or with a negative count, removes) queued bytes.</summary>
    public void Add(long bytes) => Interlocked.Add(ref _bytes, bytes);
}
