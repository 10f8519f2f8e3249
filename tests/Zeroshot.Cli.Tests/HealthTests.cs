using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Zeroshot.Cli.Tests;

/// <summary>
/// Health verdicts of real agent processes under a real supervisor: sim agents told to hang, to sit in a long silent
/// tool call, to spin a core silently, and to wait on a loopback "model server" that trickles bytes or stalls, beside a
/// healthy one. Short thresholds (the agents' <c>health</c>) keep the run short; verdicts are read from <c>status --json</c>.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HealthTests : IDisposable
{
    private const int StalledAfter = 4, StuckAfter = 6, BusyIdleAfter = 5;
    private static readonly object Health = new { stalledAfterSeconds = StalledAfter, stuckAfterSeconds = StuckAfter, busyIdleAfterSeconds = BusyIdleAfter };
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

        // Each verdict that went bad was announced once as an event (the default action: warn), and `status` shows it.
        var text = _clusters.Z("status", id).Out;
        Assert.Contains("HEALTH", text, StringComparison.Ordinal);
        Assert.Matches(@"health: stuck since \d\d:\d\d:\d\d: no output for", text);
        var logs = _clusters.Z("logs", id).Out;
        Assert.Contains("hang: stuck (no output for", logs, StringComparison.Ordinal);
        Assert.Contains("stalled: stalled (no bytes from the model for", logs, StringComparison.Ordinal);
    }
}
