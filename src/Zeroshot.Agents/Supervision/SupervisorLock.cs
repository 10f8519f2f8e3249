using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Zeroshot.Agents.State;

namespace Zeroshot.Agents.Supervision;

/// <summary>
/// The one-supervisor-per-cluster lock: an exclusive flock(2) on <c>&lt;home&gt;/locks/&lt;cluster&gt;.lock</c>, held
/// for the supervisor's whole life and released by the kernel when its process ends, however it ends (flock locks
/// belong to the open file description, which dies with the last descriptor). Unlike the control socket, which
/// a logout may delete from $XDG_RUNTIME_DIR, nothing but the process's death frees it. The descriptor is
/// O_CLOEXEC, so agents never inherit it (an orphaned agent must not keep a dead supervisor's lock).
/// </summary>
internal sealed partial class SupervisorLock : IDisposable
{
    // fcntl.h: Linux (x86_64 and aarch64 generic values), macOS; sys/file.h.
    private const int ORdWr = 0x2;
    private static readonly int OCreat = OperatingSystem.IsMacOS() ? 0x200 : 0x40;
    private static readonly int OCloexec = OperatingSystem.IsMacOS() ? 0x1000000 : 0x80000;
    private const int LockSh = 1, LockEx = 2, LockNb = 4;
    private const int EIntr = 4;
    private static readonly int EWouldBlock = OperatingSystem.IsMacOS() ? 35 : 11;
    private const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly SafeFileHandle _handle;
    private readonly string _cgroupRecord;

    private SupervisorLock(SafeFileHandle handle, string cgroupRecord)
    {
        _handle = handle;
        _cgroupRecord = cgroupRecord;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenNative(string path, int flags, uint mode);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int FlockNative(SafeFileHandle fd, int operation);

    /// <summary>The lock file of <paramref name="clusterId"/>.</summary>
    public static string LockPath(ZeroshotHome home, string clusterId) => Path.Combine(home.Root, "locks", clusterId + ".lock");

    private static string CgroupRecordPath(ZeroshotHome home, string clusterId) => Path.Combine(home.Root, "locks", clusterId + ".cgroup");

    /// <summary>Takes the lock; null when another process holds it (a supervisor of this cluster runs).</summary>
    /// <exception cref="UserErrorException">The lock file cannot be created or locked for another reason.</exception>
    public static SupervisorLock? TryAcquire(ZeroshotHome home, string clusterId)
    {
        ArgumentNullException.ThrowIfNull(home);
        var handle = Open(home, clusterId);
        if (!TryLock(handle, LockEx))
        {
            handle.Dispose();
            return null;
        }
        return new SupervisorLock(handle, CgroupRecordPath(home, clusterId));
    }

    /// <summary>Whether a live process holds the lock of <paramref name="clusterId"/> (false when there is no lock file).</summary>
    public static bool IsHeld(ZeroshotHome home, string clusterId)
    {
        ArgumentNullException.ThrowIfNull(home);
        if (!File.Exists(LockPath(home, clusterId))) return false;
        using var handle = Open(home, clusterId);
        // A shared lock is compatible with nothing but other shared locks: refused exactly while a supervisor holds it.
        return !TryLock(handle, LockSh);
    }

    /// <summary>Records the cluster's cgroup directory, for a <c>stop</c> after this supervisor died; false if it cannot.</summary>
    public bool RecordCgroup(string path)
    {
        try
        {
            PrivateFiles.WriteAllText(_cgroupRecord, path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Without the record a stop after a crash still finds the processes by their marker.
            return false;
        }
    }

    /// <summary>The cgroup directory a supervisor of <paramref name="clusterId"/> recorded; null if none.</summary>
    public static string? RecordedCgroup(ZeroshotHome home, string clusterId)
    {
        ArgumentNullException.ThrowIfNull(home);
        try
        {
            var text = File.ReadAllText(CgroupRecordPath(home, clusterId)).Trim();
            return text.Length == 0 ? null : text;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static SafeFileHandle Open(ZeroshotHome home, string clusterId)
    {
        var path = LockPath(home, clusterId);
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("supervisor locks need flock(2)");
        // Private like everything in the home (0700 at creation, an older loose one tightened).
        PrivateFiles.EnsureDirectory(Path.GetDirectoryName(path)!, notice: null);
        int fd = OpenNative(path, ORdWr | OCreat | OCloexec, 0x180 /* 0600, before the umask */);
        if (fd < 0)
            throw new UserErrorException($"cannot open the supervisor lock {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (File.GetUnixFileMode(handle) != PrivateFile) File.SetUnixFileMode(handle, PrivateFile);
        return handle;
    }

    private static bool TryLock(SafeFileHandle handle, int operation)
    {
        while (true)
        {
            if (FlockNative(handle, operation | LockNb) == 0) return true;
            int errno = Marshal.GetLastPInvokeError();
            if (errno == EIntr) continue;
            if (errno == EWouldBlock) return false;
            throw new UserErrorException($"flock of a supervisor lock failed: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
    }

    /// <summary>Releases the lock (closing the descriptor) and forgets the cgroup record.</summary>
    public void Dispose()
    {
        // The lock file stays: unlinking it while another process has it open would let two processes lock two
        // different files of the same name.
        try
        {
            File.Delete(_cgroupRecord);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A stale record names a cgroup that no longer exists; readers treat it as none.
        }
        _handle.Dispose();
    }
}
