using System.Runtime.CompilerServices;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.Transcripts;

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

    private static async Task WaitUntil(Func<bool> condition, Func<string> describe)
    {
        var deadline = DateTime.UtcNow + Settle;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail("not reached within " + Settle + ": " + describe());
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
