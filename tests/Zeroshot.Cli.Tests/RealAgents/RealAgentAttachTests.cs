using System.Text.Json;
using Zeroshot.Terminal.Tests.Support;
using Zeroshot.TestModelServer;

namespace Zeroshot.Cli.Tests.RealAgents;

/// <summary>
/// <c>zeroshot attach</c> in a real terminal (tmux) to the real agent CLIs against the scripted local model server: a
/// stream-json agent is shown as its rendered output (the <c>logs -f</c> rendering, from the start of its log, under the
/// status bar), <c>--raw</c> shows its PTY screen, and the client ends with the agent.
/// </summary>
[Collection(RealAgentCollection.Name)]
public sealed class RealAgentAttachTests : IDisposable
{
    private const int Width = 150;
    private const int Height = 30;
    private static readonly TokenUsage ToolTurn = new(Input: 1200, Output: 45, CacheRead: 300, CacheCreation: 70);
    private static readonly TokenUsage FinalTurn = new(Input: 1500, Output: 20, CacheRead: 900, CacheCreation: 11);
    private const string Ticks = "for i in 1 2 3 4 5; do echo tick-$i; sleep 1; done";

    private readonly string _home = Directory.CreateTempSubdirectory("zeroshot-attach-").FullName;

    // The sandboxes' TMPDIR is deep under $HOME/.cache; a Unix socket path must fit in 107 bytes.
    private readonly string _runtime = Directory.CreateTempSubdirectory("zsrt-").FullName;

    public void Dispose()
    {
        foreach (var dir in new[] { _home, _runtime })
        {
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { /* an agent's straggler still writes its log; the temp folder is left */ }
        }
    }

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

    /// <summary><c>zeroshot task run --detach</c> with the sandbox's CLI; returns the task's id.</summary>
    private string Detach(AgentSandbox sandbox, string provider, string prompt)
    {
        var env = new Dictionary<string, string>(sandbox.Environment) { ["XDG_RUNTIME_DIR"] = _runtime };
        using var running = ZeroshotProcess.Start(_home, env, "task", "run", "--detach", "--provider", provider, "--cwd", sandbox.WorkDir, prompt);
        var r = running.Wait(TimeSpan.FromSeconds(60));
        Assert.True(r.ExitCode == 0, r.Out + r.Error);
        return r.Out.Trim();
    }

    /// <summary>Waits until the worker's activity is a tool call: what came before is in its log, not in any stream yet
    /// to be opened, so the attached view must show the log's history.</summary>
    private void WaitForTool(string id)
    {
        Wait.Until(() =>
        {
            using var running = ZeroshotProcess.Start(_home, new Dictionary<string, string> { ["XDG_RUNTIME_DIR"] = _runtime }, "status", id, "--json");
            var r = running.Wait(TimeSpan.FromSeconds(30));
            if (r.ExitCode != 0) return false;
            using var doc = JsonDocument.Parse(r.Out);
            var worker = doc.RootElement.GetProperty("agents")[0];
            return worker.GetProperty("activity").GetString() == "tool";
        }, "the worker's tool call", 90_000);
    }

    private static bool Exited(string[] screen) => screen.Any(l => l.StartsWith("EXIT=", StringComparison.Ordinal));

    private static string Dump(string[] screen) => string.Join('\n', screen);

    private static bool HasStatusBar(string[] screen) =>
        screen.Length > 0 && screen[0].StartsWith("─ worker", StringComparison.Ordinal) && screen[0].Contains("C-b d detach", StringComparison.Ordinal);

    /// <summary>
    /// A detached task of a real CLI against the scripted server, caught while its tool call (<see cref="Ticks"/>) runs:
    /// "Counting-to-five now.", the tool, then the answer "Counted-to-five, done."; and a shell in tmux to watch it from.
    /// </summary>
    private sealed class ToolTask : IAsyncDisposable
    {
        private ModelServer _server = null!;
        private AgentSandbox _sandbox = null!;

        public TmuxSession Tmux { get; private set; } = null!;

        public string Id { get; private set; } = "";

        private ToolGate? _gate;

        /// <summary>Starts the task; a gated tool call (<paramref name="gate"/>'s command) is released at the end of
        /// the test if the test has not released it.</summary>
        public static async Task<ToolTask> StartAsync(RealAgentAttachTests test, AgentCli cli, string provider, string ticks = Ticks, ToolGate? gate = null)
        {
            var task = new ToolTask { _server = new ModelServer(), _gate = gate };
            task._server.Default.Then(
                ScriptedTurn.Shell(ticks, ToolTurn, preamble: "Counting-to-five now."),
                ScriptedTurn.Text("Counted-to-five, done.", FinalTurn));
            try
            {
                task._sandbox = RealAgentClis.Sandbox(cli, task._server);
                task.Tmux = test.Shell(task._sandbox.Environment);
                task.Id = test.Detach(task._sandbox, provider, "Count to five");
                test.WaitForTool(task.Id);
                return task;
            }
            catch
            {
                await task.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            _gate?.Release();
            Tmux?.Dispose();
            _sandbox?.Dispose();
            await _server.DisposeAsync();
        }
    }

    /// <summary>
    /// Attaches (rendered) to a detached task whose worker runs <see cref="Ticks"/> and then answers: the client shows,
    /// under the status bar, the rendered lines from the start of the agent's log (the text and the tool call written
    /// before the attach), the tool's output and the answer after it, never the raw JSON, and ends with the agent.
    /// </summary>
    private async Task AttachRendered(AgentCli cli, string provider)
    {
        await using var task = await ToolTask.StartAsync(this, cli, provider);
        var (tmux, id) = (task.Tmux, task.Id);

        Type(tmux, $"{ZeroshotProcess.Command} attach {id}; echo EXIT=$?");
        // While the tool runs: the status bar on top, with the agent's figures, and the history under it.
        var attached = tmux.WaitFor(s => Exited(s) || (HasStatusBar(s) && s[0].Contains("Tokens", StringComparison.Ordinal)
            && s.Any(l => l.Contains("tick-", StringComparison.Ordinal) && l.Contains("for i in", StringComparison.Ordinal))),
            "the status bar with tokens over the rendered tool call", TimeSpan.FromSeconds(60));
        Assert.False(Exited(attached), Dump(attached));
        Assert.Contains(attached, l => l.Contains("Counting-to-five now.", StringComparison.Ordinal));
        Assert.DoesNotContain(attached, l => l.Contains("{\"type\":", StringComparison.Ordinal));

        var end = tmux.WaitFor(Exited, "the attach to end with the agent", TimeSpan.FromSeconds(90), scrollback: true);
        Assert.True(end.Contains("EXIT=0"), Dump(end));
        Assert.True(end.Any(l => l.Contains("↳ 5 lines", StringComparison.Ordinal)), Dump(end));   // the tool's output, summed up as logs -f does
        Assert.True(end.Any(l => l.Contains("Counted-to-five, done.", StringComparison.Ordinal)), Dump(end));
        Assert.True(end.Any(l => l == $"[{id}/worker exited with code 0]" || l == $"[{id}/worker: its output ended]"), Dump(end));
        Assert.DoesNotContain(end, l => l.Contains("{\"type\":", StringComparison.Ordinal));
        Assert.DoesNotContain(end, l => l.Contains("\"type\":", StringComparison.Ordinal));
        // Each rendered line once: the history and the stream after it meet without a gap or an overlap.
        Assert.Single(end, l => l.Contains("Counting-to-five now.", StringComparison.Ordinal));
        Assert.Single(end, l => l.Contains("Counted-to-five, done.", StringComparison.Ordinal));
    }

    [Fact]
    public Task Attach_to_claude_shows_its_rendered_output_under_the_status_bar_and_ends_with_it() => AttachRendered(AgentCli.Claude, "claude");

    [Fact]
    public Task Attach_to_codex_shows_its_rendered_output_under_the_status_bar_and_ends_with_it() => AttachRendered(AgentCli.Codex, "codex");

    [Fact]
    public Task Attach_to_gemini_shows_its_rendered_output_under_the_status_bar_and_ends_with_it() => AttachRendered(AgentCli.Gemini, "gemini");

    /// <summary>
    /// The worker of a cluster whose validator runs on after it: attached (rendered) to the worker, the client ends when
    /// the worker exits, not when the cluster does.
    /// </summary>
    [Fact]
    public async Task Attach_to_a_claude_worker_ends_when_the_worker_exits_while_its_validator_still_runs()
    {
        await using var server = new ModelServer();
        server.Script(RealAgentCluster.WorkerKey).Then(
            ScriptedTurn.Shell(Ticks, ToolTurn, preamble: "Counting-to-five now."),
            ScriptedTurn.Text("Counted-to-five, done.", FinalTurn));
        // The validator's answer stalls: it runs until the test kills the cluster.
        server.Script(RealAgentCluster.ValidatorKey).Then(ScriptedTurn.Stall("Reviewing", ToolTurn));
        using var worker = RealAgentClis.Sandbox(AgentCli.Claude, server, new AgentSandboxOptions { ApiKey = RealAgentCluster.WorkerKey });
        using var validator = RealAgentClis.Sandbox(AgentCli.Claude, server, new AgentSandboxOptions { ApiKey = RealAgentCluster.ValidatorKey });
        var cluster = RealAgentCluster.Write(_home, "two", "Count.", ("claude", worker), "reviewer", ("claude", validator));
        var env = new Dictionary<string, string>(worker.Environment) { ["XDG_RUNTIME_DIR"] = _runtime };
        string id;
        using (var detach = ZeroshotProcess.Start(_home, env, "run", cluster, "--detach"))
        {
            var r = detach.Wait(TimeSpan.FromSeconds(60));
            Assert.True(r.ExitCode == 0, r.Out + r.Error);
            id = r.Out.Trim();
        }
        try
        {
            using var tmux = Shell(worker.Environment);
            WaitForTool(id);
            Type(tmux, $"{ZeroshotProcess.Command} attach {id} --agent worker; echo EXIT=$?");
            tmux.WaitFor(s => Exited(s) || (HasStatusBar(s) && s.Any(l => l.Contains("for i in", StringComparison.Ordinal))), "the worker's tool call", TimeSpan.FromSeconds(60));

            var end = tmux.WaitFor(Exited, "the attach to end with the worker", TimeSpan.FromSeconds(60), scrollback: true);
            Assert.True(end.Contains("EXIT=0"), Dump(end));
            Assert.True(end.Any(l => l.Contains("Counted-to-five, done.", StringComparison.Ordinal)), Dump(end));
            Assert.True(end.Contains($"[{id}/worker exited with code 0]"), Dump(end));
            // The validator (its answer stalled) still runs: the end came from the worker's exit.
            using var running = ZeroshotProcess.Start(_home, new Dictionary<string, string> { ["XDG_RUNTIME_DIR"] = _runtime }, "status", id, "--json");
            var status = running.Wait(TimeSpan.FromSeconds(30));
            using var doc = JsonDocument.Parse(status.Out);
            Assert.Equal("running", doc.RootElement.GetProperty("state").GetString());
        }
        finally
        {
            using var kill = ZeroshotProcess.Start(_home, env, "kill", id);
            kill.Wait(TimeSpan.FromSeconds(30));
        }
    }

    /// <summary>
    /// <c>zeroshot watch</c> over a real CLI's task: while the tool runs, the worker's row reads its tool activity and the
    /// panel's last output is the rendered tool call (never the JSON); <c>l</c> shows the rendered log; when the task
    /// ends the row reads completed, the last output is the answer, and the tokens are those of <c>status --json</c>.
    /// </summary>
    private async Task WatchRendered(AgentCli cli, string provider)
    {
        // The tool call ticks until the test has seen it live (ToolGate: why).
        var gate = new ToolGate(_home);
        await using var task = await ToolTask.StartAsync(this, cli, provider, gate.Command("echo tick-$i"), gate);
        var (tmux, id) = (task.Tmux, task.Id);

        Type(tmux, $"{ZeroshotProcess.Command} watch; echo EXIT=$?");
        static bool WorkerRow(string line, string state) =>
            line.StartsWith("│   ", StringComparison.Ordinal) && line.Contains(" worker ", StringComparison.Ordinal) && line.Contains(state, StringComparison.Ordinal);
        var live = tmux.WaitFor(s => Exited(s) || (s.Any(l => WorkerRow(l, " tool")) && s.Any(l => l.Contains("last output: \"", StringComparison.Ordinal)
            && (l.Contains("for i in", StringComparison.Ordinal) || l.Contains("tick-", StringComparison.Ordinal)))), "the tool call in the worker's row and panel", TimeSpan.FromSeconds(60));
        Assert.False(Exited(live), Dump(live));
        Assert.DoesNotContain(live, l => l.Contains("\"type\":", StringComparison.Ordinal));

        tmux.SendKeys("l");
        var log = tmux.WaitFor(s => s.Any(l => l.Contains($"log: worker @ {id}", StringComparison.Ordinal)) && s.Any(l => l.Contains("Counting-to-five now.", StringComparison.Ordinal)),
            "the rendered log", TimeSpan.FromSeconds(30));
        Assert.Contains(log, l => l.Contains("for i in", StringComparison.Ordinal));
        Assert.DoesNotContain(log, l => l.Contains("\"type\":", StringComparison.Ordinal));
        tmux.SendKeys("Escape");
        gate.Release();

        // The last line is what the CLI showed last (the answer, its closing summary "✓ done …", or a line Codex logs as
        // it exits, seen in CI: "ERROR codex_core::session: failed to record rollout items"), not the tool call of a
        // tick before the end.
        var ended = tmux.WaitFor(s => s.Any(l => WorkerRow(l, " completed ")) && s.Any(l => l.StartsWith("│ last output: \"", StringComparison.Ordinal)
            && !l.Contains("tick-", StringComparison.Ordinal) && !l.Contains("for i in", StringComparison.Ordinal)),
            "the worker completed with a line after its tool call last", TimeSpan.FromSeconds(90));
        tmux.SendKeys("l");
        tmux.WaitFor(s => s.Any(l => l.Contains("Counted-to-five, done.", StringComparison.Ordinal)), "the answer in the log view", TimeSpan.FromSeconds(30));
        tmux.SendKeys("Escape");
        using (var running = ZeroshotProcess.Start(_home, new Dictionary<string, string> { ["XDG_RUNTIME_DIR"] = _runtime }, "status", id, "--json"))
        {
            var status = running.Wait(TimeSpan.FromSeconds(30));
            using var doc = JsonDocument.Parse(status.Out);
            var tokens = doc.RootElement.GetProperty("agents")[0].GetProperty("tokens");
            long total = tokens.GetProperty("total").GetInt64();
            Assert.True(total > 0, status.Out);
            string cell = Zeroshot.Terminal.Format.Tokens(total);
            Assert.True(ended.Any(l => WorkerRow(l, " completed ") && l.Contains($" {cell} ", StringComparison.Ordinal)), $"{cell}\n{Dump(ended)}");
        }
        tmux.SendKeys("q");
        Assert.Contains("EXIT=0", tmux.WaitFor(Exited, "watch to quit", TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public Task Watch_shows_claudes_tool_call_rendered_log_answer_and_tokens() => WatchRendered(AgentCli.Claude, "claude");

    [Fact]
    public Task Watch_shows_codexs_tool_call_rendered_log_answer_and_tokens() => WatchRendered(AgentCli.Codex, "codex");

    [Fact]
    public Task Watch_shows_geminis_tool_call_rendered_log_answer_and_tokens() => WatchRendered(AgentCli.Gemini, "gemini");

    [Fact]
    public Task Attach_raw_to_claude_shows_its_pty_screen_with_the_json() => AttachRaw(AgentCli.Claude, "claude");

    [Fact]
    public Task Attach_raw_to_codex_shows_its_pty_screen_with_the_json() => AttachRaw(AgentCli.Codex, "codex");

    /// <summary><c>attach --raw</c>: the agent's PTY screen (its JSON lines) under the status bar, and the exit code at the end.</summary>
    private async Task AttachRaw(AgentCli cli, string provider)
    {
        await using var task = await ToolTask.StartAsync(this, cli, provider);
        var (tmux, id) = (task.Tmux, task.Id);

        Type(tmux, $"{ZeroshotProcess.Command} attach --raw {id}; echo EXIT=$?");
        var attached = tmux.WaitFor(s => Exited(s) || (HasStatusBar(s) && s.Any(l => l.Contains("{\"type\":", StringComparison.Ordinal))),
            "the status bar over the PTY screen's JSON", TimeSpan.FromSeconds(60));
        Assert.False(Exited(attached), Dump(attached));

        var end = tmux.WaitFor(Exited, "the attach to end with the agent", TimeSpan.FromSeconds(90), scrollback: true);
        Assert.True(end.Contains("EXIT=0"), Dump(end));
        Assert.Contains($"[{id}/worker exited with code 0]", end);
    }

    /// <summary>The rows (with their numbers) of the Claude TUI's finished turn: from the prompt to "✻ … done"; none before.</summary>
    private static List<string> Conversation(string[] screen)
    {
        int first = Array.FindIndex(screen, l => l.StartsWith("❯ Say the attached answer.", StringComparison.Ordinal));
        int last = Array.FindIndex(screen, l => l.StartsWith('✻') && l.Contains("done", StringComparison.Ordinal));
        if (first < 0 || last < first) return [];
        return [.. Enumerable.Range(first, last - first + 1).Select(i => $"{i}: {screen[i]}")];
    }

    /// <summary>
    /// The interactive Claude Code TUI as a <c>command</c> agent: attached, the user's prompt (a bracketed paste, a pause,
    /// then Enter alone, as the field notes say the TUIs need) reaches Claude and its answer shows on the attached
    /// screen; C-b d detaches with Claude still running, and a second attach shows the same screen.
    /// </summary>
    [Fact]
    public async Task Attach_to_the_claude_tui_types_a_prompt_shows_the_answer_detaches_and_reattaches_to_the_same_screen()
    {
        const string Answer = "The-attached-answer: all good.";
        await using var server = new ModelServer(TimeSpan.FromMinutes(3));
        // Two turns: a side request of the TUI may take one; the prompt gets the other.
        server.Default.Then(ScriptedTurn.Text(Answer, FinalTurn), ScriptedTurn.Text(Answer, FinalTurn));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Claude, server);
        var agentEnv = new Dictionary<string, string>(sandbox.Environment) { ["TERM"] = "xterm-256color" };
        var cluster = Path.Combine(_home, "tui.json");
        File.WriteAllText(cluster, JsonSerializer.Serialize(new
        {
            name = "tui",
            prompt = "",
            agents = new object[] { new { id = "worker", role = "worker", command = new[] { sandbox.Executable }, cwd = sandbox.WorkDir, env = agentEnv } },
        }));
        var env = new Dictionary<string, string>(sandbox.Environment) { ["XDG_RUNTIME_DIR"] = _runtime };
        string id;
        using (var detach = ZeroshotProcess.Start(_home, env, "run", cluster, "--detach"))
        {
            var r = detach.Wait(TimeSpan.FromSeconds(60));
            Assert.True(r.ExitCode == 0, r.Out + r.Error);
            id = r.Out.Trim();
        }
        try
        {
            using var tmux = Shell(sandbox.Environment);
            Type(tmux, $"{ZeroshotProcess.Command} attach {id}; echo EXIT=$?");
            // Claude's input box ("❯") under the status bar.
            tmux.WaitFor(s => Exited(s) || (HasStatusBar(s) && s.Skip(1).Any(l => l.Contains('❯'))), "Claude's prompt under the status bar", TimeSpan.FromSeconds(90));
            Assert.False(Exited(tmux.Capture()), Dump(tmux.Capture()));

            tmux.Run("set-buffer", "-b", "prompt", "Say the attached answer.");
            tmux.Run("paste-buffer", "-p", "-d", "-b", "prompt", "-t", tmux.Name);
            tmux.WaitForText("Say the attached answer.", TimeSpan.FromSeconds(30));
            using (var pause = new ManualResetEventSlim()) pause.Wait(400);
            tmux.SendKeys("Enter");
            var answered = tmux.WaitFor(s => Exited(s) || s.Skip(1).Any(l => l.Contains(Answer, StringComparison.Ordinal)), "the answer on the attached screen", TimeSpan.FromSeconds(90));
            Assert.False(Exited(answered), Dump(answered));
            Assert.True(HasStatusBar(answered), Dump(answered));
            // The turn is over ("✻ … done"): the conversation rows stay as they are (Claude's logo animates; its hints come and go).
            var before = Conversation(tmux.WaitFor(s => Conversation(s).Count > 0, "the end of the turn", TimeSpan.FromSeconds(30)));

            tmux.SendKeys("C-b", "d");
            var detached = tmux.WaitFor(Exited, "the detach", TimeSpan.FromSeconds(30));
            Assert.True(detached.Contains("EXIT=0"), Dump(detached));
            Assert.Contains($"[detached from {id}/worker]", detached);

            Type(tmux, "clear");
            tmux.WaitFor(s => !Exited(s), "the cleared screen");
            Type(tmux, $"{ZeroshotProcess.Command} attach {id}; echo EXIT=$?");
            var again = tmux.WaitFor(s => Exited(s) || (HasStatusBar(s) && Conversation(s).Count > 0), "the conversation again", TimeSpan.FromSeconds(30));
            Assert.False(Exited(again), Dump(again));
            Assert.Equal(before, Conversation(again));   // the same rows, in the same places
            tmux.SendKeys("C-b", "d");
            tmux.WaitFor(Exited, "the second detach", TimeSpan.FromSeconds(30));
        }
        finally
        {
            using var kill = ZeroshotProcess.Start(_home, env, "kill", id);
            kill.Wait(TimeSpan.FromSeconds(30));
        }
    }
}
