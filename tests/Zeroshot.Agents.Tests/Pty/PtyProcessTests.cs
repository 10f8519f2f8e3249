using System.Globalization;
using System.Runtime.Versioning;
using System.Text;
using Zeroshot.Agents.Pty;
using static Zeroshot.Agents.Tests.Pty.PtyTestKit;

namespace Zeroshot.Agents.Tests.Pty;

[SupportedOSPlatform("linux")]
public sealed class PtyProcessTests
{
    private const int SIGTERM = 15;
    private const int SIGKILL = 9;

    [Fact]
    public async Task ChildHasTheTerminalOnStdinStdoutAndStderr()
    {
        await using PtyProcess pty = PtyProcess.Start(Bash("test -t 0 && test -t 1 && test -t 2 && echo tty-ok"));
        var output = new OutputCollector(pty);

        Assert.Contains("tty-ok", await output.ToEndAsync(), StringComparison.Ordinal);
        Assert.Equal(new PtyExit(0, null), await ExitWithinDeadline(pty));
        Assert.StartsWith("/dev/pts/", pty.TerminalPath, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StandardInputBytesReplaceTheTerminalOnStdinOnly()
    {
        // 300 KB: more than a pipe buffer and than any argument could hold; read to end of file, in order.
        var input = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 30_000).Select(i => $"{i,9}\n")));
        await using PtyProcess pty = PtyProcess.Start(new PtyStartInfo
        {
            FileName = "bash",
            Arguments = ["-c", "test -t 0 || echo stdin-not-tty; test -t 1 && test -t 2 && echo out-tty; " +
                "echo ctty=$(ps -o tty= -p $$); wc -c | tr -d ' '; readlink /proc/self/fd/0"],
            Environment = BaseEnvironment(),
            StandardInput = input,
        });
        string output = await new OutputCollector(pty).ToEndAsync();

        Assert.Contains("stdin-not-tty\r\nout-tty\r\n", output, StringComparison.Ordinal);
        Assert.Contains($"ctty={pty.TerminalPath["/dev/".Length..]}\r\n", output, StringComparison.Ordinal); // still the controlling terminal
        Assert.Contains($"\r\n{input.Length}\r\n", output, StringComparison.Ordinal);
        Assert.Contains("/memfd:stdin (deleted)", output, StringComparison.Ordinal); // in memory, never on disk
        Assert.Equal(new PtyExit(0, null), await ExitWithinDeadline(pty));
    }

    [Fact]
    public async Task TerminalIsTheControllingTerminalOfANewSession()
    {
        // /proc/self/stat of the exec'ed cat: its session and process group are its own pid, and tty_nr is set.
        await using PtyProcess pty = PtyProcess.Start(new PtyStartInfo
        {
            FileName = "cat",
            Arguments = ["/proc/self/stat"],
            Environment = BaseEnvironment(),
        });
        string stat = await new OutputCollector(pty).ToEndAsync();

        ProcStatIds ids = ProcessGroupScanner.ParseStat(stat.TrimEnd());
        Assert.Equal(pty.Pid, ids.Pid);
        Assert.Equal(pty.Pid, ids.Session);
        Assert.Equal(pty.Pid, ids.ProcessGroup);
        string[] afterComm = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        Assert.NotEqual("0", afterComm[4]); // field 7, tty_nr
        Assert.Equal(afterComm[2], afterComm[5]); // field 8, tpgid == pgrp: we are the foreground group
    }

    [Fact]
    public async Task WindowSizeIsSetBeforeTheChildRuns()
    {
        await using PtyProcess pty = PtyProcess.Start(Bash("stty size", columns: 123, rows: 45));

        Assert.Contains("45 123", await new OutputCollector(pty).ToEndAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResizeReachesTheChildAsSigwinch()
    {
        await using PtyProcess pty = PtyProcess.Start(Bash(
            "trap 'echo \"size=$(stty size)\"' WINCH; echo ready; while :; do sleep 0.05; done", columns: 80, rows: 24));
        var output = new OutputCollector(pty);
        await output.WaitUntilContainsAsync("ready");

        pty.Resize(100, 30);

        await output.WaitUntilContainsAsync("size=30 100");
        Assert.Equal((100, 30), pty.GetSize());
        await pty.StopAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task EnvironmentIsExactlyTheGivenOneAndWorkingDirectoryIsSet()
    {
        string directory = TempDirectory();
        try
        {
            Dictionary<string, string> environment = BaseEnvironment();
            environment["ZS_VALUE"] = "a b=c ü";
            Assert.NotNull(Environment.GetEnvironmentVariable("HOME")); // set here, so "unset" below proves no inheritance
            await using PtyProcess pty = PtyProcess.Start(Bash(
                "printf '%s|%s|%s\\n' \"$ZS_VALUE\" \"$(pwd -P)\" \"${HOME-unset}\"", environment, directory));

            string text = await new OutputCollector(pty).ToEndAsync();

            Assert.Contains($"a b=c ü|{directory}|unset", text, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task WithoutAnEnvironmentTheChildInheritsThisProcessEnvironment()
    {
        Assert.Equal(Environment.GetEnvironmentVariable("PATH"), ProcessEnvironment.Snapshot()["PATH"]);
        await using PtyProcess pty = PtyProcess.Start(new PtyStartInfo { FileName = "bash", Arguments = ["-c", "printf 'home=%s\\n' \"$HOME\""] });

        string text = await new OutputCollector(pty).ToEndAsync();

        Assert.Contains($"home={Environment.GetEnvironmentVariable("HOME")}", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExitCodeIsReported()
    {
        await using PtyProcess pty = PtyProcess.Start(Bash("exit 7"));
        _ = new OutputCollector(pty);

        PtyExit exit = await ExitWithinDeadline(pty);

        Assert.Equal(7, exit.ExitCode);
        Assert.Null(exit.Signal);
        Assert.Equal(7, exit.ShellCode);
    }

    [Fact]
    public async Task WritingAfterTheAgentClosedItsTerminalFails()
    {
        await using PtyProcess pty = PtyProcess.Start(Bash("exit 0"));
        await new OutputCollector(pty).ToEndAsync();

        Assert.Throws<IOException>(() => pty.Write("late\r"u8));
        Assert.Throws<ArgumentException>(() => pty.Read([]));
    }

    [Fact]
    public async Task TerminatingSignalIsReported()
    {
        await using PtyProcess pty = PtyProcess.Start(new PtyStartInfo { FileName = "sleep", Arguments = ["1000"], Environment = BaseEnvironment() });

        Assert.True(pty.Signal(SIGTERM));
        PtyExit exit = await ExitWithinDeadline(pty);

        Assert.Equal(new PtyExit(null, SIGTERM), exit);
        Assert.Equal(128 + SIGTERM, exit.ShellCode);
        Assert.False(pty.Signal(SIGTERM)); // the group is empty now
    }

    [Fact]
    public async Task ChildStartsWithNoIgnoredOrBlockedSignals()
    {
        // Precondition that makes this test meaningful: the .NET host ignores SIGPIPE (bit 13 of SigIgn).
        Assert.NotEqual(0UL, ReadMask(File.ReadAllText("/proc/self/status"), "SigIgn") & (1UL << (13 - 1)));

        await using PtyProcess pty = PtyProcess.Start(new PtyStartInfo
        {
            FileName = "cat",
            Arguments = ["/proc/self/status"],
            Environment = BaseEnvironment(),
        });
        string status = await new OutputCollector(pty).ToEndAsync();

        // Signals 1..31 (bits 0..30). glibc's posix_spawn itself sets its internal signals 32 and 33 (SIGCANCEL,
        // SIGSETXID) to SIG_IGN in every child it spawns, C callers included; glibc re-arms them when it needs them.
        Assert.Equal(0UL, ReadMask(status, "SigIgn") & 0x7FFF_FFFFUL);
        Assert.Equal(0UL, ReadMask(status, "SigBlk"));
    }

    [Fact]
    public async Task SigpipeKillsAWriterToAClosedPipe()
    {
        // With SIGPIPE at SIG_DFL, yes dies of it (141); had it inherited SIG_IGN it would exit 1 on EPIPE.
        await using PtyProcess pty = PtyProcess.Start(Bash("set -o pipefail; yes | head -n 1; echo \"status=$?\""));

        Assert.Contains("status=141", await new OutputCollector(pty).ToEndAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public void MissingExecutableGivesAClearError()
    {
        var error = Assert.Throws<ExecutableNotFoundException>(
            () => PtyProcess.Start(new PtyStartInfo { FileName = "zeroshot-no-such-program", Environment = BaseEnvironment() }));

        Assert.Equal("executable 'zeroshot-no-such-program' not found (not on PATH)", error.Message);
        Assert.Equal("zeroshot-no-such-program", error.Executable);
        Assert.Throws<ExecutableNotFoundException>(() => PtyProcess.Start(new PtyStartInfo { FileName = "/nonexistent/agent" }));
    }

    [Fact]
    public void NonExecutableFileAndMissingWorkingDirectoryAreRejected()
    {
        string directory = TempDirectory();
        try
        {
            string script = Path.Combine(directory, "agent");
            File.WriteAllText(script, "#!/bin/sh\necho hi\n");
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            // Even root passes access(X_OK) only when some execute bit is set (access(2)).
            Assert.Throws<ExecutableNotFoundException>(() => PtyProcess.Start(new PtyStartInfo { FileName = script }));
            Assert.Throws<DirectoryNotFoundException>(() => PtyProcess.Start(new PtyStartInfo
            {
                FileName = "bash",
                WorkingDirectory = Path.Combine(directory, "missing"),
            }));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task ProgramIsSearchedInTheChildsPath()
    {
        string directory = TempDirectory();
        try
        {
            string script = Path.Combine(directory, "zs-test-agent");
            File.WriteAllText(script, "#!/bin/sh\necho \"from-path $1\"\n");
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.UserWrite);
            Dictionary<string, string> environment = BaseEnvironment();
            environment["PATH"] = directory + ":/usr/bin:/bin";

            await using PtyProcess pty = PtyProcess.Start(new PtyStartInfo { FileName = "zs-test-agent", Arguments = ["x y"], Environment = environment });

            Assert.Contains("from-path x y", await new OutputCollector(pty).ToEndAsync(), StringComparison.Ordinal);
            Assert.Equal(Path.Combine(directory, "zs-test-agent"), PtyProcess.ResolveExecutable(new PtyStartInfo { FileName = "zs-test-agent", Environment = environment }));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void InvalidInputIsRejected()
    {
        Assert.Throws<ArgumentException>(() => PtyProcess.Start(Bash("true", new Dictionary<string, string> { ["A=B"] = "x" })));
        Assert.Throws<ArgumentException>(() => PtyProcess.Start(Bash("true\0")));
        Assert.Throws<ArgumentOutOfRangeException>(() => PtyProcess.Start(Bash("true", columns: 0)));
    }

    [Fact]
    public async Task StopAsyncKillsAGroupThatIgnoresSigtermAndLeavesNoOrphan()
    {
        await using PtyProcess pty = PtyProcess.Start(Bash("trap '' TERM; sleep 1000 & echo \"bg=$!\"; wait"));
        var output = new OutputCollector(pty);
        int background = await ReadBackgroundPid(output);

        PtyExit exit = await pty.StopAsync(TimeSpan.FromMilliseconds(200)).WaitAsync(Deadline);

        Assert.Equal(new PtyExit(null, SIGKILL), exit);
        Assert.True(IsGone(background), $"background sleep {background} survived");
        Assert.Empty(ProcessGroupScanner.FindLiveMembers(pty.Pid));
        await output.ToEndAsync();
    }

    [Fact]
    public async Task StopAsyncReachesJobsInOtherProcessGroupsOfTheSession()
    {
        // set -m: job control puts the background job in its own process group, out of reach of kill(-pgid).
        await using PtyProcess pty = PtyProcess.Start(Bash("set -m; trap '' TERM; sleep 1000 & echo \"bg=$!\"; wait"));
        var output = new OutputCollector(pty);
        int background = await ReadBackgroundPid(output);
        ProcStatIds job = ProcessGroupScanner.ParseStat(File.ReadAllText($"/proc/{background}/stat"));
        Assert.NotEqual(pty.Pid, job.ProcessGroup);
        Assert.Equal(pty.Pid, job.Session);

        await pty.StopAsync(TimeSpan.FromMilliseconds(200)).WaitAsync(Deadline);

        Assert.True(IsGone(background), $"job {background} in group {job.ProcessGroup} survived");
        Assert.Empty(ProcessGroupScanner.FindLiveMembers(pty.Pid));
    }

    [Fact]
    public async Task StopAsyncEndsWithSigtermWhenTheAgentHonoursIt()
    {
        await using PtyProcess pty = PtyProcess.Start(new PtyStartInfo { FileName = "sleep", Arguments = ["1000"], Environment = BaseEnvironment() });

        PtyExit exit = await pty.StopAsync(Deadline).WaitAsync(Deadline);

        Assert.Equal(new PtyExit(null, SIGTERM), exit);
    }

    [Fact]
    public async Task StopAsyncEndsAStoppedAgentWithSigterm()
    {
        await using PtyProcess pty = PtyProcess.Start(new PtyStartInfo { FileName = "sleep", Arguments = ["1000"], Environment = BaseEnvironment() });
        Assert.True(pty.Signal(19)); // SIGSTOP
        await WaitUntilAsync(() => ProcessGroupScanner.ParseStat(File.ReadAllText($"/proc/{pty.Pid}/stat")).State == 'T', "the agent to stop");

        PtyExit exit = await pty.StopAsync(Deadline).WaitAsync(Deadline);

        Assert.Equal(new PtyExit(null, SIGTERM), exit);
    }

    [Fact]
    public async Task DisposeKillsTheSessionAndWakesABlockedRead()
    {
        PtyProcess pty = PtyProcess.Start(Bash("sleep 1000 & echo \"bg=$!\"; wait"));
        var buffer = new byte[4096];
        string text = Encoding.ASCII.GetString(buffer, 0, pty.Read(buffer));
        while (!text.Contains('\n', StringComparison.Ordinal))
        {
            text += Encoding.ASCII.GetString(buffer, 0, pty.Read(buffer));
        }

        int background = int.Parse(text.Split("bg=")[1].Trim(), CultureInfo.InvariantCulture);
        Task<int> blockedRead = Task.Factory.StartNew(() => pty.Read(buffer), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        pty.Dispose();

        Assert.Equal(0, await blockedRead.WaitAsync(Deadline));
        Assert.Equal(new PtyExit(null, SIGKILL), await ExitWithinDeadline(pty));
        await WaitUntilAsync(() => IsGone(background), $"background sleep {background} to die");
        Assert.Equal(0, pty.Read(buffer));
        Assert.Throws<ObjectDisposedException>(() => pty.Write("x"u8));
    }

    [Fact]
    public async Task ReadHonoursCancellation()
    {
        await using PtyProcess pty = PtyProcess.Start(new PtyStartInfo { FileName = "sleep", Arguments = ["1000"], Environment = BaseEnvironment() });
        using var cancellation = new CancellationTokenSource();
        var buffer = new byte[64];
        Task<int> read = Task.Factory.StartNew(() => pty.Read(buffer, cancellation.Token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.WaitAsync(Deadline));
    }

    [Fact]
    public async Task InputWrittenToTheTerminalReachesTheChild()
    {
        await using PtyProcess pty = PtyProcess.Start(Bash("echo ready; read -r line; echo \"got:$line\""));
        var output = new OutputCollector(pty);
        await output.WaitUntilContainsAsync("ready");

        pty.Write("hello agent\r"u8); // Enter sends CR; ICRNL turns it into NL for the reader.

        await output.WaitUntilContainsAsync("got:hello agent");
        Assert.Equal(new PtyExit(0, null), await ExitWithinDeadline(pty));
    }

    [Fact]
    public async Task NewlinesBecomeCrLfAsOnARealTerminal()
    {
        await using PtyProcess pty = PtyProcess.Start(Bash("printf 'a\\nb'"));

        Assert.Equal("a\r\nb"u8.ToArray(), await ReadAllBytes(pty));
    }

    [Fact]
    public async Task TwoTerminalsRunSideBySide()
    {
        Dictionary<string, string> first = BaseEnvironment();
        first["ZS_NAME"] = "first";
        Dictionary<string, string> second = BaseEnvironment();
        second["ZS_NAME"] = "second";
        await using PtyProcess a = PtyProcess.Start(Bash("for i in 1 2 3; do echo \"$ZS_NAME-$i $(stty size)\"; done", first, columns: 90, rows: 20));
        await using PtyProcess b = PtyProcess.Start(Bash("for i in 1 2 3; do echo \"$ZS_NAME-$i $(stty size)\"; done", second, columns: 70, rows: 10));
        var outputA = new OutputCollector(a);
        var outputB = new OutputCollector(b);

        string textA = await outputA.ToEndAsync();
        string textB = await outputB.ToEndAsync();

        Assert.NotEqual(a.TerminalPath, b.TerminalPath);
        Assert.Equal("first-1 20 90\r\nfirst-2 20 90\r\nfirst-3 20 90\r\n", textA);
        Assert.Equal("second-1 10 70\r\nsecond-2 10 70\r\nsecond-3 10 70\r\n", textB);
        Assert.Equal(new PtyExit(0, null), await ExitWithinDeadline(a));
        Assert.Equal(new PtyExit(0, null), await ExitWithinDeadline(b));
    }


    [Fact]
    public async Task NoDescriptorOfTheParentLeaksIntoTheChild()
    {
        // A descriptor without O_CLOEXEC in the parent: only the closefrom file action keeps it out.
        int leaky = TestLibc.dup(1);
        Assert.True(leaky > 2);
        try
        {
            await using PtyProcess pty = PtyProcess.Start(new PtyStartInfo { FileName = "sleep", Arguments = ["1000"], Environment = BaseEnvironment() });
            string fdDirectory = $"/proc/{pty.Pid}/fd";
            // Until sleep runs, the dynamic loader briefly holds the libraries it maps; a leaked descriptor
            // would stay for good, so wait for exactly 0, 1 and 2.
            string[] fds = [];
            await WaitUntilAsync(
                () => (fds = Directory.GetFiles(fdDirectory).Select(f => Path.GetFileName(f)).Order().ToArray()).SequenceEqual(["0", "1", "2"]),
                () => $"the child's descriptors to be only 0, 1, 2 (have {string.Join(' ', fds)})");

            Assert.All(fds, fd => Assert.Equal(pty.TerminalPath, new FileInfo(Path.Combine(fdDirectory, fd)).LinkTarget));
        }
        finally
        {
            _ = TestLibc.close(leaky);
        }
    }

    [Fact]
    public async Task ExitStatusSurvivesDotnetsOwnChildReaping()
    {
        // System.Diagnostics.Process installs .NET's SIGCHLD handling; outside its reap-all mode (pid 1, or
        // SIGCHLD ignored at startup) it must leave our child's status to our waitpid.
        await using PtyProcess pty = PtyProcess.Start(Bash("read -r; exit 3"));
        var output = new OutputCollector(pty);
        using (var first = System.Diagnostics.Process.Start("true"))
        {
            await first.WaitForExitAsync().WaitAsync(Deadline);
        }

        pty.Write("\r"u8);
        for (int i = 0; i < 5; i++)
        {
            using var other = System.Diagnostics.Process.Start("true");
            await other.WaitForExitAsync().WaitAsync(Deadline);
        }

        Assert.Equal(new PtyExit(3, null), await ExitWithinDeadline(pty));
        await output.ToEndAsync();
    }

    private static async Task<int> ReadBackgroundPid(OutputCollector output)
    {
        await output.WaitUntilContainsAsync("\r\n");
        return int.Parse(output.Text.Split("bg=")[1].Split('\r')[0], CultureInfo.InvariantCulture);
    }

    private static Task<byte[]> ReadAllBytes(PtyProcess pty) => Task.Run(async () =>
    {
        var collector = new OutputCollector(pty);
        await collector.ToEndAsync();
        return collector.Bytes;
    });

    private static ulong ReadMask(string status, string name)
    {
        string line = status.Split('\n').Single(l => l.StartsWith(name + ":", StringComparison.Ordinal));
        return ulong.Parse(line[(name.Length + 1)..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }
}

internal static partial class TestLibc
{
    [System.Runtime.InteropServices.LibraryImport("libc", SetLastError = true)]
    internal static partial int dup(int fd);

    [System.Runtime.InteropServices.LibraryImport("libc", SetLastError = true)]
    internal static partial int close(int fd);
}
