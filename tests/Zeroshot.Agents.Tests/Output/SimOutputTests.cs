using System.Text.Json;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.Sim;
using Zeroshot.Agents.Tests.Sim;
using static Zeroshot.Agents.Tests.Output.OutputTestKit;

namespace Zeroshot.Agents.Tests.Output;

/// <summary>The sim agent's real stream (it prints what Claude Code prints) read by the interpreter.</summary>
public sealed class SimOutputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("zeroshot-output-sim-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public async Task Live_estimate_before_the_result_matches_the_result_exactly(int exitCode)
    {
        var options = SimAgentOptions.Parse($$"""{"durationSeconds": 30, "seed": 5, "cpu": 0, "networkKBps": 0, "exitCode": {{exitCode}}, "workdir": "{{_dir}}"}""");
        using var stdout = new MemoryStream();
        Assert.Equal(exitCode, await new SimAgent(options, _ => null, new InstantClock()).RunAsync(stdout, CancellationToken.None));
        var bytes = stdout.ToArray();

        using var result = JsonDocument.Parse(bytes.AsMemory()[(Array.LastIndexOf(bytes, (byte)'\n', bytes.Length - 2) + 1)..]);
        var usage = result.RootElement.GetProperty("usage");
        var expected = new TokenCounts(usage.GetProperty("input_tokens").GetInt64(), usage.GetProperty("output_tokens").GetInt64(),
            usage.GetProperty("cache_read_input_tokens").GetInt64(), usage.GetProperty("cache_creation_input_tokens").GetInt64());
        var cost = result.RootElement.GetProperty("total_cost_usd").GetDecimal();

        // Live, every line but the result: the last-wins sum is the result's usage, priced the same (Sonnet).
        var (_, live) = Run(WithoutLastLines(bytes, 1), chunkSizes: [4096, 17, 1]);
        Assert.Equal(new UsageTotals(expected, cost, CostEstimated: true), live.Usage.Snapshot());
        Assert.Equal(result.RootElement.GetProperty("num_turns").GetInt32(), live.Usage.LiveMessages);

        var (lines, done) = Run(bytes);
        Assert.Equal(new UsageTotals(expected, cost, CostEstimated: false), done.Usage.Snapshot());
        Assert.Equal(0, done.UnparsedLines);
        Assert.Equal(exitCode == 0 ? DisplayStyle.Ok : DisplayStyle.Error, lines[^1].Style);
        Assert.Contains(lines, l => l.Style == DisplayStyle.Tool && l.Text.StartsWith("⚙ Bash: ", StringComparison.Ordinal));
        Assert.Equal(AgentActivity.Quiet, done.Activity.Current(DateTimeOffset.MaxValue).Activity);
    }
}
