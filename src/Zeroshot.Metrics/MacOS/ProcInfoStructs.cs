using System.Runtime.InteropServices;

namespace Zeroshot.Metrics.MacOS;

// Blittable copies of structures from XNU's bsd/sys/proc_info.h and mach/mach_time.h. They are plain
// data with no platform attribute so their layout can be unit-tested on any OS; only the functions
// that fill them (LibProcNative) are macOS-only.

/// <summary><c>struct proc_bsdinfo</c> (<c>PROC_PIDTBSDINFO</c>): 136 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ProcBsdInfo
{
    public const int ExpectedSize = 136;

    public uint Flags;
    public uint Status;
    public uint XStatus;
    public uint Pid;
    public uint Ppid;
    public uint Uid;
    public uint Gid;
    public uint Ruid;
    public uint Rgid;
    public uint Svuid;
    public uint Svgid;
    public uint Reserved1;
    public fixed byte Comm[16];       // MAXCOMLEN (sys/param.h)
    public fixed byte Name[32];       // 2 * MAXCOMLEN
    public uint NFiles;
    public uint Pgid;
    public uint PJobc;
    public uint TDev;
    public uint TPgid;
    public int Nice;
    public ulong StartTvSec;
    public ulong StartTvUsec;
}

/// <summary><c>struct proc_taskinfo</c> (<c>PROC_PIDTASKINFO</c>): 96 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ProcTaskInfo
{
    public const int ExpectedSize = 96;

    public ulong VirtualSize;
    public ulong ResidentSize;
    public ulong TotalUser;     // Mach absolute time units, see MacRates.MachToNanoseconds
    public ulong TotalSystem;
    public ulong ThreadsUser;
    public ulong ThreadsSystem;
    public int Policy;
    public int Faults;
    public int Pageins;
    public int CowFaults;
    public int MessagesSent;
    public int MessagesReceived;
    public int SyscallsMach;
    public int SyscallsUnix;
    public int Csw;
    public int ThreadNum;
    public int NumRunning;
    public int Priority;
}

/// <summary><c>struct mach_timebase_info</c> (mach/mach_time.h).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MachTimebaseInfo
{
    public uint Numer;
    public uint Denom;
}

/// <summary>Process states of <c>pbi_status</c> (p_stat, bsd/sys/proc.h) and their letters.</summary>
internal static class ProcStatus
{
    public const uint SIdl = 1;   // being created by fork
    public const uint SRun = 2;   // runnable (XNU keeps nearly every live process here)
    public const uint SSleep = 3;
    public const uint SStop = 4;
    public const uint SZomb = 5;

    /// <summary>
    /// The state letter for a process. XNU tracks run/sleep per thread and leaves p_stat at SRUN for
    /// almost every live process, so, like ps(1) which derives the letter from its threads, a SRUN or
    /// SSLEEP process is R when at least one thread is running (<c>pti_numrunning</c>) and S otherwise.
    /// </summary>
    public static char? Letter(uint status, int? runningThreads) => status switch
    {
        SIdl => 'I',
        SRun or SSleep => runningThreads is > 0 ? 'R' : 'S',
        SStop => 'T',
        SZomb => 'Z',
        _ => null,
    };
}
