using System.Text.Json;

namespace Zeroshot.RealAgents.Tests;

/// <summary>Gemini cases that mostly wait (back-off, a stall): a class of their own so they run beside the others.</summary>
public sealed class GeminiWaitingTests
{
    private static readonly TokenUsage FinalTurnUsage = new(Input: 3300, Output: 25, CacheRead: 2000, Reasoning: 4);

    private static string[] Args(string prompt) => GeminiTests.Args(prompt);

    private static void AssertStats(JsonElement result, TokenUsage expected) => GeminiTests.AssertStats(result, expected);

    [Fact]
    public async Task Errors_429_and_500_are_retried_then_succeed()
    {
        await using var server = new ModelServer();
        server.Default.Then(ScriptedTurn.Error(429), ScriptedTurn.Error(500), ScriptedTurn.Text("Recovered.", FinalTurnUsage));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Gemini, server);

        // Gemini backs off ≈ 5 s then ≈ 10 s (21 s in all unloaded; 56 s seen on a 2-core machine at load 18).
        var run = await sandbox.RunAsync(Args("Say something"), timeout: TimeSpan.FromSeconds(120));
        Transcript.Save("gemini-429-500-retry", run, server);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(3, server.ModelRequests.Count(r => r.Kind == RequestKind.Scripted));
        AssertStats(Assert.Single(run.OfType("result")), FinalTurnUsage);
    }

    [Fact]
    public async Task Stalled_stream_is_not_abandoned_within_15_seconds()
    {
        await using var server = new ModelServer();
        server.Default.Then(ScriptedTurn.Stall("Thinking about", FinalTurnUsage), ScriptedTurn.Text("Recovered after a stall.", FinalTurnUsage));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Gemini, server);

        // Killed 15 s after the stalled request arrived (however long the CLI took to start).
        using var kill = new CancellationTokenSource();
        var watch = Task.Run(async () =>
        {
            while (!server.ModelRequests.Any(r => r.Kind == RequestKind.Scripted) && !kill.IsCancellationRequested)
                await Task.Delay(50);
            kill.CancelAfter(TimeSpan.FromSeconds(15));
        });
        var run = await sandbox.RunAsync(Args("Say something"), timeout: TimeSpan.FromSeconds(55), kill: kill.Token);
        await kill.CancelAsync();
        await watch;
        Transcript.Save("gemini-stall", run, server);

        // Gemini CLI 0.61 has no stream idle timeout that fires within 15 s: the partial text is shown and the run
        // waits (killed by the test). A supervisor must detect such a stall itself.
        Assert.True(run.TimedOut, run.ToString());
        Assert.Single(server.ModelRequests, r => r.Kind == RequestKind.Scripted);
        Assert.Contains(run.OfType("message"), m => m.GetProperty("content").GetString() == "Thinking about");
    }
}
