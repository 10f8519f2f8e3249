using System.Text.Json;
using Zeroshot.Agents.Config;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;
using Zeroshot.Cli.Output;
using Zeroshot.Metrics;

namespace Zeroshot.Cli.Tests;

/// <summary>The footer, <c>status --json</c> and the printer, all drawn from the one typed model.</summary>
public class LiveModelViewTests
{
    private static readonly DateTimeOffset T = new(2026, 12, 2, 8, 15, 20, 123, TimeSpan.Zero);

    private static ClusterSnapshot Tick()
    {
        // Values that round: the footer must show what the document says, not the unrounded sample.
        TreeSample Sample(int pid, double cpu, double mem, double rx, double tx) => new()
        {
            Timestamp = T, Pid = pid, Exists = true, CpuPercent = cpu, MemoryMB = mem, NetRxBytesPerSec = rx, NetTxBytesPerSec = tx,
        };
        var agents = new[]
        {
            new AgentSnapshot("worker", AgentRole.Worker, "claude", "sonnet", AgentState.Running, 11, 2, null, T.AddSeconds(-2), AgentActivity.Tool,
                "Bash", new TokenCounts(5, 3395, 100, 0), 0.1234m, true, null, null, Sample(11, 23.46, 67.04, 4300.6, 1126.2)),
            new AgentSnapshot("tester", AgentRole.Validator, "codex", "gpt-5", AgentState.Running, 12, 2, null, T, AgentActivity.Retrying,
                "529 2/5 in 1.1s", new TokenCounts(1, 2, 3, 4), 0.01m, true, null, "529 overloaded", Sample(12, 0.05, 12.25, double.NaN, 0)),
            new AgentSnapshot("reviewer", AgentRole.Validator, "sim", null, AgentState.Completed, null, 1, 0, null, null, null,
                new TokenCounts(10, 20, 0, 0), 0.5m, false, new VerdictSnapshot(true, "fine", [], 1), null, null),
        };
        return ClusterSnapshot.Create("cosmic-meteor-87", ClusterKind.Cluster, "demo", ClusterState.Running, 2, 3, T.AddMinutes(-3), agents);
    }

    [Fact]
    public void The_footer_shows_the_same_numbers_as_status_json_in_the_same_tick()
    {
        var snapshot = Tick();
        var footer = LiveStatus.FooterModelFrom(snapshot, T);
        using var status = JsonDocument.Parse(LiveJson.ToUtf8(snapshot));

        Assert.Equal(status.RootElement.GetProperty("id").GetString(), footer.ClusterId);
        Assert.Equal(status.RootElement.GetProperty("state").GetString(), footer.State);
        Assert.Equal(status.RootElement.GetProperty("iteration").GetInt32(), footer.Iteration);
        Assert.Equal(status.RootElement.GetProperty("maxIterations").GetInt32(), footer.MaxIterations);
        Assert.Equal(TimeSpan.FromMinutes(3), footer.Elapsed);
        var agents = status.RootElement.GetProperty("agents");
        Assert.Equal(agents.GetArrayLength(), footer.Agents.Count);
        for (int i = 0; i < footer.Agents.Count; i++)
        {
            var row = footer.Agents[i];
            var doc = agents[i];
            Assert.Equal(doc.GetProperty("id").GetString(), row.Id);
            Assert.Equal(doc.GetProperty("tokens").GetProperty("total").GetInt64(), row.Tokens);
            Assert.Equal(doc.GetProperty("costUsd").GetDecimal(), row.CostUsd);
            Assert.Equal(doc.GetProperty("costEstimated").GetBoolean(), row.CostEstimated);
            Assert.Equal(doc.GetProperty("state").GetString() == "running", row.Running);
            var metrics = doc.GetProperty("metrics");
            double? Number(string name) => metrics.ValueKind == JsonValueKind.Object && metrics.GetProperty(name).ValueKind == JsonValueKind.Number
                ? metrics.GetProperty(name).GetDouble()
                : null;
            Assert.Equal(Number("cpuPercent"), row.CpuPercent);
            Assert.Equal(Number("memoryMB"), row.MemoryMB);
            Assert.Equal(Number("netRxBytesPerSec"), row.NetRxBytesPerSec);
            Assert.Equal(Number("netTxBytesPerSec"), row.NetTxBytesPerSec);
        }
        Assert.Equal(("tool:Bash", 23.5, 4301d), (footer.Agents[0].Status, footer.Agents[0].CpuPercent, footer.Agents[0].NetRxBytesPerSec));
        Assert.Equal(("retrying 529 2/5 in 1.1s", (double?)null), (footer.Agents[1].Status, footer.Agents[1].NetRxBytesPerSec));
        Assert.Equal(("completed", "sim"), (footer.Agents[2].Status, footer.Agents[2].Model));
        // The whole snapshot's totals, as the footer's last line adds them up.
        Assert.Equal(status.RootElement.GetProperty("tokens").GetProperty("total").GetInt64(), footer.Agents.Sum(a => a.Tokens));
        Assert.Equal(status.RootElement.GetProperty("costUsd").GetDecimal(), footer.Agents.Sum(a => a.CostUsd));
    }

    [Fact]
    public void Status_text_renders_from_the_records()
    {
        var output = new StringWriter();
        StatusText.WriteStatus(output, Tick(), m => $"CPU {m.CpuPercent}");
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("cosmic-meteor-87  cluster \"demo\"  running  iteration 2/3", lines[0], StringComparison.Ordinal);
        Assert.Contains(lines, l => l.Contains("worker", StringComparison.Ordinal) && l.Contains("tool:Bash", StringComparison.Ordinal) && l.Contains("~$0.12", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("retrying 529 2/5 in 1.1s", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("reviewer", StringComparison.Ordinal) && l.Contains("approved", StringComparison.Ordinal));
        Assert.Contains("      verdict (iteration 1): approved · fine", lines);
        Assert.Contains("      error: 529 overloaded", lines);
        Assert.Equal("worker tool:Bash, tester retrying 529 2/5 in 1.1s, reviewer approved", StatusText.AgentSummary(Tick()));
    }

    [Fact]
    public async Task The_printer_writes_typed_events_as_todays_lines()
    {
        var output = new StringWriter();
        var printer = new ClusterPrinter(output, color: false, ["worker", "tester", "reviewer"]);
        printer.OnEvent(new IterationStartedEvent(T, 1, 3, false));
        printer.OnEvent(new AgentStartedEvent(T, "worker", 4242));
        printer.OnEvent(new AgentExitedEvent(T, "tester", AgentState.Completed, 0, null,
            new VerdictSnapshot(false, "two tests fail", ["login returns 500", "no test for signup"], 1), null));
        printer.OnEvent(new VerdictEvent(T, "tester", false, "two tests fail", ["login returns 500", "no test for signup"]));
        printer.OnEvent(new IterationStartedEvent(T, 2, 3, true));
        printer.OnEvent(new ValidatorFailedEvent(T, "reviewer", "401 invalid x-api-key"));
        printer.OnEvent(new ClusterEndedEvent(T, ClusterState.Completed));
        await printer.DrainAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(
            [
                "zeroshot │ iteration 1/3",
                "zeroshot │ worker: started (pid 4242)",
                "zeroshot │ tester: rejected (2 issues): two tests fail",
                "zeroshot │ tester:   issue: login returns 500",
                "zeroshot │ tester:   issue: no test for signup",
                "zeroshot │ rejected: starting another iteration with the validators' issues",
                "zeroshot │ iteration 2/3",
                "zeroshot │ validator reviewer failed: 401 invalid x-api-key",
                "zeroshot │ cluster completed",
            ],
            output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task An_unhealthy_verdict_and_a_budget_warning_show_in_the_footer_status_json_and_the_printer()
    {
        var stalled = new Zeroshot.Agents.Health.HealthSnapshot(Zeroshot.Agents.Health.HealthVerdict.Stalled, T.AddSeconds(-130),
            ["no bytes from the model for 2m10s on an open connection", "no output for 2m11s"]);
        var tick = Tick();
        var agents = tick.Agents.ToArray();
        agents[0] = agents[0] with { Activity = AgentActivity.Model, ActivityDetail = null, Health = stalled };
        var snapshot = ClusterSnapshot.Create(tick.Id, tick.Kind, tick.Name, tick.State, tick.Iteration, tick.MaxIterations, tick.StartedAt, agents)
            with
        { BudgetWarning = "budget: cluster spent $4.10 of $5.00 (82 %)" };

        var footer = LiveStatus.FooterModelFrom(snapshot, T);
        Assert.Equal(("stalled 2m10s", Zeroshot.Terminal.ActivityKind.Failed), (footer.Agents[0].Status, footer.Agents[0].Activity));
        Assert.Equal("budget: cluster spent $4.10 of $5.00 (82 %)", footer.Warning);

        using var status = JsonDocument.Parse(LiveJson.ToUtf8(snapshot));
        var health = status.RootElement.GetProperty("agents")[0].GetProperty("health");
        Assert.Equal("stalled", health.GetProperty("verdict").GetString());
        Assert.Equal("2026-12-02T08:13:10.123Z", health.GetProperty("since").GetString());
        Assert.Equal("no bytes from the model for 2m10s on an open connection", health.GetProperty("reasons")[0].GetString());
        Assert.Equal("budget: cluster spent $4.10 of $5.00 (82 %)", status.RootElement.GetProperty("budgetWarning").GetString());
        // The document reads back into the same verdict (watch and attach read it from the socket).
        Assert.Equal(stalled, LiveJson.ReadSnapshot(status.RootElement).Agents[0].Health);

        var text = new StringWriter();
        StatusText.WriteStatus(text, snapshot, m => "");
        Assert.Contains("stalled", text.ToString().Split('\n')[2], StringComparison.Ordinal);
        Assert.Contains("  budget: cluster spent $4.10 of $5.00 (82 %)", text.ToString(), StringComparison.Ordinal);

        var output = new StringWriter();
        var printer = new ClusterPrinter(output, color: false, ["worker"]);
        printer.OnEvent(new HealthEvent(T, "worker", Zeroshot.Agents.Health.HealthVerdict.Stalled, stalled.Reasons, "interrupt"));
        printer.OnEvent(new BudgetEvent(T, null, "cost", "$5.02", "$5.00", 100, true, "stop"));
        await printer.DrainAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(
            [
                "zeroshot │ worker: stalled (no bytes from the model for 2m10s on an open connection; no output for 2m11s): interrupting it (SIGINT)",
                "zeroshot │ budget: cluster spent $5.02 of $5.00 (100 %): stopping the cluster",
            ],
            output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
