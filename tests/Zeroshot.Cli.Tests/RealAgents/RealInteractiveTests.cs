using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Zeroshot.Agents.Control;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.Supervision;
using Zeroshot.Terminal.Tests.Support;
using Zeroshot.TestModelServer;

namespace Zeroshot.Cli.Tests.RealAgents;

/// <summary>
/// Interactive agents with the real CLIs' TUIs against the scripted local model server, in a real terminal (tmux): the
/// activity comes from the CLI's own signals (Claude Code's hooks), the person answers through <c>attach</c>, prompts
/// go in with <c>zeroshot send</c>, tokens come from the CLI's transcript, and the agent's exit starts its dependents.
/// </summary>
[Collection(RealAgentCollection.Name)]
public sealed class RealInteractiveTests : IDisposable
{
    private const int Width = 120;
    private const int Height = 40;
    private static readonly TokenUsage ToolTurn = new(Input: 1300, Output: 41, CacheRead: 200, CacheCreation: 50);
    private static readonly TokenUsage FirstAnswer = new(Input: 1400, Output: 17, CacheRead: 300, CacheCreation: 20);
    private static readonly TokenUsage SecondAnswer = new(Input: 1500, Output: 23, CacheRead: 400, CacheCreation: 30);
    private readonly string _home = Directory.CreateTempSubdirectory("zeroshot-interactive-").FullName;

    // The sandboxes' TMPDIR is deep under $HOME/.cache; a Unix socket path must fit in 107 bytes.
    private readonly string _runtime = Directory.CreateTempSubdirectory("zsrt-").FullName;

    private readonly List<string> _started = [];

    public void Dispose()
    {
        // A test that failed half-way leaves its cluster running: its TUI and supervisor go with the test.
        foreach (var id in _started)
            ZeroshotProcess.RunIn(_home, TimeSpan.FromSeconds(30), "kill", id);
        foreach (var dir in new[] { _home, _runtime })
        {
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { /* an agent's straggler still writes its log; the temp folder is left */ }
        }
    }

    /// <summary>
    /// Claude Code's TUI, in its default permission mode, is asked to run a command: the agent reads needs-input (with
    /// the command) from the PermissionRequest hook no later than 1 s after the dialog is on the screen; the person
    /// attaches, answers Yes and detaches; the agent reads tool:Bash, then idle with its answer as its last line; its
    /// tokens equal what the server served, turn by turn; a prompt sent with <c>zeroshot send</c> is answered;
    /// <c>/exit</c> ends it and starts the agent after it; the <c>--on-event</c> program got needs-input and idle.
    /// </summary>
    [Fact]
    public async Task Claudes_tui_is_driven_by_its_hooks_answered_through_attach_counted_from_its_transcript_and_ends_with_exit()
    {
        await using var server = new ModelServer();
        server.Default.Then(
            ScriptedTurn.Shell("sleep 3; touch tool-ran.txt", ToolTurn, preamble: "Running-the-tool."),
            ScriptedTurn.Text("First-turn-done.", FirstAnswer),
            ScriptedTurn.Text("Second-answer-here.", SecondAnswer));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Claude, server);
        // Claude Code's default mode is "auto" now, which runs this command unasked: the cluster asks for the mode that
        // asks the person.
        await using var run = await Run.StartAsync(this, server, sandbox, new
        {
            id = "worker", role = "worker", provider = "claude", interactive = true,
            args = new[] { "--permission-mode", "default" }, cwd = sandbox.WorkDir
        });
        var (id, tmux, seen, clock) = (run.Id, run.Tmux, run.Seen, run.Clock);
        void WaitForWorker(Func<AgentSnapshot, bool> condition, string what, int ms = 90_000) => run.WaitForWorker(condition, what, ms);
        string marker = run.Marker;

        tmux.WaitFor(s => s.Any(l => l.StartsWith('$')), "the prompt");
        tmux.SendText($"{ZeroshotProcess.Command} attach {id} --agent worker; echo EXIT=$?");
        tmux.SendKeys("Enter");

        // The dialog on the screen, and the hook's word in the live model: the hook's first.
        var screen = tmux.WaitFor(s => s.Any(l => l.Contains("Do you want to proceed", StringComparison.Ordinal)), "Claude's permission dialog",
            TimeSpan.FromSeconds(120));
        var dialogAt = clock.Elapsed;
        WaitForWorker(w => w.Activity == AgentActivity.NeedsInput, "needs-input");
        var needsInput = seen.First(m => m.Message.Snapshot?.Agents[0].Activity == AgentActivity.NeedsInput);
        Assert.True(needsInput.At <= dialogAt + TimeSpan.FromSeconds(1),
            $"needs-input at {needsInput.At}, the dialog on screen at {dialogAt}:\n{string.Join('\n', screen)}");
        var asking = needsInput.Message.Snapshot!.Agents[0];
        Assert.False(asking.ActivityInferred);
        Assert.Contains("touch tool-ran.txt", asking.ActivityDetail, StringComparison.Ordinal);
        Assert.Contains(seen, m => m.Message.Event is NeedsInputEvent { AgentId: "worker" } n && n.Question.Contains("touch tool-ran.txt", StringComparison.Ordinal));
        // list reads it from the database, where the supervisor wrote it when it changed.
        run.WaitForListed("worker needs-input: ", "touch tool-ran.txt");

        // Yes (the dialog's first choice, selected), then detach: the tool runs (3 s) while nobody is attached.
        tmux.SendKeys("Enter");
        WaitForWorker(w => w.Activity == AgentActivity.Tool && w.ActivityDetail == "Bash", "tool:Bash after the answer", 30_000);
        tmux.SendKeys("C-b", "d");
        tmux.WaitFor(s => s.Any(l => l.StartsWith("EXIT=0", StringComparison.Ordinal)), "the detach");
        WaitForWorker(w => w.Activity == AgentActivity.Idle && w.LastLine == "First-turn-done.", "idle after the first turn");
        Assert.True(File.Exists(Path.Combine(sandbox.WorkDir, "tool-ran.txt")), "the approved command ran");
        WaitForWorker(w => Tokens(w) == Expected(ToolTurn + FirstAnswer), $"the first turn's tokens ({Expected(ToolTurn + FirstAnswer)})", 30_000);
        Assert.Equal(server.Served(), ToolTurn + FirstAnswer);

        // A second prompt typed by send: answered, counted.
        var sent = ZeroshotProcess.RunIn(_home, TimeSpan.FromSeconds(60), "send", id, "Say the second answer");
        Assert.True(sent.ExitCode == 0, sent.Out + sent.Error);
        WaitForWorker(w => w.Activity == AgentActivity.Idle && w.LastLine == "Second-answer-here.", "idle after the second prompt");
        WaitForWorker(w => Tokens(w) == Expected(ToolTurn + FirstAnswer + SecondAnswer), "the second turn's tokens", 30_000);

        // /exit ends the TUI; the agent after it starts then.
        Assert.Equal(0, ZeroshotProcess.RunIn(_home, TimeSpan.FromSeconds(60), "send", id, "/exit").ExitCode);
        Wait.Until(() => File.Exists(marker), "the dependent agent's run", 60_000);
        await run.Follow.WaitAsync(TimeSpan.FromSeconds(60));
        var ended = seen.Last(m => m.Message.Snapshot is not null).Message.Snapshot!;
        Assert.Equal(Zeroshot.Agents.State.ClusterState.Completed, ended.State);
        Assert.Equal(0, ended.Agents[0].ExitCode);
        Assert.Equal(Expected(ToolTurn + FirstAnswer + SecondAnswer), Tokens(ended.Agents[0]));
        // No state guessed from the screen while the CLI gave signals.
        Assert.DoesNotContain(seen, m => m.Message.Snapshot?.Agents[0] is { State: Zeroshot.Agents.State.AgentState.Running, ActivityInferred: true });

        // The --on-event program: the needs-input with its question, and the idle after each turn.
        var hooked = run.Events();
        Assert.Contains(hooked, e => e.GetProperty("event").GetString() == "needs-input" && e.GetProperty("agent").GetString() == "worker"
            && e.GetProperty("cluster").GetString() == id && e.GetProperty("question").GetString()!.Contains("touch tool-ran.txt", StringComparison.Ordinal));
        Assert.Contains(hooked, e => e.GetProperty("event").GetString() == "idle" && e.GetProperty("agent").GetString() == "worker");
    }

    /// <summary>
    /// Codex's TUI with approvals on request: its approval reads needs-input (with the command) from its OSC 9
    /// notification no later than 1 s after the dialog is on the screen; the person attaches, answers and detaches; its
    /// turns end with its notify program (its title's side thread ignored), its tokens come from its rollout file, a prompt
    /// sent with <c>zeroshot send</c> is answered, <c>/exit</c> ends it and starts the agent after it.
    /// </summary>
    [Fact]
    public async Task Codexs_tui_asks_through_its_osc9_notification_ends_turns_through_notify_is_counted_from_its_rollout_and_ends_with_exit()
    {
        // OpenAI's usage has no cache writes.
        var tool = ToolTurn with { CacheCreation = 0 };
        var first = FirstAnswer with { CacheCreation = 0 };
        var second = SecondAnswer with { CacheCreation = 0 };
        await using var server = new ModelServer();
        // A command the model asks to run outside the sandbox: with approvals "on-request", Codex asks the person.
        server.Default.Then(
            ScriptedTurn.Tool("exec_command", """{"cmd":"sleep 3; touch tool-ran.txt","sandbox_permissions":"require_escalated","justification":"Write the marker file"}""", tool),
            ScriptedTurn.Text("First-turn-done.", first),
            ScriptedTurn.Text("Second-answer-here.", second));
        // Codex offers to migrate gpt-5.5 to a newer model on a screen of its own: answered in advance (field notes).
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Codex, server, new AgentSandboxOptions { CodexConfigExtra = "[notice.model_migrations]\n\"gpt-5.5\" = \"gpt-6-sol\"" });
        await using var run = await Run.StartAsync(this, server, sandbox, new
        {
            id = "worker", role = "worker", provider = "codex", interactive = true,
            args = new[] { "-a", "on-request" }, cwd = sandbox.WorkDir
        }, onEventInFile: true);
        var (id, tmux, seen, clock) = (run.Id, run.Tmux, run.Seen, run.Clock);
        void WaitForWorker(Func<AgentSnapshot, bool> condition, string what, int ms = 90_000) => run.WaitForWorker(condition, what, ms);
        string marker = run.Marker;

        tmux.WaitFor(s => s.Any(l => l.StartsWith('$')), "the prompt");
        tmux.SendText($"{ZeroshotProcess.Command} attach {id} --agent worker; echo EXIT=$?");
        tmux.SendKeys("Enter");
        // Codex's approval on the screen, and its OSC 9 notification's word in the live model.
        var screen = tmux.WaitFor(s => s.Any(l => l.Contains("Would you like to run the following command?", StringComparison.Ordinal)),
            "Codex's approval dialog", TimeSpan.FromSeconds(120));
        var dialogAt = clock.Elapsed;
        WaitForWorker(w => w.Activity == AgentActivity.NeedsInput, "needs-input", 10_000);
        var needsInput = seen.First(m => m.Message.Snapshot?.Agents[0].Activity == AgentActivity.NeedsInput);
        Assert.True(needsInput.At <= dialogAt + TimeSpan.FromSeconds(1), $"needs-input at {needsInput.At}, the dialog at {dialogAt}:\n{string.Join('\n', screen)}");
        Assert.Equal("sleep 3; touch tool-ran.txt", needsInput.Message.Snapshot!.Agents[0].ActivityDetail);
        Assert.False(needsInput.Message.Snapshot!.Agents[0].ActivityInferred);
        run.WaitForListed("worker needs-input: sleep 3; touch tool-ran.txt", "sleep 3; touch tool-ran.txt");
        // Yes (the selected first choice), then detach.
        tmux.SendKeys("Enter");
        WaitForWorker(w => w.Activity != AgentActivity.NeedsInput, "the answer taken", 10_000);
        tmux.SendKeys("C-b", "d");
        tmux.WaitFor(s => s.Any(l => l.StartsWith("EXIT=0", StringComparison.Ordinal)), "the detach");

        WaitForWorker(w => w.Activity == AgentActivity.Idle && w.LastLine == "First-turn-done.", "idle after the first turn");
        Assert.True(File.Exists(Path.Combine(sandbox.WorkDir, "tool-ran.txt")), "the command ran");
        WaitForWorker(w => Tokens(w) == Expected(tool + first), "the first turn's tokens", 30_000);

        var sent = ZeroshotProcess.RunIn(_home, TimeSpan.FromSeconds(60), "send", id, "Say the second answer");
        Assert.True(sent.ExitCode == 0, sent.Out + sent.Error);
        WaitForWorker(w => w.Activity == AgentActivity.Idle && w.LastLine == "Second-answer-here.", "idle after the second prompt");
        WaitForWorker(w => Tokens(w) == Expected(tool + first + second), "the second turn's tokens", 30_000);
        Assert.Equal(tool + first + second, server.Served());

        Assert.Equal(0, ZeroshotProcess.RunIn(_home, TimeSpan.FromSeconds(60), "send", id, "/exit").ExitCode);
        Wait.Until(() => File.Exists(marker), "the dependent agent's run", 60_000);
        await run.Follow.WaitAsync(TimeSpan.FromSeconds(60));
        var ended = seen.Last(m => m.Message.Snapshot is not null).Message.Snapshot!;
        Assert.Equal(Zeroshot.Agents.State.ClusterState.Completed, ended.State);
        Assert.Equal(Expected(tool + first + second), Tokens(ended.Agents[0]));
        // Its title's side thread ended a turn too: never taken for the session's.
        Assert.DoesNotContain(seen, m => m.Message.Event is IdleEvent { Message: "Scripted side answer." });
        Assert.DoesNotContain(seen, m => m.Message.Snapshot?.Agents[0] is { State: Zeroshot.Agents.State.AgentState.Running, ActivityInferred: true });
        var hooked = run.Events();
        Assert.Contains(hooked, e => e.GetProperty("event").GetString() == "needs-input" && e.GetProperty("question").GetString() == "sleep 3; touch tool-ran.txt");
        Assert.Equal(2, hooked.Count(e => e.GetProperty("event").GetString() == "idle" && e.GetProperty("agent").GetString() == "worker"));
    }

    /// <summary>
    /// Gemini CLI's TUI gives no signal of its state (its activity is inferred from output and marked so), but its tokens
    /// are exact: Zeroshot chooses its session id, finds the chat file named by it, and follows it live, each model
    /// message once. The first prompt's turn and one sent with <c>zeroshot send</c> are counted as served; <c>/quit</c>
    /// ends it and starts the agent after it.
    /// </summary>
    [Fact]
    public async Task Geminis_tui_is_counted_from_its_chat_file_live_answers_send_and_ends_with_quit()
    {
        // Gemini reports thoughts as output and cached tokens inside its input (TokenCounts.FromCodex).
        var first = new TokenUsage(Input: 2100, Output: 31, CacheRead: 400, Reasoning: 7);
        var second = new TokenUsage(Input: 2300, Output: 19, CacheRead: 900, Reasoning: 3);
        await using var server = new ModelServer();
        server.Default.Then(ScriptedTurn.Text("First-turn-done.", first), ScriptedTurn.Text("Second-answer-here.", second));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Gemini, server);
        await using var run = await Run.StartAsync(this, server, sandbox, new
        {
            id = "worker", role = "worker", provider = "gemini", interactive = true, cwd = sandbox.WorkDir
        });
        var (id, seen, tmux) = (run.Id, run.Seen, run.Tmux);
        void WaitForWorker(Func<AgentSnapshot, bool> condition, string what, int ms = 90_000) => run.WaitForWorker(condition, what, ms);
        static (long, long, long, long) Billed(TokenUsage u) => (u.Input, u.Output + u.Reasoning, u.CacheRead, 0);
        // A viewer that types nothing: the TUI's screen, for a failure's message.
        tmux.WaitFor(s => s.Any(l => l.StartsWith('$')), "the prompt");
        tmux.SendText($"{ZeroshotProcess.Command} attach {id} --agent worker --read-only; echo EXIT=$?");
        tmux.SendKeys("Enter");

        WaitForWorker(w => Tokens(w) == Billed(first), $"the first turn's tokens ({Billed(first)}) from the chat file");
        Assert.Single(server.ModelRequests, r => r.Kind == RequestKind.Scripted);
        var sent = ZeroshotProcess.RunIn(_home, TimeSpan.FromSeconds(60), "send", id, "Say the second answer");
        Assert.True(sent.ExitCode == 0, sent.Out + sent.Error);
        WaitForWorker(w => Tokens(w) == Billed(first + second), "the second turn's tokens");
        Assert.Equal(2, server.ModelRequests.Count(r => r.Kind == RequestKind.Scripted));

        Assert.Equal(0, ZeroshotProcess.RunIn(_home, TimeSpan.FromSeconds(60), "send", id, "/quit").ExitCode);
        Wait.Until(() => File.Exists(run.Marker), "the dependent agent's run", 60_000);
        await run.Follow.WaitAsync(TimeSpan.FromSeconds(60));
        var ended = seen.Last(m => m.Message.Snapshot is not null).Message.Snapshot!;
        Assert.Equal(Zeroshot.Agents.State.ClusterState.Completed, ended.State);
        Assert.Equal(Billed(first + second), Tokens(ended.Agents[0]));
        // The model the TUI asked for (its default, not the headless one), from the chat file.
        var model = ended.Agents[0].Model;
        Assert.NotNull(model);
        Assert.All(server.ModelRequests.Where(r => r.Kind == RequestKind.Scripted), r => Assert.Contains($"/models/{model}:", r.Target, StringComparison.Ordinal));
        Assert.True(ended.Agents[0].CostUsd > 0, "priced by its model");
        // No CLI signal: what it does is guessed from its output, and says so.
        Assert.Contains(seen, m => m.Message.Snapshot?.Agents[0] is { State: Zeroshot.Agents.State.AgentState.Running, ActivityInferred: true });
    }

    /// <summary>
    /// One interactive cluster of these tests: the agent given and, after it, a command agent that leaves a marker; started
    /// detached with an <c>--on-event</c> program (or the file's <c>onEvent</c>) that keeps every event; its supervisor's
    /// snapshots and events followed with when they arrived; and a shell in tmux to attach from.
    /// </summary>
    private sealed class Run : IAsyncDisposable
    {
        private ControlClient _client = null!;
        private string _home = "";
        private ModelServer _server = null!;
        private string _events = "";

        public string Id { get; private set; } = "";

        public string Marker { get; private set; } = "";

        public TmuxSession Tmux { get; private set; } = null!;

        public ConcurrentQueue<(TimeSpan At, LiveMessage Message)> Seen { get; } = new();

        public Stopwatch Clock { get; } = Stopwatch.StartNew();

        public Task Follow { get; private set; } = Task.CompletedTask;

        public static async Task<Run> StartAsync(RealInteractiveTests test, ModelServer server, AgentSandbox sandbox, object agent, bool onEventInFile = false)
        {
            var run = new Run { _home = test._home, _server = server, Marker = Path.Combine(test._home, "dependent-ran"), _events = Path.Combine(test._home, "events.jsonl") };
            string onEvent = Path.Combine(test._home, "on-event.sh");
            File.WriteAllText(onEvent, $"#!/bin/sh\ncat >> '{run._events}'\necho >> '{run._events}'\n");
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(onEvent, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            string cluster = Path.Combine(test._home, "cluster.json");
            File.WriteAllText(cluster, JsonSerializer.Serialize(new
            {
                name = "interactive",
                prompt = "Run the tool please",
                onEvent = onEventInFile ? new[] { onEvent } : null,
                agents = new[] { agent, new { id = "after", role = "worker", command = new[] { "sh", "-c", $"echo ran > '{run.Marker}'" }, after = new[] { "worker" } } },
            }, new JsonSerializerOptions { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull }));
            var env = new Dictionary<string, string>(sandbox.Environment) { ["XDG_RUNTIME_DIR"] = test._runtime };
            string[] args = onEventInFile ? ["run", "--detach", cluster] : ["run", "--detach", "--on-event", onEvent, cluster];
            using (var started = ZeroshotProcess.Start(test._home, env, args))
            {
                var r = started.Wait(TimeSpan.FromSeconds(60));
                Assert.True(r.ExitCode == 0, r.Out + r.Error);
                run.Id = r.Out.Trim();
                test._started.Add(run.Id);
            }
            run.Tmux = TmuxSession.Start(Width, Height, "env PS1='$ ' bash --norc --noprofile", new Dictionary<string, string>(env)
            {
                ["ZEROSHOT_HOME"] = test._home,
                ["TERM"] = "xterm-256color",
            });
            run._client = await ControlClient.ConnectAsync(Path.Combine(test._runtime, "zeroshot", run.Id + ".sock"));
            var subscription = await run._client.SubscribeAsync(ControlProtocol.SnapshotsStream, capacity: 4096);
            run.Follow = Task.Run(async () =>
            {
                await foreach (var frame in subscription.ReadAllAsync())
                    run.Seen.Enqueue((run.Clock.Elapsed, LiveJson.ReadMessage(frame.Span)));
            });
            return run;
        }

        public AgentSnapshot? Worker() => Seen.LastOrDefault(m => m.Message.Snapshot is not null).Message?.Snapshot?.Agents[0];

        /// <summary>Waits for the worker's snapshot to satisfy <paramref name="condition"/>; a timeout says where it is.</summary>
        public void WaitForWorker(Func<AgentSnapshot, bool> condition, string what, int ms)
        {
            try
            {
                Wait.Until(() => Worker() is { } w && condition(w), what, ms);
            }
            catch (TimeoutException e)
            {
                var w = Worker();
                var activities = string.Join(" → ", Seen.Select(m => m.Message.Snapshot?.Agents[0].ActivityText()).Where(a => a is not null)
                    .Aggregate(new List<string>(), (list, a) => { if (list.Count == 0 || list[^1] != a) list.Add(a!); return list; }));
                throw new TimeoutException($"{e.Message}; the worker reads {w?.ActivityText()}, last line {w?.LastLine}, tokens {w?.Tokens}, " +
                    $"served {_server.Served()}; activities seen: {activities}; screen:\n{string.Join('\n', Tmux.Capture())}", e);
            }
        }

        /// <summary>
        /// Waits until the state database holds the worker's needs-input with <paramref name="detail"/> (the supervisor
        /// writes it at its next tick), then checks that <c>list</c> shows the cluster first with <paramref name="words"/>.
        /// </summary>
        public void WaitForListed(string words, string detail)
        {
            (string? Activity, string? Detail) stored = default;
            Wait.Until(() =>
            {
                using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_home, "state.db")};Mode=ReadOnly;Pooling=False");
                db.Open();
                using var command = db.CreateCommand();
                command.CommandText = "SELECT live_activity, live_detail FROM agents WHERE cluster_id = $id AND agent_id = 'worker'";
                command.Parameters.AddWithValue("$id", Id);
                using var reader = command.ExecuteReader();
                stored = reader.Read() ? (reader.IsDBNull(0) ? null : reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1)) : default;
                return stored.Activity == "needs-input" && stored.Detail?.Contains(detail, StringComparison.Ordinal) == true;
            }, $"needs-input in the state database (it holds {stored.Activity}: {stored.Detail})", 10_000);
            var list = ZeroshotProcess.RunIn(_home, "list");
            Assert.True(list.ExitCode == 0, list.Error);
            var first = list.Out.Split('\n')[1];
            Assert.StartsWith(Id + " ", first, StringComparison.Ordinal);
            Assert.Contains(words, first, StringComparison.Ordinal);
        }

        /// <summary>What the on-event program received, one event per line.</summary>
        public List<JsonElement> Events() =>
            File.ReadAllLines(_events).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

        public async ValueTask DisposeAsync()
        {
            Tmux.Dispose();
            await _client.DisposeAsync();
        }
    }

    private static (long Input, long Output, long CacheRead, long CacheCreation) Tokens(AgentSnapshot a) =>
        (a.Tokens.Input, a.Tokens.Output, a.Tokens.CacheRead, a.Tokens.CacheCreation);

    private static (long Input, long Output, long CacheRead, long CacheCreation) Expected(TokenUsage u) =>
        (u.Input, u.Output, u.CacheRead, u.CacheCreation);
}
