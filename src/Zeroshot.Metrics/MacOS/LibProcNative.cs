using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Zeroshot.Metrics.MacOS;

/// <summary>libproc (libproc.h) and Mach time functions. macOS only.</summary>
[SupportedOSPlatform("macos")]
internal static unsafe partial class LibProcNative
{
    // "libproc" resolves to /usr/lib/libproc.dylib (in the dyld shared cache), as in dotnet/runtime.
    public const string LibProc = "libproc";
    private const string LibSystem = "/usr/lib/libSystem.dylib";

    // bsd/sys/proc_info.h
    public const int ProcPidTBsdInfo = 3;
    public const int ProcPidTaskInfo = 4;

    /// <summary><c>int proc_pidinfo(int pid, int flavor, uint64_t arg, void *buffer, int buffersize)</c>: bytes written, 0 or less on error (errno).</summary>
    [LibraryImport(LibProc, EntryPoint = "proc_pidinfo", SetLastError = true)]
    public static partial int ProcPidInfo(int pid, int flavor, ulong arg, void* buffer, int bufferSize);

    /// <summary><c>int proc_listchildpids(pid_t ppid, void *buffer, int buffersize)</c>: number of pids written, -1 on error.</summary>
    [LibraryImport(LibProc, EntryPoint = "proc_listchildpids", SetLastError = true)]
    public static partial int ProcListChildPids(int ppid, int* buffer, int bufferSize);

    /// <summary><c>kern_return_t mach_timebase_info(mach_timebase_info_t info)</c>: 0 (KERN_SUCCESS) on success.</summary>
    [LibraryImport(LibSystem, EntryPoint = "mach_timebase_info")]
    public static partial int MachTimebase(MachTimebaseInfo* info);
}
