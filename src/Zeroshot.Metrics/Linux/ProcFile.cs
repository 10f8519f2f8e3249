using Microsoft.Win32.SafeHandles;

namespace Zeroshot.Metrics.Linux;

/// <summary>Outcome of reading a procfs file.</summary>
internal enum ReadStatus
{
    /// <summary>The content was read.</summary>
    Ok,

    /// <summary>The process is gone (no such file, or ESRCH from a handle whose process was reaped).</summary>
    Gone,

    /// <summary>The file exists but may not be read (another user's <c>io</c>, say).</summary>
    Forbidden,
}

/// <summary>
/// One procfs file kept open and re-read at offset 0 each tick (pread): about 1–2 µs per read and no
/// allocation, against ~22 µs for File.ReadAllBytes (field notes). A handle to a reaped process's
/// file fails with ESRCH, which is the "gone" signal; after pid reuse the file must be reopened.
/// </summary>
internal sealed class ProcFile : IDisposable
{
    private readonly string _path;
    private SafeFileHandle? _handle;
    private bool _forbidden;

    public ProcFile(string path) => _path = path;

    /// <summary>Reads the whole file into <paramref name="buffer"/>; <paramref name="length"/> is the byte count.</summary>
    public ReadStatus Read(Span<byte> buffer, out int length)
    {
        length = 0;
        if (_forbidden) return ReadStatus.Forbidden;
        try
        {
            _handle ??= File.OpenHandle(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            // stat, io and smaps_rollup are single_open seq_files: one pread from offset 0 generates the
            // whole text and copies all of it that fits. The usual "read until 0" would double the
            // syscalls on the hottest path. A file larger than the buffer (never for these) is cut,
            // and the parser then reports what is missing.
            length = RandomAccess.Read(_handle, buffer, 0);
            return ReadStatus.Ok;
        }
        catch (UnauthorizedAccessException)
        {
            // Forbidden stays forbidden for this process's life: don't pay for the exception every tick.
            _forbidden = true;
            Close();
            return ReadStatus.Forbidden;
        }
        catch (IOException)
        {
            // ENOENT on open or ESRCH on read: the process exited (and was reaped) or never existed.
            Close();
            return ReadStatus.Gone;
        }
    }

    private void Close()
    {
        _handle?.Dispose();
        _handle = null;
    }

    public void Dispose() => Close();

    /// <summary>Reads a procfs file once, without keeping a handle (for processes not worth a cached handle).</summary>
    public static ReadStatus ReadOnce(string path, Span<byte> buffer, out int length)
    {
        using var file = new ProcFile(path);
        return file.Read(buffer, out length);
    }
}
