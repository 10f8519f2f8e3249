using Zeroshot.Metrics.Linux.Net;

namespace Zeroshot.Metrics.Linux;

/// <summary>
/// Samples process trees from procfs: CPU, memory, disk I/O, threads and descendants of every
/// watched root, plus TCP throughput through <see cref="TcpTrafficMeter"/>. One call to
/// <see cref="Sample"/> scans <c>/proc</c> once, however many trees are watched.
/// </summary>
/// <remarks>
/// <para>
/// Discovery: <c>/proc/&lt;pid&gt;/task/&lt;tid&gt;/children</c> needs CONFIG_PROC_CHILDREN, which many
/// kernels (this one included) lack, so the tree is found from parent pids. A pid's parent is read
/// once, when the pid first appears; a process outside every tree can only enter one by being
/// re-parented to a subreaper inside it, so non-members are re-read only every
/// <see cref="RefreshEveryTicks"/> ticks. Members are re-read every tick anyway (for CPU).
/// </para>
/// <para>
/// Counters that include reaped children: when a member exits and its parent waits for it, its
/// utime+stime+cutime+cstime move into the parent's cutime/cstime, and its I/O into the parent's
/// <c>io</c> (kernel/exit.c, wait_task_zombie). Summing deltas of live members alone would lose the
/// exited child's last partial interval, and summing the parent's jump would count the child's whole
/// life twice. So each vanished member's last-seen counters are subtracted from the jump of its
/// nearest surviving ancestor, clamped at zero: the tree keeps exactly the CPU and I/O done since
/// the previous tick. Children re-parented to init before dying are lost to the tree (nothing in
/// procfs can recover them).
/// </para>
/// </remarks>
public sealed class LinuxTreeSampler : ITreeSampler
{
    /// <summary>
    /// Processes outside every tree have their parent re-read once every this many ticks, a slice of
    /// them per tick (pid modulo this), so the cost is spread evenly instead of spiking.
    /// </summary>
    internal const int RefreshEveryTicks = 32;

    /// <summary>
    /// The process table is listed at least once every this many ticks, even when no pid was allocated since the last
    /// listing (see <see cref="ScanProcessTable"/>): processes outside the trees that ended are forgotten then.
    /// </summary>
    internal const int ListEveryTicks = 32;

    private const double BytesPerMiB = 1024 * 1024;

    private readonly ProcFsLayout _layout;
    private readonly SamplerOptions _options;
    private readonly TimeProvider _time;
    private readonly TcpTrafficMeter? _net;
    private readonly bool _ownsNet;

    private readonly Dictionary<int, Proc> _procs = new();
    private readonly Dictionary<int, RootState> _roots = new();
    private readonly Dictionary<int, int> _rootIndexByPid = new();
    private readonly List<int> _listing = new();
    private readonly List<int> _scratchPids = new();
    private readonly List<Proc> _walk = new();
    private readonly Dictionary<int, Vanished> _vanished = new();
    private readonly List<Proc> _members = new();
    private TreeTotals[] _totals = new TreeTotals[4];
    private int[] _rootPidByIndex = new int[4];
    private int[] _treePids = new int[64];
    private long _tick;
    private long _nextTreeKey;
    private readonly byte[] _buffer = new byte[4096];
    // The kernel's last allocated pid, read before each listing; null where it does not describe the listed procfs.
    private readonly ProcFile? _loadavg;
    private long _lastPidListed = -1;
    private long _listedTick;
    private readonly PidDirectory _pidDirectory;

    /// <summary>Creates a sampler over the running system's <c>/proc</c>.</summary>
    public LinuxTreeSampler(SamplerOptions options, TimeProvider time)
        : this(options, time, ProcFsLayout.System, options.Network ? TcpTrafficMeter.TryCreate("/proc") : null, ownsNet: true)
    {
    }

    /// <param name="options">What to sample.</param>
    /// <param name="time">The clock.</param>
    /// <param name="layout">The procfs.</param>
    /// <param name="net">The socket meter, if any.</param>
    /// <param name="ownsNet">Dispose <paramref name="net"/> with the sampler.</param>
    /// <param name="lastPidKnown">Whether <c>loadavg</c> under the layout's root tells when a listing can be skipped;
    /// null: when that procfs is this process's pid namespace's.</param>
    internal LinuxTreeSampler(SamplerOptions options, TimeProvider time, ProcFsLayout layout, TcpTrafficMeter? net, bool ownsNet, bool? lastPidKnown = null)
    {
        _options = options;
        _time = time;
        _layout = layout;
        _net = net;
        _ownsNet = ownsNet;
        _pidDirectory = new PidDirectory(layout.Root);
        if (lastPidKnown ?? DescribesOwnNamespace(layout)) _loadavg = new ProcFile(Path.Combine(layout.Root, "loadavg"));
    }

    /// <summary>
    /// /proc/loadavg's last pid is counted in the reader's pid namespace; it says something about the listed procfs only
    /// when that procfs is of the same namespace (its <c>self</c> is this process).
    /// </summary>
    private static bool DescribesOwnNamespace(ProcFsLayout layout)
    {
        try
        {
            return new FileInfo(Path.Combine(layout.Root, "self")).LinkTarget == Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>How many times the process table was listed (for tests: the ticks that skipped it did not).</summary>
    internal long Listings { get; private set; }

    /// <summary>Reads that failed because content was malformed (a kernel or fixture bug); those families were left null.</summary>
    public long MalformedReads { get; private set; }

    /// <inheritdoc />
    public void Sample(IReadOnlyList<int> rootPids, List<TreeSample> into)
    {
        _tick++;
        long now = _time.GetTimestamp();
        DateTimeOffset wall = _time.GetUtcNow();

        ScanProcessTable();
        BindRoots(rootPids);
        AssignTrees();
        ReadMembers();
        ReconcileVanished();
        SumMembers();
        bool netOk = _net is not null && _options.Network && _net.BeginTick();

        for (int i = 0; i < rootPids.Count; i++)
        {
            int pid = rootPids[i];
            var root = _roots[pid];
            if (root.Gone)
            {
                into.Add(TreeSample.Gone(pid, wall));
                continue;
            }
            // The root may have exited during this tick's reads; a zombie has exited too (only its
            // exit status is left for its parent to collect).
            if (!_procs.TryGetValue(pid, out var rootProc) || rootProc.StartTimeTicks != root.StartTimeTicks || _totals[i].State == 'Z')
            {
                root.Gone = true;
                into.Add(TreeSample.Gone(pid, wall));
                continue;
            }
            into.Add(BuildSample(pid, i, root, now, wall, netOk));
            root.PreviousTimestamp = now;
            root.HasBaseline = true;
        }
        if (netOk) _net!.EndTick();
        ForgetUnwatchedRoots(rootPids);
        _vanished.Clear();
    }

    // ---- 1. the process table ------------------------------------------------------------

    /// <summary>
    /// Lists the process table: new pids are read, the ones gone forgotten, a slice of the others re-read. Skipped when
    /// no pid was allocated since the last listing (loadavg's last pid is the same): then no process was created, none
    /// reused a pid, and the only change can be processes that ended, which a member's failing read shows. On an idle
    /// machine that is most ticks, and the listing (getdents over /proc, plus the re-reads) was a third of an idle
    /// supervisor's tick. Listed anyway every <see cref="ListEveryTicks"/> ticks.
    /// </summary>
    private void ScanProcessTable()
    {
        long lastPid = ReadLastPid();
        // (SeenTick matters only within a listing, which marks every process it finds: nothing to mark when skipped.)
        if (lastPid >= 0 && lastPid == _lastPidListed && _tick - _listedTick < ListEveryTicks) return;
        _lastPidListed = lastPid;
        _listedTick = _tick;
        Listings++;
        _listing.Clear();
        // An unreadable procfs root leaves the listing empty: every root then reads as gone.
        _pidDirectory.List(_listing);

        long slice = _tick % RefreshEveryTicks;
        foreach (int pid in _listing)
        {
            if (_procs.TryGetValue(pid, out var known))
            {
                known.SeenTick = _tick;
                if (pid % RefreshEveryTicks == slice && known.TreeIndex < 0 && !RefreshIdentity(known))
                    Remove(known, reused: true);
                continue;
            }
            AddNew(pid);
        }

        _scratchPids.Clear();
        foreach (var (pid, proc) in _procs)
        {
            if (proc.SeenTick != _tick) _scratchPids.Add(pid);
        }
        foreach (int pid in _scratchPids) Remove(_procs[pid], reused: false);
    }

    /// <summary>The kernel's last allocated pid, or -1 when unknown (then every tick lists).</summary>
    private long ReadLastPid()
    {
        if (_loadavg is null || _loadavg.Read(_buffer, out int n) != ReadStatus.Ok) return -1;
        try
        {
            return ProcParsers.ParseLoadAvgLastPid(_buffer.AsSpan(0, n));
        }
        catch (InvalidDataException)
        {
            MalformedReads++;
            return -1;
        }
    }

    private void AddNew(int pid)
    {
        var path = StatPath(pid);
        if (ProcFile.ReadOnce(path, _buffer, out int n) != ReadStatus.Ok) return;
        var stat = ParseStatOrNull(n);
        if (stat is null) return;
        _procs[pid] = new Proc(pid, stat.Value.StartTimeTicks)
        {
            ParentPid = stat.Value.ParentPid,
            SeenTick = _tick,
            FirstSeenTick = _tick,
            StatPath = path,
        };
    }

    /// <summary>Re-reads a non-member's parent; false when the pid now belongs to another process.</summary>
    private bool RefreshIdentity(Proc proc)
    {
        if (ProcFile.ReadOnce(proc.StatPath, _buffer, out int n) != ReadStatus.Ok) return false;
        var stat = ParseStatOrNull(n);
        if (stat is null || stat.Value.StartTimeTicks != proc.StartTimeTicks) return false;
        proc.ParentPid = stat.Value.ParentPid;
        return true;
    }

    private void Remove(Proc proc, bool reused)
    {
        if (proc.TreeRootPid != 0 && proc.HasPrevious)
        {
            _vanished[proc.Pid] = new Vanished(proc.ParentPid, proc.TreeRootPid, proc.Previous.TotalTicks, proc.PreviousIo, proc.HasIo);
        }
        proc.Dispose();
        proc.Removed = true;
        _procs.Remove(proc.Pid);
        if (reused) AddNew(proc.Pid);
    }

    // ---- 2. roots and membership ---------------------------------------------------------

    private void BindRoots(IReadOnlyList<int> rootPids)
    {
        if (_totals.Length < rootPids.Count)
        {
            _totals = new TreeTotals[rootPids.Count * 2];
            _rootPidByIndex = new int[rootPids.Count * 2];
        }
        _rootIndexByPid.Clear();
        for (int i = 0; i < rootPids.Count; i++)
        {
            int pid = rootPids[i];
            _totals[i] = default;
            _rootPidByIndex[i] = pid;
            _procs.TryGetValue(pid, out var proc);
            if (!_roots.TryGetValue(pid, out var root))
            {
                root = new RootState(proc?.StartTimeTicks ?? 0, ++_nextTreeKey) { Gone = proc is null };
                _roots[pid] = root;
            }
            // Identity is (pid, start time): a recycled pid is another process, not our root.
            if (proc is null || proc.StartTimeTicks != root.StartTimeTicks) root.Gone = true;
            root.LastWatchedTick = _tick;
            if (!root.Gone) _rootIndexByPid.TryAdd(pid, i);
        }
    }

    private void AssignTrees()
    {
        // Iterative walk up the parent chain with a per-tick memo: each process is resolved once.
        foreach (var proc in _procs.Values)
        {
            if (proc.TreeTick == _tick) continue;
            _walk.Clear();
            var current = proc;
            int index = -1;
            while (true)
            {
                if (current.TreeTick == _tick) { index = current.TreeIndex; break; }
                if (_rootIndexByPid.TryGetValue(current.Pid, out int rootIndex)) { index = rootIndex; _walk.Add(current); break; }
                _walk.Add(current);
                // A bounded walk: a fixture (or a racing pid reuse) must never make this loop forever.
                if (_walk.Count > _procs.Count || current.ParentPid <= 0 || current.ParentPid == current.Pid ||
                    !_procs.TryGetValue(current.ParentPid, out var parent)) break;
                current = parent;
            }
            foreach (var p in _walk)
            {
                p.TreeTick = _tick;
                p.TreeIndex = index;
            }
        }
    }

    // ---- 3. reading the members ----------------------------------------------------------

    private void ReadMembers()
    {
        _members.Clear();
        foreach (var proc in _procs.Values)
        {
            if (proc.TreeIndex >= 0) _members.Add(proc);
            else if (proc.TreeRootPid != 0)
            {
                // Left its tree (re-parented outside it): stop paying for its handles.
                proc.TreeRootPid = 0;
                proc.HasPrevious = false;
                proc.CloseHandles();
            }
        }
        foreach (var proc in _members)
        {
            if (!ReadMember(proc)) Remove(proc, reused: false);
        }
    }

    /// <summary>Reads one member's files and stores this tick's deltas on it; false when it is gone.</summary>
    private bool ReadMember(Proc proc)
    {
        proc.Stat ??= new ProcFile(proc.StatPath);
        if (proc.Stat.Read(_buffer, out int n) != ReadStatus.Ok) return false;
        var parsed = ParseStatOrNull(n);
        if (parsed is null) return false;
        var stat = parsed.Value;
        if (stat.StartTimeTicks != proc.StartTimeTicks) return false; // pid reused between listing and read

        int rootPid = _rootPidByIndex[proc.TreeIndex];
        // Counters of a process that was already running when the tree was first seen (or that joined
        // the tree later) are a baseline; a process born since the previous tick counts from zero.
        bool counted = proc.HasPrevious && proc.TreeRootPid == rootPid;
        bool bornSinceLastTick = !counted && proc.FirstSeenTick == _tick && _roots[rootPid].HasBaseline;
        proc.ParentPid = stat.ParentPid;
        proc.TreeRootPid = rootPid;

        ref var totals = ref _totals[proc.TreeIndex];
        totals.Members++;
        totals.Threads += stat.Threads;
        if (stat.State == 'D') totals.Blocked++;
        if (proc.Pid == rootPid)
        {
            totals.State = stat.State;
            ReadWakeups(proc, ref totals);
        }

        if (counted)
        {
            proc.OwnDelta = Delta(stat.UserTicks + stat.SystemTicks, proc.Previous.UserTicks + proc.Previous.SystemTicks);
            proc.ChildDelta = Delta(stat.ChildUserTicks + stat.ChildSystemTicks, proc.Previous.ChildUserTicks + proc.Previous.ChildSystemTicks);
        }
        else if (bornSinceLastTick)
        {
            proc.OwnDelta = stat.UserTicks + stat.SystemTicks;
            proc.ChildDelta = stat.ChildUserTicks + stat.ChildSystemTicks;
        }
        else
        {
            proc.OwnDelta = proc.ChildDelta = 0;
        }
        proc.Previous = stat;

        ReadMemory(proc, ref totals);
        ReadIo(proc, counted, bornSinceLastTick);
        proc.HasPrevious = true;
        return true;
    }

    /// <summary>
    /// The root's main thread's run count since the previous tick: one more small file for the root alone (its
    /// event loop waking, or not, is what tells a CLI blocked in a call from one polling for nothing).
    /// </summary>
    private void ReadWakeups(Proc proc, ref TreeTotals totals)
    {
        proc.Sched ??= new ProcFile(Path.Join(_layout.Root, proc.PidText, "schedstat"));
        if (proc.Sched.Read(_buffer, out int n) != ReadStatus.Ok) return;
        ulong slices;
        try
        {
            slices = ProcParsers.ParseSchedstatTimeslices(_buffer.AsSpan(0, n));
        }
        catch (InvalidDataException)
        {
            MalformedReads++;
            return;
        }
        if (proc.HasTimeslices && slices >= proc.Timeslices) totals.RootWakeups = (long)(slices - proc.Timeslices);
        proc.Timeslices = slices;
        proc.HasTimeslices = true;
    }

    private void ReadMemory(Proc proc, ref TreeTotals totals)
    {
        if (totals.MemoryFailed) return;
        try
        {
            if (_options.UsePss)
            {
                proc.Smaps ??= new ProcFile(Path.Join(_layout.Root, proc.PidText, "smaps_rollup"));
                // smaps_rollup of a large process is ~1 KB; the shared buffer is enough.
                if (proc.Smaps.Read(_buffer, out int n) == ReadStatus.Ok)
                    totals.MemoryBytes += (long)ProcParsers.ParseSmapsRollupPssKb(_buffer.AsSpan(0, n)) * 1024;
            }
            else
            {
                // stat's rss (field 24) is get_mm_rss(), the same figure as statm's resident and
                // status's VmRSS: no second file to read per process per tick.
                totals.MemoryBytes += (long)proc.Previous.ResidentPages * _layout.PageSize;
            }
            totals.MemoryKnown = true;
        }
        catch (InvalidDataException)
        {
            MalformedReads++;
            totals.MemoryFailed = true;
        }
    }

    private void ReadIo(Proc proc, bool counted, bool bornSinceLastTick)
    {
        proc.Io ??= new ProcFile(Path.Join(_layout.Root, proc.PidText, "io"));
        proc.IoDelta = default;
        if (proc.Io.Read(_buffer, out int n) != ReadStatus.Ok)
        {
            // Another user's io file is unreadable: this process adds nothing, and the tree's I/O is
            // null only if no member's io could be read at all.
            proc.HasIo = false;
            return;
        }
        ProcIo io;
        try
        {
            io = ProcParsers.ParseIo(_buffer.AsSpan(0, n));
        }
        catch (InvalidDataException)
        {
            MalformedReads++;
            proc.HasIo = false;
            return;
        }
        if (counted && proc.HasIo)
        {
            proc.IoDelta = new ProcIo(
                Delta(io.ReadChars, proc.PreviousIo.ReadChars), Delta(io.WriteChars, proc.PreviousIo.WriteChars),
                Delta(io.ReadBytes, proc.PreviousIo.ReadBytes), Delta(io.WriteBytes, proc.PreviousIo.WriteBytes));
        }
        else if (bornSinceLastTick)
        {
            proc.IoDelta = io;
        }
        proc.PreviousIo = io;
        proc.HasIo = true;
    }

    // ---- 4. exited members ---------------------------------------------------------------

    private void ReconcileVanished()
    {
        if (_vanished.Count == 0) return;
        foreach (var (_, gone) in _vanished)
        {
            // Nearest surviving ancestor in the same tree, through the last-known parents of
            // members that vanished in the same interval (a grandchild reaped by a child reaped by us).
            int parent = gone.ParentPid;
            for (int guard = 0; guard <= _vanished.Count; guard++)
            {
                if (_procs.TryGetValue(parent, out var alive))
                {
                    if (alive.TreeIndex >= 0 && alive.TreeRootPid == gone.TreeRootPid && alive.HasPrevious)
                    {
                        alive.PendingChildTicks += gone.LastTotalTicks;
                        if (gone.HasIo) alive.PendingIo = Add(alive.PendingIo, gone.LastIo);
                    }
                    break;
                }
                if (!_vanished.TryGetValue(parent, out var up)) break;
                parent = up.ParentPid;
            }
        }
    }

    // ---- 5. one tree's sample ------------------------------------------------------------

    /// <summary>Adds every live member's deltas (after reconciliation) to its tree's totals.</summary>
    private void SumMembers()
    {
        foreach (var proc in _members)
        {
            if (proc.Removed) continue;
            ref var totals = ref _totals[proc.TreeIndex];
            totals.CpuTicks += proc.OwnDelta + Delta(proc.ChildDelta, proc.PendingChildTicks);
            if (proc.HasIo)
            {
                totals.IoKnown = true;
                totals.Io = Add(totals.Io, Sub(proc.IoDelta, proc.PendingIo));
            }
            proc.PendingChildTicks = 0;
            proc.PendingIo = default;
        }
    }

    private TreeSample BuildSample(int rootPid, int index, RootState root, long now, DateTimeOffset wall, bool netOk)
    {
        ref var totals = ref _totals[index];
        ulong cpuTicks = totals.CpuTicks;
        ProcIo io = totals.Io;
        bool anyIo = totals.IoKnown;
        int count = 0;
        if (netOk)
        {
            foreach (var proc in _members)
            {
                if (proc.Removed || proc.TreeIndex != index) continue;
                if (count == _treePids.Length) Array.Resize(ref _treePids, count * 2);
                _treePids[count++] = proc.Pid;
            }
        }

        double? seconds = root.HasBaseline ? _time.GetElapsedTime(root.PreviousTimestamp, now).TotalSeconds : null;
        bool rates = seconds > 0;
        double Rate(ulong value) => value / seconds!.Value;

        double? rx = null, tx = null;
        NetworkState? netState = null;
        if (netOk)
        {
            var traffic = _net!.MeasureTree(root.TreeKey, _treePids.AsSpan(0, count));
            netState = traffic.State;
            if (rates)
            {
                rx = Math.Max(0, traffic.RxBytes) / seconds!.Value;
                tx = Math.Max(0, traffic.TxBytes) / seconds!.Value;
            }
        }

        return new TreeSample
        {
            Timestamp = wall,
            Pid = rootPid,
            Exists = true,
            State = totals.State == '\0' ? null : totals.State,
            CpuPercent = rates ? cpuTicks / (double)_layout.ClockTicksPerSecond / seconds!.Value * 100.0 : null,
            MemoryMB = totals.MemoryKnown && !totals.MemoryFailed ? totals.MemoryBytes / BytesPerMiB : null,
            IoReadBytesPerSec = rates && anyIo ? Rate(io.ReadBytes) : null,
            IoWriteBytesPerSec = rates && anyIo ? Rate(io.WriteBytes) : null,
            ReadCharsPerSec = rates && anyIo ? Rate(io.ReadChars) : null,
            WriteCharsPerSec = rates && anyIo ? Rate(io.WriteChars) : null,
            NetRxBytesPerSec = rx,
            NetTxBytesPerSec = tx,
            NetworkState = netState,
            ChildCount = Math.Max(0, totals.Members - 1),
            Threads = totals.Threads,
            Blocked = totals.Blocked,
            RootWakeups = totals.RootWakeups,
        };
    }

    private void ForgetUnwatchedRoots(IReadOnlyList<int> rootPids)
    {
        if (_roots.Count == rootPids.Count) return;
        _scratchPids.Clear();
        foreach (var (pid, root) in _roots)
        {
            if (root.LastWatchedTick != _tick) _scratchPids.Add(pid);
        }
        foreach (int pid in _scratchPids) _roots.Remove(pid);
    }

    // ---- helpers -------------------------------------------------------------------------

    private ProcStat? ParseStatOrNull(int length)
    {
        try
        {
            return ProcParsers.ParseStat(_buffer.AsSpan(0, length));
        }
        catch (InvalidDataException)
        {
            MalformedReads++;
            return null;
        }
    }

    private string StatPath(int pid) => Path.Join(_layout.Root, pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "stat");

    private static ulong Delta(ulong current, ulong previous) => current > previous ? current - previous : 0;

    private static ProcIo Add(ProcIo a, ProcIo b) =>
        new(a.ReadChars + b.ReadChars, a.WriteChars + b.WriteChars, a.ReadBytes + b.ReadBytes, a.WriteBytes + b.WriteBytes);

    private static ProcIo Sub(ProcIo a, ProcIo b) =>
        new(Delta(a.ReadChars, b.ReadChars), Delta(a.WriteChars, b.WriteChars), Delta(a.ReadBytes, b.ReadBytes), Delta(a.WriteBytes, b.WriteBytes));

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var proc in _procs.Values) proc.Dispose();
        _procs.Clear();
        _pidDirectory.Dispose();
        _loadavg?.Dispose();
        if (_ownsNet) _net?.Dispose();
    }

    private sealed class Proc(int pid, ulong startTimeTicks) : IDisposable
    {
        public int Pid { get; } = pid;
        public ulong StartTimeTicks { get; } = startTimeTicks;
        public string PidText { get; } = pid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        public required string StatPath { get; init; }
        public int ParentPid;
        public long SeenTick;
        public long FirstSeenTick;
        public long TreeTick;
        public int TreeIndex = -1;
        public int TreeRootPid;
        public bool HasPrevious;
        public bool Removed;
        public ProcStat Previous;
        public bool HasIo;
        public ProcIo PreviousIo;
        public ulong OwnDelta;
        public ulong ChildDelta;
        public ProcIo IoDelta;
        public ulong PendingChildTicks;
        public ProcIo PendingIo;
        public ProcFile? Stat;
        public ProcFile? Io;
        public ProcFile? Smaps;
        public ProcFile? Sched;
        public ulong Timeslices;
        public bool HasTimeslices;

        public void CloseHandles()
        {
            Stat?.Dispose();
            Io?.Dispose();
            Smaps?.Dispose();
            Sched?.Dispose();
            Stat = Io = Smaps = Sched = null;
            HasTimeslices = false;
        }

        public void Dispose() => CloseHandles();
    }

    private sealed class RootState(ulong startTimeTicks, long treeKey)
    {
        public ulong StartTimeTicks { get; } = startTimeTicks;
        public long TreeKey { get; } = treeKey;
        public bool Gone;
        public bool HasBaseline;
        public long PreviousTimestamp;
        public long LastWatchedTick;
    }

    private readonly record struct Vanished(int ParentPid, int TreeRootPid, ulong LastTotalTicks, ProcIo LastIo, bool HasIo);

    private struct TreeTotals
    {
        public int Members;
        public int Threads;
        public int Blocked;
        public long? RootWakeups;
        public char State;
        public long MemoryBytes;
        public ulong CpuTicks;
        public ProcIo Io;
        public bool IoKnown;
        public bool MemoryKnown;
        public bool MemoryFailed;
    }
}
