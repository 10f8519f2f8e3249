using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Zeroshot.Metrics;

/// <summary>
/// The sampler for platforms without a metrics backend: it only tells whether each root process
/// still exists and leaves every metric family null.
/// </summary>
/// <remarks>
/// Existence comes from <c>kill(pid, 0)</c> on Unix-like systems (POSIX kill(2): signal 0 performs
/// the error checks only; ESRCH means no such process, EPERM means it exists but belongs to someone
/// else) and from <see cref="Process.GetProcessById(int)"/> on Windows. Without a start time there is
/// no identity check, so as a partial defence against pid reuse a root once seen gone stays gone
/// for as long as it keeps being passed in.
/// </remarks>
public sealed partial class UnsupportedTreeSampler : ITreeSampler
{
    // ESRCH is 3 on Linux, macOS and the BSDs (errno.h).
    private const int Esrch = 3;

    private readonly TimeProvider _time;
    private readonly Func<int, bool> _exists;
    private readonly HashSet<int> _gone = [];
    private readonly HashSet<int> _passed = [];
    private readonly List<int> _forget = [];

    /// <summary>Creates a sampler that takes its timestamps from <paramref name="timeProvider"/>.</summary>
    public UnsupportedTreeSampler(TimeProvider timeProvider)
        : this(timeProvider, ProcessExists)
    {
    }

    internal UnsupportedTreeSampler(TimeProvider timeProvider, Func<int, bool> exists)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        _time = timeProvider;
        _exists = exists;
    }

    /// <inheritdoc />
    public void Sample(IReadOnlyList<int> rootPids, List<TreeSample> into)
    {
        ArgumentNullException.ThrowIfNull(rootPids);
        ArgumentNullException.ThrowIfNull(into);
        DateTimeOffset now = _time.GetUtcNow();
        _passed.Clear();
        for (int i = 0; i < rootPids.Count; i++)
        {
            int pid = rootPids[i];
            _passed.Add(pid);
            bool exists = !_gone.Contains(pid) && _exists(pid);
            if (!exists)
                _gone.Add(pid);
            into.Add(new TreeSample { Timestamp = now, Pid = pid, Exists = exists });
        }

        // Roots not passed in this tick are forgotten (ITreeSampler contract).
        _forget.Clear();
        foreach (int pid in _gone)
        {
            if (!_passed.Contains(pid))
                _forget.Add(pid);
        }
        foreach (int pid in _forget)
            _gone.Remove(pid);
    }

    /// <inheritdoc />
    public void Dispose() { }

    /// <summary>Whether a process with this pid exists now (forbidden counts as existing).</summary>
    internal static bool ProcessExists(int pid)
    {
        if (pid <= 0)
            return false; // kill(0 or negative) addresses process groups, not a process.
        if (OperatingSystem.IsWindows())
            return WindowsProcessExists(pid);
        int rc = Kill(pid, 0);
        return ExistsFromKill(rc, rc == 0 ? 0 : Marshal.GetLastPInvokeError());
    }

    /// <summary>Maps the result of <c>kill(pid, 0)</c> to existence: only ESRCH means "no such process".</summary>
    internal static bool ExistsFromKill(int returnCode, int errno) => returnCode == 0 || errno != Esrch;

    private static bool WindowsProcessExists(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return true;
        }
        catch (ArgumentException)
        {
            return false; // "The process specified by the processId parameter is not running."
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
