using System.Runtime.InteropServices;

namespace Zeroshot.Metrics.Linux;

/// <summary>Where procfs is and the units its numbers are in; a test points it at a fixture directory.</summary>
/// <param name="Root">The procfs mount, normally <c>/proc</c>.</param>
/// <param name="ClockTicksPerSecond">USER_HZ, the unit of utime/stime/starttime (sysconf(_SC_CLK_TCK)).</param>
/// <param name="PageSize">Bytes per page, the unit of the rss field of stat.</param>
internal sealed record ProcFsLayout(string Root, long ClockTicksPerSecond, long PageSize)
{
    /// <summary>The running system's procfs. Clock ticks come from sysconf, never a hard-coded 100.</summary>
    public static ProcFsLayout System { get; } = new("/proc", LinuxNative.ClockTicksPerSecond(), Environment.SystemPageSize);
}

internal static partial class LinuxNative
{
    // <unistd.h> on Linux: _SC_CLK_TCK is 2 in glibc and musl.
    private const int ScClkTck = 2;

    [LibraryImport("libc", EntryPoint = "sysconf", SetLastError = true)]
    private static partial long SysConf(int name);

    public static long ClockTicksPerSecond()
    {
        if (!OperatingSystem.IsLinux()) return 100;
        long hz = SysConf(ScClkTck);
        return hz > 0 ? hz : 100;
    }
}
