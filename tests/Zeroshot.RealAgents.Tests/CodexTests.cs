using System.Text.Json;

namespace Zeroshot.RealAgents.Tests;

public sealed class CodexTests
{
    private static readonly TokenUsage ToolTurnUsage = new(Input: 2100, Output: 60, CacheRead: 400, Reasoning: 12);
    private static readonly TokenUsage FinalTurnUsage = new(Input: 2500, Output: 33, CacheRead: 1800, Reasoning: 5);

    private static string[] Args(string prompt, string sandbox = "workspace-write") =>
        ["exec", "--json", "--skip-git-repo-check", "--sandbox", sandbox, prompt];

    internal static void AssertTurnUsage(JsonElement turnCompleted, TokenUsage expected)
    {
        var usage = turnCompleted.GetProperty("usage");
        Assert.Equal(expected.InputIncludingCache, usage.GetProperty("input_tokens").GetInt64());
        Assert.Equal(expected.CacheRead, usage.GetProperty("cached_input_tokens").GetInt64());
        Assert.Equal(expected.Output, usage.GetProperty("output_tokens").GetInt64());
    }

    [Fact]
    public async Task Tool_call_runs_and_turn_completed_usage_equals_the_scripted_sums()
    {
        await using var server = new ModelServer();
        server.Default.Then(
            ScriptedTurn.Shell("echo hi > out.txt; sleep 2", ToolTurnUsage),
            ScriptedTurn.Text("Done: out.txt written.", FinalTurnUsage));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Codex, server);

        var run = await sandbox.RunAsync(Args("Write hi into out.txt"));
        Transcript.Save("codex-tool-call", run, server);
        foreach (var (r, i) in server.ModelRequests.Select((r, i) => (r, i)))
            Transcript.SaveRequest($"codex-tool-call-{i}", r);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("hi\n", File.ReadAllText(Path.Combine(sandbox.WorkDir, "out.txt")));
        Assert.Equal(0, server.Default.Remaining);
        Assert.DoesNotContain(server.Requests, r => r.Kind == RequestKind.Unscripted);
        var expected = ToolTurnUsage + FinalTurnUsage;
        Assert.Equal(expected, server.Served(protocol: ModelProtocol.OpenAIResponses));
        AssertTurnUsage(Assert.Single(run.OfType("turn.completed")), expected);
        var second = server.ModelRequests.Where(r => r.Kind == RequestKind.Scripted).ElementAt(1);
        Assert.Contains("function_call_output", second.Body, StringComparison.Ordinal);
    }
}
