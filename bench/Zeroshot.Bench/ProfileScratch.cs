using System.Diagnostics;
using System.IO.Enumeration;
namespace Zeroshot.Bench;
internal static class ProfileScratch
{
    public static int Run(string[] args)
    {
        var sw = Stopwatch.StartNew(); int n = 0;
        var cpu0 = CpuClock.ThreadCpu();
        for (int i = 0; i < 2000; i++)
        {
            var e = new FileSystemEnumerable<int>("/proc", static (ref FileSystemEntry x) => int.TryParse(x.FileName, out int p) ? p : 0, new EnumerationOptions { AttributesToSkip = 0 }) { ShouldIncludePredicate = static (ref FileSystemEntry x) => x.IsDirectory };
            foreach (var p in e) n += p;
        }
        Console.WriteLine($"listing: {(CpuClock.ThreadCpu() - cpu0).TotalMicroseconds / 2000:0.0} µs cpu");
        var buf = new byte[4096];
        foreach (var f in new[] { "stat", "statm", "io", "status" })
        {
            using var h = File.OpenHandle($"/proc/self/{f}");
            cpu0 = CpuClock.ThreadCpu();
            for (int i = 0; i < 20000; i++) RandomAccess.Read(h, buf, 0);
            Console.WriteLine($"{f}: {(CpuClock.ThreadCpu() - cpu0).TotalMicroseconds / 20000:0.00} µs cpu");
        }
        return n == 0 ? 1 : 0;
    }
}
