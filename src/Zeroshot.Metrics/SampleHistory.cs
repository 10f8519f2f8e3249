namespace Zeroshot.Metrics;

/// <summary>
/// A fixed-capacity ring of the most recent samples of one tree (60 by default: a minute at one
/// sample a second), for sparklines. Not thread-safe: the collector writes, readers take
/// <see cref="Snapshot"/> copies.
/// </summary>
/// <remarks>
/// The ring holds each sample's values, not the sample object: a sample then dies with its tick instead of outliving
/// two collections into the GC's oldest generation (a minute of samples per agent, at a collection every ~70 s in the
/// supervisor). This alone did not stop the supervisor's committed heap from growing (measured: 27.1 against 27.9 MB
/// after an hour); the supervisor's periodic trim does (<c>MemoryTrim</c> in Zeroshot.Agents).
/// </remarks>
public sealed class SampleHistory
{
    /// <summary>The default number of samples kept.</summary>
    public const int DefaultCapacity = 60;

    private readonly Point[] _ring;
    private int _next;

    /// <summary>Creates an empty history keeping the last <paramref name="capacity"/> samples.</summary>
    public SampleHistory(int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _ring = new Point[capacity];
    }

    /// <summary>How many samples the ring keeps at most.</summary>
    public int Capacity => _ring.Length;

    /// <summary>How many samples it holds now.</summary>
    public int Count { get; private set; }

    /// <summary>The newest sample (a new object equal to the one added), or null when empty.</summary>
    public TreeSample? Latest => Count == 0 ? null : _ring[(_next - 1 + _ring.Length) % _ring.Length].ToSample();

    /// <summary>Appends a sample, dropping the oldest when full.</summary>
    public void Add(TreeSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        _ring[_next] = Point.From(sample);
        _next = (_next + 1) % _ring.Length;
        if (Count < _ring.Length) Count++;
    }

    /// <summary>The samples held, oldest first, as a new array of new objects equal to those added.</summary>
    public TreeSample[] Snapshot()
    {
        var copy = new TreeSample[Count];
        int start = (_next - Count + _ring.Length) % _ring.Length;
        for (int i = 0; i < Count; i++) copy[i] = _ring[(start + i) % _ring.Length].ToSample();
        return copy;
    }

    // Every property of TreeSample, by value (a test checks that none is missing).
    private readonly record struct Point(
        DateTimeOffset Timestamp, int Pid, bool Exists, char? State, double? CpuPercent, double? MemoryMB,
        double? IoReadBytesPerSec, double? IoWriteBytesPerSec, double? ReadCharsPerSec, double? WriteCharsPerSec,
        double? NetRxBytesPerSec, double? NetTxBytesPerSec, NetworkState? NetworkState, int? ChildCount, int? Threads,
        int? Blocked, long? RootWakeups)
    {
        public static Point From(TreeSample s) => new(s.Timestamp, s.Pid, s.Exists, s.State, s.CpuPercent, s.MemoryMB,
            s.IoReadBytesPerSec, s.IoWriteBytesPerSec, s.ReadCharsPerSec, s.WriteCharsPerSec, s.NetRxBytesPerSec,
            s.NetTxBytesPerSec, s.NetworkState, s.ChildCount, s.Threads, s.Blocked, s.RootWakeups);

        public TreeSample ToSample() => new()
        {
            Timestamp = Timestamp, Pid = Pid, Exists = Exists, State = State, CpuPercent = CpuPercent, MemoryMB = MemoryMB,
            IoReadBytesPerSec = IoReadBytesPerSec, IoWriteBytesPerSec = IoWriteBytesPerSec, ReadCharsPerSec = ReadCharsPerSec,
            WriteCharsPerSec = WriteCharsPerSec, NetRxBytesPerSec = NetRxBytesPerSec, NetTxBytesPerSec = NetTxBytesPerSec,
            NetworkState = NetworkState, ChildCount = ChildCount, Threads = Threads, Blocked = Blocked, RootWakeups = RootWakeups,
        };
    }
}
