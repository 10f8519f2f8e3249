namespace Zeroshot.Metrics;

/// <summary>
/// A fixed-capacity ring of the most recent samples of one tree (60 by default: a minute at one
/// sample a second), for sparklines. Not thread-safe: the collector writes, readers take
/// <see cref="Snapshot"/> copies.
/// </summary>
public sealed class SampleHistory
{
    /// <summary>The default number of samples kept.</summary>
    public const int DefaultCapacity = 60;

    private readonly TreeSample[] _ring;
    private int _next;

    /// <summary>Creates an empty history keeping the last <paramref name="capacity"/> samples.</summary>
    public SampleHistory(int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _ring = new TreeSample[capacity];
    }

    /// <summary>How many samples the ring keeps at most.</summary>
    public int Capacity => _ring.Length;

    /// <summary>How many samples it holds now.</summary>
    public int Count { get; private set; }

    /// <summary>The newest sample, or null when empty.</summary>
    public TreeSample? Latest => Count == 0 ? null : _ring[(_next - 1 + _ring.Length) % _ring.Length];

    /// <summary>Appends a sample, dropping the oldest when full.</summary>
    public void Add(TreeSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        _ring[_next] = sample;
        _next = (_next + 1) % _ring.Length;
        if (Count < _ring.Length) Count++;
    }

    /// <summary>The samples held, oldest first, as a new array.</summary>
    public TreeSample[] Snapshot()
    {
        var copy = new TreeSample[Count];
        int start = (_next - Count + _ring.Length) % _ring.Length;
        for (int i = 0; i < Count; i++) copy[i] = _ring[(start + i) % _ring.Length];
        return copy;
    }
}
