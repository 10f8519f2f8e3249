using System.Text.Json;

namespace Zeroshot.RealAgents.Tests;

public sealed class ClaudeTests
{
    private static readonly TokenUsage ToolTurnUsage = new(Input: 1200, Output: 45, CacheRead: 300, CacheCreation: 70);
    private static readonly TokenUsage FinalTurnUsage = new(Input: 1500, Output: 20, CacheRead: 900, CacheCreation: 11);

    private static string[] Args(string prompt, bool bypass = true) =>
    [
        "-p", prompt, "--output-format", "stream-json", "--verbose", "--include-partial-messages",
        .. bypass ? new[] { "--permission-mode", "bypassPermissions" } : [],
    ];

    [Fact]
    public async Task Tool_call_runs_and_result_usage_equals_the_scripted_sums()
    {
        await using var server = new ModelServer();
        server.Default.Then(
            ScriptedTurn.Shell("echo hi > out.txt; sleep 2", ToolTurnUsage, preamble: "Writing the file."),
            ScriptedTurn.Text("Done: out.txt written.", FinalTurnUsage));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Claude, server);

        var run = await sandbox.RunAsync(Args("Write hi into out.txt"));
        Transcript.Save("claude-tool-call", run, server);
        foreach (var (r, i) in server.ModelRequests.Select((r, i) => (r, i)))
            Transcript.SaveRequest($"claude-tool-call-{i}", r);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("hi\n", File.ReadAllText(Path.Combine(sandbox.WorkDir, "out.txt")));
        Assert.Equal(0, server.Default.Remaining);
        Assert.DoesNotContain(server.Requests, r => r.Kind == RequestKind.Unscripted);
        var result = Assert.Single(run.OfType("result"));
        var usage = result.GetProperty("usage");
        var expected = ToolTurnUsage + FinalTurnUsage;
        Assert.Equal(expected, server.Served(protocol: ModelProtocol.Anthropic));
        Assert.Equal(expected.Input, usage.GetProperty("input_tokens").GetInt64());
        Assert.Equal(expected.Output, usage.GetProperty("output_tokens").GetInt64());
        Assert.Equal(expected.CacheRead, usage.GetProperty("cache_read_input_tokens").GetInt64());
        Assert.Equal(expected.CacheCreation, usage.GetProperty("cache_creation_input_tokens").GetInt64());
        Assert.NotEmpty(run.OfType("stream_event"));
        Assert.Single(run.OfType("system", "init"));
        // The second scripted request carries the tool's result.
        var second = server.ModelRequests.Where(r => r.Kind == RequestKind.Scripted).ElementAt(1);
        Assert.Contains("tool_result", second.Body, StringComparison.Ordinal);
    }
}
