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

    /// <summary>Appends the socket inodes of <paramref name="pid"/> to <paramref name="sink"/>; returns how many.</summary>
    public int Collect(int pid, List<uint> sink)
    {
        // "<procRoot>/<pid>/fd\0" built on the stack.
        Span<byte> path = stackalloc byte[_procRoot.Length + 32];
        _procRoot.CopyTo(path);
        int n = _procRoot.Length;
        path[n++] = (byte)'/';
        if (!Utf8Formatter.TryFormat(pid, path[n..], out int written)) return 0;
        n += written;
        "/fd\0"u8.CopyTo(path[n..]);

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
