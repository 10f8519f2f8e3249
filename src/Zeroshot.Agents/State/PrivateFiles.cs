using Microsoft.Win32.SafeHandles;
using Zeroshot.Agents.Control;

namespace Zeroshot.Agents.State;

/// <summary>
/// Creates the files and directories of the zeroshot home private to the user: directories 0700, files 0600, whatever
/// the umask, and tightens or refuses existing ones that other users could read.
/// </summary>
/// <remarks>
/// Logs hold agent output and prompts, the database holds cluster files with their <c>env</c> (API keys): nobody else
/// may read them. The mode is given at creation (mkdir(2)/open(2) with O_CREAT take a mode, so there is no window in
/// which the file is readable by others) and then set exactly with chmod(2)/fchmod(2), because the kernel applies the
/// umask to the creation mode: a umask such as 0277 would otherwise leave a file we cannot write. The process umask is
/// never changed: agents inherit it and the user chose it for their own files.
/// </remarks>
internal static class PrivateFiles
{
    /// <summary>rwx------.</summary>
    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>rw-------.</summary>
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Group and other permission bits (077).</summary>
    private const int GroupOtherBits = 0x3F;

    /// <summary>
    /// Makes <paramref name="path"/> a private directory: missing components are created 0700 (the innermost first
    /// found to exist is left alone); an existing <paramref name="path"/> is checked with <see cref="SecureExistingDirectory"/>.
    /// </summary>
    /// <exception cref="UserErrorException">It cannot be created, or exists and belongs to another user.</exception>
    public static void EnsureDirectory(string path, Action<string>? notice)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }
        path = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        if (Directory.Exists(path))
        {
            SecureExistingDirectory(path, notice);
            return;
        }
        try
        {
            CreateMissing(path);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new UserErrorException($"cannot create {path}: {e.Message}", ExitCodes.Failure);
        }
    }

    /// <summary>Creates the missing components of <paramref name="path"/>, outermost first, each 0700 exactly.</summary>
    /// <exception cref="IOException">mkdir or chmod failed (a component is a file, a read-only file system...).</exception>
    public static void CreateMissing(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }
        var missing = new Stack<string>();
        for (string? p = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path)); p is not null && !Directory.Exists(p); p = Path.GetDirectoryName(p))
            missing.Push(p);
        while (missing.TryPop(out var p))
        {
            Directory.CreateDirectory(p, DirectoryMode);
            File.SetUnixFileMode(p, DirectoryMode);
        }
    }

    /// <summary>
    /// An existing directory that others could read or write: ours → chmod 0700 with a one-line notice (e.g. a
    /// <c>~/.zeroshot</c> made by hand with the default 0755); another user's → refused, since its owner can read
    /// everything in it whatever we do.
    /// </summary>
    /// <exception cref="UserErrorException">It is owned by another user, or cannot be tightened.</exception>
    public static void SecureExistingDirectory(string path, Action<string>? notice)
    {
        if (OperatingSystem.IsWindows()) return;
        // stat, not lstat: a home that is a symlink to the user's own directory is fine; what counts is the target.
        var status = ControlNative.LStat(Path.GetFullPath(ResolveLinks(path)));
        if (status is null) return;
        uint me = ControlNative.EffectiveUid;
        if (status.Value.Uid != me)
            throw new UserErrorException(
                $"refusing {path}: it is owned by uid {status.Value.Uid}, not by you (uid {me}), so its owner can read your logs and secrets; " +
                "use a directory of your own (ZEROSHOT_HOME)", ExitCodes.Failure);
        if ((status.Value.Permissions & GroupOtherBits) == 0) return;
        // Only take permissions away: a home the user made read-only (0555) stays read-only for them (0500).
        var tightened = (UnixFileMode)(status.Value.Permissions & 0x1C0); // & 0700
        try
        {
            File.SetUnixFileMode(path, tightened);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new UserErrorException($"{path} is readable by other users (mode {Octal(status.Value.Permissions)}) and cannot be made private: {e.Message}", ExitCodes.Failure);
        }
        notice?.Invoke($"{path} was mode {Octal(status.Value.Permissions)}, readable by other users; it is now {Octal((int)tightened)}");
    }

    /// <summary>
    /// Opens <paramref name="path"/> for writing, creating it 0600; an existing file with any group or other bit
    /// (a log or database of an older version, created 0644) is set to 0600 through the open handle.
    /// </summary>
    public static FileStream OpenWrite(string path, System.IO.FileMode mode, FileShare share, int bufferSize = 4096)
    {
        var options = new FileStreamOptions { Mode = mode, Access = FileAccess.Write, Share = share, BufferSize = bufferSize };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = FileMode;
        var stream = new FileStream(path, options);
        try
        {
            Restrict(stream.SafeFileHandle);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
        return stream;
    }

    /// <summary>Writes <paramref name="bytes"/> to a new or truncated 0600 file.</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        using var stream = OpenWrite(path, System.IO.FileMode.Create, FileShare.Read);
        stream.Write(bytes);
    }

    /// <summary>Writes <paramref name="text"/> (UTF-8) to a new or truncated 0600 file.</summary>
    public static void WriteAllText(string path, string text) => WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(text));

    /// <summary>
    /// Creates <paramref name="path"/> empty with mode 0600 if it does not exist, else sets an existing one to 0600:
    /// for files another library creates with the mode it finds (SQLite gives <c>-wal</c> and <c>-shm</c> the mode of the
    /// database file, os_unix.c findCreateFileMode), and files created by older versions.
    /// </summary>
    /// <remarks>
    /// An existing file is changed by path, never opened: closing any descriptor of a database file drops every POSIX
    /// lock this process holds on it (fcntl(2), "the locks are released when the process closes any file descriptor
    /// referring to the file"; sqlite.org/howtocorrupt.html 2.2), which could break a connection already open here.
    /// </remarks>
    public static void EnsureFile(string path)
    {
        if (OperatingSystem.IsWindows()) return;
        if (File.Exists(path))
        {
            TightenIfExists(path);
            return;
        }
        try
        {
            using var stream = OpenWrite(path, System.IO.FileMode.CreateNew, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Created meanwhile by another process (it got 0600 from us, or an older version's mode, fixed here).
            TightenIfExists(path);
        }
    }

    /// <summary>Sets an existing file to 0600 if it has any other bit; a missing file is ignored.</summary>
    public static void TightenIfExists(string path)
    {
        if (OperatingSystem.IsWindows()) return;
        try
        {
            if ((File.GetUnixFileMode(path) & ~FileMode) != 0) File.SetUnixFileMode(path, FileMode);
        }
        catch (FileNotFoundException)
        {
            // Nothing to tighten: SQLite creates the file later, with the database's (now private) mode.
        }
    }

    /// <summary>fchmod(2) to 0600 unless the file already has exactly that mode.</summary>
    private static void Restrict(SafeFileHandle handle)
    {
        if (OperatingSystem.IsWindows()) return;
        if (File.GetUnixFileMode(handle) != FileMode) File.SetUnixFileMode(handle, FileMode);
    }

    private static string ResolveLinks(string path) =>
        new DirectoryInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;

    private static string Octal(int mode) => Convert.ToString(mode, 8);
}
