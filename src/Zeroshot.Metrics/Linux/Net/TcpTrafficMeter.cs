using System.Runtime.InteropServices;

namespace Zeroshot.Metrics.Linux.Net;

/// <summary>Network bytes and connection state of one process tree over one tick.</summary>
/// <param name="RxBytes">TCP payload bytes received by the tree's sockets since the previous tick.</param>
/// <param name="TxBytes">TCP payload bytes sent and acknowledged since the previous tick.</param>
/// <param name="State">Connection summary of the sockets the tree holds now.</param>
internal readonly record struct TreeTraffic(long RxBytes, long TxBytes, NetworkState State);

/// <summary>
/// Per-tree TCP throughput from NETLINK_SOCK_DIAG (sock_diag(7)), without root and without spawning
/// <c>ss</c>. Each tick: drain the TCP destroy notifications, then read every socket the trees hold with its
/// tcp_info (by name, or in a dump of every IPv4 and IPv6 TCP socket when a tree may hold a new one); each tree is
/// mapped to its sockets through the <c>socket:[inode]</c> links in <c>/proc/&lt;pid&gt;/fd</c>.
/// </summary>
/// <remarks>
/// <para>Sockets are mapped once, not every tick: the meter remembers which tree holds each socket inode, and
/// which inodes no tree holds. A tree's fd links are read again only when the dump shows a socket nobody has claimed
/// yet (one created since the last tick) by a uid our trees may run as (idiag_uid is the creator's effective uid;
/// every uid when we are root), when the tree is new, and every <see cref="RescanTicks"/> ticks to catch what no dump
/// reveals (a socket passed between processes with SCM_RIGHTS, a process that left the tree). In the steady state no
/// fd is read at all; a socket that closes leaves the dump and the map. A socket held by two trees at once counts in
/// each until one of them rescans.</para>
/// <para>And the machine's sockets are dumped only when needed. A dump walks every bucket of the TCP established hash
/// (262 144 here, sized from RAM: ~0.8 ms of kernel time however few sockets there are), so where the kernel counts a
/// process's descriptors (Linux ≥ 6.2: the size of <c>/proc/&lt;pid&gt;/fd</c>) a tick first asks for the sockets the
/// trees already hold by name, one hash lookup each, and dumps only when a tree is new, a member is new or its
/// descriptor count changed (it may hold a socket nobody has seen), or every <see cref="RescanTicks"/> ticks, when every
/// tree is read again anyway. What that misses for up to <see cref="RescanTicks"/> ticks: a socket opened in the same
/// tick as another descriptor of the same process closed (the count did not move); its bytes are counted in full once
/// it is found, unless it closes before (then they are lost like a socket opened and closed between two ticks). On
/// older kernels every tick dumps, as before.</para>
/// </remarks>
/// <remarks>
/// <para>Accounting is per socket, keyed by the socket cookie (stable for the socket's life; the inode is
/// the key only if a kernel reports cookie 0). A socket already held at a tree's first measurement
/// (its baseline) counts only later deltas; a socket that appears in a tree later was opened since the
/// previous tick and counts all its bytes. Deltas are never negative.</para>
/// <para>Sockets that close keep counting: once the tree closes one it is orphaned (inode 0 in the dump,
/// e.g. FIN_WAIT) and its deltas are credited by cookie to the tree that held it at its last sighting;
/// when it is finally freed the kernel multicasts a destroy message to SKNLGRP_INET(6)_TCP_DESTROY with
/// the final tcp_info (verified on Linux 6.x) and that last delta is credited the same way.</para>
/// <para>Limitation: a socket opened AND closed entirely between two ticks was never seen with an inode,
/// so no pid can be attached to it and its bytes are not attributed (<see cref="UnattributedDestroys"/>).
/// Destroy notifications lost to a receive-buffer overrun are counted in <see cref="DestroyOverruns"/>.
/// Both counters follow sequence numbers, so control flags leak in (measured on Linux 6.18): an actively
/// opened socket's tcpi_bytes_acked includes its SYN (+1; passive ones do not), and a normal close adds the
/// FIN (+1) to both counters. A tree is therefore over-credited by at most 2 bytes per connection it opened
/// or closed: irrelevant for a throughput display, and not correctable because inet_diag does not say
/// which side opened the connection.</para>
/// </remarks>
internal sealed class TcpTrafficMeter : IDisposable
{
    private const byte AF_UNSPEC = 0, AF_INET = 2, AF_INET6 = 10;
    private const byte TCP_ESTABLISHED = 1, TCP_SYN_SENT = 2, TCP_LISTEN = 10;
    // Every state but TIME_WAIT (6) and NEW_SYN_RECV (12): those are mini-sockets with no inode and no
    // tcp_info (the full socket was already destroyed / not yet created), so dumping them only costs time.
    private const uint StateMask = 0xFFFFFFFFu & ~(1u << 6) & ~(1u << 12);
    private const int ReceiveBufferSize = 64 * 1024;      // ≥ the 32 KiB cap of one netlink dump skb
    private const int DestroyRcvBuf = 4 * 1024 * 1024;    // bursts of thousands of closes between ticks
    private const long NoTree = long.MinValue;             // _owner: an inode no tree held when it was last looked for

    /// <summary>Every tree's fd links are read again (and the machine's sockets dumped) on ticks that are multiples of this.</summary>
    internal const int RescanTicks = 30;
    private const byte TCP_TIME_WAIT = 6, TCP_NEW_SYN_RECV = 12;
    private const int IdLength = InetDiagDecoder.SockIdLength;
    private const int RequestLength = InetDiagDecoder.NlMsgHeaderLength + InetDiagDecoder.InetDiagReqV2Length;
    // Requests per sendto: their answers are queued during the call, and 32 of ~1.3 KB each (skb truesize) fit the
    // receive buffer with room to spare, so none is dropped.
    private const int LookupBatch = 32;

    private readonly SockDiagSocket _dump;
    private readonly SockDiagSocket? _destroy;
    private readonly ProcSocketInodes _inodes;
    private readonly byte[] _buffer = new byte[ReceiveBufferSize];
    private InetDiagRecord[] _records = new InetDiagRecord[256];
    private byte[] _ids = new byte[256 * IdLength];              // each record's inet_diag_sockid, for an exact request
    private int[] _recordStamp = new int[256];
    private int _recordCount;
    private InetDiagRecord[] _previous = new InetDiagRecord[256]; // the last tick's records: what a lookup tick asks for
    private byte[] _previousIds = new byte[256 * IdLength];
    private int _previousCount;
    private readonly byte[] _requests = new byte[LookupBatch * RequestLength];
    private readonly bool _countsFds;                            // the kernel gives a process's descriptor count
    private readonly Dictionary<int, FdSeen> _fds = new();       // pid → its descriptor count when last measured
    private bool _dumped;                                        // this tick's records are a whole dump (not lookups)
    private readonly Dictionary<uint, int> _byInode = new();
    private readonly Dictionary<ulong, Tracked> _tracked = new();
    private readonly Dictionary<long, TreeState> _trees = new();
    private readonly List<uint> _treeInodes = new();
    private readonly List<long> _gone = new();
    private readonly Dictionary<uint, long> _owner = new();    // socket inode → the tree holding it, or NoTree
    private readonly uint? _uid;                                // whose sockets may be our trees'; null: anyone's (root)
    private List<uint> _released = new();                      // a rescanned tree's previous inodes
    private int _unclaimed;                                     // this tick's dump inodes of _uid with no entry in _owner
    private uint _sequence;
    private int _tick;
    private int _stamp;
    private bool _dumpValid;

    private struct FdSeen
    {
        public int Handle; // O_PATH on /proc/<pid>/fd
        public long Count;
        public int Tick;
    }

    private struct Tracked
    {
        public long TreeId;
        public ulong Received;
        public ulong Acked;
        public int LastSeenTick;
    }

    private sealed class TreeState
    {
        public long PendingRx;
        public long PendingTx;
        public int LastTick;
        public List<uint> Inodes = new(); // the TCP sockets it held when its fds were last read, still in the dump
    }

    private TcpTrafficMeter(SockDiagSocket dump, SockDiagSocket? destroy, string procRoot)
    {
        _dump = dump;
        _destroy = destroy;
        _inodes = new ProcSocketInodes(procRoot);
        _countsFds = _inodes.CountsDescriptors();
        uint euid = NetInterop.GetEuid();
        _uid = euid == 0 ? null : euid;
    }

    /// <summary>Ticks so far (the periodic rescan is on multiples of <see cref="RescanTicks"/>).</summary>
    internal int Tick => _tick;

    /// <summary>Whole dumps of the machine's TCP sockets (cumulative): none in a tick where no tree changed.</summary>
    public long Dumps { get; private set; }

    /// <summary>Sockets asked for by name (cumulative).</summary>
    public long Lookups { get; private set; }

    /// <summary>Whether ticks can skip the dump (the kernel counts a process's descriptors); false: every tick dumps.</summary>
    internal bool DumpsOnlyOnChange => _countsFds && !ForceDumps;

    /// <summary>Dump every tick, as on a kernel that does not count descriptors (tests compare both).</summary>
    internal bool ForceDumps { get; set; }

    /// <summary>Sockets in this tick's dump that no tree has claimed yet (each makes every tree read its fd links).</summary>
    internal int UnclaimedSockets => _unclaimed;

    /// <summary>Processes whose fd links were read (cumulative): zero per tick in the steady state.</summary>
    public long ProcessesScanned { get; private set; }

    /// <summary>Destroy notifications dropped because the listener's receive buffer overflowed (ENOBUFS).</summary>
    public long DestroyOverruns { get; private set; }

    /// <summary>Destroy notifications credited to the tree that held the socket.</summary>
    public long CreditedDestroys { get; private set; }

    /// <summary>Destroy notifications for sockets no tree was known to hold (opened and closed between ticks).</summary>
    public long UnattributedDestroys { get; private set; }

    /// <summary>
    /// Whether a tick dumps IPv4 and IPv6 in one TCPDIAG_GETSOCK request (the kernel's compat path dumps
    /// AF_UNSPEC) rather than one SOCK_DIAG_BY_FAMILY request per family. Each dump walks every bucket of
    /// the TCP established hash (262144 here, sized from RAM), so one walk instead of two is what keeps a
    /// tick cheap; falls back to per-family requests, permanently, if the compat request fails.
    /// </summary>
    internal bool SingleWalk { get; set; } = true;

    /// <summary>Whether destroy notifications are being received (false: closed sockets lose their last delta).</summary>
    public bool HasDestroyNotifications => _destroy is not null;

    /// <summary>Opens the netlink socket; null where sock_diag is unavailable.</summary>
    public static TcpTrafficMeter? TryCreate(string procRoot) => TryCreate(procRoot, DestroyRcvBuf);

    /// <summary>As <see cref="TryCreate(string)"/> with a chosen destroy-listener receive buffer (tests force overruns).</summary>
    internal static TcpTrafficMeter? TryCreate(string procRoot, int destroyReceiveBuffer)
    {
        if (!OperatingSystem.IsLinux()) return null;
        SockDiagSocket? dump;
        try
        {
            dump = SockDiagSocket.TryOpen(0, ReceiveBufferSize);
        }
        catch (DllNotFoundException) { return null; }
        catch (EntryPointNotFoundException) { return null; }
        if (dump is null) return null;
        var destroy = SockDiagSocket.TryOpen(
            (1u << (SockDiagSocket.SKNLGRP_INET_TCP_DESTROY - 1)) | (1u << (SockDiagSocket.SKNLGRP_INET6_TCP_DESTROY - 1)),
            destroyReceiveBuffer);
        var meter = new TcpTrafficMeter(dump, destroy, procRoot);
        if (!meter.BeginTick()) // probe: a kernel without inet_diag answers with an error
        {
            meter.Dispose();
            return null;
        }
        meter._tick = 0;
        return meter;
    }

    /// <summary>
    /// Starts a tick: a drain of destroy notifications, then the sockets the trees held at the last tick asked for by
    /// name, or a whole dump (the first tick, after a failure, on kernels that do not count descriptors, and when a
    /// lookup fails). <see cref="MeasureTree"/> turns a tick into a dump when a tree may hold a new socket. False when
    /// no socket could be read.
    /// </summary>
    public bool BeginTick()
    {
        _tick++;
        // Drain first: a socket freed before the dump is absent from it, and its notification (sent
        // from a kernel workqueue) may lag; whatever arrives after this drain is credited next tick.
        DrainDestroyed();
        if (DumpsOnlyOnChange && _dumpValid && _tick % RescanTicks != 0 && LookUpHeldSockets())
        {
            _dumped = false;
            _unclaimed = 0; // a lookup sees no new socket; a tree that may hold one turns the tick into a dump
            AfterRead();
            return true;
        }
        return DumpAll();
    }

    // Every TCP socket of the machine, in one walk if the kernel allows.
    private bool DumpAll()
    {
        Dumps++;
        _dumped = true;
        ResetDump();
        _dumpValid = SingleWalk && Dump(AF_UNSPEC);
        if (!_dumpValid)
        {
            ResetDump();
            _dumpValid = Dump(AF_INET) && Dump(AF_INET6);
            // The compat request failed where per-family works: a kernel without it; stop trying.
            if (_dumpValid) SingleWalk = false;
        }
        if (!_dumpValid)
        {
            ResetDump();
            return false;
        }
        _unclaimed = 0;
        for (int i = 0; i < _recordCount; i++)
            if (Claimable(_records[i]) && !_owner.ContainsKey(_records[i].Inode)) _unclaimed++;
        AfterRead();
        return true;
    }

    // What every tick does with the sockets it read: sockets still tracked were seen, and closed ones are credited.
    private void AfterRead()
    {
        for (int i = 0; i < _recordCount; i++)
        {
            ref readonly var r = ref _records[i];
            ref var t = ref CollectionsMarshal.GetValueRefOrNullRef(_tracked, Key(r));
            if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref t)) continue;
            t.LastSeenTick = _tick;
            // Orphaned (closed by its process, still shutting down): no fd maps it any more, so credit
            // the tree that held it by cookie.
            if (r.Inode == 0 && r.HasInfo) Credit(ref t, r.BytesReceived, r.BytesAcked);
        }
    }

    /// <summary>
    /// Asks for each socket of the last tick's records that a tree holds or held (tracked, orphaned ones included) by
    /// name, in batches; the answers are this tick's records. False when anything went wrong (the tick then dumps).
    /// </summary>
    private bool LookUpHeldSockets()
    {
        (_previous, _records) = (_records, _previous);
        (_previousIds, _ids) = (_ids, _previousIds);
        _previousCount = _recordCount;
        if (_records.Length < _previous.Length)
        {
            Array.Resize(ref _records, _previous.Length);
            Array.Resize(ref _ids, _previous.Length * IdLength);
        }
        ResetDump();
        int pending = 0;
        uint first = 0;
        for (int i = 0; i < _previousCount; i++)
        {
            ref readonly var r = ref _previous[i];
            bool held = r.Inode != 0 && _owner.TryGetValue(r.Inode, out long owner) && owner != NoTree;
            if (!held && !_tracked.ContainsKey(Key(r))) continue;
            if (pending == 0) first = _sequence + 1;
            InetDiagDecoder.WriteExactRequest(_requests.AsSpan(pending * RequestLength), r.Family,
                _previousIds.AsSpan(i * IdLength, IdLength), ++_sequence);
            if (++pending == LookupBatch)
            {
                if (!Exchange(pending, first)) return false;
                pending = 0;
            }
        }
        return pending == 0 || Exchange(pending, first);
    }

    // One sendto of `count` requests, then their answers: the kernel handles a netlink request inside the sendto
    // (netlink_unicast_kernel), so every answer is queued when it returns and a missing one means it was dropped.
    private bool Exchange(int count, uint first)
    {
        if (!_dump.Send(_requests.AsSpan(0, count * RequestLength))) return false;
        Lookups += count;
        int answered = 0;
        while (answered < count)
        {
            int got = _dump.Receive(_buffer, nonBlocking: true);
            if (got <= 0) return false; // nothing queued (dropped), an overrun, or an error
            var decoder = new InetDiagDecoder(_buffer.AsSpan(0, got));
            while (decoder.MoveNext())
            {
                if (decoder.Sequence - first >= (uint)count) continue; // leftovers of an earlier, abandoned request
                switch (decoder.Kind)
                {
                    case NetlinkItemKind.Record:
                        answered++;
                        // As the dump's state mask: a TIME_WAIT or NEW_SYN_RECV mini-socket has no inode and no tcp_info.
                        if (decoder.Record.State is not (TCP_TIME_WAIT or TCP_NEW_SYN_RECV)) Add(decoder.Record, decoder.Payload);
                        break;
                    case NetlinkItemKind.Error:
                        answered++; // ENOENT: closed and freed; ESTALE: its ports now belong to another socket
                        break;
                }
            }
        }
        return true;
    }

    /// <summary>
    /// Bytes moved by the sockets of the given live tree members since this tree's previous measurement
    /// (zero at a tree's first measurement, its baseline), and the tree's connection state now. After a
    /// failed <see cref="BeginTick"/> returns <c>default</c>: the caller should report the family as unknown.
    /// </summary>
    public TreeTraffic MeasureTree(long treeId, ReadOnlySpan<int> pids)
    {
        if (!_dumpValid)
        {
            // No dump this tick: keep a known tree alive (its next deltas span two ticks), but do not
            // register a new one, whose baseline must come from a real dump.
            if (_trees.TryGetValue(treeId, out var kept)) kept.LastTick = _tick;
            return default;
        }
        ref var tree = ref CollectionsMarshal.GetValueRefOrAddDefault(_trees, treeId, out bool known);
        bool baseline = !known;
        tree ??= new TreeState();
        tree.LastTick = _tick;

        bool changed = DumpsOnlyOnChange ? DescriptorsChanged(pids) : _unclaimed > 0;
        // The periodic rescan is on the same tick for every tree: one dump serves them all.
        if (baseline || changed || _tick % RescanTicks == 0)
        {
            // A socket of this tree may be missing from sockets asked for by name: see them all.
            if (!_dumped && !DumpAll())
            {
                if (baseline) _trees.Remove(treeId);
                return default;
            }
            Rescan(treeId, tree, pids);
        }

        int stamp = ++_stamp;
        long rx = 0, tx = 0, sendQ = 0, recvQ = 0, lastReceive = long.MaxValue;
        int established = 0, connecting = 0;
        var inodes = tree.Inodes;
        for (int k = inodes.Count - 1; k >= 0; k--)
        {
            uint inode = inodes[k];
            if (!_byInode.TryGetValue(inode, out int index))
            {
                // Gone from the dump: closed (its last bytes arrive by cookie or destroy notification).
                inodes[k] = inodes[^1];
                inodes.RemoveAt(inodes.Count - 1);
                if (_owner.TryGetValue(inode, out long owner) && owner == treeId) _owner.Remove(inode);
                continue;
            }
            if (_recordStamp[index] == stamp) continue;
            _recordStamp[index] = stamp;
            ref readonly var r = ref _records[index];
            if (r.State == TCP_ESTABLISHED)
            {
                established++;
                if (r.HasInfo) lastReceive = Math.Min(lastReceive, r.LastDataReceivedMs);
            }
            else if (r.State == TCP_SYN_SENT)
            {
                connecting++;
            }
            // For LISTEN sockets inet_diag reports the accept backlog in rqueue/wqueue, not bytes.
            if (r.State != TCP_LISTEN)
            {
                sendQ += r.SendQueue;
                recvQ += r.ReceiveQueue;
            }
            if (!r.HasInfo) continue;
            ref var t = ref CollectionsMarshal.GetValueRefOrAddDefault(_tracked, Key(r), out bool seen);
            if (seen)
            {
                rx += Delta(r.BytesReceived, t.Received);
                tx += Delta(r.BytesAcked, t.Acked);
            }
            else if (!baseline)
            {
                // Opened since the tree's previous measurement: every byte it moved is new.
                rx += (long)r.BytesReceived;
                tx += (long)r.BytesAcked;
            }
            t = new Tracked { TreeId = treeId, Received = r.BytesReceived, Acked = r.BytesAcked, LastSeenTick = _tick };
        }
        rx += tree.PendingRx;
        tx += tree.PendingTx;
        tree.PendingRx = tree.PendingTx = 0;
        var state = new NetworkState(established, sendQ, recvQ)
        {
            Connecting = connecting,
            LastReceiveMs = lastReceive == long.MaxValue ? null : lastReceive,
        };
        return baseline ? new TreeTraffic(0, 0, state) : new TreeTraffic(rx, tx, state);
    }

    // Whether any of the pids is new or has a different number of descriptors than when last measured (each is
    // recorded either way): one statx each.
    private bool DescriptorsChanged(ReadOnlySpan<int> pids)
    {
        bool changed = false;
        foreach (int pid in pids)
        {
            ref var seen = ref CollectionsMarshal.GetValueRefOrAddDefault(_fds, pid, out bool known);
            if (!known) seen.Handle = _inodes.OpenFdDirectory(pid);
            long count = seen.Handle >= 0 ? ProcSocketInodes.FdCountAt(seen.Handle) : -1;
            if (!known || seen.Count != count) changed = true;
            seen.Count = count;
            seen.Tick = _tick;
            if (count < 0)
            {
                // Gone (the handle names the exited process, not a later one with its pid), or forbidden: ask again
                // by path next time.
                if (seen.Handle >= 0) ProcSocketInodes.CloseHandle(seen.Handle);
                _fds.Remove(pid);
            }
        }
        return changed;
    }

    /// <summary>Ends a tick, forgetting trees that were not measured in it.</summary>
    public void EndTick()
    {
        if (_tick % RescanTicks == 0)
            foreach (var (pid, seen) in _fds)
                if (seen.Tick != _tick)
                {
                    if (seen.Handle >= 0) ProcSocketInodes.CloseHandle(seen.Handle);
                    _fds.Remove(pid);
                }
        _gone.Clear();
        foreach (var (id, tree) in _trees)
            if (tree.LastTick != _tick) _gone.Add(id);
        foreach (long id in _gone)
        {
            foreach (uint inode in _trees[id].Inodes)
                if (_owner.TryGetValue(inode, out long owner) && owner == id) _owner.Remove(inode);
            _trees.Remove(id);
        }
        // Sockets no tree claimed this tick belong to none: looked for again only at a tree's periodic rescan.
        if (_dumpValid && _dumped && _unclaimed > 0)
            for (int i = 0; i < _recordCount; i++)
                if (Claimable(_records[i])) _owner.TryAdd(_records[i].Inode, NoTree);
        // Entries of closed sockets no tree held: dropped once they outnumber the live ones.
        if (_dumpValid && _dumped && _owner.Count > 2 * _recordCount + 256)
            foreach (var (inode, owner) in _owner)
                if (owner == NoTree && !_byInode.ContainsKey(inode)) _owner.Remove(inode);
        // Forget sockets of forgotten trees, and sockets missing from two dumps in a row whose destroy
        // notification never came (overrun, or no listener): they can no longer be credited anyway.
        foreach (var (key, t) in _tracked)
            if (t.LastSeenTick < _tick - 2 || !_trees.ContainsKey(t.TreeId)) _tracked.Remove(key);
    }

    /// <summary>
    /// Reads the fd links of every process of the tree: its TCP sockets in this dump become its own, those it no longer
    /// holds are released, and each newly claimed socket is one fewer unclaimed.
    /// </summary>
    private void Rescan(long treeId, TreeState tree, ReadOnlySpan<int> pids)
    {
        _treeInodes.Clear();
        foreach (int pid in pids) _inodes.Collect(pid, _treeInodes);
        ProcessesScanned += pids.Length;
        (_released, tree.Inodes) = (tree.Inodes, _released);
        tree.Inodes.Clear();
        int stamp = ++_stamp;
        foreach (uint inode in _treeInodes)
        {
            // Unix and UDP sockets are not in the dump; a socket shared by several pids is claimed once.
            if (!_byInode.TryGetValue(inode, out int index) || _recordStamp[index] == stamp) continue;
            _recordStamp[index] = stamp;
            ref long owner = ref CollectionsMarshal.GetValueRefOrAddDefault(_owner, inode, out bool known);
            if (!known && Claimable(_records[index])) _unclaimed--;
            owner = treeId;
            tree.Inodes.Add(inode);
        }
        foreach (uint inode in _released)
        {
            bool stillHeld = _byInode.TryGetValue(inode, out int index) && _recordStamp[index] == stamp;
            if (!stillHeld && _owner.TryGetValue(inode, out long owner) && owner == treeId)
                _owner[inode] = NoTree;
        }
        _released.Clear();
    }

    // A socket one of our trees could hold: one with an inode (not orphaned), created by a uid our processes run as.
    private bool Claimable(in InetDiagRecord r) => r.Inode != 0 && (_uid is not { } uid || r.Uid == uid);

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var seen in _fds.Values)
            if (seen.Handle >= 0) ProcSocketInodes.CloseHandle(seen.Handle);
        _fds.Clear();
        _dump.Dispose();
        _destroy?.Dispose();
    }

    private bool Dump(byte family)
    {
        uint seq = ++_sequence;
        Span<byte> request = stackalloc byte[InetDiagDecoder.NlMsgHeaderLength + InetDiagDecoder.InetDiagReqV1Length];
        int length = family == AF_UNSPEC
            ? InetDiagDecoder.WriteCompatDumpRequest(request, StateMask, seq)
            : InetDiagDecoder.WriteDumpRequest(request, family, StateMask, seq);
        if (!_dump.Send(request[..length])) return false;
        while (true)
        {
            int got = _dump.Receive(_buffer, nonBlocking: false);
            if (got <= 0) return false;
            var decoder = new InetDiagDecoder(_buffer.AsSpan(0, got));
            while (decoder.MoveNext())
            {
                if (decoder.Sequence != seq) continue; // leftovers of an earlier, abandoned dump
                switch (decoder.Kind)
                {
                    case NetlinkItemKind.Done:
                        return decoder.Errno == 0;
                    case NetlinkItemKind.Error:
                        return false;
                    case NetlinkItemKind.Record:
                        Add(decoder.Record, decoder.Payload);
                        break;
                }
            }
        }
    }

    private void ResetDump()
    {
        _recordCount = 0;
        _byInode.Clear();
    }

    private void Add(in InetDiagRecord record, ReadOnlySpan<byte> payload)
    {
        if (_recordCount == _records.Length)
        {
            Array.Resize(ref _records, _records.Length * 2);
            Array.Resize(ref _ids, _records.Length * IdLength);
        }
        if (_recordStamp.Length < _records.Length) Array.Resize(ref _recordStamp, _records.Length);
        _recordStamp[_recordCount] = 0;
        _records[_recordCount] = record;
        InetDiagDecoder.SockId(payload).CopyTo(_ids.AsSpan(_recordCount * IdLength, IdLength));
        if (record.Inode != 0) _byInode[record.Inode] = _recordCount;
        _recordCount++;
    }

    private void DrainDestroyed()
    {
        if (_destroy is null) return;
        while (true)
        {
            int got = _destroy.Receive(_buffer, nonBlocking: true);
            if (got == 0) return;                      // queue empty
            if (got == -1) { DestroyOverruns++; continue; } // ENOBUFS: some were dropped; keep draining
            if (got < 0) return;
            var decoder = new InetDiagDecoder(_buffer.AsSpan(0, got));
            while (decoder.MoveNext())
            {
                if (decoder.Kind != NetlinkItemKind.Record) continue;
                var r = decoder.Record;
                ref var t = ref CollectionsMarshal.GetValueRefOrNullRef(_tracked, Key(r));
                if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref t))
                {
                    UnattributedDestroys++;
                    continue;
                }
                if (r.HasInfo) Credit(ref t, r.BytesReceived, r.BytesAcked);
                CreditedDestroys++;
                _tracked.Remove(Key(r));
            }
        }
    }

    private void Credit(ref Tracked t, ulong received, ulong acked)
    {
        if (_trees.TryGetValue(t.TreeId, out var tree))
        {
            tree.PendingRx += Delta(received, t.Received);
            tree.PendingTx += Delta(acked, t.Acked);
        }
        t.Received = received;
        t.Acked = acked;
    }

    private static long Delta(ulong now, ulong before) => now > before ? (long)(now - before) : 0;

    // The cookie identifies a socket for its whole life; a cookie of 0 would only come from a kernel
    // that does not fill it, where the inode (top bit set to keep the key spaces apart) is the fallback.
    private static ulong Key(in InetDiagRecord r) => r.Cookie != 0 ? r.Cookie : (1UL << 63) | r.Inode;
}
