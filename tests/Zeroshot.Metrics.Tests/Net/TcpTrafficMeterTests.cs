using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Zeroshot.Metrics.Linux.Net;

namespace Zeroshot.Metrics.Tests.Net;

/// <summary>
/// The meter against real loopback connections between this process and bash children
/// (<c>exec 3&lt;&gt;/dev/tcp/…</c>). Byte counts are exact where the socket was already established at the
/// tree's baseline; a socket counted from its start adds its SYN (+1, active open) and a normal close its
/// FIN (+1), measured on Linux 6.18 and documented on <see cref="TcpTrafficMeter"/>.
/// </summary>
public sealed class TcpTrafficMeterTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly Socket _listener6 = new(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
    private readonly List<IDisposable> _cleanup = new();
    private readonly TcpTrafficMeter _meter;

    public TcpTrafficMeterTests()
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(16);
        _listener6.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        _listener6.Listen(16);
        _meter = TcpTrafficMeter.TryCreate("/proc") ?? throw new InvalidOperationException("NETLINK_SOCK_DIAG unavailable on this Linux");
        Assert.True(_meter.HasDestroyNotifications);
    }

    private int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    public void Dispose()
    {
        foreach (var d in _cleanup) d.Dispose();
        _listener.Dispose();
        _listener6.Dispose();
        _meter.Dispose();
    }

    // Controlled sender: a bash holding fd 3 (and on demand fd 4) to our listener.
    private BashChild StartSender()
    {
        var child = Track(BashChild.Start($$"""
            exec 3<>/dev/tcp/127.0.0.1/{{Port}}
            echo connected
            while read -r cmd n; do
              case $cmd in
                send) head -c "$n" /dev/zero >&3; echo sent;;
                open4) exec 4<>/dev/tcp/127.0.0.1/{{Port}}; echo opened;;
                send4) head -c "$n" /dev/zero >&4; echo sent;;
                close4) exec 4>&-; echo closed;;
                reopen4) exec 4>&- 4<>/dev/tcp/127.0.0.1/{{Port}}; echo reopened;;
              esac
            done
            """));
        child.Expect("connected");
        return child;
    }

    private T Track<T>(T d) where T : IDisposable
    {
        _cleanup.Add(d);
        return d;
    }

    private Socket Accept() => Track(_listener.Accept());

    /// <summary>Reads a socket to EOF on a worker, counting bytes.</summary>
    private sealed class Drain
    {
        private long _bytes;
        public Drain(Socket socket)
        {
            Done = Task.Run(() =>
            {
                var buffer = new byte[65536];
                int n;
                while ((n = socket.Receive(buffer)) > 0) Interlocked.Add(ref _bytes, n);
            });
        }
        public long Bytes => Interlocked.Read(ref _bytes);
        public Task Done { get; }
    }

    private TreeTraffic[] Tick(params (long Id, int[] Pids)[] trees)
    {
        Assert.True(_meter.BeginTick(), "sock_diag dump failed");
        var result = trees.Select(t => _meter.MeasureTree(t.Id, t.Pids)).ToArray();
        _meter.EndTick();
        return result;
    }

    /// <summary>Ticks until the accumulated traffic satisfies <paramref name="done"/>, returning the sums.</summary>
    private (long Rx, long Tx)[] TickUntil((long Id, int[] Pids)[] trees, (long Rx, long Tx)[] sums, Func<(long Rx, long Tx)[], bool> done, string what)
    {
        var watch = Stopwatch.StartNew();
        while (!done(sums))
        {
            if (watch.Elapsed > Deadline)
                throw new TimeoutException($"{what}: after {Deadline.TotalSeconds} s the meter saw {string.Join(", ", sums)}");
            var traffic = Tick(trees);
            for (int i = 0; i < sums.Length; i++)
                sums[i] = (sums[i].Rx + traffic[i].RxBytes, sums[i].Tx + traffic[i].TxBytes);
            if (!done(sums)) Task.Delay(20).Wait();
        }
        return sums;
    }

    [Theory]
    [InlineData(false)] // sockets asked for by name, a dump only when a tree may hold a new one (Linux ≥ 6.2)
    [InlineData(true)]  // a dump every tick (older kernels)
    public void Sender_tx_and_receiver_rx_match_the_bytes_transferred_including_closed_sockets(bool dumpEveryTick)
    {
        _meter.ForceDumps = dumpEveryTick;
        using var sender = StartSender();
        var senderSide = Accept();
        var fromSender = new Drain(senderSide);
        using var receiver = Track(BashChild.Start($"""
            exec 3<>/dev/tcp/127.0.0.1/{Port}
            cat <&3 >/dev/null &
            echo $!
            read -r _
            """));
        int cat = int.Parse(receiver.ReadLine(), CultureInfo.InvariantCulture);
        var receiverSide = Accept();
        // The receiver tree is bash + its cat: both hold the same socket, which must count once.
        var trees = new[] { (1L, new[] { sender.Pid }), (2L, new[] { receiver.Pid, cat }) };

        var baseline = Tick(trees);
        Assert.All(baseline, t => Assert.Equal((0L, 0L, 1), (t.RxBytes, t.TxBytes, t.State.Established)));

        // Phase 1: sockets established before the baseline count exactly their payload.
        sender.Send("send 300000");
        sender.Expect("sent");
        receiverSide.Send(new byte[200_000]);
        var sums = TickUntil(trees, new (long, long)[2], s => s[0].Tx >= 300_000 && s[1].Rx >= 200_000, "phase 1");
        Assert.Equal((0L, 300_000L), sums[0]);
        Assert.Equal((200_000L, 0L), sums[1]);

        // Phase 2: a socket opened after the baseline counts everything it moved (+1: its SYN).
        sender.Send("open4");
        sender.Expect("opened");
        var second = Accept();
        var fromSecond = new Drain(second);
        sender.Send("send4 50000");
        sender.Expect("sent");
        sums = TickUntil(trees, sums, s => s[0].Tx >= 350_000, "phase 2");
        Assert.InRange(sums[0].Tx, 350_000, 350_001);

        // Phase 3: bytes of a socket that closes entirely between two ticks arrive by its destroy
        // notification (final tcp_info, matched by cookie): +1 for the FIN.
        long destroysBefore = _meter.CreditedDestroys;
        sender.Send("send4 70000");
        sender.Expect("sent");
        sender.Send("close4");
        sender.Expect("closed");
        WaitUntil(() => fromSecond.Done.IsCompleted, "EOF on the sender's second connection");
        int localPort = ((IPEndPoint)second.RemoteEndPoint!).Port;
        second.Dispose();
        WaitUntil(() => !FullSocketExists(localPort), "the closed socket to be destroyed");
        sums = TickUntil(trees, sums, s => s[0].Tx >= 420_000, "phase 3");
        Assert.InRange(sums[0].Tx, 420_000, 420_002);
        Assert.True(_meter.CreditedDestroys > destroysBefore, "the closed socket was not credited through its destroy notification");
        Assert.Equal(120_000, fromSecond.Bytes);
        Assert.Equal(300_000, fromSender.Bytes);
        Assert.Equal((200_000L, 0L), sums[1]);
    }

    [Fact]
    public void Sockets_are_mapped_once_and_fd_links_are_read_again_only_for_a_socket_nobody_claimed()
    {
        using var sender = StartSender();
        var fromSender = new Drain(Accept());
        var trees = new[] { (3L, new[] { sender.Pid }) };
        Tick(trees); // the baseline reads the tree's fd links

        // Back-to-back ticks: a tick whose dump holds no socket that is new to the meter reads no fd at all (other
        // programs on this machine may open sockets meanwhile: those ticks read the tree's one process, once).
        int quiet = 0;
        for (int i = 0; i < TcpTrafficMeter.RescanTicks - 2; i++)
        {
            long before = _meter.ProcessesScanned;
            Assert.True(_meter.BeginTick());
            bool unclaimed = _meter.UnclaimedSockets > 0;
            _meter.MeasureTree(3, [sender.Pid]);
            _meter.EndTick();
            Assert.Equal(unclaimed ? before + 1 : before, _meter.ProcessesScanned);
            if (!unclaimed) quiet++;
        }
        Assert.True(quiet > 0, "every tick saw a new socket: the steady state was never reached");

        // Without reading fds the tree's socket still counts exactly.
        sender.Send("send 100000");
        sender.Expect("sent");
        var sums = TickUntil(trees, new (long, long)[1], s => s[0].Tx >= 100_000, "bytes of a known socket");
        Assert.Equal((0L, 100_000L), sums[0]);

        // A socket the tree opens is unclaimed in the next dump: the tree reads its fds, claims it, counts it all (+1 SYN).
        sender.Send("open4");
        sender.Expect("opened");
        var fromSecond = new Drain(Accept());
        sender.Send("send4 40000");
        sender.Expect("sent");
        sums = TickUntil(trees, sums, s => s[0].Tx >= 140_000, "bytes of a new socket");
        Assert.InRange(sums[0].Tx, 140_000, 140_001);

        // And every RescanTicks ticks the tree is read again even when nothing is new.
        long scanned = _meter.ProcessesScanned;
        for (int i = 0; i < TcpTrafficMeter.RescanTicks; i++) Tick(trees);
        Assert.True(_meter.ProcessesScanned > scanned, "no periodic rescan");
        GC.KeepAlive(fromSender);
        GC.KeepAlive(fromSecond);
    }

    [Fact]
    public void A_tick_asks_for_the_trees_sockets_by_name_and_dumps_only_when_a_descriptor_count_changed()
    {
        // Linux 6.2 made the size of /proc/<pid>/fd its descriptor count (fs/proc/fd.c); before, every tick dumps.
        if (Environment.OSVersion.Version < new Version(6, 2)) return;
        Assert.True(_meter.DumpsOnlyOnChange);
        using var sender = StartSender();
        var fromSender = new Drain(Accept());
        var trees = new[] { (5L, new[] { sender.Pid }) };
        Tick(trees); // the baseline: a dump, and the tree's fd links read

        // Bytes of the known socket, counted exactly from its tcp_info asked for by name: no dump, no fd read.
        long dumps = _meter.Dumps, scanned = _meter.ProcessesScanned, lookups = _meter.Lookups;
        sender.Send("send 100000");
        sender.Expect("sent");
        var sums = TickUntil(trees, new (long, long)[1], s => s[0].Tx >= 100_000, "bytes of a known socket");
        Assert.Equal((0L, 100_000L), sums[0]);
        if (_meter.Tick / TcpTrafficMeter.RescanTicks == 0) // (no periodic rescan in between)
        {
            Assert.Equal(dumps, _meter.Dumps);
            Assert.Equal(scanned, _meter.ProcessesScanned);
        }
        Assert.True(_meter.Lookups > lookups, "the tree's socket was not asked for by name");

        // A new descriptor: the next tick dumps, reads the tree's fds, and counts the new socket in full (+1 SYN).
        sender.Send("open4");
        sender.Expect("opened");
        var fromSecond = new Drain(Accept());
        sender.Send("send4 40000");
        sender.Expect("sent");
        dumps = _meter.Dumps;
        var first = Tick(trees)[0];
        Assert.Equal(dumps + 1, _meter.Dumps);
        sums[0] = (sums[0].Rx + first.RxBytes, sums[0].Tx + first.TxBytes);
        sums = TickUntil(trees, sums, s => s[0].Tx >= 140_000, "bytes of a new socket");
        Assert.InRange(sums[0].Tx, 140_000, 140_001);

        // The documented gap: a socket replacing another in the same tick leaves the count as it was, so it is found
        // only at the next periodic rescan, and then counted in full. (The closed one's last bytes come by destroy.)
        var before = sums[0].Tx;
        sender.Send("reopen4");
        sender.Expect("reopened");
        var fromThird = new Drain(Accept());
        sender.Send("send4 30000");
        sender.Expect("sent");
        int foundAt = -1;
        var watch = Stopwatch.StartNew();
        while (foundAt < 0 && watch.Elapsed < Deadline)
        {
            var t = Tick(trees)[0];
            sums[0] = (sums[0].Rx + t.RxBytes, sums[0].Tx + t.TxBytes);
            if (sums[0].Tx >= before + 30_000) foundAt = _meter.Tick;
        }
        Assert.True(foundAt > 0, $"the replacing socket was never counted: {sums[0]}");
        Assert.Equal(0, foundAt % TcpTrafficMeter.RescanTicks);
        Assert.InRange(sums[0].Tx, before + 30_000, before + 30_003);
        GC.KeepAlive(fromSender);
        GC.KeepAlive(fromSecond);
        GC.KeepAlive(fromThird);
    }

    [Theory]
    [InlineData(true)]   // one TCPDIAG_GETSOCK (AF_UNSPEC) walk, the default
    [InlineData(false)]  // the per-family SOCK_DIAG_BY_FAMILY fallback
    public void Network_state_counts_established_sockets_of_both_families_once_per_tree_and_their_queues(bool singleWalk)
    {
        _meter.SingleWalk = singleWalk;
        // fd 5 is IPv6: the single AF_UNSPEC walk must report it alongside the IPv4 ones.
        int port6 = ((IPEndPoint)_listener6.LocalEndPoint!).Port;
        using var holder = Track(BashChild.Start($"""
            exec 3<>/dev/tcp/127.0.0.1/{Port} 4<>/dev/tcp/127.0.0.1/{Port} 5<>/dev/tcp/::1/{port6}
            sleep 600 &
            echo $!
            read -r _
            """));
        int sleeper = int.Parse(holder.ReadLine(), CultureInfo.InvariantCulture);
        var first = Accept();
        Accept();
        Track(_listener6.Accept());
        // Nobody in the tree reads: what we send stays in its receive queue.
        first.Send(new byte[1000]);
        var tree = (7L, new[] { holder.Pid, sleeper });

        NetworkState state = default;
        WaitUntil(() => (state = Tick(tree)[0].State).RecvQueueBytes == 1000, "1000 unread bytes in the tree's receive queue");
        Assert.Equal((3, 0L, 1000L, 0), (state.Established, state.SendQueueBytes, state.RecvQueueBytes, state.Connecting));
        // The 1000 bytes arrived just now: the kernel's clock of the last byte in (tcpi_last_data_recv) is fresh.
        Assert.InRange(state.LastReceiveMs!.Value, 0, 30_000);
    }

    [Fact]
    public void The_time_since_the_last_byte_in_grows_while_nothing_arrives_and_restarts_when_a_byte_does()
    {
        using var holder = Track(BashChild.Start($"""
            exec 3<>/dev/tcp/127.0.0.1/{Port}
            echo up
            read -r _
            """));
        holder.Expect("up");
        var peer = Accept();
        peer.Send(new byte[10]);
        var tree = (8L, new[] { holder.Pid });
        NetworkState state = default;
        WaitUntil(() => (state = Tick(tree)[0].State).RecvQueueBytes == 10, "10 bytes in");
        long fresh = state.LastReceiveMs!.Value;
        Thread.Sleep(1200);
        long older = Tick(tree)[0].State.LastReceiveMs!.Value;
        Assert.True(older >= fresh + 1000, $"{fresh} then {older} ms");
        peer.Send(new byte[10]);
        WaitUntil(() => (state = Tick(tree)[0].State).RecvQueueBytes == 20, "10 bytes more");
        Assert.True(state.LastReceiveMs < older, $"{older} then {state.LastReceiveMs} ms");
    }

    [Fact]
    public void Vanished_and_nonexistent_pids_contribute_nothing()
    {
        using var live = StartSender();
        Accept();
        using var gone = Track(BashChild.Start("echo up; read -r _"));
        gone.Expect("up");
        int gonePid = gone.Pid;
        gone.Kill();
        var pids = new[] { gonePid, int.MaxValue, 0x3FFFFFF0, live.Pid };

        var traffic = Tick((3, pids))[0];
        Assert.Equal((0L, 0L, 1), (traffic.RxBytes, traffic.TxBytes, traffic.State.Established));

        live.Kill(); // the whole tree vanishes between ticks
        traffic = Tick((3, pids))[0];
        Assert.Equal(0, traffic.State.Established);
        Assert.True(traffic.RxBytes >= 0 && traffic.TxBytes >= 0);
    }

    [Fact]
    public void A_tree_skipped_for_a_tick_is_forgotten_and_baselines_again()
    {
        using var sender = StartSender();
        var drain = new Drain(Accept());
        var tree = (5L, new[] { sender.Pid });
        Tick(tree);       // baseline
        Tick();           // tree 5 not measured: forgotten at EndTick
        sender.Send("send 10000");
        sender.Expect("sent");
        WaitUntil(() => drain.Bytes == 10_000, "the listener to read 10000 bytes");
        var fresh = Tick(tree)[0]; // a fresh baseline
        Assert.Equal((0L, 0L, 1), (fresh.RxBytes, fresh.TxBytes, fresh.State.Established));
    }

    [Fact]
    public void A_socket_the_tree_closed_keeps_crediting_it_while_orphaned()
    {
        // A listener whose accepted sockets have a tiny receive buffer: the sender's data backs up, so
        // when the sender closes, its socket stays orphaned in FIN_WAIT1 (inode 0, no fd anywhere) until
        // we read. (An orphan that has nothing left to send becomes a TIME_WAIT mini-socket at once.)
        using var slow = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        slow.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        slow.Listen(1);
        using var sender = Track(BashChild.Start($"""
            exec 3<>/dev/tcp/127.0.0.1/{((IPEndPoint)slow.LocalEndPoint!).Port}
            echo connected
            read -r _
            head -c 8000000 /dev/zero >&3 &
            echo $!
            exec 3>&-
            read -r _
            """));
        sender.Expect("connected");
        using var peer = slow.Accept();
        Tick((9L, [sender.Pid])); // baseline
        sender.Send("go");
        int head = int.Parse(sender.ReadLine(), CultureInfo.InvariantCulture);
        var tree = (9L, new[] { sender.Pid, head });
        long tx = 0;
        TreeTraffic Measure()
        {
            var t = Tick(tree)[0];
            tx += t.TxBytes;
            return t;
        }
        // Wait for a backlog in the sender's send queue: that is what keeps its socket alive once closed.
        long backlog = 0;
        WaitUntil(() => (backlog = Measure().State.SendQueueBytes) >= 8192, "a backlog in the sender's send queue");

        // The writer dies with data unsent: the kernel keeps the orphaned socket to deliver it.
        Process.GetProcessById(head).Kill();
        WaitUntil(() => HoldsNoFds(head), "the killed writer to release its socket");
        long destroysBefore = _meter.CreditedDestroys;
        // Everything acked so far sits unread in our buffer; read it plus half of the sender's backlog: the
        // sender's TCP gets more bytes acknowledged (only visible through the orphan), and has more to send.
        long target = tx + backlog / 2;
        peer.ReceiveTimeout = 20_000;
        long read = 0;
        var buffer = new byte[1024];
        while (read < target)
        {
            int n = peer.Receive(buffer);
            Assert.True(n > 0, $"EOF after {read} bytes; the backlog was {backlog}");
            read += n;
        }

        WaitUntil(() => { Measure(); return tx >= read; }, $"the orphaned socket's acked bytes to reach {read}");
        // Acknowledged = what we read plus at most what sits in our (tiny) receive buffer.
        Assert.InRange(tx, read, read + 64 * 1024);
        Assert.Equal(0, Measure().State.Established);
        Assert.Equal(destroysBefore, _meter.CreditedDestroys); // found in the dump by cookie, not destroyed
    }

    private static bool HoldsNoFds(int pid)
    {
        try { return Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length == 0; }
        catch (IOException) { return true; }                 // gone
        catch (UnauthorizedAccessException) { return true; } // zombie
    }

    [Fact]
    public void Destroy_notification_overrun_is_counted_not_thrown()
    {
        // The smallest receive buffer the kernel allows (SOCK_MIN_RCVBUF) holds one or two notifications.
        using var meter = TcpTrafficMeter.TryCreate("/proc", 1)!;
        Assert.True(meter.HasDestroyNotifications);
        for (int i = 0; i < 40; i++)
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            client.Connect(_listener.LocalEndPoint!);
            using var server = _listener.Accept();
            client.LingerState = new LingerOption(true, 0); // RST: both ends are freed at once
        }
        WaitUntil(() =>
        {
            Assert.True(meter.BeginTick());
            meter.EndTick();
            return meter.DestroyOverruns > 0;
        }, "ENOBUFS on the destroy listener");
        Assert.True(meter.BeginTick()); // and the meter keeps working
    }

    private static void WaitUntil(Func<bool> condition, string what)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > Deadline) throw new TimeoutException($"waited {Deadline.TotalSeconds} s for {what}");
            Task.Delay(20).Wait();
        }
    }

    // /proc/net/tcp (proc(5)): a line whose local port is ours in any state but TIME_WAIT (06) is a full socket.
    private static bool FullSocketExists(int localPort)
    {
        string port = ":" + localPort.ToString("X4", CultureInfo.InvariantCulture);
        foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 3 && fields[1].EndsWith(port, StringComparison.Ordinal) && fields[3] != "06") return true;
        }
        return false;
    }
}
