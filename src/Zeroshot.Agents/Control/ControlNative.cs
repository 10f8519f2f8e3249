using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Zeroshot.Agents.Control;

/// <summary>The few libc calls the control socket needs that .NET does not expose.</summary>
internal static partial class ControlNative
{
    // Linux generic values (asm-generic/socket.h, used by x86_64 and aarch64). mips, sparc and powerpc differ;
    // Zeroshot does not target them.
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;

    // fcntl.h: AT_FDCWD and AT_SYMLINK_NOFOLLOW (lstat semantics for statx).
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;

    // linux/stat.h STATX_TYPE | STATX_MODE | STATX_UID | STATX_INO.
    private const uint StatxWanted = 0x1 | 0x2 | 0x8 | 0x100;

    /// <summary>S_IFMT and the file types we care about (sys/stat.h).</summary>
    internal const int SIfMt = 0xF000, SIfDir = 0x4000, SIfLnk = 0xA000, SIfSock = 0xC000;

    // "libc" is special-cased by the runtime's loader (SystemNative_LoadLibrary, also used by Native AOT) to
    // LIBC_SO ("libc.so.6"), so this works without libc6-dev's libc.so linker script.
    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuidNative();

    // statx(2) rather than lstat(2): struct statx has the same layout on every architecture, struct stat does not.
    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int StatxNative(int dirFd, string path, int flags, uint mask, byte* buffer);

    // sys/socket.h (Linux): return EAGAIN rather than wait; no SIGPIPE when the peer is gone (EPIPE instead).
    private const int MsgDontWait = 0x40, MsgNoSignal = 0x4000;

    [LibraryImport("libc", EntryPoint = "send")]
    private static unsafe partial nint SendNative(nint fd, byte* buffer, nuint length, int flags);

    /// <summary>
    /// send(2) of <paramref name="bytes"/> to <paramref name="socket"/> without waiting: the count written, or -1 (the
    /// buffer is full, or an error the socket's own writer meets next). .NET has no flag for MSG_DONTWAIT.
    /// </summary>
    internal static unsafe int SendNoWait(Socket socket, ReadOnlySpan<byte> bytes)
    {
        var handle = socket.SafeHandle;
        bool added = false;
        try
        {
            // Held across the call: a socket closed meanwhile cannot have its descriptor number reused under us.
            handle.DangerousAddRef(ref added);
            fixed (byte* p = bytes)
            {
                nint n = SendNative(handle.DangerousGetHandle(), p, (nuint)bytes.Length, MsgDontWait | MsgNoSignal);
                return n < 0 ? -1 : (int)n;
            }
        }
        catch (ObjectDisposedException)
        {
            return -1;
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    /// <summary>The effective uid of this process (geteuid(2)).</summary>
    internal static uint EffectiveUid { get; } = GetEuidNative();

    /// <summary>What lstat says about a path; never follows a final symlink.</summary>
    internal readonly record struct FileStatus(int Mode, uint Uid, ulong Inode)
    {
        /// <summary>The S_IFMT bits.</summary>
        public int Type => Mode & SIfMt;

        /// <summary>The permission bits (07777).</summary>
        public int Permissions => Mode & 0xFFF;
    }

    /// <summary>lstat(2) via statx; null when the path does not exist (ENOENT/ENOTDIR), IOException otherwise.</summary>
    internal static FileStatus? LStat(string path) => StatX(path, AtSymlinkNoFollow);

    /// <summary>stat(2) via statx (follows symbolic links); null when the path does not exist, IOException otherwise.</summary>
    internal static FileStatus? Stat(string path) => StatX(path, 0);

    private static unsafe FileStatus? StatX(string path, int flags)
    {
        // struct statx is 256 bytes (linux/stat.h, host byte order): stx_mask@0 u32, stx_blksize@4, stx_attributes@8 u64,
        // stx_nlink@16 u32, stx_uid@20 u32, stx_gid@24 u32, stx_mode@28 u16, pad, stx_ino@32 u64.
        byte* buffer = stackalloc byte[256];
        if (StatxNative(AtFdCwd, path, flags, StatxWanted, buffer) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno is 2 or 20) return null; // ENOENT, ENOTDIR
            throw new IOException($"statx {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        var span = new ReadOnlySpan<byte>(buffer, 256);
        return new FileStatus(
            MemoryMarshal.Read<ushort>(span[28..]),
            MemoryMarshal.Read<uint>(span[20..]),
            MemoryMarshal.Read<ulong>(span[32..]));
    }

    /// <summary>
    /// The credentials the kernel recorded for the peer of a connected Unix socket, via
    /// getsockopt(SOL_SOCKET, SO_PEERCRED) — struct ucred { pid_t pid; uid_t uid; gid_t gid; } (socket(7), unix(7)).
    /// These are the credentials at connect(2) time and cannot be forged by the peer.
    /// </summary>
    internal static (int Pid, uint Uid, uint Gid) PeerCredentials(Socket socket)
    {
        Span<byte> ucred = stackalloc byte[12];
        int length = socket.GetRawSocketOption(SolSocket, SoPeerCred, ucred);
        if (length != 12) throw new IOException($"SO_PEERCRED returned {length} bytes, expected 12");
        // Native byte order: the kernel fills the struct in host order.
        return (MemoryMarshal.Read<int>(ucred), MemoryMarshal.Read<uint>(ucred[4..]), MemoryMarshal.Read<uint>(ucred[8..]));
    }
}
