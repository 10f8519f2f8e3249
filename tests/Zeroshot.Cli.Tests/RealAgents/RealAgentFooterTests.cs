using Zeroshot.Terminal.Tests.Support;
using Zeroshot.TestModelServer;

namespace Zeroshot.Cli.Tests.RealAgents;

/// <summary>
/// The footer in a real terminal (tmux) through whole runs of the real Claude Code CLI, which writes
/// <c>ESC 7 ESC [ r ESC 8</c> when it exits: the footer stays on the bottom rows, and afterwards the screen and
/// scrollback hold every line once, in order (issue #8: Claude's ESC 8 used to restore the footer's own cursor, so
/// later lines overwrote the top of the screen).
/// </summary>
[Collection(RealAgentCollection.Name)]
public sealed class RealAgentFooterTests : IDisposable
{
    private const int Width = 110;
    private const int Height = 24;
    private static readonly TokenUsage Usage = new(Input: 900, Output: 60, CacheRead: 100, CacheCreation: 10);
    private readonly string _home = Directory.CreateTempSubdirectory("zeroshot-realtty-").FullName;
    private readonly string _runtime = Directory.CreateTempSubdirectory("zsrt-").FullName;

    public void Dispose()
    {
        foreach (var dir in new[] { _home, _runtime })
        {
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { /* a temp dir */ }
        }
    }

    /// <summary>Lines "marker1" … "markerN", as a model's answer.</summary>
    private static string Numbered(string marker, int count) => string.Join('\n', Enumerable.Range(1, count).Select(i => $"{marker}{i} of the answer"));

    private TmuxSession Shell(IReadOnlyDictionary<string, string> environment)
    {
        var env = new Dictionary<string, string>(environment)
        {
            ["ZEROSHOT_HOME"] = _home,
            ["XDG_RUNTIME_DIR"] = _runtime,
            ["TERM"] = "xterm-256color",
        };
        var tmux = TmuxSession.Start(Width, Height, "env PS1='$ ' bash --norc --noprofile", env);
        tmux.WaitFor(s => s.Any(l => l.StartsWith('$')), "the prompt");
        // tmux's server keeps its own PATH; the real CLIs must be found as a user who installed them would.
        Type(tmux, $"export PATH={RealAgentClis.BinDirectory}:$PATH; clear");
        tmux.WaitFor(s => s.Length > 0 && s[0].StartsWith('$') && !s.Any(l => l.Contains("export", StringComparison.Ordinal)), "the cleared prompt");
        return tmux;
    }

    private static void Type(TmuxSession tmux, string line)
    {
        tmux.SendText(line);
        tmux.SendKeys("Enter");
    }

    private static bool Exited(string[] screen) => screen.Any(l => l.StartsWith("EXIT=", StringComparison.Ordinal));

    [Fact]
    public async Task A_claude_task_keeps_the_footer_at_the_bottom_and_every_line_in_order_after_claude_exits()
    {
        await using var server = new ModelServer();
        server.Default.Then(
            ScriptedTurn.Shell("for i in 1 2 3; do echo tick; sleep 1; done", Usage, preamble: Numbered("first-", 15)),
            ScriptedTurn.Text(Numbered("second-", 30), Usage));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Claude, server);
        using var tmux = Shell(sandbox.Environment);

        Type(tmux, $"cd {sandbox.WorkDir} && {ZeroshotProcess.Command} task run 'Count for me'; echo EXIT=$?");
        var withFooter = TerminalChecks.WatchFooter(tmux, Height, "second-", Exited, TimeSpan.FromSeconds(120));

        var all = tmux.Capture(scrollback: true);
        Assert.True(withFooter.Count > 0, "no footer seen:\n" + string.Join('\n', all)); // the footer was there while Claude ran
        Assert.Contains(all, l => l == "EXIT=0");
        TerminalChecks.AssertEveryNumberedLineOnceInOrder(all, "first-", 15);
        TerminalChecks.AssertEveryNumberedLineOnceInOrder(all, "second-", 30);
        // Zeroshot's own lines come after Claude's exit bytes, still in place, and the terminal is usable.
        int last = Array.FindLastIndex(all, l => l.Contains("second-30", StringComparison.Ordinal));
        Assert.Contains(all[last..], l => l.Contains("cluster completed", StringComparison.Ordinal));
        Assert.DoesNotContain(all, l => l.Contains("B\u000f", StringComparison.Ordinal));
        var screen = tmux.Capture();
        Assert.DoesNotContain(screen, l => l.StartsWith("┌─", StringComparison.Ordinal));   // footer gone
    }

    [Fact]
    public async Task A_two_claude_agent_cluster_keeps_each_agent_s_lines_in_order()
    {
        await using var server = new ModelServer();
        var workerKey = RealAgentCluster.WorkerKey;
        var validatorKey = RealAgentCluster.ValidatorKey;
        server.Script(workerKey).Then(ScriptedTurn.Text(Numbered("work-", 25), Usage));
        // A Claude validator runs with --json-schema: the model answers through Claude Code's StructuredOutput tool.
        server.Script(validatorKey).Then(ScriptedTurn.Tool("StructuredOutput", """{"approved": true, "summary": "fine", "issues": []}""", Usage,
            preamble: Numbered("review-", 25)));
        using var worker = RealAgentClis.Sandbox(AgentCli.Claude, server, new AgentSandboxOptions { ApiKey = workerKey });
        using var validator = RealAgentClis.Sandbox(AgentCli.Claude, server, new AgentSandboxOptions { ApiKey = validatorKey });
        var cluster = RealAgentCluster.Write(_home, "two", "Count.", ("claude", worker), "reviewer", ("claude", validator));
        using var tmux = Shell(worker.Environment);

        Type(tmux, $"{ZeroshotProcess.Command} run {cluster}; echo EXIT=$?");
        var withFooter = TerminalChecks.WatchFooter(tmux, Height, "review-", Exited, TimeSpan.FromSeconds(180));

        var all = tmux.Capture(scrollback: true);
        Assert.True(withFooter.Count > 0, "no footer seen:\n" + string.Join('\n', all));
        Assert.True(all.Contains("EXIT=0"), string.Join('\n', all));
        TerminalChecks.AssertEveryNumberedLineOnceInOrder(all, "work-", 25);
        TerminalChecks.AssertEveryNumberedLineOnceInOrder(all, "review-", 25);
        // The validator's output came after the worker's and did not overwrite it.
        Assert.True(Array.FindIndex(all, l => l.Contains("work-25", StringComparison.Ordinal))
            < Array.FindIndex(all, l => l.Contains("review-1 ", StringComparison.Ordinal)));
        Assert.Contains(all, l => l.Contains("reviewer: approved: fine", StringComparison.Ordinal));
    }
}
