namespace Zeroshot.Terminal.Screen;

/// <summary>
/// Lines scrolled off the top of the main screen, oldest first, in a ring of at most
/// <see cref="Capacity"/> lines. When full, the oldest line is handed back to be reused as the new
/// blank row, so scrolling allocates nothing in the steady state.
/// </summary>
internal sealed class Scrollback
{
    private Line[] _ring;
    private int _start;

    /// <summary>An empty scrollback of <paramref name="capacity"/> lines (0: none kept).</summary>
    public Scrollback(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        Capacity = capacity;
        _ring = new Line[Math.Min(capacity, 64)];
    }

    /// <summary>Most lines kept.</summary>
    public int Capacity { get; }

    /// <summary>Lines held.</summary>
    public int Count { get; private set; }

    /// <summary>Line <paramref name="index"/>, 0 the oldest.</summary>
    public Line this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count);
            return _ring[(_start + index) % _ring.Length];
        }
    }

    /// <summary>The line the next <see cref="Push"/> evicts (the oldest, when the scrollback is full), or null.</summary>
    public Line? NextEvicted => Count == Capacity && Capacity > 0 ? _ring[_start] : null;

    /// <summary>Appends <paramref name="line"/> (the scrollback takes it); returns the line it evicted,
    /// for reuse, or null.</summary>
    public Line? Push(Line line)
    {
        if (Capacity == 0) return line;
        if (Count < _ring.Length)
        {
            _ring[(_start + Count) % _ring.Length] = line;
            Count++;
            return null;
        }
        if (_ring.Length < Capacity)
        {
            var bigger = new Line[Math.Min(Capacity, _ring.Length * 2)];
            for (int i = 0; i < Count; i++) bigger[i] = _ring[(_start + i) % _ring.Length];
            _ring = bigger;
            _start = 0;
            _ring[Count++] = line;
            return null;
        }
        var evicted = _ring[_start];
        _ring[_start] = line;
        _start = (_start + 1) % _ring.Length;
        return evicted;
    }

    /// <summary>Removes and returns the newest line (a resize pulling history back), or null.</summary>
    public Line? PopNewest()
    {
        if (Count == 0) return null;
        Count--;
        int i = (_start + Count) % _ring.Length;
        var line = _ring[i];
        _ring[i] = null!;
        return line;
    }

    /// <summary>Forgets every line (ED 3).</summary>
    public void Clear()
    {
        Array.Clear(_ring);
        _start = 0;
        Count = 0;
    }
}
