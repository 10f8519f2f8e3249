using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Zeroshot.Metrics.Linux.Net;

namespace Zeroshot.Bench;

/// <summary>
/// <c>sockdiag</c>: cost of one <see cref="TcpTrafficMeter"/> tick (NETLINK_SOCK_DIAG dump of every TCP
/// socket + destroy drain) with ~1000 loopback sockets open, of MeasureTree for a 50-socket tree, and of
/// one <c>ss -tin</c> for comparison. <c>sockdiag --capture DIR</c> instead records real netlink reply
/// buffers for the decoder's test fixtures (tests/Zeroshot.Metrics.Tests/Net/Fixtures).
/// </summary>
internal static class SockDiagBenchmark
{
    public static int Run(string[] args)
    {
        if (args.Length >= 2 && args[0] == "--capture") return SockDiagCapture.Run(args[1]);
        if (args.Length >= 1 && args[0] == "--count") return SockDiagCapture.Count();
        int pairs = args.Length > 0 && int.TryParse(args[0], out int p) ? p : 500;
        int iterations = args.Length > 1 && int.TryParse(args[1], out int it) ? it : 2000;

        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1024);
        int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var sockets = new List<Socket>();
        try
        {
            for (int i = 0; i < pairs; i++)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                client.Connect(IPAddress.Loopback, port);
                sockets.Add(client);
                sockets.Add(listener.Accept());
            }
            using var meter = TcpTrafficMeter.TryCreate("/proc");
            if (meter is null)
            {
                Console.Error.WriteLine("sockdiag: NETLINK_SOCK_DIAG unavailable here");
                return 1;
            }
            Console.WriteLine($"destroy notifications subscribed: {meter.HasDestroyNotifications}");
            Console.WriteLine($"TCP sockets in this netns: {CountTcpSockets()} (incl. {pairs} loopback pairs = {2 * pairs} + 1 listener; /proc/net/tcp{{,6}} also lists TIME_WAIT)");
            foreach (bool single in new[] { true, false, true, false })
            {
                meter.SingleWalk = single;
                TimeTicks(meter, iterations, single ? "one TCPDIAG_GETSOCK walk (default)" : "SOCK_DIAG_BY_FAMILY v4 + v6");
            }
            meter.SingleWalk = true;
            MeasureTreeCost(meter, port);
            TimeSs();
            return 0;
        }
        finally
        {
            // Abortive close (RST): no TIME_WAIT left behind to inflate the next run's hash walk.
            foreach (var s in sockets) { s.LingerState = new LingerOption(true, 0); s.Dispose(); }
        }
    }

    private static void TimeTicks(TcpTrafficMeter meter, int iterations, string label)
    {
        for (int i = 0; i < 50; i++) { meter.BeginTick(); meter.EndTick(); } // warm-up (JIT, dictionaries)
        var ticks = new double[iterations];
        var self = Process.GetCurrentProcess();
        var (user0, sys0) = (self.UserProcessorTime, self.PrivilegedProcessorTime);
        long alloc0 = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < iterations; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            if (!meter.BeginTick()) throw new InvalidOperationException("sock_diag dump failed");
            ticks[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
            meter.EndTick();
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - alloc0;
        self.Refresh();
        double user = (self.UserProcessorTime - user0).TotalMicroseconds / iterations;
        double sys = (self.PrivilegedProcessorTime - sys0).TotalMicroseconds / iterations;
        Array.Sort(ticks);
        Console.WriteLine($"BeginTick [{label}], {iterations} ticks: wall mean {ticks.Average():F0} µs, p50 {ticks[iterations / 2]:F0} µs, p95 {ticks[iterations * 95 / 100]:F0} µs; CPU {user + sys:F0} µs/tick (user {user:F0}, sys {sys:F0}); allocated {allocated / iterations} B/tick");
    }

    // A bash child holding 50 client connections to our listener: MeasureTree(child) reads 50+ fd links.
    private static void MeasureTreeCost(TcpTrafficMeter meter, int port)
    {
        var psi = new ProcessStartInfo("bash")
        {
            ArgumentList = { "-c", $"for i in $(seq 50); do exec {{fd}}<>/dev/tcp/127.0.0.1/{port}; done; echo ready; read -r _" },
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
        };
        using var child = Process.Start(psi)!;
        try
        {
            if (child.StandardOutput.ReadLine() != "ready") { Console.Error.WriteLine("sockdiag: bash child failed"); return; }
            Span<int> pids = [child.Id];
            meter.BeginTick();
            var first = meter.MeasureTree(1, pids);
            meter.EndTick();
            const int n = 2000;
            var times = new double[n];
            long alloc0 = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < n; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                meter.MeasureTree(1, pids);
                times[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - alloc0;
            Array.Sort(times);
            Console.WriteLine($"MeasureTree, 1 pid with {first.State.Established} established sockets: mean {times.Average():F1} µs, p50 {times[n / 2]:F1} µs, p95 {times[n * 95 / 100]:F1} µs, allocated {allocated / n} B/call");
        }
        finally
        {
            child.StandardInput.Close();
            if (!child.WaitForExit(5000)) child.Kill();
        }
    }

    private static void TimeSs()
    {
        string? ss = new[] { "/usr/bin/ss", "/bin/ss", "/usr/sbin/ss", "/sbin/ss" }.FirstOrDefault(File.Exists);
        if (ss is null) { Console.WriteLine("ss -tin: not installed"); return; }
        var times = new List<double>();
        for (int i = 0; i < 11; i++)
        {
            var psi = new ProcessStartInfo(ss) { ArgumentList = { "-tin" }, RedirectStandardOutput = true };
            long t0 = Stopwatch.GetTimestamp();
            using var proc = Process.Start(psi)!;
            proc.StandardOutput.ReadToEnd();
            proc.WaitForExit();
            if (i > 0) times.Add(Stopwatch.GetElapsedTime(t0).TotalMicroseconds);
        }
        times.Sort();
        Console.WriteLine($"ss -tin (spawn + parse-free read), 10 runs: p50 {times[5]:F0} µs, min {times[0]:F0} µs");
    }

    private static int CountTcpSockets()
    {
        int n = 0;
        foreach (var file in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
            if (File.Exists(file)) n += File.ReadLines(file).Count() - 1;
        return n;
    }
}

/// <summary>
/// Records real NETLINK_SOCK_DIAG bytes for the decoder tests: a loopback connection moves a known
/// amount each way (client → server 100000 bytes, server → client 4321 bytes), then the dump reply
/// messages of its three sockets (listener, client, accepted) plus the real NLMSG_DONE are saved, and
/// after closing, the destroy notifications of the two connected sockets. Run by hand once:
/// <c>dotnet run --project bench/Zeroshot.Bench -- sockdiag --capture tests/Zeroshot.Metrics.Tests/Net/Fixtures</c>.
/// </summary>
internal static class SockDiagCapture
{
    public const int ClientToServer = 100_000, ServerToClient = 4321;

    public static int Run(string directory)
    {
        Directory.CreateDirectory(directory);
        Capture(AddressFamily.InterNetwork, IPAddress.Loopback, 2, Path.Combine(directory, "inet"));
        Capture(AddressFamily.InterNetworkV6, IPAddress.IPv6Loopback, 10, Path.Combine(directory, "inet6"));
        return 0;
    }

    private static void Capture(AddressFamily af, IPAddress loopback, byte family, string prefix)
    {
        using var destroy = SockDiagSocket.TryOpen((1u << 0) | (1u << 2), 1 << 20) ?? throw new InvalidOperationException("no destroy socket");
        using var dump = SockDiagSocket.TryOpen(0, 1 << 16) ?? throw new InvalidOperationException("no dump socket");
        var listener = new Socket(af, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(loopback, 0));
        listener.Listen(4);
        var client = new Socket(af, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(listener.LocalEndPoint!);
        var server = listener.Accept();
        client.Send(new byte[ClientToServer]);
        ReadExactly(server, ClientToServer);
        server.Send(new byte[ServerToClient]);
        ReadExactly(client, ServerToClient);
        var inodes = new[] { Inode(listener), Inode(client), Inode(server) };

        // Poll until both directions are acknowledged (loopback ACKs lag the read by microseconds).
        byte[] kept = [];
        var cookies = new List<ulong>();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            (kept, var acked) = DumpOurs(dump, family, inodes, cookies);
            if (acked || DateTime.UtcNow > deadline) break;
        }
        File.WriteAllBytes(prefix + "-dump.bin", kept);
        Console.WriteLine($"{prefix}-dump.bin: {kept.Length} bytes, inodes {string.Join(',', inodes)}, cookies {string.Join(',', cookies)}");

        client.Dispose();
        server.Dispose();
        listener.Dispose();
        var notes = new List<byte>();
        var buffer = new byte[1 << 16];
        int matched = 0;
        deadline = DateTime.UtcNow.AddSeconds(10);
        while (matched < 3 && DateTime.UtcNow < deadline)
        {
            int got = destroy.Receive(buffer, nonBlocking: true);
            if (got <= 0) { Thread.Sleep(20); continue; }
            foreach (var (start, length) in Messages(buffer.AsSpan(0, got)))
            {
                var rec = InetDiagDecoder.DecodeInetDiagMsg(buffer.AsSpan(start + 16, length - 16));
                if (!cookies.Contains(rec.Cookie)) continue; // another process's socket
                matched++;
                notes.AddRange(buffer.AsSpan(start, length).ToArray());
                Console.WriteLine($"  destroy: cookie {rec.Cookie} inode {rec.Inode} state {rec.State} info {rec.HasInfo} rx {rec.BytesReceived} acked {rec.BytesAcked}");
            }
        }
        File.WriteAllBytes(prefix + "-destroy.bin", notes.ToArray());
    }

    /// <summary>Records per family from a compat (AF_UNSPEC) dump vs per-family SOCK_DIAG_BY_FAMILY dumps.</summary>
    public static int Count()
    {
        using var v6 = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
        v6.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        v6.Listen(1);
        using var dump = SockDiagSocket.TryOpen(0, 1 << 16)!;
        Span<byte> req = stackalloc byte[128];
        foreach (int mode in new[] { 0, 2, 10 })
        {
            int len = mode == 0 ? InetDiagDecoder.WriteCompatDumpRequest(req, 0xFFFFFFFF, 9) : InetDiagDecoder.WriteDumpRequest(req, (byte)mode, 0xFFFFFFFF, 9);
            dump.Send(req[..len]);
            var counts = new Dictionary<byte, int>();
            var buffer = new byte[1 << 16];
            bool done = false;
            while (!done)
            {
                int got = dump.Receive(buffer, nonBlocking: false);
                var d = new InetDiagDecoder(buffer.AsSpan(0, got));
                while (d.MoveNext())
                {
                    if (d.Kind == NetlinkItemKind.Record) counts[d.Record.Family] = counts.GetValueOrDefault(d.Record.Family) + 1;
                    else if (d.Kind is NetlinkItemKind.Done or NetlinkItemKind.Error) { done = true; Console.WriteLine($"mode {mode}: {d.Kind} {d.Errno}"); }
                }
            }
            Console.WriteLine($"mode {mode}: " + string.Join(", ", counts.Select(kv => $"family {kv.Key}: {kv.Value}")));
        }
        return 0;
    }

    private static (byte[] Kept, bool Acked) DumpOurs(SockDiagSocket dump, byte family, uint[] inodes, List<ulong> cookies)
    {
        Span<byte> req = stackalloc byte[72];
        int len = InetDiagDecoder.WriteDumpRequest(req, family, 0xFFFFFFFF, 7);
        dump.Send(req[..len]);
        var kept = new List<byte>();
        var buffer = new byte[1 << 16];
        bool acked = true;
        cookies.Clear();
        while (true)
        {
            int got = dump.Receive(buffer, nonBlocking: false);
            if (got <= 0) throw new InvalidOperationException("dump failed");
            foreach (var (start, length) in Messages(buffer.AsSpan(0, got)))
            {
                ushort type = BitConverter.ToUInt16(buffer, start + 4);
                if (type == InetDiagDecoder.NLMSG_DONE)
                {
                    kept.AddRange(buffer.AsSpan(start, length).ToArray());
                    return (kept.ToArray(), acked);
                }
                var rec = InetDiagDecoder.DecodeInetDiagMsg(buffer.AsSpan(start + 16, length - 16));
                if (Array.IndexOf(inodes, rec.Inode) < 0) continue;
                cookies.Add(rec.Cookie);
                if (rec.State == 1 && rec.SendQueue != 0) acked = false;
                kept.AddRange(buffer.AsSpan(start, length).ToArray());
                // Keep the NLMSG_ALIGN padding so the file is a faithful multi-message buffer.
                for (int pad = length; pad % 4 != 0; pad++) kept.Add(0);
            }
        }
    }

    private static IEnumerable<(int Start, int Length)> Messages(ReadOnlySpan<byte> data)
    {
        var list = new List<(int, int)>();
        for (int off = 0; off + 16 <= data.Length;)
        {
            int length = BitConverter.ToInt32(data[off..]);
            list.Add((off, length));
            off += (length + 3) & ~3;
        }
        return list;
    }

    private static uint Inode(Socket socket)
    {
        var target = new FileInfo($"/proc/self/fd/{socket.Handle}").LinkTarget!;
        return uint.Parse(target.AsSpan(8, target.Length - 9), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void ReadExactly(Socket socket, int count)
    {
        var buffer = new byte[8192];
        for (int total = 0; total < count;)
        {
            int n = socket.Receive(buffer);
            if (n == 0) throw new InvalidOperationException("peer closed early");
            total += n;
        }
    }
}
