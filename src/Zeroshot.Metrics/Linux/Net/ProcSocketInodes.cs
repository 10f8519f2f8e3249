using System.Buffers.Text;
using System.Text;

namespace Zeroshot.Metrics.Linux.Net;

/// <summary>
/// Lists the socket inodes a process holds: every <c>/proc/&lt;pid&gt;/fd/N</c> link that reads
/// <c>socket:[inode]</c> (proc(5)). getdents64(2) on the fd directory plus readlinkat(2) relative to it
/// into stack buffers, so nothing is allocated per descriptor. A process that vanished, or whose fd
/// directory we may not read (another user's process without CAP_SYS_PTRACE), simply yields nothing.
/// </summary>
internal sealed unsafe class ProcSocketInodes
{
    private readonly byte[] _procRoot;               // UTF-8 of the proc mount, no trailing slash
    private readonly byte[] _dents = new byte[16 * 1024];
    private static bool s_useMuslGetdents;

    public ProcSocketInodes(string procRoot) => _procRoot = Encoding.UTF8.GetBytes(procRoot.TrimEnd('/'));

    private static bool s_noStatx;

    /// <summary>
    /// Whether <see cref="FdCountAt"/> works here: since Linux 6.2 a stat of <c>/proc/&lt;pid&gt;/fd</c> gives the number of
    /// open descriptors as its size (fs/proc/fd.c, proc_fd_getattr); before, the size is 0. This process always has
    /// descriptors open, so a size of 0 for its own means the kernel does not count.
    /// </summary>
    public bool CountsDescriptors()
    {
        Span<byte> path = stackalloc byte[_procRoot.Length + 16];
        _procRoot.CopyTo(path);
        "/self/fd\0"u8.CopyTo(path[_procRoot.Length..]);
        return SizeOf(path) > 0;
    }

    /// <summary>
    /// Opens a handle on <paramref name="pid"/>'s fd directory for <see cref="FdCountAt"/> to ask, each tick, without
    /// walking the path (O_PATH: nothing is read). -1 when the process is gone or forbidden. The caller closes it
    /// with <see cref="CloseHandle"/>; it keeps naming that process, so once it fails the process is gone.
    /// </summary>
    public int OpenFdDirectory(int pid)
    {
        Span<byte> path = stackalloc byte[_procRoot.Length + 32];
        if (!FdPath(pid, path)) return -1;
        fixed (byte* p = path) return NetInterop.Open(p, NetInterop.O_PATH | NetInterop.O_CLOEXEC);
    }

    /// <summary>How many descriptors the process of a handle from <see cref="OpenFdDirectory"/> has open: one statx(2),
    /// no listing (see <see cref="CountsDescriptors"/>); -1 once the process is gone or may not be examined.</summary>
    public static long FdCountAt(int handle) => SizeOf(""u8, handle);

    /// <summary>Closes a handle from <see cref="OpenFdDirectory"/>.</summary>
    public static void CloseHandle(int handle) => _ = NetInterop.Close(handle);

    private static long SizeOf(ReadOnlySpan<byte> path, int directory = NetInterop.AT_FDCWD)
    {
        if (s_noStatx) return -1;
        byte* stat = stackalloc byte[NetInterop.StatxLength];
        Span<byte> terminated = stackalloc byte[path.Length + 1];
        path.CopyTo(terminated);
        terminated[^1] = 0;
        int result;
        try
        {
            fixed (byte* p = terminated)
                result = NetInterop.Statx(directory, p, directory == NetInterop.AT_FDCWD ? 0 : NetInterop.AT_EMPTY_PATH, NetInterop.STATX_SIZE, stat);
        }
        catch (EntryPointNotFoundException)
        {
            s_noStatx = true; // an older libc: callers fall back to reading every socket every tick
            return -1;
        }
        return result == 0 ? *(long*)(stat + NetInterop.StatxSizeOffset) : -1;
    }

    // "<procRoot>/<pid>/fd\0" into a stack buffer.
    private bool FdPath(int pid, Span<byte> path)
    {
        _procRoot.CopyTo(path);
        int n = _procRoot.Length;
        path[n++] = (byte)'/';
        if (!Utf8Formatter.TryFormat(pid, path[n..], out int written)) return false;
        n += written;
        "/fd\0"u8.CopyTo(path[n..]);
        return true;
    }

    /// <summary>Appends the socket inodes of <paramref name="pid"/> to <paramref name="sink"/>; returns how many.</summary>
    public int Collect(int pid, List<uint> sink)
    {
        Span<byte> path = stackalloc byte[_procRoot.Length + 32];
        if (!FdPath(pid, path)) return 0;

        int dirFd;
        fixed (byte* p = path) dirFd = NetInterop.Open(p, NetInterop.O_RDONLY | NetInterop.O_CLOEXEC);
        if (dirFd < 0) return 0; // ENOENT (gone), EACCES (forbidden): normal data, not an error.
        int found = 0;
        try
        {
            byte* link = stackalloc byte[64];
            fixed (byte* buffer = _dents)
            {
                while (true)
                {
                    nint got = GetDents(dirFd, buffer, (nuint)_dents.Length);
                    if (got <= 0) break; // 0 = end; -1 = the process exited mid-listing (ESRCH/ENOENT)
                    // struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
                    for (nint off = 0; off < got;)
                    {
                        byte* entry = buffer + off;
                        ushort reclen = *(ushort*)(entry + 16);
                        if (reclen == 0) break;
                        off += reclen;
                        byte* name = entry + 19;
                        if (name[0] is < (byte)'0' or > (byte)'9') continue; // "." and ".."
                        nint len = NetInterop.ReadLinkAt(dirFd, name, link, 64);
                        if (len > 0 && TryParseSocketInode(new ReadOnlySpan<byte>(link, (int)len), out uint inode))
                        {
                            sink.Add(inode);
                            found++;
                        }
                    }
                }
            }
        }
        finally
        {
            _ = NetInterop.Close(dirFd);
        }
        return found;
    }

    /// <summary>Parses the target of an fd link, <c>socket:[12345]</c>; false for anything else.</summary>
    public static bool TryParseSocketInode(ReadOnlySpan<byte> target, out uint inode)
    {
        inode = 0;
        if (!target.StartsWith("socket:["u8) || target.Length < 10 || target[^1] != (byte)']') return false;
        var digits = target[8..^1];
        if (Utf8Parser.TryParse(digits, out inode, out int consumed) && consumed == digits.Length) return true;
        inode = 0;
        return false;
    }

    private static nint GetDents(int fd, byte* buffer, nuint count)
    {
        if (!s_useMuslGetdents)
        {
            try { return NetInterop.GetDents64(fd, buffer, count); }
            catch (EntryPointNotFoundException) { s_useMuslGetdents = true; }
        }
        return NetInterop.GetDentsMusl(fd, buffer, count);
    }
}
