using System.Runtime.CompilerServices;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.Transcripts;
using Zeroshot.Terminal.Tests.Support;

namespace Zeroshot.RealAgents.Tests;

/// <summary>
/// Runs the real CLIs against the scripted server and follows the session files they write themselves (Claude's
/// project transcript, Codex's rollout, Gemini's chat file) with <see cref="TranscriptFollower"/> while they run:
/// the deduplicated totals must equal what the server served. These are the files Zeroshot follows when the CLIs
/// run in their interactive TUIs; <c>-p</c>/<c>exec</c> mode writes the same files.
/// With ZEROSHOT_SAVE_TRANSCRIPTS=1 the files are copied to tests/Zeroshot.Agents.Tests/Transcripts/Samples.
/// </summary>
public sealed class TranscriptTests
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Claude_transcript_totals_equal_the_served_usage()
    {
        await using var server = new ModelServer();
        server.Default.Then(
            ScriptedTurn.Shell("echo hi > out.txt", new TokenUsage(1200, 45, 300, 70), preamble: "Writing the file."),
            ScriptedTurn.Text("Done: out.txt written.", new TokenUsage(1500, 20, 900, 11)));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Claude, server);
        var id = Guid.NewGuid().ToString();
        var path = ClaudeTranscript.PathFor(sandbox.ConfigDir, sandbox.WorkDir, id);
        var usage = new ClaudeTranscriptUsage();
        var gate = new Lock();
        await using var follower = new TranscriptFollower(path, line =>
        {
            lock (gate)
                usage.AddLine(line);
        });

        var run = await sandbox.RunAsync(["-p", "Write hi into out.txt", "--session-id", id, "--permission-mode", "bypassPermissions"]);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.True(File.Exists(path), $"no transcript at {path}: " + string.Join(", ", Directory.EnumerateFiles(sandbox.ConfigDir, "*.jsonl", SearchOption.AllDirectories)));
        var served = server.Served(protocol: ModelProtocol.Anthropic);
        var expected = new TokenCounts(served.Input, served.Output, served.CacheRead, served.CacheCreation);
        Assert.Equal(new TokenCounts(2700, 65, 1200, 81), expected);
        await WaitUntil(() => { lock (gate) return usage.Tokens == expected && usage.CostUsd is not null; }, () => $"{usage.Tokens} after {follower.Lines} lines");
        lock (gate)
        {
            Assert.Equal(2, usage.Messages);
            Assert.Equal("claude-opus-5-5", usage.Model);
        }
        Assert.Equal(0, follower.MalformedLines);
        Assert.Equal(0, follower.HandlerErrors);
        Save("claude-tool-call", path);
    }

    [Fact]
    public async Task Claude_transcript_of_a_long_cwd_is_found_by_session_id()
    {
        await using var server = new ModelServer();
        server.Default.Then(ScriptedTurn.Text("Done.", new TokenUsage(100, 5, 0, 0)));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Claude, server);
        // Over 200 characters once sanitized: Claude Code cuts the folder name and appends a hash.
        var deep = Path.Combine(sandbox.WorkDir, new string('d', 120), new string('e', 120));
        Directory.CreateDirectory(deep);
        var id = Guid.NewGuid().ToString();
        var info = sandbox.StartInfo(["-p", "Say done", "--session-id", id]);
        info.WorkingDirectory = deep;
        using var process = System.Diagnostics.Process.Start(info)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(90));
        Assert.True(process.ExitCode == 0, await stderr);
        var found = ClaudeTranscript.FindBySessionId(sandbox.ConfigDir, id);
        Assert.NotNull(found);
        var dirName = Path.GetFileName(Path.GetDirectoryName(found))!;
        Assert.True(deep.Length > ClaudeTranscript.MaxProjectDirLength);
        // The cut name and its hash suffix are reproduced exactly.
        Assert.Equal(found, ClaudeTranscript.PathFor(sandbox.ConfigDir, deep, id));
        Assert.Equal(ClaudeTranscript.MaxProjectDirLength, dirName.LastIndexOf('-'));
        var usage = new ClaudeTranscriptUsage();
        foreach (var line in File.ReadAllLines(found))
            usage.AddLine(System.Text.Encoding.UTF8.GetBytes(line));
        Assert.Equal(new TokenCounts(100, 5, 0, 0), usage.Tokens);
        await stdout;
    }

    [Fact]
    public async Task Claude_TUI_transcript_followed_live_equals_the_served_usage()
    {
        await using var server = new ModelServer();
        server.Default.Then(
            ScriptedTurn.Shell("echo hi > out.txt", new TokenUsage(1200, 45, 300, 70), preamble: "Writing the file."),
            ScriptedTurn.Text("Done: out.txt written.", new TokenUsage(1500, 20, 900, 11)));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Claude, server);
        // Pre-answer the bypass-permissions warning the TUI shows once (the setting Claude Code stores when accepted).
        foreach (var file in new[] { Path.Combine(sandbox.Home, ".claude.json"), Path.Combine(sandbox.ConfigDir, ".claude.json") })
        {
            var seed = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(file))!.AsObject();
            seed["bypassPermissionsModeAccepted"] = true;
            File.WriteAllText(file, seed.ToJsonString());
        }
        File.WriteAllText(Path.Combine(sandbox.ConfigDir, "settings.json"), "{\"skipDangerousModePermissionPrompt\": true}");
        var id = Guid.NewGuid().ToString();
        var path = ClaudeTranscript.PathFor(sandbox.ConfigDir, sandbox.WorkDir, id);
        var usage = new ClaudeTranscriptUsage();
        var gate = new Lock();
        await using var follower = new TranscriptFollower(path, line =>
        {
            lock (gate)
                usage.AddLine(line);
        });

        // The interactive TUI: no -p. Bash would wait at the permission prompt in the default mode.
        using var tmux = TmuxSession.Start(120, 40,
            $"cd '{sandbox.WorkDir}' && exec '{sandbox.Executable}' --session-id {id} --permission-mode bypassPermissions 'Write hi into out.txt'",
            Tui(sandbox));
        var expected = new TokenCounts(2700, 65, 1200, 81);
        await WaitUntil(() => { lock (gate) return usage.Tokens == expected; },
            () => $"{usage.Tokens} after {follower.Lines} lines; screen:\n{string.Join('\n', tmux.Capture())}", TimeSpan.FromSeconds(60));
        var served = server.Served(protocol: ModelProtocol.Anthropic);
        Assert.Equal(expected, new TokenCounts(served.Input, served.Output, served.CacheRead, served.CacheCreation));
        Assert.Equal("hi\n", File.ReadAllText(Path.Combine(sandbox.WorkDir, "out.txt")));
        lock (gate)
            Assert.Equal(2, usage.Messages);
        Assert.Equal(0, follower.MalformedLines);
        Save("claude-tui-tool-call", path);
    }

    [Fact]
    public async Task Codex_TUI_rollout_followed_live_equals_the_served_usage()
    {
        await using var server = new ModelServer();
        // The TUI also starts a title-generation thread, answered by the server as a side request (no scripted turn,
        // no usage): its usage would not be in the main thread's rollout anyway.
        server.Default.Then(
            ScriptedTurn.Shell("echo hi > out.txt", new TokenUsage(2100, 60, 400, Reasoning: 12)),
            ScriptedTurn.Text("Done: out.txt written.", new TokenUsage(2500, 33, 1800, Reasoning: 5)));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Codex, server);
        // Pre-answer the TUI's first screens (field notes): "try the new model" for gpt-5.5 (its migration target,
        // gpt-6-sol, is named in the binary's model catalog) and trust of the work dir.
        File.AppendAllText(Path.Combine(sandbox.ConfigDir, "config.toml"),
            "\n[notice.model_migrations]\n\"gpt-5.5\" = \"gpt-6-sol\"\n\n[projects.\"" + sandbox.WorkDir + "\"]\ntrust_level = \"trusted\"\n");
        var started = DateTimeOffset.UtcNow;

        using var tmux = TmuxSession.Start(120, 40,
            $"cd '{sandbox.WorkDir}' && exec '{sandbox.Executable}' --no-daemon --sandbox workspace-write --ask-for-approval never 'Write hi into out.txt'",
            Tui(sandbox));
        (string Path, string ThreadId)? found = null;
        await WaitUntil(() => (found = CodexRollout.FindRollout(sandbox.ConfigDir, sandbox.WorkDir, started)) is not null,
            () => $"no rollout; screen:\n{string.Join('\n', tmux.Capture())}", TimeSpan.FromSeconds(60));
        var usage = new CodexRolloutUsage();
        var gate = new Lock();
        await using var follower = new TranscriptFollower(found!.Value.Path, line =>
        {
            lock (gate)
                usage.AddLine(line);
        });
        var expected = new TokenCounts(4600, 93, 2200, 0);
        await WaitUntil(() => { lock (gate) return usage.Tokens == expected; },
            () => $"{usage.Tokens} after {follower.Lines} lines; requests: {string.Join(", ", server.ModelRequests.Select(r => r.Kind + ":" + r.Body.Length))}; screen:\n{string.Join('\n', tmux.Capture())}",
            TimeSpan.FromSeconds(60));
        var served = server.Served(protocol: ModelProtocol.OpenAIResponses);
        Assert.Equal(expected, TokenCounts.FromCodex(served.InputIncludingCache, served.CacheRead, served.Output));
        Assert.Equal(0, follower.MalformedLines);
        Save("codex-tui-tool-call", found.Value.Path);
    }

    /// <summary>The sandbox environment for a TUI in tmux: a real terminal type instead of "dumb".</summary>
    private static Dictionary<string, string> Tui(AgentSandbox sandbox)
    {
        var env = new Dictionary<string, string>(sandbox.Environment, StringComparer.Ordinal) { ["TERM"] = "xterm-256color" };
        return env;
    }

    [Fact]
    public async Task Codex_rollout_totals_equal_the_served_usage()
    {
        await using var server = new ModelServer();
        server.Default.Then(
            ScriptedTurn.Shell("echo hi > out.txt", new TokenUsage(2100, 60, 400, Reasoning: 12)),
            ScriptedTurn.Text("Done: out.txt written.", new TokenUsage(2500, 33, 1800, Reasoning: 5)));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Codex, server);
        var started = DateTimeOffset.UtcNow;

        var run = await sandbox.RunAsync(["exec", "--skip-git-repo-check", "--sandbox", "workspace-write", "Write hi into out.txt"]);

        Assert.True(run.ExitCode == 0, run.ToString());
        var found = CodexRollout.FindRollout(sandbox.ConfigDir, sandbox.WorkDir, started);
        Assert.NotNull(found);
        Assert.Null(CodexRollout.FindRollout(sandbox.ConfigDir, sandbox.WorkDir, DateTimeOffset.UtcNow.AddMinutes(1)));
        var usage = new CodexRolloutUsage();
        var gate = new Lock();
        await using var follower = new TranscriptFollower(found.Value.Path, line =>
        {
            lock (gate)
                usage.AddLine(line);
        });
        var served = server.Served(protocol: ModelProtocol.OpenAIResponses);
        var expected = TokenCounts.FromCodex(served.InputIncludingCache, served.CacheRead, served.Output);
        Assert.Equal(new TokenCounts(4600, 93, 2200, 0), expected);
        await WaitUntil(() => { lock (gate) return usage.Tokens == expected && usage.TokenCountEvents == 2; }, () => $"{usage.Tokens} after {follower.Lines} lines");
        lock (gate)
        {
            Assert.Equal(found.Value.ThreadId, usage.ThreadId);
            Assert.Equal("gpt-5.5", usage.Model);
        }
        Assert.Equal(0, follower.MalformedLines);
        Save("codex-tool-call", found.Value.Path);
    }

    [Fact]
    public async Task Gemini_chat_file_totals_equal_the_served_usage()
    {
        await using var server = new ModelServer();
        server.Default.Then(
            ScriptedTurn.Shell("echo hi > out.txt", new TokenUsage(3100, 70, 600, Reasoning: 9)),
            ScriptedTurn.Text("Done: out.txt written.", new TokenUsage(3300, 25, 2000, Reasoning: 4)));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Gemini, server);

        var run = await sandbox.RunAsync(GeminiTests.Args("Write hi into out.txt"));

        Assert.True(run.ExitCode == 0, run.ToString());
        var chat = Assert.Single(Directory.EnumerateFiles(Path.Combine(sandbox.ConfigDir, "tmp"), "session-*.jsonl", SearchOption.AllDirectories));
        Assert.Equal("chats", Path.GetFileName(Path.GetDirectoryName(chat)));
        var usage = new GeminiChatUsage();
        foreach (var line in File.ReadAllLines(chat))
            usage.AddLine(System.Text.Encoding.UTF8.GetBytes(line));
        var served = server.Served(protocol: ModelProtocol.Gemini);
        // Gemini bills thoughts as output; the server's Output counts candidates only.
        var expected = TokenCounts.FromCodex(served.InputIncludingCache, served.CacheRead, served.Output + served.Reasoning);
        Assert.Equal(new TokenCounts(6400, 108, 2600, 0), expected);
        Assert.Equal(expected, usage.Tokens);
        Assert.Equal(2, usage.Messages);
        Assert.Equal("gemini-2.5-flash", usage.Model);
        Save("gemini-tool-call", chat);
    }

    private static async Task WaitUntil(Func<bool> condition, Func<string> describe, TimeSpan? within = null)
    {
        var limit = within ?? Settle;
        var deadline = DateTime.UtcNow + limit;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail("not reached within " + limit + ": " + describe());
            await Task.Delay(20);
        }
    }

    private static void Save(string name, string file, [CallerFilePath] string source = "")
    {
        if (Environment.GetEnvironmentVariable("ZEROSHOT_SAVE_TRANSCRIPTS") != "1")
            return;
        var dir = Path.Combine(Path.GetDirectoryName(source)!, "..", "Zeroshot.Agents.Tests", "Transcripts", "Samples");
        Directory.CreateDirectory(dir);
        File.Copy(file, Path.Combine(dir, name + ".jsonl"), overwrite: true);
    }
}
