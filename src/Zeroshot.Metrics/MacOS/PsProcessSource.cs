using System.Runtime.Versioning;

namespace Zeroshot.Metrics.MacOS;

/// <summary>
/// The fallback process source for macOS when libproc cannot be loaded: one <c>ps</c> run per tick
/// for the whole process table (acceptable only there and only as a fallback; the Linux backend
/// never spawns tools). Threads are unknown (macOS ps has no thread-count column).
/// </summary>
internal sealed class PsProcessSource : IMacProcessSource
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private readonly Func<string?> _runPs;
    private readonly List<PsRow> _rows = new();
    private readonly Dictionary<int, int> _indexByPid = new();
    private readonly Dictionary<int, int> _firstChildIndex = new();
    private readonly List<int> _nextSiblingIndex = new();

    /// <summary>Creates a source over <paramref name="runPs"/>, which returns the output of <c>ps</c> or null when it failed.</summary>
    public PsProcessSource(Func<string?> runPs) => _runPs = runPs;

    /// <summary>Runs macOS <c>ps -axo <see cref="PsOutputParser.Columns"/></c>; null when it failed.</summary>
    [SupportedOSPlatform("macos")]
    public static string? RunPs()
    {
        ToolResult r = ToolRunner.Run("/bin/ps", ["-axo", PsOutputParser.Columns], Timeout);
        return r.Status == ToolStatus.Ok ? r.Output : null;
    }

    /// <inheritdoc />
    public bool BeginTick()
    {
        _rows.Clear();
        _indexByPid.Clear();
        _firstChildIndex.Clear();
        _nextSiblingIndex.Clear();
        string? text = _runPs();
        if (text is null)
            return false;
        PsOutputParser.Parse(text, _rows);

        // Children as singly linked lists threaded through the row indexes: no per-tick allocation
        // once the collections have grown.
        for (int i = 0; i < _rows.Count; i++)
        {
            PsRow row = _rows[i];
            _indexByPid[row.Pid] = i;
            _nextSiblingIndex.Add(-1);
            if (row.Ppid == row.Pid)
                continue; // kernel_task (pid 0) is its own parent; never its own child.
            if (_firstChildIndex.TryGetValue(row.Ppid, out int first))
                _nextSiblingIndex[i] = first;
            _firstChildIndex[row.Ppid] = i;
        }
        return true;
    }

    /// <inheritdoc />
    public bool TryGet(int pid, out MacProc proc)
    {
        if (!_indexByPid.TryGetValue(pid, out int i))
        {
            proc = default;
            return false;
        }
        PsRow r = _rows[i];
        proc = new MacProc(r.Pid, r.Ppid, r.StartSeconds, r.CpuNs, r.RssKiB * 1024, Threads: null, r.State);
        return true;
    }

    /// <inheritdoc />
    public void GetChildren(int pid, List<int> into)
    {
        if (!_firstChildIndex.TryGetValue(pid, out int i))
            return;
        for (; i >= 0; i = _nextSiblingIndex[i])
            into.Add(_rows[i].Pid);
    }
}
