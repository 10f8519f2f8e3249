using Zeroshot.Agents.Config;

namespace Zeroshot.Agents.Tests.Config;

public class ClusterTemplatesTests
{
    // A template must be something a cluster file could say: serialise it and run the file validation on it.
    private static ClusterConfig RoundTrip(ClusterConfig config) =>
        ClusterConfigLoader.LoadFromJson(ClusterConfigJson.Serialize(config, indented: true), "template");

    [Fact]
    public void Default_for_prompt_is_a_worker_and_a_validator_after_it()
    {
        var config = RoundTrip(ClusterTemplates.DefaultForPrompt("Fix the login bug described in ISSUE.md"));
        Assert.Equal("fix-the-login-bug", config.Name);
        Assert.Equal(ClusterKind.Cluster, config.Kind);
        Assert.Equal("Fix the login bug described in ISSUE.md", config.Prompt);
        Assert.Collection(config.Agents,
            w =>
            {
                Assert.Equal(AgentRole.Worker, w.Role);
                Assert.Equal("claude", w.Provider);
                Assert.Empty(w.AfterOrEmpty);
            },
            v =>
            {
                Assert.Equal(AgentRole.Validator, v.Role);
                Assert.Equal(["worker"], v.AfterOrEmpty);
                Assert.Equal(ClusterTemplates.ReviewPrompt, v.Prompt);
            });
    }

    [Fact]
    public void Default_for_prompt_takes_provider_and_model()
    {
        var config = RoundTrip(ClusterTemplates.DefaultForPrompt("x", "codex", "gpt-5-codex"));
        Assert.All(config.Agents, a => Assert.Equal(("codex", "gpt-5-codex"), (a.Provider, a.Model)));
    }

    [Fact]
    public void Unknown_provider_is_a_usage_error()
    {
        var error = Assert.Throws<UserErrorException>(() => ClusterTemplates.DefaultForPrompt("x", "gpt"));
        Assert.Equal("unknown provider 'gpt' (expected claude, codex, gemini, sim)", error.Message);
        Assert.Equal(ExitCodes.Usage, error.ExitCode);
        Assert.Throws<UserErrorException>(() => ClusterTemplates.Task("x", "gpt"));
    }

    [Fact]
    public void Task_is_one_worker_of_kind_task()
    {
        var config = RoundTrip(ClusterTemplates.Task("Rename Foo to Bar", "sim", null, "relative/dir"));
        Assert.Equal(ClusterKind.Task, config.Kind);
        Assert.Equal(1, config.MaxIterations);
        var agent = Assert.Single(config.Agents);
        Assert.Equal(AgentRole.Worker, agent.Role);
        Assert.Equal("sim", agent.Provider);
        Assert.Equal(Path.GetFullPath("relative/dir"), agent.Cwd);
    }

    [Fact]
    public void Demo_is_a_sim_worker_and_two_validators_one_rejecting_the_first_iteration()
    {
        var config = RoundTrip(ClusterTemplates.Demo());
        Assert.Equal("demo", config.Name);
        Assert.True(config.MaxIterations >= 2, "one rejection must leave room for a second iteration");
        Assert.All(config.Agents, a => Assert.Equal("sim", a.Provider));
        Assert.Single(config.Agents, a => a.Role == AgentRole.Worker);
        var validators = config.Agents.Where(a => a.Role == AgentRole.Validator).ToList();
        Assert.Equal(2, validators.Count);
        Assert.All(validators, v => Assert.Equal(["worker"], v.AfterOrEmpty));
        var rejecting = Assert.Single(validators, v => v.Options!.ContainsKey("rejectIterations"));
        Assert.Equal([1], rejecting.Options!["rejectIterations"].EnumerateArray().Select(e => e.GetInt32()));

        // ~30-60 s: two iterations of worker + the slower validator (validators run in parallel).
        double Seconds(AgentConfig a) => a.Options!["durationSeconds"].GetDouble();
        var total = 2 * (Seconds(config.Agents[0]) + validators.Max(Seconds));
        Assert.InRange(total, 30, 60);
    }

    [Theory]
    [InlineData("Fix the login bug described in ISSUE.md", "fix-the-login-bug")]
    [InlineData("  ¿¿ !! ", "prompt")]
    [InlineData("Add ISSUE-42's fix: now!", "add-issue42s-fix-now")]
    public void Names_come_from_the_first_words_of_the_prompt(string prompt, string name) =>
        Assert.Equal(name, ClusterTemplates.NameFromPrompt(prompt));
}
