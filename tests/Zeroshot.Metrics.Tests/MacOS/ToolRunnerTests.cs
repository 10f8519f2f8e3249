using Zeroshot.Metrics.MacOS;

namespace Zeroshot.Metrics.Tests.MacOS;

// ToolRunner is platform-neutral; these run real processes here.
public class ToolRunnerTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);

    [Fact]
    public void CapturesStandardOutputInTheCLocale()
    {
        ToolResult r = ToolRunner.Run("/bin/sh", ["-c", "printf '%s|' \"$LC_ALL\"; echo out; echo err >&2"], Generous);
        Assert.Equal(ToolStatus.Ok, r.Status);
        Assert.Equal("C|out\n", r.Output);
    }

    [Fact]
    public void MissingToolIsMissing()
    {
        ToolResult r = ToolRunner.Run("/nonexistent/zeroshot-no-such-tool", [], Generous);
        Assert.Equal(ToolStatus.Missing, r.Status);
    }

    [Fact]
    public void ExitCodeAboveAcceptedIsFailure()
    {
        Assert.Equal(ToolStatus.Failed, ToolRunner.Run("/bin/sh", ["-c", "echo x; exit 3"], Generous).Status);
        Assert.Equal(ToolStatus.Ok, ToolRunner.Run("/bin/sh", ["-c", "exit 1"], Generous, maxOkExitCode: 1).Status);
    }

    [Fact]
    public void HangingToolIsKilledAtTheDeadline()
    {
        string dir = Directory.CreateTempSubdirectory("zs-toolrunner-").FullName;
        try
        {
            string pidFile = Path.Combine(dir, "pid");
            ToolResult r = ToolRunner.Run("/bin/sh", ["-c", $"echo $$ > '{pidFile}'; exec sleep 600"], TimeSpan.FromMilliseconds(300));
            Assert.Equal(ToolStatus.Failed, r.Status);
            int pid = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.False(UnsupportedTreeSampler.ProcessExists(pid), $"pid {pid} should have been killed and reaped");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
