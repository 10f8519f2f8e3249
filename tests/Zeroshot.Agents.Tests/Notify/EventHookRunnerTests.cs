using System.Diagnostics;
using System.Text.Json;
using Zeroshot.Agents.Notify;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Tests.State;
using static Zeroshot.Agents.Tests.Notify.NotifyTestKit;

namespace Zeroshot.Agents.Tests.Notify;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public class EventHookRunnerTests
{
    public static TheoryData<string, string[]> Splits => new()
    {
        { "notify-me", ["notify-me"] },
        { "  /usr/bin/hook   --flag  x ", ["/usr/bin/hook", "--flag", "x"] },
        { "hook 'two words' \"and three words\"", ["hook", "two words", "and three words"] },
        { "hook --title=\"a b\"c 'it''s'", ["hook", "--title=a bc", "its"] },
        { "hook '' \"\"", ["hook", "", ""] },
        { "hook 'no \\escapes \"here\"'", ["hook", "no \\escapes \"here\""] },
        { "hook \"say \\\"hi\\\" \\\\ \\n\"", ["hook", "say \"hi\" \\ \\n"] },
        { "hook a\\ b \\'c", ["hook", "a b", "'c"] },
        { "hook $HOME ~ *.txt | tee x; rm -rf /", ["hook", "$HOME", "~", "*.txt", "|", "tee", "x;", "rm", "-rf", "/"] },
        { "hook\tx\ny", ["hook", "x", "y"] },
    };

    [Theory]
    [MemberData(nameof(Splits))]
    public void The_option_value_is_split_into_argv_without_a_shell(string value, string[] expected) =>
        Assert.Equal(expected, EventHookRunner.ParseCommand(value));

    [Theory]
    [InlineData("", "--on-event: the command is empty")]
    [InlineData("   ", "--on-event: the command is empty")]
    [InlineData("'' x", "--on-event: the command is empty")]
    [InlineData("hook 'x", "--on-event: a single quote is not closed")]
    [InlineData("hook \"x\\\"", "--on-event: a double quote is not closed")]
    [InlineData("hook x\\", "--on-event: the value ends with a backslash")]
    public void A_value_that_does_not_split_is_a_usage_error(string value, string message)
    {
        var error = Assert.Throws<UserErrorException>(() => EventHookRunner.ParseCommand(value));
        Assert.Equal(message, error.Message);
        Assert.Equal(ExitCodes.Usage, error.ExitCode);
    }

    [Fact]
    public async Task The_hook_reads_the_event_as_json_on_stdin()
    {
        using var dir = new StoreTempDir();
        var output = dir.File("event.json");
        var script = Script(dir, "hook.sh", $"cat > {Sh(output)}; printf '%s|%s|%s' \"$ZEROSHOT_EVENT\" \"$1\" \"$2\" > {Sh(output + ".args")}; echo noise; echo noise >&2");
        var logs = new List<string>();
        var runner = EventHookRunner.Create($"{Sh(script)} 'first arg' \"$second\"", "/usr/bin:/bin", TimeSpan.FromSeconds(10), logs.Add);
        var e = AgentEvent.NeedsInput("c-1", "demo", "planner", "Allow Bash(rm -rf build)?", At);

        var outcome = await runner.RunAsync(e);

        Assert.Equal(ProcessStatus.Ok, outcome.Status);
        Assert.Equal(0, outcome.ExitCode);
        Assert.Empty(logs);
        Assert.Equal(e.ToJsonLine(), File.ReadAllBytes(output));
        using var doc = JsonDocument.Parse(File.ReadAllBytes(output));
        Assert.Equal("needs-input", doc.RootElement.GetProperty("event").GetString());
        Assert.Equal("Allow Bash(rm -rf build)?", doc.RootElement.GetProperty("question").GetString());
        Assert.Equal("needs-input|first arg|$second", File.ReadAllText(output + ".args"));
    }

    [Fact]
    public async Task Fire_returns_at_once_and_drain_waits_for_the_runs()
    {
        using var dir = new StoreTempDir();
        var output = dir.File("events");
        var script = Script(dir, "hook.sh", $"cat >> {Sh(output)}");
        var runner = new EventHookRunner([script], TimeSpan.FromSeconds(10));
        runner.Fire(AgentEvent.Idle("c", null, "a", At));
        runner.Fire(AgentEvent.ClusterEnded("c", null, ClusterState.Completed, At));
        await runner.DrainAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var lines = File.ReadAllLines(output).Order().ToArray();
        Assert.Equal(2, lines.Length);
        Assert.Contains("\"event\":\"cluster-ended\"", lines[0], StringComparison.Ordinal);
        Assert.Contains("\"event\":\"idle\"", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_hook_that_hangs_is_killed_with_its_children()
    {
        using var dir = new StoreTempDir();
        var pidFile = dir.File("child.pid");
        var script = Script(dir, "hang.sh", $"sleep 60 & echo $! > {Sh(pidFile)}; wait");
        var logs = new List<string>();
        var runner = new EventHookRunner([script], TimeSpan.FromMilliseconds(400), logs.Add);
        var watch = Stopwatch.StartNew();

        var outcome = await runner.RunAsync(AgentEvent.Idle("c", null, "a", At));

        Assert.Equal(ProcessStatus.Killed, outcome.Status);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), watch.Elapsed.ToString());
        Assert.Equal($"--on-event: '{script}' was killed after 0.4s", Assert.Single(logs));
        var child = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.False(IsRunning(child), $"sleep {child} survived");
    }

    [Fact]
    public async Task A_hook_that_never_reads_a_large_event_is_still_killed_on_time()
    {
        using var dir = new StoreTempDir();
        // 1 MB of question: far more than a pipe holds, so the write blocks until the hook is gone.
        var script = Script(dir, "deaf.sh", "exec sleep 60");
        var runner = new EventHookRunner([script], TimeSpan.FromMilliseconds(300));
        var watch = Stopwatch.StartNew();
        var outcome = await runner.RunAsync(AgentEvent.NeedsInput("c", null, "a", new string('q', 1 << 20), At)).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(ProcessStatus.Killed, outcome.Status);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), watch.Elapsed.ToString());
    }

    [Fact]
    public async Task A_command_that_cannot_be_executed_is_one_line_too()
    {
        using var dir = new StoreTempDir();
        var plain = dir.File("plain.txt");
        File.WriteAllText(plain, "not a program");
        var logs = new List<string>();
        var outcome = await new EventHookRunner([plain], TimeSpan.FromSeconds(5), logs.Add).RunAsync(AgentEvent.Idle("c", null, "a", At));
        Assert.Equal(ProcessStatus.NotStarted, outcome.Status);
        Assert.Equal($"--on-event: '{plain}' is not executable (permission denied)", Assert.Single(logs));
        Assert.Throws<UserErrorException>(() => EventHookRunner.Create(dir.Path, null, TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task A_hook_that_ignores_its_stdin_is_fine_and_a_failing_one_is_logged_with_its_error()
    {
        using var dir = new StoreTempDir();
        var quiet = Script(dir, "quiet.sh", "exit 0");
        Assert.Equal(ProcessStatus.Ok, (await new EventHookRunner([quiet], TimeSpan.FromSeconds(10)).RunAsync(AgentEvent.Idle("c", null, "a", At))).Status);

        var failing = Script(dir, "fail.sh", "echo 'first line' >&2; printf 'webhook refused\\033[31m\\n' >&2; exit 3");
        var logs = new List<string>();
        var outcome = await new EventHookRunner([failing], TimeSpan.FromSeconds(10), logs.Add).RunAsync(AgentEvent.Idle("c", null, "a", At));
        Assert.Equal(ProcessStatus.Failed, outcome.Status);
        Assert.Equal(3, outcome.ExitCode);
        Assert.Equal($"--on-event: '{failing}' exited with code 3: webhook refused\\e[31m", Assert.Single(logs));
    }

    [Fact]
    public async Task A_missing_command_is_one_clear_line()
    {
        using var dir = new StoreTempDir();
        var error = Assert.Throws<UserErrorException>(() => EventHookRunner.Create("no-such-hook-zs --x", dir.Path, TimeSpan.FromSeconds(1)));
        Assert.Equal("--on-event: 'no-such-hook-zs' was not found on PATH", error.Message);
        Assert.Equal(ExitCodes.Usage, error.ExitCode);
        var missing = dir.File("gone.sh");
        error = Assert.Throws<UserErrorException>(() => EventHookRunner.Create(missing, null, TimeSpan.FromSeconds(1)));
        Assert.Equal($"--on-event: '{missing}' does not exist or is not executable", error.Message);
        File.WriteAllText(missing, "#!/bin/sh\n");
        Assert.Throws<UserErrorException>(() => EventHookRunner.Create(missing, null, TimeSpan.FromSeconds(1)));
        // A name is looked up on the PATH given (not the test process's) and run by the path found.
        var ok = Script(dir, "ok.sh", "exit 0");
        Assert.Equal([ok, "--x"], EventHookRunner.Create("ok.sh --x", dir.Path, TimeSpan.FromSeconds(1)).Command);

        // Deleted after start-up: the run reports it in one line, it does not throw.
        var logs = new List<string>();
        var runner = new EventHookRunner([dir.File("vanished")], TimeSpan.FromSeconds(1), logs.Add);
        var outcome = await runner.RunAsync(AgentEvent.Idle("c", null, "a", At));
        Assert.Equal(ProcessStatus.NotStarted, outcome.Status);
        Assert.Equal($"--on-event: '{dir.File("vanished")}' does not exist", Assert.Single(logs));
        logs.Clear();
        await new EventHookRunner(["no-such-hook-zs"], TimeSpan.FromSeconds(1), logs.Add).RunAsync(AgentEvent.Idle("c", null, "a", At));
        Assert.Equal("--on-event: 'no-such-hook-zs' was not found on PATH", Assert.Single(logs));
        // Fire-and-forget: the failure is logged, nothing is thrown at the caller.
        logs.Clear();
        runner.Fire(AgentEvent.Idle("c", null, "a", At));
        await runner.DrainAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Single(logs);
    }

    private static bool IsRunning(int pid)
    {
        // Killed but not yet reaped by its new parent, it is a zombie: gone for every practical purpose.
        var stat = $"/proc/{pid}/stat";
        for (int i = 0; i < 50; i++)
        {
            if (!File.Exists(stat)) return false;
            string text;
            try
            {
                text = File.ReadAllText(stat);
            }
            catch (IOException)
            {
                return false;
            }
            if (text[(text.LastIndexOf(')') + 2)..].StartsWith('Z')) return false;
            Thread.Sleep(20);
        }
        return true;
    }
}
