namespace Zeroshot.RealAgents.Tests;

/// <summary>One server, two agents told apart by their API keys: the pattern for worker/validator tests.</summary>
public sealed class RoutingTests
{
    [Fact]
    public async Task A_worker_and_a_validator_get_their_own_scripts_and_the_validators_issue_reaches_the_workers_next_prompt()
    {
        await using var server = new ModelServer();
        var workerUsage = new TokenUsage(Input: 500, Output: 40, CacheRead: 100);
        var validatorUsage = new TokenUsage(Input: 700, Output: 25, CacheRead: 50, CacheCreation: 5);
        server.Script("worker-key-0123456789abcdefghij").Then(
            ScriptedTurn.Shell("echo v1 > impl.txt", workerUsage),
            ScriptedTurn.Text("Implemented v1.", workerUsage),
            ScriptedTurn.Shell("echo v2 > impl.txt", workerUsage),
            ScriptedTurn.Text("Implemented v2.", workerUsage));
        const string Issue = "impl.txt must say v2";
        server.Script("validator-key-0123456789abcdefghij").Then(
            ScriptedTurn.Text($"{{\"verdict\":\"reject\",\"issues\":[\"{Issue}\"]}}", validatorUsage));

        using var worker = RealAgentClis.Sandbox(AgentCli.Codex, server, new AgentSandboxOptions { ApiKey = "worker-key-0123456789abcdefghij" });
        using var validator = RealAgentClis.Sandbox(AgentCli.Claude, server, new AgentSandboxOptions { ApiKey = "validator-key-0123456789abcdefghij" });
        string[] codex = ["exec", "--json", "--skip-git-repo-check", "--sandbox", "workspace-write"];

        var first = await worker.RunAsync([.. codex, "Implement the feature"]);
        Assert.True(first.ExitCode == 0, first.ToString());
        var review = await validator.RunAsync(["-p", "Review impl.txt", "--output-format", "stream-json", "--verbose"]);
        Assert.True(review.ExitCode == 0, review.ToString());
        var verdict = Assert.Single(review.OfType("result")).GetProperty("result").GetString()!;
        var second = await worker.RunAsync([.. codex, $"A validator rejected your work: {verdict}"]);
        Assert.True(second.ExitCode == 0, second.ToString());

        Assert.Equal("v2\n", File.ReadAllText(Path.Combine(worker.WorkDir, "impl.txt")));
        Assert.Equal(0, server.Script("worker-key-0123456789abcdefghij").Remaining);
        Assert.Equal(0, server.Script("validator-key-0123456789abcdefghij").Remaining);
        Assert.Equal(4 * workerUsage, server.Served("worker-key-0123456789abcdefghij"));
        Assert.Equal(validatorUsage, server.Served("validator-key-0123456789abcdefghij", ModelProtocol.Anthropic));
        var workerRequests = server.ModelRequests.Where(r => r.Route == "worker-key-0123456789abcdefghij").ToList();
        Assert.Equal(4, workerRequests.Count);
        Assert.Contains(Issue, workerRequests[2].Body, StringComparison.Ordinal);
        Assert.DoesNotContain(Issue, workerRequests[0].Body, StringComparison.Ordinal);
    }
}
