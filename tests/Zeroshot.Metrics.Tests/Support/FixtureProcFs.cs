using System.Globalization;
using Zeroshot.Metrics.Linux;

namespace Zeroshot.Metrics.Tests.Support;

/// <summary>
/// A fake procfs root in a temp directory: pid directories with stat and io files written
/// in the kernel's formats, rewritten in place between ticks (as procfs content changes).
/// </summary>
internal sealed class FixtureProcFs : IDisposable
{
    public const long Hz = 100;
    public const long PageSize = 4096;

    public FixtureProcFs()
    {
        Root = Path.Combine(Path.GetTempPath(), "zs-procfs-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public ProcFsLayout Layout => new(Root, Hz, PageSize);

    public void SetProcess(int pid, int ppid, ulong startTime, ulong utime = 0, ulong stime = 0, ulong cutime = 0, ulong cstime = 0,
        int threads = 1, ulong rssPages = 100, char state = 'S', string name = "proc", (ulong rchar, ulong wchar, ulong read, ulong write)? io = null)
    {
        var dir = Path.Combine(Root, pid.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "stat"), string.Create(CultureInfo.InvariantCulture,
            $"{pid} ({name}) {state} {ppid} {pid} {pid} 0 -1 4194304 100 0 0 0 {utime} {stime} {cutime} {cstime} 20 0 {threads} 0 {startTime} 1000000 {rssPages} 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n"));
        var (rchar, wchar, read, write) = io ?? (0, 0, 0, 0);
        File.WriteAllText(Path.Combine(dir, "io"), string.Create(CultureInfo.InvariantCulture,
            $"rchar: {rchar}\nwchar: {wchar}\nsyscr: 1\nsyscw: 1\nread_bytes: {read}\nwrite_bytes: {write}\ncancelled_write_bytes: 0\n"));
    }

    public void Remove(int pid) => Directory.Delete(Path.Combine(Root, pid.ToString(CultureInfo.InvariantCulture)), recursive: true);

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { /* best effort: a temp dir */ }
    }
}
