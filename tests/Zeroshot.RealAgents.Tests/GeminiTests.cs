using System.Text.Json;

namespace Zeroshot.RealAgents.Tests;

public sealed class GeminiTests
{
    private static readonly TokenUsage ToolTurnUsage = new(Input: 3100, Output: 70, CacheRead: 600, Reasoning: 9);
    private static readonly TokenUsage FinalTurnUsage = new(Input: 3300, Output: 25, CacheRead: 2000, Reasoning: 4);

    internal static string[] Args(string prompt) =>
        ["-p", prompt, "--output-format", "stream-json", "--approval-mode", "yolo", "--skip-trust", "-m", "gemini-2.5-flash"];

    [Fact]
    public async Task Tool_call_runs_and_result_stats_equal_the_scripted_sums()
    {
        await using var server = new ModelServer();
        server.Default.Then(
            ScriptedTurn.Shell("echo hi > out.txt; sleep 2", ToolTurnUsage),
            ScriptedTurn.Text("Done: out.txt written.", FinalTurnUsage));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Gemini, server);

        var run = await sandbox.RunAsync(Args("Write hi into out.txt"));
        Transcript.Save("gemini-tool-call", run, server);
        foreach (var (r, i) in server.ModelRequests.Select((r, i) => (r, i)))
            Transcript.SaveRequest($"gemini-tool-call-{i}", r);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("hi\n", File.ReadAllText(Path.Combine(sandbox.WorkDir, "out.txt")));
        Assert.Equal(0, server.Default.Remaining);
        Assert.DoesNotContain(server.Requests, r => r.Kind == RequestKind.Unscripted);
        var expected = ToolTurnUsage + FinalTurnUsage;
        Assert.Equal(expected, server.Served(protocol: ModelProtocol.Gemini));
        AssertStats(Assert.Single(run.OfType("result")), expected);
        Assert.Contains(run.OfType("tool_use"), t => t.GetProperty("tool_name").GetString() == "run_shell_command");
    }

    /// <summary>Gemini's result stats: input_tokens = prompt incl. cache, input = uncached, cached, output_tokens =
    /// candidates (thoughts excluded), total_tokens = prompt + candidates + thoughts.</summary>
    internal static void AssertStats(JsonElement result, TokenUsage expected)
    {
        var stats = result.GetProperty("stats");
        Assert.Equal(expected.InputIncludingCache, stats.GetProperty("input_tokens").GetInt64());
        Assert.Equal(expected.Input, stats.GetProperty("input").GetInt64());
        Assert.Equal(expected.CacheRead, stats.GetProperty("cached").GetInt64());
        Assert.Equal(expected.Output, stats.GetProperty("output_tokens").GetInt64());
        Assert.Equal(expected.InputIncludingCache + expected.Output + expected.Reasoning, stats.GetProperty("total_tokens").GetInt64());
    }

    [Fact]
    public async Task Unauthorized_401_fails()
    {
        await using var server = new ModelServer();
        for (int i = 0; i < 5; i++)
            server.Default.Then(ScriptedTurn.Error(401));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Gemini, server);

        var run = await sandbox.RunAsync(Args("Say something"));
        Transcript.Save("gemini-unauthorized", run, server);

        // No retry on 401: one request, a result line with status "error", and the HTTP status as the exit code
        // (401 & 0xFF = 145).
        Assert.True(run.ExitCode == 401 % 256, run.ToString());
        Assert.Single(server.ModelRequests);
        var result = Assert.Single(run.OfType("result"));
        Assert.Equal("error", result.GetProperty("status").GetString());
        Assert.Contains("401", result.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(TokenUsage.Zero, server.Served());
    }

    [Fact]
    public async Task Default_approval_mode_does_not_run_the_shell_tool()
    {
        await using var server = new ModelServer();
        server.Default.Then(
            ScriptedTurn.Shell("echo hi > denied.txt", ToolTurnUsage),
            ScriptedTurn.Text("I could not write the file.", FinalTurnUsage));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Gemini, server);

        var run = await sandbox.RunAsync(["-p", "Write hi into denied.txt", "--output-format", "stream-json", "--skip-trust", "-m", "gemini-2.5-flash"]);
        Transcript.Save("gemini-denied", run, server);

        // Headless without yolo, run_shell_command is not even offered to the model; a call of it anyway comes back
        // as a tool_result with status "error" (error.type "tool_not_registered") and the run still exits 0.
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.False(File.Exists(Path.Combine(sandbox.WorkDir, "denied.txt")), run.ToString());
        var offered = server.ModelRequests[0].Json!.Value.GetProperty("tools").EnumerateArray()
            .SelectMany(t => t.GetProperty("functionDeclarations").EnumerateArray()).Select(f => f.GetProperty("name").GetString());
        Assert.DoesNotContain("run_shell_command", offered);
        var toolResult = Assert.Single(run.OfType("tool_result"));
        Assert.Equal("error", toolResult.GetProperty("status").GetString());
        Assert.Equal("tool_not_registered", toolResult.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task Prompt_can_come_on_stdin()
    {
        await using var server = new ModelServer();
        server.Default.Then(ScriptedTurn.Text("Read it.", FinalTurnUsage));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Gemini, server);

        var run = await sandbox.RunAsync(["--output-format", "stream-json", "--approval-mode", "yolo", "--skip-trust", "-m", "gemini-2.5-flash"], stdin: "PROMPT-ON-STDIN-4711");
        Transcript.Save("gemini-stdin-prompt", run, server);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("PROMPT-ON-STDIN-4711", Assert.Single(server.ModelRequests, r => r.Kind == RequestKind.Scripted).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Auto_model_router_requests_are_side_requests()
    {
        await using var server = new ModelServer();
        server.Default.Then(ScriptedTurn.Text("Routed.", FinalTurnUsage));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Gemini, server);

        // Without -m the model is "auto": a non-streaming generateContent call (a complexity classifier on a
        // flash-lite model) picks the model first. The server answers it as a side request with zero usage.
        var run = await sandbox.RunAsync(["-p", "Say something", "--output-format", "stream-json", "--approval-mode", "yolo", "--skip-trust"]);
        Transcript.Save("gemini-auto-model", run, server);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains(server.ModelRequests, r => r.Kind == RequestKind.Side && r.Target.Contains(":generateContent", StringComparison.Ordinal));
        var scripted = Assert.Single(server.ModelRequests, r => r.Kind == RequestKind.Scripted);
        Assert.Equal("auto", Assert.Single(run.OfType("init")).GetProperty("model").GetString());
        AssertStats(Assert.Single(run.OfType("result")), FinalTurnUsage);
        Assert.Contains(":streamGenerateContent", scripted.Target, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Trickled_text_arrives_as_separate_delta_messages()
    {
        await using var server = new ModelServer();
        string[] pieces = ["One ", "two ", "three ", "four."];
        server.Default.Then(ScriptedTurn.Trickle(pieces, TimeSpan.FromMilliseconds(800), FinalTurnUsage));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Gemini, server);

        var run = await sandbox.RunAsync(Args("Count"));
        Transcript.Save("gemini-trickle", run, server);

        Assert.True(run.ExitCode == 0, run.ToString());
        var deltas = run.Timeline.Where(l => l.Line.Contains("\"role\":\"assistant\"", StringComparison.Ordinal)).ToList();
        Assert.Equal(pieces.Length, deltas.Count);
        Assert.True(deltas[^1].At - deltas[0].At >= TimeSpan.FromMilliseconds(2000), string.Join("\n", deltas.Select(d => d.At.ToString())));
        AssertStats(Assert.Single(run.OfType("result")), FinalTurnUsage);
    }

}
