namespace Zeroshot.Metrics;

/// <summary>One process of an inspected tree.</summary>
/// <param name="Pid">Its id.</param>
/// <param name="ParentPid">Its parent's.</param>
/// <param name="Name">Its command name (<c>comm</c>).</param>
/// <param name="State">Its state letter (R running, S sleeping, D in I/O, Z zombie, T stopped…; proc(5)).</param>
/// <param name="CpuPercent">CPU over the inspection window, percent of one core.</param>
/// <param name="CpuSeconds">CPU time it used over its life (user and system).</param>
/// <param name="MemoryMB">Resident memory in MiB.</param>
public sealed record ProcessEvidence(int Pid, int ParentPid, string Name, char State, double CpuPercent, double CpuSeconds, double MemoryMB);

/// <summary>One TCP socket an inspected tree holds.</summary>
/// <param name="Pid">A process of the tree that holds it.</param>
/// <param name="State">Its TCP state (ESTABLISHED, SYN-SENT, LISTEN, CLOSE-WAIT…).</param>
/// <param name="Local">Its local address and port.</param>
/// <param name="Peer">The address and port of the other end.</param>
/// <param name="BytesReceived">Payload bytes received over its life (tcpi_bytes_received).</param>
/// <param name="BytesSent">Payload bytes sent and acknowledged (tcpi_bytes_acked).</param>
/// <param name="LastReceiveMs">Milliseconds since payload last arrived (tcpi_last_data_recv); null when unknown.</param>
public sealed record SocketEvidence(int Pid, string State, string Local, string Peer, long BytesReceived, long BytesSent, long? LastReceiveMs);

/// <summary>What <c>zeroshot inspect</c> shows as the evidence of a verdict: every process of the tree and every socket.</summary>
/// <param name="Processes">The root first, then its descendants.</param>
/// <param name="Sockets">Its TCP sockets; null when sockets cannot be read here (no sock_diag).</param>
public sealed record TreeEvidence(IReadOnlyList<ProcessEvidence> Processes, IReadOnlyList<SocketEvidence>? Sockets);

/// <summary>Collects a process tree's evidence on demand (not on the sampling path).</summary>
public static class TreeInspector
{
    /// <summary>The tree of <paramref name="rootPid"/>, its CPU measured over <paramref name="window"/>; null when the
    /// root is gone or the platform cannot be read.</summary>
    public static TreeEvidence? Inspect(int rootPid, TimeSpan window) =>
        OperatingSystem.IsLinux() ? Linux.LinuxTreeInspector.Inspect(Linux.ProcFsLayout.System, rootPid, window) : null;
}
