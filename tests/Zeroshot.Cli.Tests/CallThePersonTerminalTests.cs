using System.Text.Json;
using Zeroshot.Terminal.Tests.Support;

namespace Zeroshot.Cli.Tests;

/// <summary>
/// Calling the person, in a real terminal (tmux): an interactive agent whose CLI says it needs input (here a
/// <c>command</c> agent that runs <c>zeroshot hook</c> itself with a captured Claude Code PermissionRequest input, as
/// Claude's hook would) is listed first in <c>run</c>'s footer, highlighted with its question, the terminal rings (tmux's
/// bell flag), and an attached client's terminal rings too. The real Claude Code TUI is in <c>RealInteractiveTests</c>.
/// </summary>
[Collection(EndToEndCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CallThePersonTerminalTests : IDisposable
{
    private const int Width = 150;
    private const int Height = 30;
    private readonly DetachedClusters _clusters = new("zs-call-");

    public void Dispose() => _clusters.Dispose();

    private const string Permission = """{"session_id":"s","transcript_path":"/nonexistent/projects/-w/s.jsonl","cwd":"/w","hook_event_name":"PermissionRequest","tool_name":"Bash","tool_input":{"command":"rm -r build"}}""";

    /// <summary>An interactive agent that asks, through the hook, after <paramref name="delay"/>, then keeps running.</summary>
    private static object Asker(string id, string delay) => new
    {
        id,
        role = "worker",
        interactive = true,
        command = new[] { "sh", "-c", $"sleep {delay}; printf '%s' '{Permission}' | {ZeroshotProcess.Command} hook --from claude; sleep 60" },
    };

    private TmuxSession Shell()
    {
        var env = new Dictionary<string, string>(_clusters.Env) { ["ZEROSHOT_HOME"] = _clusters.Home, ["TERM"] = "xterm-256color" };
        var tmux = TmuxSession.Start(Width, Height, "env PS1='$ ' bash --norc --noprofile", env);
        tmux.WaitFor(s => s.Any(l => l.StartsWith('$')), "the prompt");
        return tmux;
    }

    /// <summary>Whether the pane rang: a bell sets the window's bell flag (monitor-bell, on by default) in a session no
    /// client is attached to (tmux's alerts.c), as the tests' sessions are.</summary>
    private static bool Rang(TmuxSession tmux) => tmux.Run("display-message", "-p", "-t", tmux.Name, "#{window_bell_flag}").Trim() == "1";

    [Fact]
    public void The_run_footer_lists_the_agent_that_asks_first_with_its_question_and_rings()
    {
        using var tmux = Shell();
        var file = Path.Combine(_clusters.Root, "ask.json");
        File.WriteAllText(file, JsonSerializer.Serialize(new
        {
            name = "ask",
            agents = new object[]
            {
                new { id = "busy", role = "worker", command = new[] { "sh", "-c", "sleep 60" } },
                Asker("asker", "2"),
            },
        }));
        tmux.SendText($"{ZeroshotProcess.Command} run {file}; echo EXIT=$?");
        tmux.SendKeys("Enter");
        tmux.WaitFor(s => s.Any(l => l.StartsWith("│ ● busy", StringComparison.Ordinal)), "the footer", TimeSpan.FromSeconds(60));
        Assert.False(Rang(tmux));
        var screen = tmux.WaitFor(s => s.Any(l => l.StartsWith("│ ? asker", StringComparison.Ordinal)), "the asking agent first", TimeSpan.FromSeconds(60));
        var row = screen.First(l => l.StartsWith("│ ? asker", StringComparison.Ordinal));
        Assert.Contains("needs-input", row, StringComparison.Ordinal);
        Assert.Contains("? Bash: rm -r build", row, StringComparison.Ordinal);
        // Listed before the agent that merely runs.
        Assert.True(Array.FindIndex(screen, l => l.StartsWith("│ ? asker", StringComparison.Ordinal)) < Array.FindIndex(screen, l => l.StartsWith("│ ● busy", StringComparison.Ordinal)));
        // Highlighted: reverse video on the activity (capture with escapes).
        var styled = tmux.Capture(escapes: true).First(l => l.Contains("needs-input", StringComparison.Ordinal));
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(styled, @"\e\[[0-9;]*7[0-9;]*m(\e\[[0-9;]*m)*needs-input"), styled.Replace("\u001b", "ESC", StringComparison.Ordinal));
        Wait.Until(() => Rang(tmux), "the bell", 10_000);
        tmux.SendKeys("C-c");
        tmux.WaitFor(s => s.Any(l => l.StartsWith("EXIT=", StringComparison.Ordinal)), "the run's end");
    }

    [Fact]
    public void An_attached_client_rings_its_terminal_when_an_agent_of_its_cluster_asks()
    {
        var id = _clusters.Start("ask-attached", new { id = "shell", role = "worker", interactive = true, command = new[] { "sh" } }, Asker("asker", "6"));
        using var tmux = Shell();
        tmux.SendText($"{ZeroshotProcess.Command} attach {id} --agent shell; echo EXIT=$?");
        tmux.SendKeys("Enter");
        tmux.WaitFor(s => s.Length > 0 && s[0].StartsWith("─ shell", StringComparison.Ordinal), "the status bar", TimeSpan.FromSeconds(60));
        Assert.False(Rang(tmux));
        Wait.Until(() => Rang(tmux), "the attached client's bell", 30_000);
        tmux.SendKeys("C-b", "d");
        tmux.WaitFor(s => s.Any(l => l.StartsWith("EXIT=0", StringComparison.Ordinal)), "the detach");
    }
}
