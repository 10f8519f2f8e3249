using System.Text;
using Zeroshot.Agents.Output;

namespace Zeroshot.Agents.Tests.Output;

public sealed class VerdictTests
{
    [Fact]
    public void The_last_fenced_verdict_wins_over_an_example_quoted_before_it()
    {
        var text = """
            The format asked for is ```json
            {"approved": true, "summary": "example", "issues": []}
            ```
            I found two problems.

            ```json
            {"approved": false, "summary": "Two problems", "issues": ["empty input accepted", "no test for NaN"]}
            ```
            """;
        var verdict = Verdict.FromText(text);
        Assert.NotNull(verdict);
        Assert.False(verdict.Approved);
        Assert.Equal("Two problems", verdict.Summary);
        Assert.Equal(["empty input accepted", "no test for NaN"], verdict.Issues);
    }

    [Fact]
    public void A_bare_object_with_braces_inside_strings_is_found()
    {
        var verdict = Verdict.FromText("""Done. {"approved": true, "summary": "uses {braces} and \"quotes\"", "issues": []} bye""");
        Assert.NotNull(verdict);
        Assert.True(verdict.Approved);
        Assert.Equal("uses {braces} and \"quotes\"", verdict.Summary);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("APPROVED")]
    [InlineData("""{"approved": "yes", "summary": "a string is not a boolean"}""")]
    [InlineData("""{"summary": "no approved field", "issues": []}""")]
    [InlineData("""```json\n{"approved": tru\n```""")]
    public void No_verdict_without_a_boolean_approved(string? text) => Assert.Null(Verdict.FromText(text));

    [Fact]
    public void Claude_structured_output_is_the_verdict_even_when_the_text_says_otherwise()
    {
        var lines = string.Join('\n',
            """{"type":"assistant","message":{"id":"m1","model":"claude-sonnet-4-5","content":[{"type":"text","text":"{\"approved\": true, \"summary\": \"text\", \"issues\": []}"}],"usage":{"input_tokens":1,"output_tokens":2}}}""",
            """{"type":"result","subtype":"success","is_error":false,"result":"ok","structured_output":{"approved":false,"summary":"structured","issues":["x"]},"usage":{"input_tokens":1,"output_tokens":2},"total_cost_usd":0.001}""") + "\n";
        var (_, interpreter) = OutputTestKit.Run(Encoding.UTF8.GetBytes(lines));
        Assert.False(interpreter.Verdict!.Approved);
        Assert.Equal("structured", interpreter.Verdict.Summary);
        Assert.Equal(["x"], interpreter.Verdict.Issues);
    }

    [Fact]
    public void The_codex_verdict_is_its_last_agent_message()
    {
        var lines = string.Join('\n',
            """{"type":"thread.started","thread_id":"t1"}""",
            """{"type":"item.completed","item":{"id":"i1","type":"agent_message","text":"Looking."}}""",
            """{"type":"item.completed","item":{"id":"i2","type":"agent_message","text":"```json\n{\"approved\":false,\"summary\":\"no\",\"issues\":[\"a\",\"b\"]}\n```"}}""",
            """{"type":"turn.completed","usage":{"input_tokens":10,"cached_input_tokens":0,"output_tokens":5}}""") + "\n";
        var (_, interpreter) = OutputTestKit.Run(Encoding.UTF8.GetBytes(lines));
        Assert.False(interpreter.Verdict!.Approved);
        Assert.Equal(["a", "b"], interpreter.Verdict.Issues);
        Assert.Null(interpreter.RunError);
    }

    [Fact]
    public void A_verdict_given_through_claude_s_structured_output_tool_or_stated_before_a_last_turn_counts()
    {
        var tool = string.Join('\n',
            """{"type":"assistant","message":{"id":"m1","content":[{"type":"tool_use","id":"t1","name":"StructuredOutput","input":{"approved":true,"summary":"via tool","issues":[]}}],"usage":{"input_tokens":1,"output_tokens":1}}}""",
            """{"type":"result","subtype":"success","is_error":false,"result":"","usage":{"input_tokens":1,"output_tokens":1}}""") + "\n";
        Assert.Equal("via tool", OutputTestKit.Run(Encoding.UTF8.GetBytes(tool)).Interpreter.Verdict?.Summary);

        var earlier = string.Join('\n',
            """{"type":"assistant","message":{"id":"m1","content":[{"type":"text","text":"```json\n{\"approved\": false, \"summary\": \"stated\", \"issues\": [\"x\"]}\n```"}],"usage":{"input_tokens":1,"output_tokens":1}}}""",
            """{"type":"assistant","message":{"id":"m2","content":[{"type":"text","text":"Anything else?"}],"usage":{"input_tokens":1,"output_tokens":1}}}""",
            """{"type":"result","subtype":"success","is_error":false,"result":"Anything else?","usage":{"input_tokens":2,"output_tokens":2}}""") + "\n";
        var verdict = OutputTestKit.Run(Encoding.UTF8.GetBytes(earlier)).Interpreter.Verdict;
        Assert.False(verdict!.Approved);
        Assert.Equal("stated", verdict.Summary);
    }
}
