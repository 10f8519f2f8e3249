using System.Text.Json;
using Zeroshot.Agents.Config;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.Supervision;
using Zeroshot.Agents.Tests.State;

namespace Zeroshot.Agents.Tests.Interactive;

/// <summary>Interactive agents without processes: the activity machine fed captured hook inputs, the command lines, the
/// cluster file fields and Claude Code's session status file.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class InteractiveAgentTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 7, 0, 0, TimeSpan.Zero);
    private readonly StoreTempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    // Hook inputs as Claude Code 2.1.332 gave them (field notes; trimmed to the fields read).
    private static JsonElement Hook(string json) => JsonDocument.Parse(json).RootElement.Clone();

    private const string Transcript = "/h/.claude/projects/-w/2783daff-e6ad-45d3-84ee-a0d3736a7efe.jsonl";

    private static JsonElement Event(string name, string extra = "") =>
        Hook($$"""{"session_id":"2783daff-e6ad-45d3-84ee-a0d3736a7efe","transcript_path":"{{Transcript}}","cwd":"/w","hook_event_name":"{{name}}"{{extra}}}""");

    private static readonly string BashInput = ""","tool_name":"Bash","tool_input":{"command":"sleep 3; touch tool-ran.txt","description":"Run the scripted command"}""";

    [Fact]
    public void A_claude_turn_with_a_permission_dialog_reads_model_tool_needs_input_tool_model_idle_and_calls_the_person_twice()
    {
        var a = new InteractiveActivity(hasPrompt: true, cliSignals: true);
        // Before its CLI's first signal: at work on the prompt it was started with, as Zeroshot started it (not a guess).
        Assert.Equal(AgentActivity.Model, a.Current(Now, null, out bool inferred).Activity);
        Assert.False(inferred);
        Assert.Equal(InteractiveSignal.None, a.OnClaudeHook(Event("SessionStart", ""","source":"startup" """)));
        Assert.Equal(Transcript, a.TranscriptPath);
        Assert.Equal(InteractiveSignal.None, a.OnClaudeHook(Event("UserPromptSubmit", ""","prompt":"Run the tool please" """)));
        Assert.Equal(InteractiveSignal.None, a.OnClaudeHook(Event("PreToolUse", BashInput)));
        Assert.Equal((AgentActivity.Tool, "Bash"), a.Current(Now, null, out inferred));
        Assert.False(inferred);
        Assert.Equal(InteractiveSignal.NeedsInput, a.OnClaudeHook(Event("PermissionRequest", BashInput)));
        Assert.Equal((AgentActivity.NeedsInput, "Bash: sleep 3; touch tool-ran.txt"), a.Current(Now, null, out _));
        // The reminder 6 s later asks nothing new.
        Assert.Equal(InteractiveSignal.None, a.OnClaudeHook(Event("Notification", ""","notification_type":"permission_prompt","message":"Claude needs your permission to use Bash" """)));
        Assert.Equal(InteractiveSignal.None, a.OnClaudeHook(Event("PostToolUse", BashInput)));
        Assert.Equal(AgentActivity.Model, a.Current(Now, null, out _).Activity);
        Assert.Equal(InteractiveSignal.Idle, a.OnClaudeHook(Event("Stop", ""","last_assistant_message":"All done here.\nSecond line." """)));
        Assert.Equal(AgentActivity.Idle, a.Current(Now, null, out _).Activity);
        Assert.Equal("All done here.", a.LastMessage);
        // idle_prompt a minute later: already idle, nobody called again.
        Assert.Equal(InteractiveSignal.None, a.OnClaudeHook(Event("Notification", ""","notification_type":"idle_prompt","message":"Claude is waiting for your input" """)));
    }

    [Fact]
    public void The_session_status_file_says_what_no_hook_does_the_answer_and_an_interrupt()
    {
        var a = new InteractiveActivity(hasPrompt: true, cliSignals: true);
        a.OnClaudeHook(Event("UserPromptSubmit"));
        Assert.Equal(InteractiveSignal.None, a.OnClaudeSessionStatus("busy", null));
        a.OnClaudeHook(Event("PreToolUse", BashInput));
        // The status file may say "waiting" before the PermissionRequest hook arrives: the question is PreToolUse's.
        Assert.Equal(InteractiveSignal.NeedsInput, a.OnClaudeSessionStatus("waiting", "permission prompt"));
        Assert.Equal((AgentActivity.NeedsInput, "Bash: sleep 3; touch tool-ran.txt"), a.Current(Now, null, out _));
        Assert.Equal(InteractiveSignal.None, a.OnClaudeHook(Event("PermissionRequest", BashInput)));
        // The person answered: waiting → busy, the tool runs.
        Assert.Equal(InteractiveSignal.None, a.OnClaudeSessionStatus("busy", null));
        Assert.Equal((AgentActivity.Tool, "Bash"), a.Current(Now, null, out _));
        // The same status again changes nothing; Esc during the tool: busy → idle with no hook.
        Assert.Equal(InteractiveSignal.None, a.OnClaudeSessionStatus("busy", null));
        Assert.Equal(InteractiveSignal.Idle, a.OnClaudeSessionStatus("idle", null));
        Assert.Equal(AgentActivity.Idle, a.Current(Now, null, out _).Activity);
    }

    [Fact]
    public void A_permission_hook_slower_than_the_persons_answer_asks_nothing_again()
    {
        // Seen in CI: the dialog drawn and answered while the PermissionRequest hook's process was still starting.
        var a = new InteractiveActivity(hasPrompt: true, cliSignals: true);
        a.OnClaudeSessionStatus("busy", null);
        a.OnClaudeHook(Event("PreToolUse", BashInput));
        Assert.Equal(InteractiveSignal.NeedsInput, a.OnClaudeSessionStatus("waiting", "permission prompt"));
        a.OnClaudeSessionStatus("busy", null);
        Assert.Equal(InteractiveSignal.None, a.OnClaudeHook(Event("PermissionRequest", BashInput)));
        Assert.Equal((AgentActivity.Tool, "Bash"), a.Current(Now, null, out _));
        // The next tool's dialog asks again.
        a.OnClaudeHook(Event("PostToolUse", BashInput));
        a.OnClaudeHook(Event("PreToolUse", BashInput));
        Assert.Equal(InteractiveSignal.NeedsInput, a.OnClaudeHook(Event("PermissionRequest", BashInput)));
    }

    [Fact]
    public void A_stale_busy_status_never_undoes_a_permission_hook()
    {
        var a = new InteractiveActivity(hasPrompt: true, cliSignals: true);
        a.OnClaudeHook(Event("PreToolUse", BashInput));
        Assert.Equal(InteractiveSignal.NeedsInput, a.OnClaudeHook(Event("PermissionRequest", BashInput)));
        // "busy" written before the dialog, read after the hook: not an answer (no "waiting" came before it).
        a.OnClaudeSessionStatus("busy", null);
        Assert.Equal(AgentActivity.NeedsInput, a.Current(Now, null, out _).Activity);
    }

    [Fact]
    public void An_api_error_ends_the_turn_in_error_and_calls_the_person_a_new_prompt_works_again()
    {
        var a = new InteractiveActivity(hasPrompt: true, cliSignals: true);
        Assert.Equal(InteractiveSignal.Idle, a.OnClaudeHook(Event("StopFailure", ""","error":"rate_limit","last_assistant_message":"API Error: 429" """)));
        Assert.Equal((AgentActivity.Error, "rate_limit"), a.Current(Now, null, out _));
        a.OnPromptSent();
        Assert.Equal(AgentActivity.Model, a.Current(Now, null, out _).Activity);
    }

    [Fact]
    public void Codex_notify_ends_a_turn_of_the_sessions_own_thread_only()
    {
        var a = new InteractiveActivity(hasPrompt: true, cliSignals: true);
        const string Main = """{"type":"agent-turn-complete","thread-id":"t1","turn-id":"1","last-assistant-message":"Done.","input-messages":["x"]}""";
        // Before the session's thread is known (its rollout not found), and for the title's side thread: nothing.
        Assert.Equal(InteractiveSignal.None, a.OnCodexNotify(Hook(Main)));
        a.SetCodexThread("t1", "/c/sessions/2026/12/03/rollout-2026-12-03T06-51-00-t1.jsonl");
        Assert.Equal(InteractiveSignal.None, a.OnCodexNotify(Hook("""{"type":"agent-turn-complete","thread-id":"title","last-assistant-message":"Fix the build"}""")));
        Assert.Equal(InteractiveSignal.None, a.OnCodexNotify(Hook("""{"type":"something-else","thread-id":"t1"}""")));
        Assert.Equal(InteractiveSignal.Idle, a.OnCodexNotify(Hook(Main)));
        Assert.Equal("Done.", a.LastMessage);
        Assert.True(a.HasSignals);
        Assert.Equal("/c/sessions/2026/12/03/rollout-2026-12-03T06-51-00-t1.jsonl", a.TranscriptPath);
    }

    [Fact]
    public void A_codex_rollout_is_found_by_its_thread_in_the_newest_day_folders()
    {
        var home = _dir.File("codex-home");
        var day = Directory.CreateDirectory(Path.Combine(home, "sessions", "2026", "12", "03")).FullName;
        var rollout = Path.Combine(day, "rollout-2026-12-03T06-51-00-01a23aab-b0c2-7fe3-ad8a-8f3036580c31.jsonl");
        File.WriteAllText(rollout, "{}\n");
        Directory.CreateDirectory(Path.Combine(home, "sessions", "2026", "11", "30"));
        Assert.Equal(rollout, Zeroshot.Agents.Transcripts.CodexRollout.FindByThread(home, "01a23aab-b0c2-7fe3-ad8a-8f3036580c31"));
        Assert.Null(Zeroshot.Agents.Transcripts.CodexRollout.FindByThread(home, "01a23aab-b164-7480-bc1e-571ad5e93079")); // the title's thread: no rollout
        Assert.Null(Zeroshot.Agents.Transcripts.CodexRollout.FindByThread(home, "*"));
        Assert.Null(Zeroshot.Agents.Transcripts.CodexRollout.FindByThread(_dir.File("nowhere"), "x"));
    }

    [Fact]
    public void Codexs_approval_notification_asks_the_person_and_a_key_typed_then_resumes_the_turn()
    {
        var a = new InteractiveActivity(hasPrompt: true, cliSignals: true);
        // A finished turn's notification is the notify program's business; a ConEmu-style one is not even seen here.
        Assert.Equal(InteractiveSignal.None, a.OnTerminalNotification("All done here."));
        Assert.Equal(InteractiveSignal.NeedsInput, a.OnTerminalNotification("Approval requested: sleep 3; touch tool-ran.txt"));
        Assert.Equal((AgentActivity.NeedsInput, "sleep 3; touch tool-ran.txt"), a.Current(Now, null, out bool inferred));
        Assert.False(inferred);
        a.OnPersonTyped();
        Assert.Equal(AgentActivity.Model, a.Current(Now, null, out _).Activity);
        // Keys typed at other times change nothing; nor do keys in a Claude dialog (its status file says when it is answered).
        a.OnPersonTyped();
        Assert.Equal(AgentActivity.Model, a.Current(Now, null, out _).Activity);
        a.OnClaudeHook(Event("PreToolUse", BashInput));
        a.OnClaudeHook(Event("PermissionRequest", BashInput));
        a.OnPersonTyped();
        Assert.Equal(AgentActivity.NeedsInput, a.Current(Now, null, out _).Activity);
    }

    [Fact]
    public void Without_any_signal_the_activity_is_inferred_from_output_and_says_so()
    {
        var a = new InteractiveActivity(hasPrompt: false, cliSignals: false);
        Assert.Equal(AgentActivity.Output, a.Current(Now, Now - TimeSpan.FromSeconds(1), out bool inferred).Activity);
        Assert.True(inferred);
        Assert.Equal(AgentActivity.Idle, a.Current(Now, Now - InteractiveActivity.QuietAfter, out inferred).Activity);
        Assert.True(inferred);
    }

    [Fact]
    public void A_hook_input_that_is_not_an_object_is_malformed()
    {
        var a = new InteractiveActivity(hasPrompt: true, cliSignals: true);
        Assert.Throws<InvalidDataException>(() => a.OnClaudeHook(Hook("[1,2]")));
        Assert.Throws<InvalidDataException>(() => a.OnCodexNotify(Hook("\"x\"")));
    }

    private string FakeExecutable(string name)
    {
        var bin = Directory.CreateDirectory(_dir.File("bin")).FullName;
        var path = Path.Combine(bin, name);
        File.WriteAllText(path, "#!/bin/sh\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return bin;
    }

    [Fact]
    public void Interactive_command_lines_start_each_tui_with_the_prompt_and_wire_claudes_hooks_and_codexs_notify()
    {
        var bin = FakeExecutable("claude");
        FakeExecutable("codex");
        FakeExecutable("gemini");
        var catalog = new ProviderCatalog(ZeroshotSettings.Default, ["/opt/zs's/zeroshot"], bin);
        var claude = new AgentConfig("worker", AgentRole.Worker, "claude", Model: "sonnet") { Interactive = true, Args = ["--permission-mode", "default"] };
        var resolved = catalog.Resolve(claude, "-fix it", sessionId: "2783daff-e6ad-45d3-84ee-a0d3736a7efe");
        Assert.Null(resolved.StandardInput); // a TUI reads its terminal
        Assert.Equal(["claude", "--session-id", "2783daff-e6ad-45d3-84ee-a0d3736a7efe", "--settings"], resolved.Argv.Take(4));
        Assert.Equal(["--model", "sonnet", "--permission-mode", "default", "--", "-fix it"], resolved.Argv.Skip(5));
        using (var settings = JsonDocument.Parse(resolved.Argv[4]))
        {
            var hooks = settings.RootElement.GetProperty("hooks");
            foreach (var name in ProviderCatalog.ClaudeHookEvents)
            {
                var hook = hooks.GetProperty(name)[0].GetProperty("hooks")[0];
                Assert.Equal("command", hook.GetProperty("type").GetString());
                // Run through a shell by Claude Code: quoted, a quote in the path included.
                Assert.Equal("'/opt/zs'\\''s/zeroshot' 'hook' '--from' 'claude'", hook.GetProperty("command").GetString());
            }
        }
        var codex = catalog.Resolve(new AgentConfig("worker", AgentRole.Worker, "codex") { Interactive = true }, "fix it");
        Assert.Equal(["codex", "--no-daemon", "-c", "notify=[\"/opt/zs\\u0027s/zeroshot\",\"hook\",\"--from\",\"codex\"]",
            "-c", "tui.notifications=true", "-c", "tui.notification_method=\"osc9\"", "--", "fix it"], codex.Argv);
        // Gemini gets no session id: its own restart (after the person trusts the folder) runs it again with the same
        // arguments, and an id that exists by then ends it.
        var gemini = catalog.Resolve(new AgentConfig("worker", AgentRole.Worker, "gemini", Model: "gemini-3-pro") { Interactive = true }, "fix it",
            sessionId: "2783daff-e6ad-45d3-84ee-a0d3736a7efe");
        Assert.Equal(["gemini", "-m", "gemini-3-pro", "-i", "fix it"], gemini.Argv);
        // No prompt: the TUI starts empty, without "--" or "-i" dangling.
        Assert.Equal(["gemini"], catalog.Resolve(new AgentConfig("worker", AgentRole.Worker, "gemini") { Interactive = true }, null).Argv);
        Assert.Equal(["codex", "--no-daemon", "-c"], catalog.Resolve(new AgentConfig("worker", AgentRole.Worker, "codex") { Interactive = true }, "").Argv.Take(3));
        Assert.DoesNotContain("--", catalog.Resolve(new AgentConfig("worker", AgentRole.Worker, "codex") { Interactive = true }, "").Argv);
    }

    [Fact]
    public void Cluster_files_take_interactive_args_and_on_event_and_refuse_what_cannot_work()
    {
        var config = ClusterConfigLoader.LoadFromJson("""
            {"prompt":"p","onEvent":["notify.sh","--loud"],"agents":[
              {"id":"worker","role":"worker","provider":"claude","interactive":true,"args":["--permission-mode","default"]},
              {"id":"after","role":"worker","command":["true"],"after":["worker"]}]}
            """, "c.json");
        Assert.True(config.Agents[0].Interactive);
        Assert.Equal(["--permission-mode", "default"], config.Agents[0].Args);
        Assert.Equal(["notify.sh", "--loud"], config.OnEvent);
        // Written back and read again: the same.
        var again = ClusterConfigLoader.LoadFromJson(ClusterConfigJson.Serialize(config), "c.json");
        Assert.True(again.Agents[0].Interactive);
        Assert.Equal(config.Agents[0].Args, again.Agents[0].Args);
        Assert.Equal(config.OnEvent, again.OnEvent);

        string Refused(string agent) => Assert.Throws<UserErrorException>(() => ClusterConfigLoader.LoadFromJson(
            $$"""{"prompt":"p","agents":[{"id":"w","role":"worker","command":["true"]},{{agent}}]}""", "c.json")).Message;
        Assert.Contains("verdict", Refused("""{"id":"v","role":"validator","provider":"claude","interactive":true}"""), StringComparison.Ordinal);
        Assert.Contains("no interactive mode", Refused("""{"id":"s","role":"worker","provider":"sim","interactive":true}"""), StringComparison.Ordinal);
        Assert.Contains("expected true or false", Refused("""{"id":"s","role":"worker","provider":"claude","interactive":"yes"}"""), StringComparison.Ordinal);
        Assert.Contains("\"args\"", Refused("""{"id":"s","role":"worker","provider":"claude","args":["-x"]}"""), StringComparison.Ordinal);
    }

    [Fact]
    public void Claudes_session_status_file_is_read_for_its_session_only()
    {
        const string File1 = """{"pid":9513,"sessionId":"2783daff-e6ad-45d3-84ee-a0d3736a7efe","kind":"interactive","status":"waiting","waitingFor":"permission prompt"}""";
        Assert.Equal(("waiting", "permission prompt"), ClaudeSessionFile.Parse(System.Text.Encoding.UTF8.GetBytes(File1), "2783daff-e6ad-45d3-84ee-a0d3736a7efe"));
        Assert.Null(ClaudeSessionFile.Parse(System.Text.Encoding.UTF8.GetBytes(File1), "another"));
        // Caught mid-write, or the key file next to it.
        Assert.Null(ClaudeSessionFile.Parse("""{"pid":9513,"sessionId":"27"""u8, "2783daff"));
        Assert.Null(ClaudeSessionFile.Parse("""{"peerToken":"82af","procStart":"4873877"}"""u8, "2783daff"));
    }
}
