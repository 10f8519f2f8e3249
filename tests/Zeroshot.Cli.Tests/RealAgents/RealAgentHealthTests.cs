using System.Text.Json;
using Zeroshot.TestModelServer;

namespace Zeroshot.Cli.Tests.RealAgents;

/// <summary>
/// The health verdict of the real CLIs against a model server that stalls mid-stream: the response starts (its first
/// event and a piece of text arrive), then no byte more on the open connection. The agent's verdict must become
/// <c>stalled</c> within the threshold, with the kernel's time since the last byte as its reason; before that it waits
/// on the model. (Issue 14: after 320 s the footer of such a Claude Code still read "model", with nothing to say it was stuck.)
/// </summary>
[Collection(RealAgentCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RealAgentHealthTests : IDisposable
{
    private const int StalledAfter = 5;
    private static readonly TokenUsage Usage = new(Input: 1200, Output: 45, CacheRead: 300, CacheCreation: 70);
    private readonly DetachedClusters _clusters = new("zs-rhealth-");

    public void Dispose() => _clusters.Dispose();

    private async Task StallsMidStream(AgentCli cli, string provider)
    {
        await using var server = new ModelServer();
        server.Script(RealAgentCluster.WorkerKey).Then(ScriptedTurn.Stall("Looking into it", Usage));
        using var sandbox = RealAgentClis.Sandbox(cli, server, new AgentSandboxOptions { ApiKey = RealAgentCluster.WorkerKey });
        var file = Path.Combine(_clusters.Root, "stall.json");
        File.WriteAllText(file, JsonSerializer.Serialize(new
        {
            name = "stall",
            prompt = "Say hello.",
            health = new { stalledAfterSeconds = StalledAfter },
            agents = new object[] { new { id = "worker", role = "worker", provider, cwd = sandbox.WorkDir, env = sandbox.Environment } },
        }));
        var env = new Dictionary<string, string>(sandbox.Environment) { ["XDG_RUNTIME_DIR"] = _clusters.Runtime };
        string id;
        using (var detach = ZeroshotProcess.Start(_clusters.Home, env, "run", file, "--detach"))
        {
            var r = detach.Wait(TimeSpan.FromSeconds(60));
            Assert.True(r.ExitCode == 0, r.Out + r.Error);
            id = r.Out.Trim();
        }
        try
        {
            var verdicts = new List<string>();
            JsonElement? stalled = null;
            bool started = false;
            var deadline = DateTime.UtcNow.AddSeconds(90);
            while (stalled is null && DateTime.UtcNow < deadline)
            {
                using var running = ZeroshotProcess.Start(_clusters.Home, env, "status", id, "--json");
                var status = running.Wait(TimeSpan.FromSeconds(30));
                using var doc = JsonDocument.Parse(status.Out);
                var worker = doc.RootElement.GetProperty("agents")[0];
                string state = worker.GetProperty("state").GetString()!;
                // A detached run returns once the supervisor listens; the agent may start a moment later. Once it
                // runs it must keep running (a stall is not an exit, and the default action only warns).
                if (!started && state == "waiting")
                {
                    Thread.Sleep(200);
                    continue;
                }
                started = true;
                Assert.Equal("running", state);
                if (worker.TryGetProperty("health", out var health))
                {
                    string verdict = health.GetProperty("verdict").GetString()!;
                    if (verdicts.Count == 0 || verdicts[^1] != verdict) verdicts.Add(verdict);
                    if (verdict == "stalled") stalled = health.Clone();
                }
                Thread.Sleep(500);
            }
            Assert.True(stalled is not null, $"never stalled; verdicts: {string.Join(", ", verdicts)}; requests: {server.Requests.Count}");
            // Waiting on the model first (or already stalled at the first look of a slow machine), never stuck.
            Assert.DoesNotContain("stuck", verdicts);
            Assert.Contains(verdicts[0], new[] { "waiting-on-model", "active", "stalled" });
            var reasons = stalled.Value.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()!).ToList();
            Assert.Matches(@"^no bytes from the model for \d+s on an open connection$", reasons[0]);
            Assert.True(server.Requests.Count >= 1);
        }
        finally
        {
            using var kill = ZeroshotProcess.Start(_clusters.Home, env, "kill", id);
            kill.Wait(TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public Task Claude_code_stalled_mid_stream_is_called_stalled() => StallsMidStream(AgentCli.Claude, "claude");

    [Fact]
    public Task Codex_stalled_mid_stream_is_called_stalled() => StallsMidStream(AgentCli.Codex, "codex");
}
