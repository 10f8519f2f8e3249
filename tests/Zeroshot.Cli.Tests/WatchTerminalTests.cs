using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit.Abstractions;
using Zeroshot.Terminal.Tests.Support;

namespace Zeroshot.Cli.Tests;

/// <summary>
/// <c>zeroshot watch</c> in a real terminal: tmux runs the dashboard, capture-pane reads what it drew. The clusters are
/// real detached supervisors of <c>command</c> agents (a busy loop, an idle sleep, an interactive shell) started by the
/// real CLI; the figures on the screen are their supervisors' samples.
/// </summary>
[Collection(EndToEndCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class WatchTerminalTests : IDisposable
{
    private const int Width = 120;
    private const int Height = 35;
    private const string Bars = "▁▂▃▄▅▆▇█";
    private readonly DetachedClusters _clusters = new("zs-watch-");
    private readonly ITestOutputHelper _output;

    public WatchTerminalTests(ITestOutputHelper output) => _output = output;

    private string Root => _clusters.Root;
    private string HomeDir => _clusters.Home;
    private string RuntimeDir => _clusters.Runtime;
    private Dictionary<string, string> Env => _clusters.Env;

    public void Dispose() => _clusters.Dispose();

    private ZeroshotProcess.Result Z(params string[] args) => _clusters.Z(args);

    private static object Agent(string id, string[] command, Dictionary<string, string>? env = null) =>
        env is null ? new { id, role = "worker", command } : new { id, role = "worker", command, env };

    private static object Sleeper(string id) => Agent(id, ["sleep", "600"]);

    /// <summary>Starts a detached cluster of <paramref name="agents"/>; returns its id.</summary>
    private string StartCluster(string name, params object[] agents) => _clusters.Start(name, agents);

    /// <summary>A tmux pane running <c>zeroshot watch</c>, then EXIT=code and the terminal's line discipline.</summary>
    private TmuxSession Watch(int width = Width, int height = Height)
    {
        var env = new Dictionary<string, string>(Env) { ["ZEROSHOT_HOME"] = HomeDir, ["TERM"] = "xterm-256color" };
        return TmuxSession.Start(width, height, $"{ZeroshotProcess.Command} watch; echo EXIT=$?; {SttyCheck}; sleep 600", env);
    }

    // After the client: the terminal's line discipline as the shell left it (canonical, echoing), printed for the test.
    private const string SttyCheck = "stty -a | tr ' ;' '\\n\\n' | grep -x -e '-\\?icanon' -e '-\\?echo' | tr '\\n' ' '; echo";

    private static string Dump(string[] screen) => string.Join('\n', screen);

    /// <summary>The column headers' row is on screen (the table, not the log view, help or an attach).</summary>
    private static bool HeaderShown(string[] s) => s.Length > 1 && s[1].StartsWith("│ CLUSTER ", StringComparison.Ordinal) && s[1].Contains(" AGENT ", StringComparison.Ordinal);

    /// <summary>The line of cluster <paramref name="id"/>, or null.</summary>
    private static string? ClusterLine(string[] s, string id) => s.FirstOrDefault(l => l.StartsWith($"│ {id} ", StringComparison.Ordinal));

    /// <summary>The row of agent <paramref name="agent"/> (marker, id), or null.</summary>
    private static string? AgentRow(string[] s, string agent) => s.FirstOrDefault(l => AgentRowPattern().Match(l) is { Success: true } m && m.Groups[1].Value == agent);

    /// <summary>The CPU cell of an agent's row (the first percentage on it), or null when not shown or unknown.</summary>
    private static double? Cpu(string[] s, string agent) =>
        AgentRow(s, agent) is { } row && Percent().Match(row) is { Success: true } m ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;

    /// <summary>The "up 7s" cell of a cluster's line.</summary>
    private static string? Up(string[] s, string id) => ClusterLine(s, id) is { } line && UpCell().Match(line) is { Success: true } m ? m.Value : null;

    /// <summary>Whether the panel is the one of <paramref name="agent"/> of <paramref name="cluster"/>.</summary>
    private static bool PanelOf(string[] s, string agent, string cluster) => s.Any(l => l.StartsWith($"├─ {agent} @ {cluster} ─", StringComparison.Ordinal));

    /// <summary>Bars of the panel's CPU sparkline.</summary>
    private static int CpuBars(string[] s) =>
        s.FirstOrDefault(l => l.StartsWith("│ CPU ", StringComparison.Ordinal)) is { } line ? line[6..].TakeWhile(c => Bars.Contains(c, StringComparison.Ordinal)).Count() : 0;

    private static string BottomLine(string[] s) => s.Length > 0 ? s[^1] : "";

    private static bool Exited(string[] s) => s.Any(l => l.StartsWith("EXIT=", StringComparison.Ordinal)) && s.Any(l => l.Contains("icanon", StringComparison.Ordinal));

    private string ClusterState(string id)
    {
        var status = Z("status", id, "--json");
        Assert.True(status.ExitCode == 0, status.Out + status.Error);
        using var doc = JsonDocument.Parse(status.Out);
        return doc.RootElement.GetProperty("state").GetString()!;
    }

    private static void Type(TmuxSession tmux, string line)
    {
        tmux.SendText(line);
        tmux.SendKeys("Enter");
    }

    /// <summary>A whole frame of <paramref name="width"/> × <paramref name="height"/> is on the screen (its top and bottom
    /// borders drawn: a capture can fall between tmux reading the first and the last rows of one frame's write).</summary>
    private static bool WholeFrame(string[] s, int width, int height) =>
        s.Length == height && s[0].Length == width && s[0].StartsWith('┌') && s[^1].Length == width && s[^1].StartsWith('└') && s[^1].EndsWith('┘');

    /// <summary>Every row of a box exactly <paramref name="width"/> wide: nothing wrapped, the right edge in the last column.</summary>
    private static void AssertBoxFits(string[] s, int width, int height)
    {
        Assert.True(s.Length == height, $"{s.Length} rows, not {height}:\n{Dump(s)}");
        Assert.All(s, l => Assert.True(l.Length <= width, $"a row wider than {width}: \"{l}\"\n{Dump(s)}"));
        Assert.True(s[0].Length == width && s[0].EndsWith('┐'), $"top right corner not in column {width}:\n{Dump(s)}");
        Assert.True(s[^1].Length == width && s[^1].EndsWith('┘'), $"bottom right corner not in column {width}:\n{Dump(s)}");
        Assert.All(s[1..^1], l => Assert.True(l.Length == width && l[^1] is '│' or '┤', $"a row without its right edge in column {width}: \"{l}\"\n{Dump(s)}"));
    }

    [Fact]
    public void The_table_shows_live_figures_selection_sparklines_the_log_view_and_resizes_then_q_restores_the_terminal()
    {
        var id = StartCluster("busy",
            Agent("spinner", ["sh", "-c", "while :; do :; done"]),
            Agent("idler", ["sh", "-c", "echo log-line-1; echo log-line-2; exec sleep 600"]));
        using var tmux = Watch();

        // A busy loop is near one whole core, a sleeping agent near nothing: the CPU cells are the supervisor's samples.
        var first = tmux.WaitFor(s => HeaderShown(s) && Cpu(s, "spinner") >= 80 && Cpu(s, "idler") is not null, "the busy loop near 100 % CPU", TimeSpan.FromSeconds(30));
        Assert.True(Cpu(first, "idler") <= 5, $"the idle agent is not near 0 % CPU:\n{Dump(first)}");
        var cluster = ClusterLine(first, id)!;
        Assert.Contains(" 2 agents ", cluster, StringComparison.Ordinal);
        Assert.Contains(" it 1/3 ", cluster, StringComparison.Ordinal);
        Assert.Contains(" running ", cluster, StringComparison.Ordinal);
        Assert.Contains(" command ", AgentRow(first, "spinner")!, StringComparison.Ordinal);
        Assert.Contains("1 cluster ─ 2 agents ─", first[0], StringComparison.Ordinal);

        // The figures move: the cluster's age ticks, the selected agent's CPU sparkline grows to several bars.
        string up = Up(first, id)!;
        var later = tmux.WaitFor(s => Up(s, id) is { } now && now != up && CpuBars(s) >= 3, $"\"{up}\" to change and ≥ 3 CPU bars");
        Assert.True(PanelOf(later, "spinner", id), $"the first agent is not the one selected:\n{Dump(later)}");

        // ↓ selects the other agent: the panel is its.
        tmux.SendKeys("Down");
        var idler = tmux.WaitFor(s => PanelOf(s, "idler", id), "the panel of the second agent");
        Assert.Contains(idler, l => l.Contains("last output: \"log-line-2\"", StringComparison.Ordinal));

        // l: its log, following; Esc: the table again, the same agent selected.
        tmux.SendKeys("l");
        var log = tmux.WaitFor(s => s[0].StartsWith($"┌─ log: idler @ {id} ─ following", StringComparison.Ordinal) && s.Any(l => l.Contains("log-line-2", StringComparison.Ordinal)), "the log view");
        Assert.Equal(new[] { "│ log-line-1", "│ log-line-2" }, log[1..3].Select(l => l.TrimEnd('│').TrimEnd()).ToArray());
        Assert.False(HeaderShown(log));
        tmux.SendKeys("Escape");
        tmux.WaitFor(s => HeaderShown(s) && PanelOf(s, "idler", id) && AgentRow(s, "spinner") is not null, "the table after Esc");

        // Narrow: columns are dropped (role, model first), nothing wraps, the box's right edge is the window's.
        tmux.Resize(70, 20);
        var narrow = tmux.WaitFor(s => WholeFrame(s, 70, 20) && HeaderShown(s) && AgentRow(s, "spinner") is not null, "the table at 70×20");
        Assert.DoesNotContain(" ROLE ", narrow[1], StringComparison.Ordinal);
        Assert.DoesNotContain(" MODEL ", narrow[1], StringComparison.Ordinal);
        Assert.Contains(" CPU", narrow[1], StringComparison.Ordinal);
        Assert.NotNull(Cpu(narrow, "spinner"));
        AssertBoxFits(narrow, 70, 20);

        // Too small: it says so instead of drawing a broken box.
        tmux.Resize(50, 12);
        var tiny = tmux.WaitFor(s => s.Any(l => l.Contains("zeroshot watch needs at least 60×15", StringComparison.Ordinal)), "the too-small message");
        Assert.All(tiny, l => Assert.True(l.Length <= 50, $"a row wider than 50: \"{l}\""));
        Assert.DoesNotContain(tiny, l => l.Contains('┌') || l.Contains('└'));

        // Back to full size: every column again.
        tmux.Resize(Width, Height);
        var wide = tmux.WaitFor(s => WholeFrame(s, Width, Height) && HeaderShown(s) && AgentRow(s, "idler") is not null, "the full table again");
        foreach (var header in new[] { " ROLE ", " MODEL ", " STATE ", " CPU", " MEM ", " NET I/O ", " TOKENS ", " COST ", " LAST" })
            Assert.Contains(header, wide[1], StringComparison.Ordinal);
        Assert.True(PanelOf(wide, "idler", id), $"the selection was lost:\n{Dump(wide)}");
        AssertBoxFits(wide, Width, Height);

        // q: exit 0, the terminal as it was (canonical and echoing, main screen, no mouse reports, the cursor shown).
        tmux.SendKeys("q");
        var end = tmux.WaitFor(Exited, "watch to end");
        Assert.Contains("EXIT=0", end);
        Assert.Contains(end, l => l.Trim() == "icanon echo");
        Assert.Equal("0 0 1", tmux.Run("display-message", "-p", "-t", tmux.Name, "#{alternate_on} #{mouse_any_flag} #{cursor_flag}").Trim());
        Assert.Equal("running", ClusterState(id)); // quitting the dashboard leaves the clusters alone
    }

    [Fact]
    public void A_attaches_to_the_selected_agent_and_the_detach_comes_back_to_the_dashboard_as_it_was()
    {
        var id = StartCluster("shell",
            Sleeper("idle"),
            Agent("worker", ["sh", "-i"], new() { ["PS1"] = "$ ", ["ENV"] = "" }));
        using var tmux = Watch();
        tmux.WaitFor(s => HeaderShown(s) && AgentRow(s, "worker") is not null && PanelOf(s, "idle", id), "the dashboard");
        tmux.SendKeys("Down");
        tmux.WaitFor(s => PanelOf(s, "worker", id), "the shell selected");

        tmux.SendKeys("a");
        tmux.WaitFor(s => s.Length > 0 && s[0].StartsWith("─ worker", StringComparison.Ordinal) && s[0].Contains("C-b d detach", StringComparison.Ordinal)
            && s.Any(l => l.StartsWith('$')), "the attach's status bar and the prompt");
        Type(tmux, "echo hel''lo-from-watch");
        var attached = tmux.WaitFor(s => s.Contains("hello-from-watch"), "the command's output");
        Assert.False(HeaderShown(attached));

        tmux.SendKeys("C-b", "d");
        // The whole frame, panel included (a capture can land between the table and the panel of the first redraw).
        var back = tmux.WaitFor(s => HeaderShown(s) && AgentRow(s, "worker") is not null && s.Any(l => l.StartsWith("├─ ", StringComparison.Ordinal)),
            "the dashboard after the detach");
        Assert.True(PanelOf(back, "worker", id), $"the selection changed:\n{Dump(back)}");
        Assert.DoesNotContain(back, l => l.StartsWith("EXIT=", StringComparison.Ordinal));
        Assert.Equal("1", tmux.Run("display-message", "-p", "-t", tmux.Name, "#{alternate_on}").Trim());

        // The dashboard still follows the cluster after the attach: its age keeps ticking.
        string up = Up(back, id)!;
        tmux.WaitFor(s => Up(s, id) is { } now && now != up, "the figures to move after the detach");
        tmux.SendKeys("q");
        Assert.Contains("EXIT=0", tmux.WaitFor(Exited, "watch to end"));
        Assert.Equal("running", ClusterState(id));
    }

    [Fact]
    public async Task A_new_cluster_appears_a_killed_supervisor_shows_crashed_and_s_stops_a_cluster_after_asking()
    {
        var steady = StartCluster("steady", Sleeper("alpha"), Sleeper("beta"));
        using var tmux = Watch();
        tmux.WaitFor(s => HeaderShown(s) && ClusterLine(s, steady) is not null && AgentRow(s, "beta") is not null, "the first cluster");

        // A cluster started while the dashboard is open appears within two seconds (the issue's requirement): the
        // dashboard looks for new control sockets each second. Measured from the cluster's own start time (its record's
        // startedAt, same clock) to the first capture that shows it, which also counts the supervisor's own start before
        // its socket exists (0.4-1.4 s seen on an idle 2-core machine). The bound, 3 s, allows that, the 30 ms capture
        // polling and a loaded 2-core runner; a dashboard that only looked at start, or every few seconds, fails it.
        var late = StartCluster("late", Sleeper("gamma"));
        var clock = Stopwatch.StartNew();
        tmux.WaitFor(s => ClusterLine(s, late) is { } line && line.Contains(" running ", StringComparison.Ordinal) && AgentRow(s, "gamma") is not null,
            "the cluster started while watching", TimeSpan.FromSeconds(10));
        var appeared = DateTimeOffset.UtcNow;
        clock.Stop();
        DateTimeOffset startedAt;
        using (var status = JsonDocument.Parse(Z("status", late, "--json").Out))
            startedAt = status.RootElement.GetProperty("startedAt").GetDateTimeOffset();
        var afterStart = appeared - startedAt;
        _output.WriteLine($"the new cluster appeared {afterStart.TotalMilliseconds:0} ms after its start ({clock.ElapsedMilliseconds} ms after 'run --detach' returned)");
        Assert.True(afterStart >= TimeSpan.Zero, $"startedAt {startedAt:O} is after the capture that showed it ({appeared:O})");
        Assert.True(afterStart <= TimeSpan.FromSeconds(3), $"the new cluster took {afterStart.TotalSeconds:0.00} s after its start to appear");

        // Its supervisor SIGKILLed (no goodbye on the socket): the cluster shows crashed.
        int supervisor;
        await using (var client = await Zeroshot.Agents.Control.ControlClient.ConnectAsync(Path.Combine(RuntimeDir, "zeroshot", late + ".sock")))
            supervisor = client.ServerPid;
        Process.GetProcessById(supervisor).Kill();
        var crashed = tmux.WaitFor(s => ClusterLine(s, late) is { } line && line.Contains(" crashed ", StringComparison.Ordinal), "the crashed cluster");
        Assert.Contains(" running ", ClusterLine(crashed, steady)!, StringComparison.Ordinal);
        Assert.Contains("1 cluster (+1 ended)", crashed[0], StringComparison.Ordinal);
        // And the view keeps updating: the other cluster's age still ticks.
        string up = Up(crashed, steady)!;
        tmux.WaitFor(s => Up(s, steady) is { } now && now != up, "the running cluster's figures to keep moving");

        // s asks; n cancels; the cluster runs on.
        tmux.SendKeys("Home");
        tmux.WaitFor(s => PanelOf(s, "alpha", steady), "the running cluster's first agent selected");
        tmux.SendKeys("s");
        var asked = tmux.WaitFor(s => BottomLine(s).StartsWith($"└─ stop cluster {steady} (2 agents)? (y/N)", StringComparison.Ordinal), "the question");
        Assert.Contains(" running ", ClusterLine(asked, steady)!, StringComparison.Ordinal);
        tmux.SendKeys("n");
        tmux.WaitFor(s => BottomLine(s).StartsWith("└─ cancelled", StringComparison.Ordinal), "cancelled");
        Assert.Equal("running", ClusterState(steady));
        Assert.Contains(" running ", ClusterLine(tmux.Capture(), steady)!, StringComparison.Ordinal);

        // s then y: stopped, on the screen and in the state database.
        tmux.SendKeys("s");
        tmux.WaitFor(s => BottomLine(s).StartsWith($"└─ stop cluster {steady} ", StringComparison.Ordinal), "the question again");
        tmux.SendKeys("y");
        var stopped = tmux.WaitFor(s => ClusterLine(s, steady) is { } line && line.Contains(" stopped ", StringComparison.Ordinal), "the cluster stopped", TimeSpan.FromSeconds(10));
        Assert.Equal("stopped", ClusterState(steady));
        Assert.Contains("0 clusters (+2 ended)", stopped[0], StringComparison.Ordinal);
        tmux.SendKeys("q");
        Assert.Contains("EXIT=0", tmux.WaitFor(Exited, "watch to end"));
    }

    [Fact]
    public void Once_prints_one_plain_table_json_prints_the_snapshots_and_without_a_terminal_watch_says_what_to_use()
    {
        var id = StartCluster("plain", Agent("talk", ["sh", "-c", "echo plain-line; exec sleep 600"]), Sleeper("nap"));

        var once = Z("watch", "--once", "--width", "120");
        Assert.True(once.ExitCode == 0, once.Out + once.Error);
        TerminalChecks.AssertPlain(once.Out);
        var lines = once.Out.TrimEnd('\n').Split('\n');
        Assert.StartsWith("┌─ Zeroshot ─ 1 cluster ─ 2 agents ─", lines[0], StringComparison.Ordinal);
        Assert.True(HeaderShown(lines), once.Out);
        Assert.Contains(" running ", ClusterLine(lines, id)!, StringComparison.Ordinal);
        Assert.Contains(" 2 agents ", ClusterLine(lines, id)!, StringComparison.Ordinal);
        Assert.NotNull(AgentRow(lines, "talk"));
        Assert.NotNull(AgentRow(lines, "nap"));
        Assert.StartsWith("└─", lines[^1], StringComparison.Ordinal);
        Assert.All(lines, l => Assert.True(l.Length <= 120, $"a line wider than 120: \"{l}\""));

        var json = Z("watch", "--json");
        Assert.True(json.ExitCode == 0, json.Out + json.Error);
        using (var doc = JsonDocument.Parse(json.Out))
        {
            Assert.Equal(JsonValueKind.Array, doc.RootElement.ValueKind);
            var cluster = Assert.Single(doc.RootElement.EnumerateArray());
            Assert.Equal(id, cluster.GetProperty("id").GetString());
            Assert.Equal("running", cluster.GetProperty("state").GetString());
            Assert.Equal(new[] { "talk", "nap" }, cluster.GetProperty("agents").EnumerateArray().Select(a => a.GetProperty("id").GetString()!).ToArray());
        }

        // Standard input a pipe: not a terminal. One line that says what to use instead; usage exit code.
        var piped = Z("watch");
        Assert.Equal(2, piped.ExitCode);
        var message = piped.Error.Trim();
        Assert.DoesNotContain('\n', message);
        Assert.StartsWith("zeroshot: ", message, StringComparison.Ordinal);
        Assert.Contains("--once", message, StringComparison.Ordinal);
        Assert.Equal("", piped.Out);
    }

    [GeneratedRegex(@"^│   \S +(\S+) ")]
    private static partial Regex AgentRowPattern();

    [GeneratedRegex(@" (\d+(?:\.\d+)?)% ")]
    private static partial Regex Percent();

    [GeneratedRegex(@"up \S+")]
    private static partial Regex UpCell();
}
