using System.Text;
using Zeroshot.Agents.Config;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;
using Zeroshot.Agents.Tests.Output;

namespace Zeroshot.Agents.Tests.Supervision;

public sealed class RunOutcomeTests
{
    private static readonly AgentConfig Validator = new("review", AgentRole.Validator, "claude");
    private static readonly AgentConfig Worker = new("worker", AgentRole.Worker, "claude");

    private static AgentOutputInterpreter Read(params string[] lines) =>
        OutputTestKit.Run(Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n")).Interpreter;

    private const string Approve = """{"type":"result","subtype":"success","is_error":false,"result":"Fine.\n```json\n{\"approved\":true,\"summary\":\"ok\",\"issues\":[]}\n```","usage":{"input_tokens":1,"output_tokens":1},"total_cost_usd":0.01}""";

    [Fact]
    public void A_validator_that_exits_0_with_a_verdict_completed_with_it()
    {
        var (state, verdict, error) = RunOutcome.Judge(Validator, AgentState.Completed, "exit code 0", 0, Read(Approve));
        Assert.Equal(AgentState.Completed, state);
        Assert.True(verdict!.Approved);
        Assert.Null(error);
    }

    [Fact]
    public void A_validator_without_a_verdict_failed_and_did_not_reject()
    {
        var (state, verdict, error) = RunOutcome.Judge(Validator, AgentState.Completed, "exit code 0", 0,
            Read("""{"type":"result","subtype":"success","is_error":false,"result":"Looks fine to me.","usage":{"input_tokens":1,"output_tokens":1}}"""));
        Assert.Equal(AgentState.Failed, state);
        Assert.Null(verdict);
        Assert.StartsWith("gave no verdict", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_validator_that_hit_401_failed_with_the_api_error()
    {
        var (state, verdict, error) = RunOutcome.Judge(Validator, AgentState.Failed, "exit code 1", 1, Read(
            """{"type":"assistant","message":{"id":"m","content":[{"type":"text","text":"Invalid API key"}]},"error":"authentication_failed"}""",
            """{"type":"result","subtype":"success","is_error":true,"result":"Invalid API key","usage":{"input_tokens":0,"output_tokens":0}}"""));
        Assert.Equal(AgentState.Failed, state);
        Assert.Null(verdict);
        Assert.Equal("Invalid API key", error);
    }

    [Fact]
    public void A_command_validator_judges_by_exit_code()
    {
        var command = new AgentConfig("tests", AgentRole.Validator, Command: ["false"]);
        var (state, verdict, error) = RunOutcome.Judge(command, AgentState.Failed, "exit code 1", 1, null);
        Assert.Equal(AgentState.Failed, state);
        Assert.False(verdict!.Approved);
        Assert.Null(error);
        var (_, killed, why) = RunOutcome.Judge(command, AgentState.Failed, "killed by signal 9", null, null);
        Assert.Null(killed);
        Assert.Equal("killed by signal 9", why);
    }

    [Fact]
    public void A_worker_whose_every_tool_call_was_denied_failed()
    {
        var (state, _, error) = RunOutcome.Judge(Worker, AgentState.Completed, "exit code 0", 0, Read(
            """{"type":"assistant","message":{"id":"m1","content":[{"type":"tool_use","id":"t1","name":"Bash","input":{"command":"echo > f"}}],"usage":{"input_tokens":1,"output_tokens":1}}}""",
            """{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t1","is_error":true,"content":"Output redirection to 'f' was blocked."}]}}""",
            """{"type":"result","subtype":"success","is_error":false,"result":"I could not write the file.","usage":{"input_tokens":1,"output_tokens":1}}"""));
        Assert.Equal(AgentState.Failed, state);
        Assert.StartsWith("all 1 tool calls were refused", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_stopped_run_is_stopped_whatever_it_said()
    {
        Assert.Equal((AgentState.Stopped, (Verdict?)null, (string?)null), RunOutcome.Judge(Validator, AgentState.Stopped, "killed by signal 15", null, Read(Approve)));
    }

    [Fact]
    public void The_feedback_prompt_lists_every_rejection_and_issue()
    {
        var text = ClusterSupervisor.FeedbackPrompt(1, [("review", new Verdict(false, "Two problems", ["a", "b"])), ("tests", new Verdict(false, "", []))]);
        Assert.Equal("""
            Your previous attempt (iteration 1) was rejected by the validators. Fix every issue below, then finish the task.
            - review: Two problems
              - a
              - b
            - tests: rejected
            """.ReplaceLineEndings("\n"), text);
    }

    [Theory]
    [InlineData("model = \"gpt-5.5\"\n[model_providers.local]\nbase_url = \"x\"", "gpt-5.5")]
    [InlineData("# comment\nmodel_provider = \"local\"\nmodel='o4-mini'\n", "o4-mini")]
    [InlineData("[profiles.fast]\nmodel = \"gpt-5\"\n", null)]
    [InlineData("", null)]
    public void The_codex_model_is_the_top_level_model_key(string toml, string? model) =>
        Assert.Equal(model, CodexConfigFile.ParseModel(toml));
}

public sealed class PriceTableTests
{
    [Theory]
    [InlineData("claude-sonnet-4-5-20250929", 3.00)]
    [InlineData("claude-opus-4-1", 5.00)]
    [InlineData("gpt-5.5", 1.25)]
    [InlineData("gpt-5-mini", 0.25)]
    [InlineData("gemini-2.5-flash", 0.30)]
    [InlineData("gemini-3.8-flash", 0.50)]
    [InlineData("gemini-3.8-flash-lite", 0.10)]
    [InlineData("gemini-3-pro-preview", 2.00)]
    [InlineData("gemini-9-pro", 1.25)]
    [InlineData("something-else", 3.00)]
    public void Each_default_model_of_the_three_clis_has_a_price(string model, double input) =>
        Assert.Equal(input, Zeroshot.Agents.Config.ZeroshotSettings.Default.PriceFor(model).Input);
}
