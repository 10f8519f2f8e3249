using System.Runtime.InteropServices;

namespace Zeroshot.Bench;

/// <summary>CPU time of the calling thread and of reaped children (clock_gettime(2), getrusage(2)).</summary>
internal static partial class CpuClock
{
    private const int ClockThreadCpuTimeId = 3;
    private const int RusageChildren = -1;

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec { public long Sec; public long Nsec; }

    [StructLayout(LayoutKind.Sequential)]
    private struct Rusage
    {
        public Timespec UserTime; // struct timeval: tv_sec, tv_usec
        public Timespec SystemTime;
        public long MaxRss, IxRss, IdRss, IsRss, MinFlt, MajFlt, NSwap, InBlock, OuBlock, MsgSnd, MsgRcv, NSignals, NvCsw, NivCsw;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out Timespec value);

    [LibraryImport("libc", EntryPoint = "getrusage")]
    private static partial int GetRusage(int who, out Rusage usage);

    /// <summary>CPU time consumed by every thread of this process, ended ones included (CLOCK_PROCESS_CPUTIME_ID).</summary>
    public static TimeSpan ProcessCpu()
    {
        ClockGetTime(2, out var t);
        return TimeSpan.FromTicks(t.Sec * TimeSpan.TicksPerSecond + t.Nsec / 100);
    }

    /// <summary>CPU time consumed by the current thread.</summary>
    public static TimeSpan ThreadCpu()
    {
        ClockGetTime(ClockThreadCpuTimeId, out var t);
        return TimeSpan.FromTicks(t.Sec * TimeSpan.TicksPerSecond + t.Nsec / 100);
    }

    /// <summary>User+system CPU of all reaped children of this process.</summary>
    public static TimeSpan ChildrenCpu()
    {
        GetRusage(RusageChildren, out var u);
        long micros = (u.UserTime.Sec + u.SystemTime.Sec) * 1_000_000 + u.UserTime.Nsec + u.SystemTime.Nsec; // timeval: usec
        return TimeSpan.FromTicks(micros * 10);
    }
}
