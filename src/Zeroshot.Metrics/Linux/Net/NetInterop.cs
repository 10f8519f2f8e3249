using System.Runtime.InteropServices;

namespace Zeroshot.Metrics.Linux.Net;

/// <summary>
/// The few libc calls the netlink meter needs (socket(2), bind(2), setsockopt(2), sendto(2), recv(2),
/// open(2), getdents64(2), readlinkat(2), statx(2)). Raw calls rather than <see cref="System.Net.Sockets.Socket"/>
/// because .NET has no AF_NETLINK address family, and rather than managed file APIs so that enumerating
/// <c>/proc/&lt;pid&gt;/fd</c> allocates nothing per descriptor.
/// </summary>
internal static unsafe partial class NetInterop
{
    private const string Libc = "libc";

    public const int AF_NETLINK = 16;
    public const int SOCK_RAW = 3;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int NETLINK_SOCK_DIAG = 4;   // linux/netlink.h
    public const int SOL_SOCKET = 1;
    public const int SO_RCVBUF = 8;
    public const int SO_RCVBUFFORCE = 33;
    public const int SO_RCVTIMEO = 20;
    public const int MSG_DONTWAIT = 0x40;
    public const int O_RDONLY = 0;
    // No O_DIRECTORY: its value differs between x86_64 (0x10000) and arm64 (0x4000); getdents64 on a
    // non-directory fails with ENOTDIR anyway. O_CLOEXEC is the asm-generic 0x80000 on both.
    public const int O_CLOEXEC = 0x80000;

    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int ENOBUFS = 105;

    /// <summary>struct sockaddr_nl (linux/netlink.h): family, pad, port id, multicast group mask.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SockAddrNl
    {
        public ushort Family;
        public ushort Pad;
        public uint Pid;
        public uint Groups;
    }

    /// <summary>struct timeval for SO_RCVTIMEO (64-bit layout).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct TimeVal
    {
        public long Seconds;
        public long Microseconds;
    }

    [LibraryImport(Libc, EntryPoint = "geteuid")]
    public static partial uint GetEuid();

    [LibraryImport(Libc, EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport(Libc, EntryPoint = "bind", SetLastError = true)]
    public static partial int Bind(int fd, SockAddrNl* addr, uint addrLen);

    [LibraryImport(Libc, EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetSockOpt(int fd, int level, int name, void* value, uint valueLen);

    [LibraryImport(Libc, EntryPoint = "sendto", SetLastError = true)]
    public static partial nint SendTo(int fd, byte* buffer, nuint length, int flags, SockAddrNl* addr, uint addrLen);

    [LibraryImport(Libc, EntryPoint = "recv", SetLastError = true)]
    public static partial nint Recv(int fd, byte* buffer, nuint length, int flags);

    [LibraryImport(Libc, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    // open(2) is variadic in C; calling it with the two fixed arguments is ABI-compatible on x86_64 and
    // arm64 Linux (the mode argument is only read with O_CREAT).
    [LibraryImport(Libc, EntryPoint = "open", SetLastError = true)]
    public static partial int Open(byte* path, int flags);

    // glibc ≥ 2.30 exports getdents64; musl ≥ 1.2.4 only exports getdents (already 64-bit).
    [LibraryImport(Libc, EntryPoint = "getdents64", SetLastError = true)]
    public static partial nint GetDents64(int fd, byte* buffer, nuint count);

    [LibraryImport(Libc, EntryPoint = "getdents", SetLastError = true)]
    public static partial nint GetDentsMusl(int fd, byte* buffer, nuint count);

    [LibraryImport(Libc, EntryPoint = "readlinkat", SetLastError = true)]
    public static partial nint ReadLinkAt(int dirFd, byte* path, byte* buffer, nuint size);

    /// <summary>statx(2) (glibc ≥ 2.28, musl ≥ 1.2.5): the one stat call with the same struct layout on every architecture.</summary>
    [LibraryImport(Libc, EntryPoint = "statx", SetLastError = true)]
    public static partial int Statx(int dirFd, byte* path, int flags, uint mask, byte* buffer);

    public const int AT_FDCWD = -100;
    public const int AT_EMPTY_PATH = 0x1000;
    /// <summary>O_PATH: a handle that only names the directory (asm-generic value, as on x86_64 and arm64).</summary>
    public const int O_PATH = 0x200000;
    public const uint STATX_SIZE = 0x200;
    /// <summary>sizeof(struct statx) (linux/stat.h).</summary>
    public const int StatxLength = 256;
    /// <summary>offsetof(struct statx, stx_size).</summary>
    public const int StatxSizeOffset = 40;
}
