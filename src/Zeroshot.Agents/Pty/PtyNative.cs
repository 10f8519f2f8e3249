using System.Runtime.InteropServices;

namespace Zeroshot.Agents.Pty;

/// <summary>
/// libc entry points and constants for pseudo-terminals, posix_spawn and process-group control
/// (Linux, glibc; values from the x86_64/aarch64 kernel and glibc headers, which agree for all of them).
/// </summary>
internal static unsafe partial class PtyNative
{
    // "libc" is mapped to libc.so.6 by the runtime's native library loader on Linux.
    private const string Libc = "libc";

    // <fcntl.h> / <asm-generic/fcntl.h>
    public const int O_RDWR = 0x2;
    public const int O_NOCTTY = 0x100;
    public const int O_CLOEXEC = 0x80000;

    // <sys/eventfd.h>: EFD_CLOEXEC = O_CLOEXEC, EFD_NONBLOCK = O_NONBLOCK.
    public const int EFD_CLOEXEC = 0x80000;
    public const int EFD_NONBLOCK = 0x800;

    // <asm-generic/errno-base.h>
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int ESRCH = 3;
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int ECHILD = 10;
    public const int EAGAIN = 11;

    // <asm-generic/ioctls.h>: the same numbers on x86_64 and aarch64.
    public const nuint TIOCGWINSZ = 0x5413;
    public const nuint TIOCSWINSZ = 0x5414;
    public const nuint TIOCGPGRP = 0x540F;
    public const nuint TCGETS = 0x5401;
    public const uint ICANON = 0x2;

    // <spawn.h> (glibc): POSIX_SPAWN_SETSID is a GNU extension (glibc >= 2.26).
    public const short POSIX_SPAWN_SETSIGDEF = 0x04;
    public const short POSIX_SPAWN_SETSIGMASK = 0x08;
    public const short POSIX_SPAWN_SETSID = 0x80;

    // <poll.h>
    public const short POLLIN = 0x1;
    public const short POLLERR = 0x8;
    public const short POLLHUP = 0x10;
    public const short POLLNVAL = 0x20;

    // <unistd.h>
    public const int X_OK = 1;

    // <signal.h>
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;
    public const int SIGCONT = 18;

    // Opaque glibc objects: posix_spawnattr_t is 336 bytes, posix_spawn_file_actions_t 80 bytes and
    // sigset_t 128 bytes on x86_64 and aarch64 (checked with sizeof). Callers allocate these sizes,
    // rounded up generously so a future ABI growth cannot overrun them.
    public const int SpawnAttrSize = 1024;
    public const int FileActionsSize = 512;
    public const int SigSetSize = 256;

    /// <summary>struct winsize from &lt;asm-generic/termios.h&gt;.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct WinSize
    {
        public ushort Rows;
        public ushort Columns;
        public ushort XPixels;
        public ushort YPixels;
    }

    /// <summary>struct pollfd from &lt;poll.h&gt;.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short REvents;
    }

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int posix_openpt(int flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int grantpt(int fd);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int unlockpt(int fd);

    /// <summary>Returns 0 or an errno value (it does not set errno reliably).</summary>
    [LibraryImport(Libc)]
    public static partial int ptsname_r(int fd, byte* buf, nuint buflen);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int ioctl(int fd, nuint request, void* arg);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int eventfd(uint initval, int flags);

    // <sys/mman.h>: MFD_CLOEXEC (glibc >= 2.27, Linux >= 3.17).
    public const uint MFD_CLOEXEC = 0x1;

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int memfd_create(byte* name, uint flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint read(int fd, byte* buf, nuint count);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint write(int fd, byte* buf, nuint count);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int poll(PollFd* fds, nuint nfds, int timeout);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int kill(int pid, int sig);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int waitpid(int pid, int* status, int options);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int access(byte* path, int mode);

    [LibraryImport(Libc)]
    public static partial int sigemptyset(void* set);

    [LibraryImport(Libc)]
    public static partial int sigfillset(void* set);

    // The posix_spawn* family returns an errno value instead of setting errno (posix_spawn(3)).
    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_init(void* attr);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_destroy(void* attr);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_setflags(void* attr, short flags);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_setsigmask(void* attr, void* sigmask);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_setsigdefault(void* attr, void* sigdefault);

    [LibraryImport(Libc)]
    public static partial int posix_spawn_file_actions_init(void* actions);

    [LibraryImport(Libc)]
    public static partial int posix_spawn_file_actions_destroy(void* actions);

    [LibraryImport(Libc)]
    public static partial int posix_spawn_file_actions_addopen(void* actions, int fd, byte* path, int oflag, uint mode);

    [LibraryImport(Libc)]
    public static partial int posix_spawn_file_actions_adddup2(void* actions, int fd, int newfd);

    /// <summary>glibc &gt;= 2.29.</summary>
    [LibraryImport(Libc)]
    public static partial int posix_spawn_file_actions_addchdir_np(void* actions, byte* path);

    /// <summary>glibc &gt;= 2.34: closes every descriptor from <paramref name="from"/> up in the child.</summary>
    [LibraryImport(Libc)]
    public static partial int posix_spawn_file_actions_addclosefrom_np(void* actions, int from);

    [LibraryImport(Libc)]
    public static partial int posix_spawn(int* pid, byte* path, void* fileActions, void* attr, byte** argv, byte** envp);

    /// <summary>The errno of the last failed call on this thread.</summary>
    public static int Errno => Marshal.GetLastPInvokeError();

    /// <summary>A one-line description of an errno value, e.g. "No such file or directory (ENOENT 2)".</summary>
    public static string Describe(int errno) => $"{Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";
}
