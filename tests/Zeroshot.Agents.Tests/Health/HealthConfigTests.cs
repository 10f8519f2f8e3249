using Zeroshot.Agents.Config;
using Zeroshot.Agents.Health;

namespace Zeroshot.Agents.Tests.Health;

/// <summary>Health thresholds, actions and budgets as written in settings.json and cluster files, their layering, and
/// the one-line errors of wrong values.</summary>
public sealed class HealthConfigTests
{
    private static string J(string text) => text.Replace('\'', '"');

    [Fact]
    public void Settings_then_the_cluster_then_the_agent_override_field_by_field()
    {
        var settings = ZeroshotSettings.Parse(J("{'health':{'stalledAfterSeconds':60,'stuckAfterSeconds':600,'actions':{'stuck':'kill'}},"
            + "'budget':{'cluster':{'maxCostUsd':20},'agent':{'maxTokens':5000000},'action':'warn'}}"), "s.json");
        var config = ClusterConfigLoader.LoadFromJson(J("{'name':'c','maxTokens':90000,'budgetAction':'stop','health':{'stuckAfterSeconds':120,'actions':{'stalled':{'action':'interrupt','after':3}}},"
            + "'agents':[{'id':'w','role':'worker','command':['true'],'health':{'busyIdleAfterSeconds':30},'maxCostUsd':1.5}]}"), "c.json");
        var policy = settings.Health.Then(config.Health).Then(config.Agents[0].Health);
        Assert.Equal(new HealthThresholds(TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(120), TimeSpan.FromSeconds(30)), policy.Thresholds);
        Assert.Equal(new HealthAction(HealthActionKind.Kill), policy.ActionFor(HealthVerdict.Stuck));
        Assert.Equal(new HealthAction(HealthActionKind.Interrupt, 3), policy.ActionFor(HealthVerdict.Stalled));
        Assert.Equal(new HealthAction(HealthActionKind.Warn), policy.ActionFor(HealthVerdict.BusyIdle));
        Assert.Null(policy.ActionFor(HealthVerdict.RunningTool));

        Assert.Equal(new Budget(20m, 90000), settings.ClusterBudget!.Then(config.Budget));
        Assert.Equal(new Budget(1.5m, 5000000), settings.AgentBudget!.Then(config.Agents[0].Budget));
        Assert.Equal(BudgetActionKind.Warn, settings.BudgetAction);
        Assert.Equal(BudgetActionKind.Stop, config.BudgetAction);

        // A detached cluster's supervisor reads the stored config: every field survives the round trip.
        var again = ClusterConfigLoader.LoadFromJson(ClusterConfigJson.Serialize(config), "stored");
        var policyAgain = settings.Health.Then(again.Health).Then(again.Agents[0].Health);
        Assert.Equal(policy.Thresholds, policyAgain.Thresholds);
        foreach (var verdict in HealthVerdictNames.All) Assert.Equal(policy.ActionFor(verdict), policyAgain.ActionFor(verdict));
        Assert.Equal(config.Budget, again.Budget);
        Assert.Equal(config.Agents[0].Budget, again.Agents[0].Budget);
        Assert.Equal(config.BudgetAction, again.BudgetAction);
    }

    [Fact]
    public void Defaults_warn_on_the_unhealthy_verdicts_after_one_sample()
    {
        var none = HealthSettings.None;
        Assert.Equal(HealthThresholds.Default, none.Thresholds);
        foreach (var verdict in HealthVerdictNames.All)
            Assert.Equal(verdict.IsUnhealthy() ? new HealthAction(HealthActionKind.Warn) : null, none.ActionFor(verdict));
    }

    [Fact]
    public void The_fullest_budget_limit_is_reported()
    {
        var budget = new Budget(2m, 1000);
        var use = budget.Use(1.0m, 900)!.Value;
        Assert.Equal((0.9, "tokens", "900", "1,000"), (Math.Round(use.Fraction, 2), use.What, use.Used, use.Limit));
        use = budget.Use(1.9m, 10)!.Value;
        Assert.Equal(("cost", "$1.90", "$2.00"), (use.What, use.Used, use.Limit));
        Assert.Null(new Budget().Use(5m, 5));
    }

    public static TheoryData<string, string> SettingsErrors => new()
    {
        { "{'health':{'stuckAfterSeconds':0}}", "s.json: health.stuckAfterSeconds: must be between 1 and 86400, not 0" },
        { "{'health':{'stuck':60}}", "s.json: health.stuck: unknown field 'stuck' (known: stalledAfterSeconds, stuckAfterSeconds, busyIdleAfterSeconds, busyCpuPercent, actions)" },
        { "{'health':{'actions':{'idle':'kill'}}}", "s.json: health.actions.idle: unknown verdict (actions apply to: stalled, stuck, busy-idle)" },
        { "{'health':{'actions':{'stuck':'reboot'}}}", "s.json: health.actions.stuck: expected warn, interrupt, kill or restart" },
        { "{'health':{'actions':{'stuck':{'action':'kill','after':0}}}}", "s.json: health.actions.stuck.after: must be between 1 and 86400, not 0" },
        { "{'budget':{'cluster':{'maxCostUsd':-1}}}", "s.json: budget.cluster.maxCostUsd: expected a number of dollars above 0" },
        { "{'budget':{'agent':{'maxTokens':1.5}}}", "s.json: budget.agent.maxTokens: expected a whole number of tokens above 0" },
        { "{'budget':{'action':'panic'}}", "s.json: budget.action: expected stop or warn" },
    };

    [Theory]
    [MemberData(nameof(SettingsErrors))]
    public void Wrong_settings_are_one_line_errors_naming_the_field(string json, string message)
    {
        var e = Assert.Throws<UserErrorException>(() => ZeroshotSettings.Parse(J(json), "s.json"));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Wrong_cluster_fields_are_one_line_errors_naming_the_field()
    {
        var e = Assert.Throws<UserErrorException>(() => ClusterConfigLoader.LoadFromJson(J("{'name':'c','budgetAction':'later','agents':[{'id':'w','role':'worker','command':['true']}]}"), "c.json"));
        Assert.Equal("c.json: budgetAction: expected stop or warn", e.Message);
        e = Assert.Throws<UserErrorException>(() => ClusterConfigLoader.LoadFromJson(J("{'name':'c','agents':[{'id':'w','role':'worker','command':['true'],'maxCostUsd':'5'}]}"), "c.json"));
        Assert.Equal("c.json: agents[0].maxCostUsd: expected a number of dollars above 0", e.Message);
    }
}
