using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Zeroshot.Metrics.MacOS;

/// <summary>
/// The primary macOS process source: libproc's <c>proc_pidinfo</c> (PROC_PIDTBSDINFO for parent,
/// start time and status; PROC_PIDTASKINFO for CPU, RSS and threads) and <c>proc_listchildpids</c>
/// to walk the tree. Costs three system calls per tree member and spawns nothing.
/// </summary>
[SupportedOSPlatform("macos")]
internal sealed unsafe class LibProcProcessSource : IMacProcessSource
{
    // errno.h (Darwin)
    private const int Esrch = 3;

    private readonly uint _numer;
    private readonly uint _denom;
    private int[] _children = new int[256];

    private LibProcProcessSource(uint numer, uint denom)
    {
        _numer = numer;
        _denom = denom;
    }

    /// <summary>The source, or null when libproc or mach_timebase_info is unavailable (then <c>ps</c> is the fallback).</summary>
    public static LibProcProcessSource? TryCreate()
    {
        try
        {
            if (!NativeLibrary.TryLoad(LibProcNative.LibProc, typeof(LibProcProcessSource).Assembly, null, out IntPtr lib)
                || !NativeLibrary.TryGetExport(lib, "proc_pidinfo", out _)
                || !NativeLibrary.TryGetExport(lib, "proc_listchildpids", out _))
                return null;
            MachTimebaseInfo tb;
            if (LibProcNative.MachTimebase(&tb) != 0 || tb.Numer == 0 || tb.Denom == 0)
                return null;
            return new LibProcProcessSource(tb.Numer, tb.Denom);
        }
        catch (DllNotFoundException)
        {
            return null;
        }
        catch (EntryPointNotFoundException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public bool BeginTick() => true;

    /// <inheritdoc />
    public bool TryGet(int pid, out MacProc proc)
    {
        ProcBsdInfo bsd;
        int n = LibProcNative.ProcPidInfo(pid, LibProcNative.ProcPidTBsdInfo, 0, &bsd, sizeof(ProcBsdInfo));
        if (n != sizeof(ProcBsdInfo))
        {
            // ESRCH: gone (zombies are not found either: they have exited). Anything else, usually
            // EPERM for another user's process: it exists but we may not look inside.
            int errno = n <= 0 ? Marshal.GetLastPInvokeError() : 0;
            proc = new MacProc(pid, 0, 0, null, null, null, null);
            return errno != Esrch;
        }

        ProcTaskInfo task;
        long? cpu = null, rss = null;
        int? threads = null, running = null;
        if (LibProcNative.ProcPidInfo(pid, LibProcNative.ProcPidTaskInfo, 0, &task, sizeof(ProcTaskInfo)) == sizeof(ProcTaskInfo))
        {
            cpu = MacRates.MachToNanoseconds(task.TotalUser, _numer, _denom)
                + MacRates.MachToNanoseconds(task.TotalSystem, _numer, _denom);
            rss = (long)Math.Min(task.ResidentSize, long.MaxValue);
            threads = task.ThreadNum;
            running = task.NumRunning;
        }

        long start = unchecked((long)bsd.StartTvSec * 1_000_000 + (long)bsd.StartTvUsec);
        proc = new MacProc(pid, (int)bsd.Ppid, start, cpu, rss, threads, ProcStatus.Letter(bsd.Status, running));
        return true;
    }

    /// <inheritdoc />
    public void GetChildren(int pid, List<int> into)
    {
        while (true)
        {
            int count;
            fixed (int* buf = _children)
                count = LibProcNative.ProcListChildPids(pid, buf, _children.Length * sizeof(int));
            if (count <= 0)
                return; // no children, or the parent vanished
            if (count >= _children.Length)
            {
                // Possibly truncated: grow and ask again.
                _children = new int[_children.Length * 2];
                continue;
            }
            for (int i = 0; i < count; i++)
            {
                if (_children[i] > 0)
                    into.Add(_children[i]);
            }
            return;
        }
    }
}
