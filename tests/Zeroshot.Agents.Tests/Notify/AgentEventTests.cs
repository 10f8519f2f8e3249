using System.Text;
using System.Text.Json;
using Zeroshot.Agents.Notify;
using Zeroshot.Agents.State;

namespace Zeroshot.Agents.Tests.Notify;

public class AgentEventTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 3, 7, 15, 20, 123, TimeSpan.Zero);

    [Fact]
    public void Json_of_each_kind_has_every_field()
    {
        Assert.Equal(
            "{\"event\":\"needs-input\",\"cluster\":\"c-1\",\"clusterName\":\"demo\",\"agent\":\"planner\",\"question\":\"Allow Bash(ls)?\",\"state\":null,\"at\":\"2026-12-03T07:15:20.123Z\"}\n",
            Encoding.UTF8.GetString(AgentEvent.NeedsInput("c-1", "demo", "planner", "Allow Bash(ls)?", At).ToJsonLine()));
        Assert.Equal(
            "{\"event\":\"idle\",\"cluster\":\"c-1\",\"clusterName\":null,\"agent\":\"worker\",\"question\":null,\"state\":null,\"at\":\"2026-12-03T07:15:20.123Z\"}\n",
            Encoding.UTF8.GetString(AgentEvent.Idle("c-1", null, "worker", At).ToJsonLine()));
        Assert.Equal(
            "{\"event\":\"cluster-ended\",\"cluster\":\"c-1\",\"clusterName\":\"demo\",\"agent\":null,\"question\":null,\"state\":\"failed\",\"at\":\"2026-12-03T07:15:20.123Z\"}\n",
            Encoding.UTF8.GetString(AgentEvent.ClusterEnded("c-1", "demo", ClusterState.Failed, At).ToJsonLine()));
    }

    [Fact]
    public void Json_round_trips_hostile_text_as_one_line()
    {
        var question = "line1\nline2 \"quoted\" \e[31m <b>&</b> 日本";
        var line = AgentEvent.NeedsInput("c", null, "a", question, At).ToJsonLine();
        Assert.Equal(1, line.Count(b => b == (byte)'\n'));
        using var doc = JsonDocument.Parse(line);
        Assert.Equal(question, doc.RootElement.GetProperty("question").GetString());
        Assert.Equal(At, doc.RootElement.GetProperty("at").GetDateTimeOffset());
    }

    [Fact]
    public void Title_and_body_say_who_and_what()
    {
        var asks = AgentEvent.NeedsInput("c-1", "demo", "planner", "Allow Bash(ls)?", At);
        Assert.Equal("zeroshot: demo", asks.Title);
        Assert.Equal("planner needs input: Allow Bash(ls)?", asks.Body);
        Assert.Equal("planner needs input", (asks with { Detail = " " }).Body);
        Assert.Equal("zeroshot: c-1", AgentEvent.Idle("c-1", null, "w", At).Title);
        Assert.Equal("w is waiting for the next prompt", AgentEvent.Idle("c-1", null, "w", At).Body);
        Assert.Equal("cluster completed", AgentEvent.ClusterEnded("c-1", null, ClusterState.Completed, At).Body);
        Assert.Equal("cluster failed: validator rejected", AgentEvent.ClusterEnded("c-1", null, ClusterState.Failed, At, "validator rejected").Body);
    }

    [Fact]
    public void Health_and_budget_events_call_the_person_with_the_verdict_or_the_spending()
    {
        var health = PersonCaller.Call("c-1", "demo", new Zeroshot.Agents.Supervision.HealthEvent(At, "worker", Zeroshot.Agents.Health.HealthVerdict.Stalled,
            ["no bytes from the model for 2m10s on an open connection"], "warn"))!;
        Assert.Equal(AgentEventKind.Health, health.Kind);
        Assert.Equal("worker is stalled (no bytes from the model for 2m10s on an open connection)", health.Body);
        Assert.Equal(
            "{\"event\":\"health\",\"cluster\":\"c-1\",\"clusterName\":\"demo\",\"agent\":\"worker\",\"question\":\"stalled (no bytes from the model for 2m10s on an open connection)\",\"state\":null,\"at\":\"2026-12-03T07:15:20.123Z\"}\n",
            Encoding.UTF8.GetString(health.ToJsonLine()));
        var budget = PersonCaller.Call("c-1", "demo", new Zeroshot.Agents.Supervision.BudgetEvent(At, null, "cost", "$4.10", "$5.00", 82, false, "warn"))!;
        Assert.Equal((AgentEventKind.Budget, "budget: cluster spent $4.10 of $5.00 (82 %)"), (budget.Kind, budget.Body));
    }
}
