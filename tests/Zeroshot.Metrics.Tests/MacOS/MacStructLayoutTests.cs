using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Zeroshot.Metrics.MacOS;

namespace Zeroshot.Metrics.Tests.MacOS;

// Sizes and offsets computed from XNU bsd/sys/proc_info.h (MAXCOMLEN = 16): proc_libproc checks
// the buffer size against sizeof(struct ...), so a wrong layout makes every call fail.
public class MacStructLayoutTests
{
    [Fact]
    public void ProcBsdInfoMatchesHeader()
    {
        Assert.Equal(136, Unsafe.SizeOf<ProcBsdInfo>());
        Assert.Equal(ProcBsdInfo.ExpectedSize, Marshal.SizeOf<ProcBsdInfo>());
        Assert.Equal(4, Offset<ProcBsdInfo>(nameof(ProcBsdInfo.Status)));
        Assert.Equal(16, Offset<ProcBsdInfo>(nameof(ProcBsdInfo.Ppid)));
        Assert.Equal(48, Offset<ProcBsdInfo>(nameof(ProcBsdInfo.Comm)));
        Assert.Equal(64, Offset<ProcBsdInfo>(nameof(ProcBsdInfo.Name)));
        Assert.Equal(96, Offset<ProcBsdInfo>(nameof(ProcBsdInfo.NFiles)));
        Assert.Equal(120, Offset<ProcBsdInfo>(nameof(ProcBsdInfo.StartTvSec)));
        Assert.Equal(128, Offset<ProcBsdInfo>(nameof(ProcBsdInfo.StartTvUsec)));
    }

    [Fact]
    public void ProcTaskInfoMatchesHeader()
    {
        Assert.Equal(96, Unsafe.SizeOf<ProcTaskInfo>());
        Assert.Equal(ProcTaskInfo.ExpectedSize, Marshal.SizeOf<ProcTaskInfo>());
        Assert.Equal(8, Offset<ProcTaskInfo>(nameof(ProcTaskInfo.ResidentSize)));
        Assert.Equal(16, Offset<ProcTaskInfo>(nameof(ProcTaskInfo.TotalUser)));
        Assert.Equal(24, Offset<ProcTaskInfo>(nameof(ProcTaskInfo.TotalSystem)));
        Assert.Equal(84, Offset<ProcTaskInfo>(nameof(ProcTaskInfo.ThreadNum)));
        Assert.Equal(88, Offset<ProcTaskInfo>(nameof(ProcTaskInfo.NumRunning)));
    }

    [Fact]
    public void MachTimebaseInfoIsTwoUInt32() => Assert.Equal(8, Unsafe.SizeOf<MachTimebaseInfo>());

    [Theory]
    [InlineData(ProcStatus.SIdl, 0, 'I')]
    [InlineData(ProcStatus.SRun, 2, 'R')]
    [InlineData(ProcStatus.SRun, 0, 'S')]
    [InlineData(ProcStatus.SSleep, 1, 'R')]
    [InlineData(ProcStatus.SStop, 1, 'T')]
    [InlineData(ProcStatus.SZomb, 0, 'Z')]
    public void StatusLetters(uint status, int running, char expected) =>
        Assert.Equal(expected, ProcStatus.Letter(status, running));

    [Fact]
    public void UnknownStatusOrRunningCountDegrades()
    {
        Assert.Null(ProcStatus.Letter(99, 1));
        Assert.Equal('S', ProcStatus.Letter(ProcStatus.SRun, null));
    }

    private static int Offset<T>(string field) => (int)Marshal.OffsetOf<T>(field);
}
