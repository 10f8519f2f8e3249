namespace Zeroshot.Agents.Output;

/// <summary>
/// Cuts a byte stream, read in chunks split anywhere (one read(2) of a PTY master at a time), into lines.
/// </summary>
/// <remarks>
/// <para>Only LF ends a line. The terminal's ONLCR output mode (termios(3)) turns every "\n" the agent writes
/// into "\r\n", so one CR right before the LF is dropped. Any other CR stays in the line: a bare "\r" is a
/// progress redraw, and raw display must show it as written.</para>
/// <para>Memory is bounded: a line longer than <see cref="MaxLineBytes"/> keeps only its first
/// <see cref="MaxLineBytes"/> bytes; the rest is skipped (counted) until the LF, and the line is delivered
/// with <c>truncated: true</c>. A 50 MB line never allocates 50 MB. The buffer grows on demand and shrinks
/// back after a long line, so an agent that prints short lines holds only a few KiB.</para>
/// <para>Not thread-safe: one feeder (the pump thread) at a time.</para>
/// </remarks>
internal sealed class LineAssembler
{
    /// <summary>Default cap on the bytes kept of one line (4 MiB: a Claude Write/Read tool line of a large file still parses).</summary>
    public const int DefaultMaxLineBytes = 4 * 1024 * 1024;

    private const int InitialBuffer = 4096;
    private const int KeepBuffer = 64 * 1024;

    /// <summary>Receives one line without its line end. The span is valid only during the call.</summary>
    /// <param name="line">The line's bytes (its head if truncated).</param>
    /// <param name="truncated">True when the line was longer than the cap.</param>
    /// <param name="totalLength">The line's full length in bytes, including skipped bytes.</param>
    public delegate void LineHandler(ReadOnlySpan<byte> line, bool truncated, long totalLength);

    private readonly LineHandler _onLine;
    private byte[] _buffer;
    private int _length;
    private long _skipped;
    private bool _skippedEndsInCr;

    public LineAssembler(LineHandler onLine, int maxLineBytes = DefaultMaxLineBytes)
    {
        ArgumentNullException.ThrowIfNull(onLine);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 16);
        _onLine = onLine;
        MaxLineBytes = maxLineBytes;
        _buffer = new byte[Math.Min(InitialBuffer, maxLineBytes)];
    }

    /// <summary>Bytes kept of one line at most.</summary>
    public int MaxLineBytes { get; }

    /// <summary>Bytes of the line not yet ended by LF (kept plus skipped).</summary>
    public long PendingBytes => _length + _skipped;

    /// <summary>Current size of the line buffer (for memory-bound tests).</summary>
    internal int BufferCapacity => _buffer.Length;

    /// <summary>Consumes one chunk; calls the handler for every line it completes.</summary>
    public void Feed(ReadOnlySpan<byte> chunk)
    {
        while (!chunk.IsEmpty)
        {
            int lf = chunk.IndexOf((byte)'\n');
            if (lf < 0)
            {
                Append(chunk);
                return;
            }

            if (_length == 0 && _skipped == 0)
            {
                // Fast path: the whole line is in this chunk, no copy.
                Deliver(chunk[..lf]);
            }
            else
            {
                Append(chunk[..lf]);
                Deliver(_buffer.AsSpan(0, _length));
            }

            chunk = chunk[(lf + 1)..];
        }
    }

    /// <summary>End of stream: delivers a last line that had no LF (if any bytes are pending).</summary>
    public void Complete()
    {
        if (_length > 0 || _skipped > 0)
            Deliver(_buffer.AsSpan(0, _length));
    }

    private void Deliver(ReadOnlySpan<byte> line)
    {
        bool truncated = _skipped > 0 || line.Length > MaxLineBytes;
        long total = line.Length + _skipped;
        // The terminal's CR of CRLF (ONLCR) is not part of the line, even when it was skipped with a long tail:
        // a 100 000 000-byte line reads 100 000 000 bytes, not 100 000 001.
        if (_skipped > 0 ? _skippedEndsInCr : line.Length > MaxLineBytes && line[^1] == (byte)'\r')
            total--;
        _skippedEndsInCr = false;
        if (line.Length > MaxLineBytes)
        {
            // Only on the fast path: a single chunk longer than the cap.
            line = line[..MaxLineBytes];
        }
        else if (!truncated && !line.IsEmpty && line[^1] == (byte)'\r')
        {
            // ONLCR's CR of CRLF (a truncated line's tail was skipped, so its CR is gone already).
            line = line[..^1];
            total--;
        }

        _length = 0;
        _skipped = 0;
        try
        {
            _onLine(line, truncated, total);
        }
        finally
        {
            if (_buffer.Length > KeepBuffer)
                _buffer = new byte[InitialBuffer];
        }
    }

    private void Append(ReadOnlySpan<byte> data)
    {
        int room = MaxLineBytes - _length;
        if (data.Length > room)
        {
            _skipped += data.Length - room;
            _skippedEndsInCr = data[^1] == (byte)'\r';
            data = data[..room];
        }

        if (data.IsEmpty)
            return;
        if (_length + data.Length > _buffer.Length)
        {
            int size = (int)Math.Min(MaxLineBytes, Math.Max((long)_buffer.Length * 2, _length + data.Length));
            var bigger = new byte[size];
            _buffer.AsSpan(0, _length).CopyTo(bigger);
            _buffer = bigger;
        }

        data.CopyTo(_buffer.AsSpan(_length));
        _length += data.Length;
    }
}
