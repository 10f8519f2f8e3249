using System.Diagnostics;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Zeroshot.Terminal.Tests.Support;

namespace Zeroshot.Cli.Tests;

/// <summary>The status footer in a real terminal: tmux runs zeroshot, capture-pane reads the screen.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class FooterTerminalTests : IDisposable
{
    private const int Width = 110;
    private const int Height = 30;
    private readonly string _home = Path.Combine(Path.GetTempPath(), "zs-tmux-" + Guid.NewGuid().ToString("N")[..12]);

    public FooterTerminalTests()
    {
        Directory.CreateDirectory(_home);
        // Private, as zeroshot would make it (a home others can read is tightened with a notice on stderr).
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(_home, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public void Dispose()
    {
        try { Directory.Delete(_home, recursive: true); }
        catch (IOException) { /* a temp dir */ }
    }

    private string Cluster(params (string Id, string Script)[] agents)
    {
        var path = Path.Combine(_home, $"c{Guid.NewGuid():N}.json");
        var entries = agents.Select(a => $$"""{ "id": "{{a.Id}}", "role": "worker", "command": {{JsonSerializer.Serialize(new[] { "bash", "-c", a.Script })}} }""");
        File.WriteAllText(path, $$"""{ "name": "tty", "agents": [ {{string.Join(", ", entries)}} ] }""");
        return path;
    }

    /// <summary>An interactive shell in tmux with a plain prompt, ready to type into.</summary>
    private TmuxSession Shell()
    {
        var tmux = TmuxSession.Start(Width, Height, "env PS1='$ ' bash --norc --noprofile",
            new Dictionary<string, string> { ["ZEROSHOT_HOME"] = _home, ["TERM"] = "xterm-256color" });
        tmux.WaitFor(s => s.Any(l => l.StartsWith('$')), "the prompt");
        return tmux;
    }

    private static void Type(TmuxSession tmux, string line)
    {
        tmux.SendText(line);
        tmux.SendKeys("Enter");
    }

    private string Zeroshot(string args) => $"{ZeroshotProcess.Command} {args}";

    private static bool FooterAtBottom(string[] screen, int height) =>
        screen.Length == height && screen[height - 1].StartsWith("└─", StringComparison.Ordinal) && screen.Any(l => l.StartsWith("┌─", StringComparison.Ordinal));

    /// <summary>After the run, typed output must scroll to the very last row: no region, no footer left.</summary>
    private static void AssertTerminalRestored(TmuxSession tmux)
    {
        Type(tmux, "clear; seq 1 100");
        var screen = tmux.WaitFor(s => s.Length >= 2 && s.Select(l => l.Trim()).Contains("100") && s[^1].StartsWith('$'), "seq to finish");
        var state = tmux.State();
        Assert.Equal(state.Height, screen.Length);
        Assert.Equal("100", screen[^2]);
        Assert.Equal("99", screen[^3]);
        Assert.Equal(state.Height - 1, state.CursorRow);
        Assert.True(state.CursorVisible);
        Assert.DoesNotContain(screen, l => l.Contains('│'));
    }

    [Fact]
    public void The_footer_sits_on_the_bottom_rows_with_live_numbers_while_output_scrolls_above_in_order()
    {
        using var tmux = Shell();
        var file = Cluster(("worker", "for i in $(seq 1 60); do echo line-$i; sleep 0.05; done; sleep 4"), ("helper", "sleep 6"));
        Type(tmux, Zeroshot($"run {file}") + "; echo EXIT=$?");

        var screen = tmux.WaitFor(s => FooterAtBottom(s, Height) && s.Any(l => l.Contains("line-60")) && s.Any(l => l.Contains("MEM") && l.Contains("MB ")),
            "the footer with memory figures and all output", TimeSpan.FromSeconds(60));
        Assert.Contains(screen, l => l.StartsWith("│ ● worker", StringComparison.Ordinal));
        Assert.Contains(screen, l => l.StartsWith("│ ● helper", StringComparison.Ordinal));
        Assert.All(screen, l => Assert.True(TextWidthOf(l) <= Width, $"row wider than the pane: {l}"));
        // Output rows above the footer are in order; with the scrollback, nothing was lost.
        var all = tmux.Capture(scrollback: true);
        var numbers = all.Where(l => l.Contains("│ line-")).Select(l => int.Parse(l[(l.IndexOf("line-", StringComparison.Ordinal) + 5)..])).ToList();
        Assert.Equal(Enumerable.Range(1, 60), numbers);
        int footerTop = Array.FindIndex(screen, l => l.StartsWith("┌─", StringComparison.Ordinal));
        Assert.True(footerTop >= Height * 2 / 3, $"footer starts at row {footerTop}: more than a third of the screen");
        Assert.All(screen[footerTop..], l => Assert.DoesNotContain("line-", l));

        tmux.WaitForText("EXIT=0", TimeSpan.FromSeconds(60));
        AssertTerminalRestored(tmux);
    }

    [Fact]
    public void A_resize_redraws_the_footer_for_the_new_size_and_an_agent_resetting_the_scroll_region_does_not_break_it()
    {
        using var tmux = Shell();
        var file = Cluster(("worker", "echo started; sleep 2; printf 'resetting\\033[r\\n'; for i in $(seq 1 40); do echo after-$i; sleep 0.05; done; sleep 5"));
        Type(tmux, Zeroshot($"run {file}") + "; echo EXIT=$?");
        tmux.WaitFor(s => FooterAtBottom(s, Height), "the footer", TimeSpan.FromSeconds(60));

        tmux.Resize(90, 20);
        var small = tmux.WaitFor(s => FooterAtBottom(s, 20) && s[^1].EndsWith('┘') && TextWidthOf(s[^1]) == 90, "the footer redrawn at 90×20", TimeSpan.FromSeconds(20));
        Assert.Contains(small, l => l.StartsWith("│ ● worker", StringComparison.Ordinal));

        // The agent printed ESC[r: the footer must be re-established and output must keep scrolling above it.
        var screen = tmux.WaitFor(s => s.Any(l => l.Contains("after-40")) && FooterAtBottom(s, 20), "output after the reset, footer intact", TimeSpan.FromSeconds(30));
        int footerTop = Array.FindIndex(screen, l => l.StartsWith("┌─", StringComparison.Ordinal));
        Assert.All(screen[footerTop..], l => Assert.DoesNotContain("after-", l));
        Assert.Contains(screen[..footerTop], l => l.Contains("after-40"));

        tmux.WaitForText("EXIT=0", TimeSpan.FromSeconds(60));
        AssertTerminalRestored(tmux);
    }

    [Theory]
    [InlineData("ctrl-c")]
    [InlineData("sigterm")]
    public void After_Ctrl_C_or_SIGTERM_the_terminal_is_left_as_it_was_found(string how)
    {
        using var tmux = Shell();
        var file = Cluster(("worker", "echo ready; sleep 1000"));
        Type(tmux, Zeroshot($"run {file}") + "; echo EXIT=$?");
        tmux.WaitFor(s => FooterAtBottom(s, Height) && s.Any(l => l.Contains("ready")), "the footer", TimeSpan.FromSeconds(60));

        if (how == "ctrl-c")
        {
            tmux.SendKeys("C-c");
        }
        else
        {
            int pid = SupervisorPid();
            using var kill = Process.Start("kill", ["-TERM", pid.ToString()]);
            kill.WaitForExit();
        }
        tmux.WaitForText("EXIT=130", TimeSpan.FromSeconds(30));
        AssertTerminalRestored(tmux);
    }

    [Fact]
    public void Logs_follow_shows_the_footer_of_the_cluster_it_follows_and_restores_the_terminal()
    {
        var file = Cluster(("worker", "for i in $(seq 1 400); do echo tick-$i; sleep 0.02; done"));
        string id = ZeroshotProcess.RunIn(_home, "run", file, "--detach").Out.Trim();
        using var tmux = Shell();
        Type(tmux, Zeroshot($"logs {id} -f -n 5") + "; echo EXIT=$?");
        var screen = tmux.WaitFor(s => FooterAtBottom(s, Height) && s.Any(l => l.Contains("tick-")), "the footer over followed output", TimeSpan.FromSeconds(60));
        Assert.Contains(screen, l => l.StartsWith($"┌─ {id}", StringComparison.Ordinal));
        tmux.WaitForText("EXIT=0", TimeSpan.FromSeconds(60));
        var all = tmux.Capture(scrollback: true);
        Assert.Contains(all, l => l.Trim() == "tick-400");
        AssertTerminalRestored(tmux);
    }

    /// <summary>A stand-in for Claude Code's exit: numbered lines with its exit bytes between them, on a
    /// line of their own, at the end of a line and before a line, while the footer refreshes.</summary>
    private static string ClaudeExitScript(int count) =>
        $"for i in $(seq 1 {count}); do echo num-$i; sleep 0.03; "
        + $"case $((i % 10)) in 3) printf '{TerminalChecks.ClaudeExitPrintf}';; 6) printf 'tail{TerminalChecks.ClaudeExitPrintf}\\033(B\\017\\n';; "
        + $"9) printf '{TerminalChecks.ClaudeExitPrintf}\\n';; esac; done; printf '{TerminalChecks.ClaudeExitPrintf}\\033(B'";

    [Fact]
    public void Claudes_exit_bytes_between_lines_leave_the_footer_at_the_bottom_and_every_line_once_in_order()
    {
        const int count = 80;
        using var tmux = Shell();
        var file = Cluster(("worker", ClaudeExitScript(count) + "; sleep 3"));
        Type(tmux, Zeroshot($"run {file}") + "; echo EXIT=$?");

        var screens = TerminalChecks.WatchFooter(tmux, Height, "num-",
            s => TerminalChecks.FooterAtBottom(s, Height) && s.Any(l => l.Contains($"num-{count}", StringComparison.Ordinal)), TimeSpan.FromSeconds(60));
        Assert.NotEmpty(screens);
        var last = screens[^1];
        Assert.Contains(last[..TerminalChecks.FooterTop(last)], l => l.Contains($"│ num-{count}", StringComparison.Ordinal));

        tmux.WaitForText("EXIT=0", TimeSpan.FromSeconds(60));
        var history = tmux.Capture(scrollback: true);
        TerminalChecks.AssertEveryNumberedLineOnceInOrder(history, "num-", count);
        Assert.DoesNotContain(history, l => l.Contains("B\u000f", StringComparison.Ordinal) || l.Contains('\u000f'));
        AssertTerminalRestored(tmux);
    }

    [Fact]
    public void Claudes_exit_bytes_leave_plain_output_without_escapes_or_junk()
    {
        var file = Cluster(("worker", ClaudeExitScript(30)));
        var r = ZeroshotProcess.RunIn(_home, "run", file, "--status-interval", "0");
        Assert.Equal(0, r.ExitCode);
        TerminalChecks.AssertPlain(r.Out);
        TerminalChecks.AssertEveryNumberedLineOnceInOrder(r.Out.Split('\n'), "num-", 30);
        Assert.Contains("worker   │ tail", r.Out, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"(?m)^worker +│ *$", r.Out); // no line for the bare exit bytes
    }

    [Fact]
    public void Without_a_terminal_there_are_no_escape_codes_and_a_plain_status_line_comes_every_interval()
    {
        var file = Cluster(("worker", "echo one; sleep 3; echo two"));
        var r = ZeroshotProcess.RunIn(_home, "run", file, "--status-interval", "1");
        Assert.Equal(0, r.ExitCode);
        Assert.DoesNotContain("\u001b", r.Out);
        Assert.Matches(@"(?m)^zeroshot │ .*running.*worker", r.Out);
        Assert.Matches(@"(?m)^worker +│ one$", r.Out);

        var quiet = ZeroshotProcess.RunIn(_home, "run", file, "--status-interval", "0");
        Assert.DoesNotMatch(@"(?m)^zeroshot │ .*running.*worker", quiet.Out);
    }

    private int SupervisorPid()
    {
        using var db = new SqliteConnection($"Data Source={Path.Combine(_home, "state.db")};Mode=ReadOnly");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT supervisor_pid FROM clusters ORDER BY started_at DESC LIMIT 1";
        return Convert.ToInt32(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Columns of a captured row (the footer's box drawing and arrows are one column each).</summary>
    private static int TextWidthOf(string row) => System.Globalization.StringInfo.ParseCombiningCharacters(row).Length;
}
