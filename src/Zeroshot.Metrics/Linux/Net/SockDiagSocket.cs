using System.Runtime.InteropServices;

namespace Zeroshot.Metrics.Linux.Net;

/// <summary>
/// A NETLINK_SOCK_DIAG socket (sock_diag(7)). Either a dump socket (request/response, no groups) or a
/// listener bound to the TCP destroy multicast groups. Two sockets, because a dump on a socket that
/// also receives multicast would interleave notifications with the reply.
/// </summary>
internal sealed unsafe class SockDiagSocket : IDisposable
{
    /// <summary>linux/sock_diag.h enum sknetlink_groups.</summary>
    public const int SKNLGRP_INET_TCP_DESTROY = 1, SKNLGRP_INET6_TCP_DESTROY = 3;

    private int _fd;

    private SockDiagSocket(int fd) => _fd = fd;

    /// <summary>Opens a socket, optionally joined to the groups in <paramref name="groupMask"/>; null on failure.</summary>
    public static SockDiagSocket? TryOpen(uint groupMask, int receiveBuffer)
    {
        int fd = NetInterop.Socket(NetInterop.AF_NETLINK, NetInterop.SOCK_RAW | NetInterop.SOCK_CLOEXEC, NetInterop.NETLINK_SOCK_DIAG);
        if (fd < 0) return null;
        var socket = new SockDiagSocket(fd);
        // Best effort: root may exceed net.core.rmem_max with SO_RCVBUFFORCE; others get SO_RCVBUF (capped).
        int size = receiveBuffer;
        if (NetInterop.SetSockOpt(fd, NetInterop.SOL_SOCKET, NetInterop.SO_RCVBUFFORCE, &size, sizeof(int)) != 0)
            _ = NetInterop.SetSockOpt(fd, NetInterop.SOL_SOCKET, NetInterop.SO_RCVBUF, &size, sizeof(int));
        // A dump reply is produced synchronously; the timeout only guards against a kernel that never answers.
        var timeout = new NetInterop.TimeVal { Seconds = 2 };
        _ = NetInterop.SetSockOpt(fd, NetInterop.SOL_SOCKET, NetInterop.SO_RCVTIMEO, &timeout, (uint)sizeof(NetInterop.TimeVal));
        var addr = new NetInterop.SockAddrNl { Family = NetInterop.AF_NETLINK, Groups = groupMask };
        if (NetInterop.Bind(fd, &addr, (uint)sizeof(NetInterop.SockAddrNl)) != 0)
        {
            socket.Dispose();
            return null;
        }
        return socket;
    }

    /// <summary>Sends one request to the kernel (port id 0).</summary>
    public bool Send(ReadOnlySpan<byte> message)
    {
        var kernel = new NetInterop.SockAddrNl { Family = NetInterop.AF_NETLINK };
        fixed (byte* p = message)
        {
            while (true)
            {
                nint sent = NetInterop.SendTo(_fd, p, (nuint)message.Length, 0, &kernel, (uint)sizeof(NetInterop.SockAddrNl));
                if (sent == message.Length) return true;
                if (sent < 0 && Marshal.GetLastPInvokeError() == NetInterop.EINTR) continue;
                return false;
            }
        }
    }

    /// <summary>
    /// Receives one datagram. Returns its length, 0 when nothing is queued (non-blocking only),
    /// -1 for a receive-buffer overrun (ENOBUFS: notifications were dropped), -2 for any other error.
    /// </summary>
    public int Receive(Span<byte> buffer, bool nonBlocking)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                nint got = NetInterop.Recv(_fd, p, (nuint)buffer.Length, nonBlocking ? NetInterop.MSG_DONTWAIT : 0);
                if (got > 0) return (int)got;
                if (got == 0) return -2; // netlink never sends empty datagrams
                int errno = Marshal.GetLastPInvokeError();
                if (errno == NetInterop.EINTR) continue;
                if (errno == NetInterop.EAGAIN) return nonBlocking ? 0 : -2;
                return errno == NetInterop.ENOBUFS ? -1 : -2;
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_fd >= 0)
        {
            _ = NetInterop.Close(_fd);
            _fd = -1;
        }
    }
}
