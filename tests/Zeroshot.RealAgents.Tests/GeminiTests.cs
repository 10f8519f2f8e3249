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
}
