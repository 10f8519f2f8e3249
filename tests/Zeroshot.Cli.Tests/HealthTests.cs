using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Zeroshot.Cli.Tests;

/// <summary>
/// Health verdicts of real agent processes under a real supervisor: sim agents told to hang, to sit in a long silent
/// tool call, to spin a core silently, and to wait on a loopback "model server" that trickles bytes or stalls, beside a
/// healthy one. Short thresholds (the agents' <c>health</c>) keep the run short; verdicts are read from <c>status --json</c>.
/// </summary>
[Collection(EndToEndCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HealthTests : IDisposable
{
    private const int StalledAfter = 4, StuckAfter = 6, BusyIdleAfter = 5;
    // A spinning agent reads 100 % of a core on an idle machine; 30 % keeps it busy on a loaded CI machine too.
    private static readonly object Health = new { stalledAfterSeconds = StalledAfter, stuckAfterSeconds = StuckAfter, busyIdleAfterSeconds = BusyIdleAfter, busyCpuPercent = 30 };
    private readonly DetachedClusters _clusters = new("zs-health-");
    private readonly TcpListener _trickle = new(IPAddress.Loopback, 0);
    private readonly TcpListener _stall = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();

    public void Dispose()
    {
        _stop.Cancel();
        _trickle.Stop();
        _stall.Stop();
        _clusters.Dispose();
        _stop.Dispose();
    }

    /// <summary>Accepts connections; each gets <paramref name="first"/> bytes at once, then one byte every
    /// <paramref name="every"/> (never, when null), and is kept open.</summary>
    private async Task ServeAsync(TcpListener listener, int first, TimeSpan? every)
    {
        var open = new List<TcpClient>();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await listener.AcceptTcpClientAsync(_stop.Token);
                open.Add(client);
                _ = Task.Run(async () =>
                {
                    var stream = client.GetStream();
                    await stream.WriteAsync(new byte[first], _stop.Token);
                    while (every is { } interval && !_stop.IsCancellationRequested)
                    {
                        await Task.Delay(interval, _stop.Token);
                        await stream.WriteAsync(new byte[] { (byte)'.' }, _stop.Token);
                    }
                });
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException or IOException)
        {
        }
        finally
        {
            foreach (var c in open) c.Dispose();
        }
    }

    private static object Sim(string id, object options) => new { id, role = "worker", provider = "sim", options, health = Health };

    [Fact]
    public void Each_misbehaving_agent_gets_its_verdict_within_its_threshold_and_the_healthy_ones_are_never_called_stuck()
    {
        _trickle.Start();
        _stall.Start();
        _ = ServeAsync(_trickle, 10, TimeSpan.FromSeconds(1));
        _ = ServeAsync(_stall, 200, null);
        string Endpoint(TcpListener l) => "127.0.0.1:" + ((IPEndPoint)l.LocalEndpoint).Port;

        var started = DateTimeOffset.UtcNow;
        var id = _clusters.Start("health",
            Sim("hang", new { hang = true }),
            Sim("tool", new { stall = "tool" }),
            Sim("burn", new { stall = "burn" }),
            Sim("trickle", new { stall = "read", readFrom = Endpoint(_trickle) }),
            Sim("stalled", new { stall = "read", readFrom = Endpoint(_stall) }),
            Sim("healthy", new { durationSeconds = 25, cpu = 0.3 }));

        // Every verdict each agent had, with its first "since", until each misbehaving one got its verdict and some more.
        var seen = new Dictionary<string, Dictionary<string, (DateTimeOffset Since, string[] Reasons)>>();
        var expected = new Dictionary<string, string> { ["hang"] = "stuck", ["burn"] = "busy-idle", ["stalled"] = "stalled" };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        DateTime? allSeen = null;
        while (DateTime.UtcNow < deadline && (allSeen is null || DateTime.UtcNow < allSeen.Value.AddSeconds(4)))
        {
            var status = _clusters.Z("status", id, "--json");
            Assert.True(status.ExitCode == 0, status.Error);
            using var doc = JsonDocument.Parse(status.Out);
            foreach (var agent in doc.RootElement.GetProperty("agents").EnumerateArray())
            {
                if (!agent.TryGetProperty("health", out var health)) continue;
                string name = agent.GetProperty("id").GetString()!;
                string verdict = health.GetProperty("verdict").GetString()!;
                var reasons = health.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()!).ToArray();
                var since = health.GetProperty("since").GetDateTimeOffset();
                var mine = seen.TryGetValue(name, out var m) ? m : seen[name] = [];
                mine.TryAdd(verdict, (since, reasons));
            }
            if (allSeen is null && expected.All(e => seen.TryGetValue(e.Key, out var v) && v.ContainsKey(e.Value))) allSeen = DateTime.UtcNow;
            Thread.Sleep(500);
        }
        string Seen() => string.Join("; ", seen.Select(a => $"{a.Key}: {string.Join(", ", a.Value.Keys)}"));

        foreach (var (agent, verdict) in expected)
        {
            Assert.True(seen.TryGetValue(agent, out var verdicts) && verdicts.ContainsKey(verdict), $"{agent} never {verdict}: {Seen()}");
            Assert.NotEmpty(verdicts[verdict].Reasons);
        }
        // Within the threshold: the verdict begins that long after the agent's first sample (its process start, plus a
        // loaded machine's delay in starting it).
        Assert.True(seen["hang"]["stuck"].Since - started < TimeSpan.FromSeconds(StuckAfter + 10), Seen());
        Assert.True(seen["burn"]["busy-idle"].Since - started < TimeSpan.FromSeconds(BusyIdleAfter + 10), Seen());
        Assert.True(seen["stalled"]["stalled"].Since - started < TimeSpan.FromSeconds(StalledAfter + 10), Seen());
        Assert.Contains(seen["stalled"]["stalled"].Reasons, r => r.StartsWith("no bytes from the model for ", StringComparison.Ordinal) && r.EndsWith(" on an open connection", StringComparison.Ordinal));
        Assert.Contains(seen["hang"]["stuck"].Reasons, r => r.StartsWith("no output for ", StringComparison.Ordinal));
        Assert.Contains(seen["burn"]["busy-idle"].Reasons, r => r.StartsWith("CPU ", StringComparison.Ordinal));

        // The healthy ones: the long silent tool call, the slow trickle, the normal run.
        Assert.True(seen["tool"].ContainsKey("running-tool"), Seen());
        Assert.True(seen["trickle"].ContainsKey("waiting-on-model"), Seen());
        foreach (var healthy in new[] { "tool", "trickle", "healthy" })
            Assert.True(!seen[healthy].ContainsKey("stuck") && !seen[healthy].ContainsKey("stalled") && !seen[healthy].ContainsKey("busy-idle"), $"{healthy}: {Seen()}");

        // The evidence: the stalled agent's one open connection to the "model server", with the bytes it sent and the
        // time since; the tool's `sleep` child.
        var inspect = _clusters.Z("inspect", id, "--agent", "stalled", "--json");
        Assert.True(inspect.ExitCode == 0, inspect.Error);
        using (var doc = JsonDocument.Parse(inspect.Out))
        {
            var stalled = doc.RootElement.GetProperty("agents")[0];
            Assert.Equal("stalled", stalled.GetProperty("health").GetProperty("verdict").GetString());
            var sockets = stalled.GetProperty("evidence").GetProperty("sockets").EnumerateArray().ToList();
            var toServer = Assert.Single(sockets, s => s.GetProperty("peer").GetString() == Endpoint(_stall));
            Assert.Equal("ESTABLISHED", toServer.GetProperty("state").GetString());
            Assert.Equal(200, toServer.GetProperty("bytesReceived").GetInt64());
            Assert.True(toServer.GetProperty("lastReceiveMs").GetInt64() >= StalledAfter * 1000);
        }
        var tool = _clusters.Z("inspect", id, "--agent", "tool");
        Assert.True(tool.ExitCode == 0, tool.Error);
        Assert.Contains($"{id} tool: running-tool", tool.Out, StringComparison.Ordinal);
        Assert.Matches(@"S sleep .* sleep\n", tool.Out.Replace("\r", "", StringComparison.Ordinal));
        var nobody = _clusters.Z("inspect", id, "--agent", "nobody");
        Assert.Equal(1, nobody.ExitCode);
        Assert.Contains("has no agent 'nobody'", nobody.Error, StringComparison.Ordinal);

        // Each verdict that went bad was announced once as an event (the default action: warn), and `status` shows it.
        // (Polled: a stuck agent's runtime may wake for a moment, and a blip of CPU starts its clock again.)
        string text = "";
        Wait.Until(() => System.Text.RegularExpressions.Regex.IsMatch(text = _clusters.Z("status", id).Out, @"health: stuck since \d\d:\d\d:\d\d: no output for"),
            "the stuck agent's health line in status", 30_000);
        Assert.Contains("HEALTH", text, StringComparison.Ordinal);
        var logs = _clusters.Z("logs", id).Out;
        Assert.Contains("hang: stuck (no output for", logs, StringComparison.Ordinal);
        Assert.Contains("stalled: stalled (no bytes from the model for", logs, StringComparison.Ordinal);
    }

    [Fact]
    public void Health_actions_interrupt_stop_and_restart_the_agent_once_the_verdict_held_for_their_count()
    {
        object Quick(string verdict, string action, int after) => new
        {
            stuckAfterSeconds = 3,
            busyIdleAfterSeconds = 3,
            busyCpuPercent = 30,
            actions = new Dictionary<string, object> { [verdict] = new { action, after } },
        };
        var id = _clusters.Start("actions",
            // A shell waiting on a silent child: SIGINT to its foreground group ends the child and runs its trap.
            new { id = "int", role = "worker", command = new[] { "sh", "-c", "trap 'echo got-int; exit 3' INT; echo waiting; sleep 1000 & wait" }, health = Quick("stuck", "interrupt", 2) },
            new { id = "spin", role = "worker", provider = "sim", options = new { stall = "burn" }, health = Quick("busy-idle", "kill", 1) },
            new { id = "again", role = "worker", provider = "sim", options = new { hang = true }, health = Quick("stuck", "restart", 2) });

        string Logs() => _clusters.Z("logs", id).Out;
        Wait.Until(() => _clusters.Z("logs", id, "--agent", "int", "--raw").Out.Contains("got-int", StringComparison.Ordinal), "the interrupt's trap");
        Wait.Until(() => Logs().Contains("spin: busy-idle (", StringComparison.Ordinal), "the busy-idle event");
        Wait.Until(() => Logs().Split('\n').Count(l => l.Contains("again: started", StringComparison.Ordinal)) >= 2, "the restart");

        var logs = Logs();
        Assert.Contains("int: stuck (no output for", logs, StringComparison.Ordinal);
        Assert.Contains("): interrupting it (SIGINT)", logs, StringComparison.Ordinal);
        Assert.Contains("): stopping it", logs, StringComparison.Ordinal);
        Assert.Contains("): restarting it", logs, StringComparison.Ordinal);
        Wait.Until(() =>
        {
            using var d = JsonDocument.Parse(_clusters.Z("status", id, "--json").Out);
            var s = d.RootElement.GetProperty("agents").EnumerateArray().First(a => a.GetProperty("id").GetString() == "spin");
            return s.GetProperty("state").GetString() == "stopped";
        }, "the busy-idle agent stopped", 30_000);
        using var after = JsonDocument.Parse(_clusters.Z("status", id, "--json").Out);
        var stopped = after.RootElement.GetProperty("agents").EnumerateArray().First(a => a.GetProperty("id").GetString() == "spin");
        Assert.StartsWith("stopped: busy-idle: CPU ", stopped.GetProperty("lastError").GetString(), StringComparison.Ordinal);
        // The restarted agent runs again (a new process), in the same iteration.
        var again = after.RootElement.GetProperty("agents").EnumerateArray().First(a => a.GetProperty("id").GetString() == "again");
        Assert.Equal(1, again.GetProperty("iteration").GetInt32());
    }

    [Fact]
    public void A_budget_warns_at_80_percent_and_stops_its_agent_or_its_cluster_at_100()
    {
        // Sim runs report known usage: tens of thousands of tokens over a run.
        var agentBudget = _clusters.Start("agent-budget",
            new { id = "capped", role = "worker", provider = "sim", options = new { durationSeconds = 30, seed = 7 }, maxTokens = 12000 },
            new { id = "free", role = "worker", command = new[] { "sleep", "30" } });
        var clusterBudget = _clusters.StartFile("cluster-budget", new
        {
            name = "cluster-budget",
            maxTokens = 12000,
            agents = new object[] { new { id = "w", role = "worker", provider = "sim", options = new { durationSeconds = 30, seed = 7 } } },
        });

        Wait.Until(() => _clusters.Z("status", clusterBudget).Out.Contains("stopped", StringComparison.Ordinal), "the cluster stopped by its budget");
        var logs = _clusters.Z("logs", clusterBudget).Out;
        Assert.Matches(@"budget: cluster used [\d,]+ of 12,000 tokens \((8\d|9\d) %\)", logs);
        Assert.Matches(@"budget: cluster used [\d,]+ of 12,000 tokens \(\d{3} %\): stopping the cluster", logs);
        using (var doc = JsonDocument.Parse(_clusters.Z("status", clusterBudget, "--json").Out))
            Assert.Equal("stopped", doc.RootElement.GetProperty("state").GetString());

        Wait.Until(() =>
        {
            using var d = JsonDocument.Parse(_clusters.Z("status", agentBudget, "--json").Out);
            var capped = d.RootElement.GetProperty("agents")[0];
            return capped.GetProperty("state").GetString() == "stopped";
        }, "the capped agent stopped");
        using var status = JsonDocument.Parse(_clusters.Z("status", agentBudget, "--json").Out);
        var agents = status.RootElement.GetProperty("agents");
        Assert.Matches(@"^stopped: budget: capped used [\d,]+ of 12,000 tokens \(\d{3} %\): stopping capped$", agents[0].GetProperty("lastError").GetString());
        Assert.Equal("running", agents[1].GetProperty("state").GetString());
        Assert.Contains("budget: capped used", _clusters.Z("status", agentBudget).Out, StringComparison.Ordinal);
    }
}
