using Zeroshot.Agents.Sim;

namespace Zeroshot.Agents.Tests.Sim;

public class SimAgentOptionsTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("{}")]
    public void Empty_input_gives_defaults(string? json)
    {
        var o = SimAgentOptions.Parse(json);
        Assert.Equal(12, o.DurationSeconds);
        Assert.Null(o.Seed);
        Assert.Equal(0, o.ExitCode);
        Assert.Empty(o.RejectIterations);
        Assert.False(o.Hang);
        Assert.Equal(SimAgentOptions.DefaultModel, o.Model);
        Assert.Equal(0.5, o.Cpu);
        Assert.Equal(100, o.NetworkKBps);
        Assert.Null(o.Workdir);
    }

    [Fact]
    public void Every_option_is_read()
    {
        var o = SimAgentOptions.Parse("""
            {"durationSeconds": 3.5, "seed": -7, "exitCode": 4, "rejectIterations": [2, 5], "hang": true,
             "model": "claude-opus-4-1", "cpu": 0.25, "networkKBps": 64, "workdir": "/tmp/x"}
            """);
        Assert.Equal(3.5, o.DurationSeconds);
        Assert.Equal(-7, o.Seed);
        Assert.Equal(4, o.ExitCode);
        Assert.Equal([2, 5], o.RejectIterations);
        Assert.True(o.Hang);
        Assert.Equal("claude-opus-4-1", o.Model);
        Assert.Equal(0.25, o.Cpu);
        Assert.Equal(64, o.NetworkKBps);
        Assert.Equal("/tmp/x", o.Workdir);
    }

    [Theory]
    [InlineData("""{"durationSecs": 3}""", "unknown sim option 'durationSecs'")]
    [InlineData("""{"seed": "x"}""", "'seed' must be an integer")]
    [InlineData("""{"seed": 1.5}""", "'seed' must be an integer")]
    [InlineData("""{"exitCode": 256}""", "'exitCode' must be between 0 and 255")]
    [InlineData("""{"cpu": 2}""", "'cpu' must be between 0 and 1")]
    [InlineData("""{"durationSeconds": 0}""", "'durationSeconds' must be between")]
    [InlineData("""{"hang": "yes"}""", "'hang' must be true or false")]
    [InlineData("""{"rejectIterations": 2}""", "'rejectIterations' must be an array")]
    [InlineData("""{"rejectIterations": [0]}""", "'rejectIterations' must be between 1")]
    [InlineData("""{"model": ""}""", "'model' must be a non-empty string")]
    [InlineData("""[1]""", "must be a JSON object")]
    [InlineData("""{"seed": """, "not valid JSON")]
    public void Bad_options_are_one_line_usage_errors(string json, string expected)
    {
        var e = Assert.Throws<UserErrorException>(() => SimAgentOptions.Parse(json));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
    }

    [Fact]
    public void An_already_parsed_element_reads_the_same()
    {
        using var doc = System.Text.Json.JsonDocument.Parse("""{"agents": [{"options": {"seed": 3, "hang": true}}]}""");
        var o = SimAgentOptions.Parse(doc.RootElement.GetProperty("agents")[0].GetProperty("options"));
        Assert.Equal(SimAgentOptions.Parse("""{"seed": 3, "hang": true}""") with { RejectIterations = o.RejectIterations }, o);
        Assert.Equal(3, o.Seed);
        Assert.True(o.Hang);
    }
}
