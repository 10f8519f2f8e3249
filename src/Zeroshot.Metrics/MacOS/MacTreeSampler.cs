using System.Globalization;
using System.Runtime.Versioning;

namespace Zeroshot.Metrics.MacOS;

/// <summary>
/// Samples process trees on macOS: CPU, resident memory, threads, descendants and state from libproc
/// (falling back to one <c>ps</c> run per tick when libproc cannot be loaded), and TCP connection
/// state from <c>lsof</c> at most every <see cref="NetworkInterval"/> per tree.
/// </summary>
/// <remarks>
/// Degradation, by design: disk I/O needs root on macOS (proc_pid_rusage of other tasks, or
/// fs_usage) and per-socket byte counters are not exposed to lsof, so the I/O and network rate
/// families are always null; memory is RSS even when PSS is requested (macOS has no PSS); threads are
/// null under the <c>ps</c> fallback. A family whose source fails or prints malformed output is null
/// for that tick only; the others stay. Roots are identified by (pid, start time): a recycled pid
/// reports <c>Exists = false</c> from then on.
/// </remarks>
public sealed class MacTreeSampler : ITreeSampler
{
    /// <summary>Minimum time between two <c>lsof</c> runs covering the same tree.</summary>
    internal static readonly TimeSpan NetworkInterval = TimeSpan.FromSeconds(5);

    private const double BytesPerMiB = 1024 * 1024;
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(5);

    private readonly SamplerOptions _options;
    private readonly TimeProvider _time;
    private readonly IMacProcessSource _source;
    private Func<IReadOnlyList<int>, ToolResult>? _runLsof;

    private readonly Dictionary<int, RootState> _roots = new();
    private readonly List<RootState> _order = new();
    private readonly List<int> _forget = new();
    private readonly List<int> _children = new();
    private readonly HashSet<int> _visited = new();
    private readonly List<int> _lsofPids = new();
    private readonly Dictionary<int, NetworkState> _netByPid = new();
    private long _tick;

    /// <summary>
    /// Creates a sampler over the running system: libproc when it loads, <c>ps</c> otherwise, and
    /// <c>lsof</c> for connection state when <see cref="SamplerOptions.Network"/> is set.
    /// </summary>
    /// <param name="options">Sampling options; <see cref="SamplerOptions.UsePss"/> is ignored (no PSS on macOS).</param>
    /// <param name="timeProvider">Clock for timestamps (wall) and rates (monotonic timestamps).</param>
    [SupportedOSPlatform("macos")]
    public MacTreeSampler(SamplerOptions options, TimeProvider timeProvider)
        : this(options, timeProvider, CreateSource(), RunLsof)
    {
    }

    internal MacTreeSampler(SamplerOptions options, TimeProvider timeProvider, IMacProcessSource source, Func<IReadOnlyList<int>, ToolResult>? runLsof)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _options = options;
        _time = timeProvider;
        _source = source;
        _runLsof = options.Network ? runLsof : null;
    }

    /// <summary>Reads that failed because a tool printed malformed output; those families were left null.</summary>
    public long MalformedReads { get; private set; }

    /// <inheritdoc />
    public void Sample(IReadOnlyList<int> rootPids, List<TreeSample> into)
    {
        ArgumentNullException.ThrowIfNull(rootPids);
        ArgumentNullException.ThrowIfNull(into);
        _tick++;
        long now = _time.GetTimestamp();
        DateTimeOffset wall = _time.GetUtcNow();

        bool tableOk;
        try
        {
            tableOk = _source.BeginTick();
        }
        catch (InvalidDataException)
        {
            MalformedReads++;
            tableOk = false;
        }

        _order.Clear();
        for (int i = 0; i < rootPids.Count; i++) // indexing: no boxed enumerator per tick
        {
            int pid = rootPids[i];
            if (!_roots.TryGetValue(pid, out RootState? st))
            {
                st = new RootState(pid);
                _roots.Add(pid, st);
            }
            if (st.SeenTick != _tick)
            {
                st.SeenTick = _tick;
                Measure(st, tableOk, now);
            }
            _order.Add(st);
        }

        ProbeNetwork(now);

        foreach (RootState st in _order)
            into.Add(st.ToSample(wall));

        // Roots not passed in this tick are forgotten (ITreeSampler contract).
        _forget.Clear();
        foreach (KeyValuePair<int, RootState> kv in _roots)
        {
            if (kv.Value.SeenTick != _tick)
                _forget.Add(kv.Key);
        }
        foreach (int pid in _forget)
            _roots.Remove(pid);
    }

    /// <inheritdoc />
    public void Dispose() { }

    private void Measure(RootState st, bool tableOk, long now)
    {
        st.ClearTick();
        if (st.Gone)
            return;
        if (!tableOk)
        {
            // Nothing readable this tick: existence from kill(pid, 0), every metric null, and the
            // CPU baseline kept so the next good tick measures over the longer interval.
            st.Exists = UnsupportedTreeSampler.ProcessExists(st.Pid);
            return;
        }
        if (!_source.TryGet(st.Pid, out MacProc root) || (st.Known && root.StartKey != st.StartKey))
        {
            st.Gone = true; // vanished, or the pid now belongs to another process
            return;
        }
        if (!st.Known)
        {
            st.Known = true;
            st.StartKey = root.StartKey;
        }
        st.Exists = true;

        CollectTree(root, st.Members);

        long rss = 0;
        int threads = 0;
        bool anyRss = false, anyThreads = false, anyCpu = false;
        foreach (MacProc m in st.Members)
        {
            if (m.RssBytes is long r)
            {
                rss += r;
                anyRss = true;
            }
            if (m.Threads is int t)
            {
                threads += t;
                anyThreads = true;
            }
            anyCpu |= m.CpuNs.HasValue;
        }
        st.State = root.State;
        st.ChildCount = st.Members.Count - 1;
        st.MemoryMB = anyRss ? rss / BytesPerMiB : null;
        st.Threads = anyThreads ? threads : null;

        bool hadBaseline = st.Cpu.HasBaseline;
        long cpuNs = st.Cpu.Advance(st.Members);
        st.CpuPercent = hadBaseline && anyCpu
            ? MacRates.CpuPercent(cpuNs, now - st.PreviousTimestamp, _time.TimestampFrequency)
            : null;
        st.PreviousTimestamp = now;
    }

    /// <summary>
    /// Breadth-first walk from <paramref name="root"/> over the source's child lists, iterative (the
    /// member list is its own queue) and guarded against cycles by a visited set.
    /// </summary>
    private void CollectTree(MacProc root, List<MacProc> members)
    {
        members.Clear();
        _visited.Clear();
        members.Add(root);
        _visited.Add(root.Pid);
        for (int i = 0; i < members.Count; i++)
        {
            _children.Clear();
            _source.GetChildren(members[i].Pid, _children);
            foreach (int child in _children)
            {
                if (_visited.Add(child) && _source.TryGet(child, out MacProc p))
                    members.Add(p);
            }
        }
    }

    /// <summary>One <c>lsof</c> for all trees whose network state is due, attributed back by pid.</summary>
    private void ProbeNetwork(long now)
    {
        if (_runLsof is null)
            return;
        long interval = (long)(NetworkInterval.TotalSeconds * _time.TimestampFrequency);
        _lsofPids.Clear();
        _visited.Clear();
        foreach (RootState st in _order)
        {
            st.NetDue = st.Exists && st.Members.Count > 0 && (!st.NetProbed || now - st.LastNetTimestamp >= interval);
            if (!st.NetDue)
                continue;
            foreach (MacProc m in st.Members)
            {
                if (_visited.Add(m.Pid))
                    _lsofPids.Add(m.Pid);
            }
        }
        if (_lsofPids.Count == 0)
            return;

        ToolResult result = _runLsof(_lsofPids);
        if (result.Status == ToolStatus.Missing)
        {
            _runLsof = null; // not installed: the network family stays null for good
            foreach (RootState st in _roots.Values)
                st.Net = null;
            return;
        }

        bool parsed = false;
        if (result.Status == ToolStatus.Ok)
        {
            _netByPid.Clear();
            try
            {
                LsofOutputParser.Parse(result.Output, _netByPid);
                parsed = true;
            }
            catch (InvalidDataException)
            {
                MalformedReads++;
            }
        }

        foreach (RootState st in _order)
        {
            if (!st.NetDue)
                continue;
            st.NetProbed = true;
            st.LastNetTimestamp = now;
            st.Net = parsed ? SumNetwork(st.Members) : null;
        }
    }

    private NetworkState SumNetwork(List<MacProc> members)
    {
        NetworkState sum = default;
        foreach (MacProc m in members)
        {
            if (_netByPid.TryGetValue(m.Pid, out NetworkState n))
            {
                sum = new NetworkState(
                    sum.Established + n.Established,
                    sum.SendQueueBytes + n.SendQueueBytes,
                    sum.RecvQueueBytes + n.RecvQueueBytes);
            }
        }
        return sum;
    }

    [SupportedOSPlatform("macos")]
    private static IMacProcessSource CreateSource() =>
        (IMacProcessSource?)LibProcProcessSource.TryCreate() ?? new PsProcessSource(PsProcessSource.RunPs);

    [SupportedOSPlatform("macos")]
    private static ToolResult RunLsof(IReadOnlyList<int> pids)
    {
        string[] args = [.. LsofOutputParser.ArgumentsBeforePids, string.Join(',', pids.Select(p => p.ToString(CultureInfo.InvariantCulture)))];
        // lsof lives in /usr/sbin on macOS, which is not always on PATH of GUI-launched processes.
        string lsof = File.Exists("/usr/sbin/lsof") ? "/usr/sbin/lsof" : "lsof";
        // lsof exits 1 when it found no matching file: no TCP sockets is a valid, empty answer.
        return ToolRunner.Run(lsof, args, ToolTimeout, maxOkExitCode: 1);
    }

    private sealed class RootState(int pid)
    {
        public int Pid { get; } = pid;
        public long SeenTick;
        public bool Known;
        public bool Gone;
        public long StartKey;
        public readonly CpuLedger Cpu = new();
        public long PreviousTimestamp;
        public readonly List<MacProc> Members = new();

        public bool NetProbed;
        public bool NetDue;
        public long LastNetTimestamp;
        public NetworkState? Net;

        public bool Exists;
        public char? State;
        public double? CpuPercent;
        public double? MemoryMB;
        public int? ChildCount;
        public int? Threads;

        public void ClearTick()
        {
            Members.Clear();
            Exists = false;
            State = null;
            CpuPercent = null;
            MemoryMB = null;
            ChildCount = null;
            Threads = null;
        }

        public TreeSample ToSample(DateTimeOffset timestamp) => !Exists
            ? TreeSample.Gone(Pid, timestamp)
            : new TreeSample
            {
                Timestamp = timestamp,
                Pid = Pid,
                Exists = true,
                State = State,
                CpuPercent = CpuPercent,
                MemoryMB = MemoryMB,
                ChildCount = ChildCount,
                Threads = Threads,
                NetworkState = Members.Count > 0 ? Net : null,
            };
    }
}
