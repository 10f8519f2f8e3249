using Zeroshot.Metrics.Linux.Net;

namespace Zeroshot.Metrics.Linux;

/// <summary>
/// The evidence behind a health verdict: the tree's processes from <c>/proc/&lt;pid&gt;/stat</c> (read twice, a window
/// apart, for CPU), and its TCP sockets from one sock_diag dump matched to the inodes in its processes' <c>fd</c>
/// directories (proc(5), sock_diag(7)). Once per <c>zeroshot inspect</c>: simplicity over speed.
/// </summary>
internal static class LinuxTreeInspector
{
    private static readonly string[] TcpStates =
        ["?", "ESTABLISHED", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSE", "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING", "NEW-SYN-RECV"];

    public static TreeEvidence? Inspect(ProcFsLayout proc, int rootPid, TimeSpan window)
    {
        var before = Stats(proc);
        if (!before.ContainsKey(rootPid)) return null;
        var tree = Descendants(before, rootPid);
        Thread.Sleep(window);
        var after = Stats(proc);
        double seconds = Math.Max(window.TotalSeconds, 0.001);
        var processes = new List<ProcessEvidence>(tree.Count);
        foreach (int pid in tree)
        {
            if (!after.TryGetValue(pid, out var now)) continue;
            var (stat, name) = now;
            double cpu = before.TryGetValue(pid, out var then) && then.Stat.StartTimeTicks == stat.StartTimeTicks
                ? (stat.UserTicks + stat.SystemTicks - then.Stat.UserTicks - then.Stat.SystemTicks) / (double)proc.ClockTicksPerSecond / seconds * 100
                : 0;
            processes.Add(new ProcessEvidence(pid, stat.ParentPid, name, stat.State, Math.Round(cpu, 1),
                Math.Round((stat.UserTicks + stat.SystemTicks) / (double)proc.ClockTicksPerSecond, 2),
                Math.Round(stat.ResidentPages * (double)proc.PageSize / (1024 * 1024), 1)));
        }
        return new TreeEvidence(processes, Sockets(proc, processes.Select(p => p.Pid).ToList()));
    }

    // An IPv4 peer of a dual-stack socket reads as itself, not as ::ffff:a.b.c.d.
    private static string Text(System.Net.IPEndPoint endpoint) =>
        endpoint.Address.IsIPv4MappedToIPv6 ? new System.Net.IPEndPoint(endpoint.Address.MapToIPv4(), endpoint.Port).ToString() : endpoint.ToString();

    private static Dictionary<int, (ProcStat Stat, string Name)> Stats(ProcFsLayout proc)
    {
        var pids = new List<int>();
        using (var dir = new PidDirectory(proc.Root)) dir.List(pids);
        var stats = new Dictionary<int, (ProcStat, string)>(pids.Count);
        foreach (int pid in pids)
        {
            try
            {
                var line = File.ReadAllBytes($"{proc.Root}/{pid}/stat");
                stats[pid] = (ProcParsers.ParseStat(line), ProcParsers.ParseStatName(line));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                // Gone between the listing and the read, or not ours to read: not part of the evidence.
            }
        }
        return stats;
    }

    private static List<int> Descendants(Dictionary<int, (ProcStat Stat, string Name)> stats, int root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var (pid, (stat, _)) in stats)
        {
            if (!children.TryGetValue(stat.ParentPid, out var list)) children[stat.ParentPid] = list = [];
            list.Add(pid);
        }
        var order = new List<int> { root };
        for (int i = 0; i < order.Count; i++)
            if (children.TryGetValue(order[i], out var kids))
                order.AddRange(kids.Order());
        return order;
    }

    private static List<SocketEvidence>? Sockets(ProcFsLayout proc, List<int> pids)
    {
        var owner = new Dictionary<uint, int>();
        var inodes = new ProcSocketInodes(proc.Root);
        var sink = new List<uint>();
        foreach (int pid in pids)
        {
            sink.Clear();
            inodes.Collect(pid, sink);
            foreach (uint inode in sink) owner.TryAdd(inode, pid);
        }
        using var socket = SockDiagSocket.TryOpen(0, 1 << 20);
        if (socket is null) return null;
        var found = new List<SocketEvidence>();
        var buffer = new byte[64 * 1024];
        Span<byte> request = stackalloc byte[InetDiagDecoder.NlMsgHeaderLength + InetDiagDecoder.InetDiagReqV2Length];
        foreach (byte family in new byte[] { 2, 10 })
        {
            int length = InetDiagDecoder.WriteDumpRequest(request, family, 0xFFFFFFFFu, family);
            if (!socket.Send(request[..length])) return null;
            bool done = false;
            while (!done)
            {
                int got = socket.Receive(buffer, nonBlocking: false);
                if (got <= 0) return null;
                var decoder = new InetDiagDecoder(buffer.AsSpan(0, got));
                while (decoder.MoveNext())
                {
                    if (decoder.Kind is NetlinkItemKind.Done or NetlinkItemKind.Error)
                    {
                        done = true;
                        break;
                    }
                    if (decoder.Kind != NetlinkItemKind.Record || !owner.TryGetValue(decoder.Record.Inode, out int pid)) continue;
                    var r = decoder.Record;
                    var (local, peer) = InetDiagDecoder.DecodeEndpoints(decoder.Payload);
                    found.Add(new SocketEvidence(pid, r.State < TcpStates.Length ? TcpStates[r.State] : r.State.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        Text(local), Text(peer), (long)r.BytesReceived, (long)r.BytesAcked, r.HasInfo ? r.LastDataReceivedMs : null));
                }
            }
        }
        return found;
    }
}
