using System.Diagnostics;
using System.Text.Json;

namespace Zeroshot.Cli.Tests;

public class MetricsCommandTests
{
    private static readonly string[] Fields =
    [
        "timestamp", "pid", "exists", "state", "cpuPercent", "memoryMB", "ioReadBytesPerSec", "ioWriteBytesPerSec",
        "readCharsPerSec", "writeCharsPerSec", "netRxBytesPerSec", "netTxBytesPerSec", "networkState", "childCount", "threads",
    ];

    private static Process Sleeper(string seconds = "1000")
    {
        var info = new ProcessStartInfo("bash", ["-c", $"sleep {seconds} & wait"]) { UseShellExecute = false };
        return Process.Start(info)!;
    }

    [Fact]
    public void Json_prints_count_records_with_exactly_the_documented_fields()
    {
        using var tree = Sleeper();
        try
        {
            var r = ZeroshotProcess.Run("metrics", "--pid", tree.Id.ToString(), "--json", "--count", "3", "--interval", "100");
            Assert.Equal(0, r.ExitCode);
            var lines = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(3, lines.Length);
            foreach (var line in lines)
            {
                using var doc = JsonDocument.Parse(line);
                var root = doc.RootElement;
                Assert.Equal(Fields, root.EnumerateObject().Select(p => p.Name));
                Assert.Equal(tree.Id, root.GetProperty("pid").GetInt32());
                Assert.True(root.GetProperty("exists").GetBoolean());
                Assert.Equal(1, root.GetProperty("childCount").GetInt32());
                Assert.Equal(JsonValueKind.Number, root.GetProperty("cpuPercent").ValueKind);
                Assert.True(root.GetProperty("memoryMB").GetDouble() > 0);
                Assert.EndsWith("Z", root.GetProperty("timestamp").GetString());
                var net = root.GetProperty("networkState");
                if (net.ValueKind != JsonValueKind.Null)
                    Assert.Equal(["established", "sendQueueBytes", "recvQueueBytes", "connecting", "lastReceiveMs"], net.EnumerateObject().Select(p => p.Name));
            }
        }
        finally
        {
            tree.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public void Readable_lines_show_every_family()
    {
        using var tree = Sleeper();
        try
        {
            var r = ZeroshotProcess.Run("metrics", "--pid", tree.Id.ToString(), "--count", "1", "--interval", "100");
            Assert.Equal(0, r.ExitCode);
            Assert.Matches(@"^CPU \d+\.\d% │ Mem \d+\.\dMB │ Net (-|↓\S+ ↑\S+) │ IO r\S+B/s w\S+B/s │ 1 child\n$", r.Out);
        }
        finally
        {
            tree.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public void When_the_process_exits_a_last_record_says_so_and_the_exit_code_is_0()
    {
        // Long enough for a JIT-started zeroshot to find it alive on a loaded machine (it starts in ~130 ms idle).
        using var tree = Sleeper("2");
        var r = ZeroshotProcess.Run("metrics", "--pid", tree.Id.ToString(), "--json", "--interval", "100");
        Assert.Equal(0, r.ExitCode);
        var last = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
        using var doc = JsonDocument.Parse(last);
        Assert.False(doc.RootElement.GetProperty("exists").GetBoolean());
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("cpuPercent").ValueKind);
    }

    [Fact]
    public void Ctrl_C_ends_the_stream_cleanly_with_exit_0()
    {
        using var tree = Sleeper();
        using var run = ZeroshotProcess.Start(null, "metrics", "--pid", tree.Id.ToString(), "--interval", "100");
        try
        {
            Wait.Until(() => run.OutSoFar.Contains("CPU ", StringComparison.Ordinal), "the first record");
            using (var kill = Process.Start("kill", ["-INT", run.Process.Id.ToString()])) kill.WaitForExit();
            var r = run.Wait(TimeSpan.FromSeconds(20));
            Assert.Equal(0, r.ExitCode);
            Assert.Empty(r.Error);
            Assert.All(r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => Assert.StartsWith("CPU ", line));
        }
        finally
        {
            tree.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public void A_reader_that_goes_away_ends_the_stream_with_exit_0()
    {
        using var tree = Sleeper();
        try
        {
            var info = new ProcessStartInfo("bash", ["-c", $"{ZeroshotProcess.Command} metrics --pid {tree.Id} --json --interval 100 | head -1 >/dev/null; echo \"exit=${{PIPESTATUS[0]}}\""])
            {
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            using var pipeline = Process.Start(info)!;
            Assert.True(pipeline.WaitForExit(TimeSpan.FromSeconds(30)), "metrics kept running after its reader exited");
            Assert.Equal("exit=0", pipeline.StandardOutput.ReadToEnd().Trim());
        }
        finally
        {
            tree.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public void A_pid_that_does_not_exist_is_one_line_and_exit_1()
    {
        var r = ZeroshotProcess.Run("metrics", "--pid", "4194303");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("zeroshot: no such process: 4194303\n", r.Error);
        Assert.Empty(r.Out);
    }

    [Theory]
    [InlineData("--pid abc", "--pid")]
    [InlineData("--pid 0", "--pid")]
    [InlineData("--pid 1 --interval 10", "--interval")]
    [InlineData("--pid 1 --interval x", "--interval")]
    [InlineData("--pid 1 --count 0", "--count")]
    [InlineData("--pid 1 --bogus", "--bogus")]
    [InlineData("", "--pid")]
    public void Malformed_or_out_of_range_options_are_usage_errors_naming_the_option(string args, string named)
    {
        var r = ZeroshotProcess.Run(["metrics", .. args.Split(' ', StringSplitOptions.RemoveEmptyEntries)]);
        Assert.Equal(2, r.ExitCode);
        var first = r.Error.Split('\n')[0];
        Assert.StartsWith("zeroshot: ", first);
        Assert.Contains(named, first);
        Assert.DoesNotContain("   at ", r.Error);
    }

    [Fact]
    public void Help_describes_every_option()
    {
        var r = ZeroshotProcess.Run("metrics", "--help");
        Assert.Equal(0, r.ExitCode);
        foreach (var option in new[] { "--pid", "--interval", "--count", "--json", "--pss" }) Assert.Contains(option, r.Out);
        var top = ZeroshotProcess.Run("--help");
        Assert.Contains("metrics", top.Out);
    }
}
