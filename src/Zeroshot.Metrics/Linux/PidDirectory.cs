using System.Runtime.InteropServices;

namespace Zeroshot.Metrics.Linux;

/// <summary>
/// Lists the numeric entries of a procfs root with getdents64(2) on a directory descriptor kept
/// open and rewound each tick: no allocation and no per-entry managed objects, which matters
/// because this listing is the one per-tick cost proportional to every process on the machine.
/// </summary>
internal sealed partial class PidDirectory : IDisposable
{
    private const int ORdOnly = 0, ODirectory = 0x10000, OCloexec = 0x80000; // <fcntl.h>, x86_64 and aarch64
    private const int SeekSet = 0;
    private const byte DtDir = 4, DtUnknown = 0;

    private readonly string _path;
    private readonly byte[] _buffer = new byte[32 * 1024];
    private int _fd = -1;

    public PidDirectory(string path) => _path = path;

    /// <summary>Appends every pid listed to <paramref name="into"/>; false when the directory cannot be read.</summary>
    public unsafe bool List(List<int> into)
    {
        if (_fd < 0)
        {
            _fd = Open(_path, ORdOnly | ODirectory | OCloexec);
            if (_fd < 0) return false;
        }
        else if (LSeek(_fd, 0, SeekSet) < 0)
        {
            return false;
        }
        fixed (byte* buffer = _buffer)
        {
            while (true)
            {
                long n = GetDents64(_fd, buffer, (nuint)_buffer.Length);
                if (n < 0) return false;
                if (n == 0) return true;
                Parse(new ReadOnlySpan<byte>(buffer, (int)n), into);
            }
        }
    }

    /// <summary>
    /// Parses a getdents64 buffer: records of struct linux_dirent64 { u64 d_ino; s64 d_off;
    /// u16 d_reclen; u8 d_type; char d_name[]; } (getdents(2)). Names that are all digits are pids.
    /// </summary>
    internal static void Parse(ReadOnlySpan<byte> records, List<int> into)
    {
        int offset = 0;
        while (offset + 19 <= records.Length)
        {
            int reclen = BitConverter.ToUInt16(records.Slice(offset + 16, 2));
            if (reclen < 20 || offset + reclen > records.Length) throw new InvalidDataException("getdents64: bad record length");
            byte type = records[offset + 18];
            var name = records.Slice(offset + 19, reclen - 19);
            int nul = name.IndexOf((byte)0);
            if (nul >= 0) name = name[..nul];
            if ((type == DtDir || type == DtUnknown) && TryParsePid(name, out int pid)) into.Add(pid);
            offset += reclen;
        }
    }

    private static bool TryParsePid(ReadOnlySpan<byte> name, out int pid)
    {
        pid = 0;
        if (name.IsEmpty || name.Length > 10) return false;
        long value = 0;
        foreach (byte b in name)
        {
            if (b is < (byte)'0' or > (byte)'9') return false;
            value = value * 10 + (b - '0');
        }
        if (value is 0 or > int.MaxValue) return false;
        pid = (int)value;
        return true;
    }

    public void Dispose()
    {
        if (_fd >= 0) Close(_fd);
        _fd = -1;
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static partial long LSeek(int fd, long offset, int whence);

    [LibraryImport("libc", EntryPoint = "getdents64", SetLastError = true)]
    private static unsafe partial long GetDents64(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
