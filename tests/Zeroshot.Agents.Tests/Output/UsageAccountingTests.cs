using System.Text;
using System.Text.Json;
using Zeroshot.Agents.Output;
using static Zeroshot.Agents.Tests.Output.OutputTestKit;

namespace Zeroshot.Agents.Tests.Output;

public sealed class UsageAccountingTests
{
    // claude-repeated-ids.jsonl: three message ids, each on two lines with growing output_tokens.
    // Last value per id: A(3, 92, 12040, 4512) B(6, 75, 16552, 310) C(5, 214, 16862, 420).
    private static readonly TokenCounts RepeatedLastWins = new(Input: 14, Output: 381, CacheRead: 45454, CacheCreation: 5242);

    [Fact]
    public void Repeated_message_ids_count_once_with_the_last_value()
    {
        var live = WithoutLastLines(Fixture("claude-repeated-ids.jsonl"), 1);
        var (_, interpreter) = Run(live);
        var totals = interpreter.Usage.Snapshot();

        Assert.Equal(RepeatedLastWins, totals.Tokens);
        Assert.Equal(51091, totals.Total);
        Assert.Equal(3, interpreter.Usage.LiveMessages);
        // Sonnet 4.5 list prices: 14×3 + 381×15 + 45454×0.30 + 5242×3.75 = 39050.7 µ$.
        Assert.Equal(0.0390507m, totals.CostUsd);
        Assert.True(totals.CostEstimated);
        Assert.Equal("~$0.04", totals.FormatCost());

        // The two naive readings of the same stream, computed from the fixture, are both wrong.
        var (firstWins, sumAll) = NaiveReadings(live);
        Assert.Equal(59, firstWins.Output);
        Assert.Equal(new TokenCounts(28, 440, 90908, 10484), sumAll);
        Assert.NotEqual(firstWins, totals.Tokens);
        Assert.NotEqual(sumAll, totals.Tokens);
    }

    [Fact]
    public void Result_replaces_the_live_estimate_with_exact_figures()
    {
        var (_, interpreter) = Run(Fixture("claude-repeated-ids.jsonl"));
        var totals = interpreter.Usage.Snapshot();

        Assert.Equal(RepeatedLastWins, totals.Tokens);
        Assert.Equal(0.04125m, totals.CostUsd); // total_cost_usd also covers the side calls to Haiku
        Assert.False(totals.CostEstimated);
        Assert.Equal("$0.04", totals.FormatCost());
        Assert.True(interpreter.Usage.HasResult);
        Assert.Equal(0, interpreter.UnparsedLines);
    }

    [Fact]
    public void Lines_repeated_after_the_result_are_not_counted_again()
    {
        var bytes = Fixture("claude-repeated-ids.jsonl");
        var lines = Encoding.UTF8.GetString(bytes).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var (_, interpreter) = Run(Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n" + lines[^2] + "\n"));

        var totals = interpreter.Usage.Snapshot();
        Assert.Equal(RepeatedLastWins, totals.Tokens);
        Assert.Equal(0.04125m, totals.CostUsd);
        Assert.False(totals.CostEstimated);
    }

    [Fact]
    public void A_second_turn_after_a_result_counts_live_until_its_own_result_replaces_all()
    {
        var turn2 = """
            {"type":"assistant","message":{"id":"msg_turn2","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Next."}],"usage":{"input_tokens":2,"cache_creation_input_tokens":0,"cache_read_input_tokens":1000,"output_tokens":20}}}

            """u8;
        var (_, interpreter) = Run([.. Fixture("claude-repeated-ids.jsonl"), .. turn2]);
        // 2×3 + 20×15 + 1000×0.30 = 606 µ$ estimated on top of the exact $0.04125.
        Assert.Equal(new UsageTotals(RepeatedLastWins + new TokenCounts(2, 20, 1000, 0), 0.041856m, true), interpreter.Usage.Snapshot());

        interpreter.Feed("""{"type":"result","subtype":"success","is_error":false,"total_cost_usd":0.05,"usage":{"input_tokens":16,"output_tokens":401,"cache_read_input_tokens":46454,"cache_creation_input_tokens":5242}}"""u8);
        interpreter.Feed("\n"u8);
        Assert.Equal(new UsageTotals(new TokenCounts(16, 401, 46454, 5242), 0.05m, false), interpreter.Usage.Snapshot());
    }

    [Fact]
    public void Partial_messages_update_the_same_ids_and_message_delta_is_cumulative()
    {
        var (_, interpreter) = Run(Fixture("claude-partial.jsonl"));
        var totals = interpreter.Usage.Snapshot();

        // P: message_start (4, 1, 15000, 0) then message_delta output 58; Q: delta (7, 31, 15120, 240).
        Assert.Equal(new TokenCounts(11, 89, 30120, 240), totals.Tokens);
        Assert.Equal(2, interpreter.Usage.LiveMessages);
        // 11×3 + 89×15 + 30120×0.30 + 240×3.75 = 11304 µ$.
        Assert.Equal(0.011304m, totals.CostUsd);
        Assert.True(totals.CostEstimated);
        Assert.Equal(0, interpreter.UnparsedLines);
    }

    [Fact]
    public void Partial_message_tokens_move_while_the_message_streams()
    {
        var bytes = Fixture("claude-partial.jsonl");
        var lines = Encoding.UTF8.GetString(bytes).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var interpreter = new AgentOutputInterpreter(null);
        var outputs = new List<long>();
        foreach (var line in lines)
        {
            interpreter.Feed(Encoding.UTF8.GetBytes(line + "\r\n"));
            outputs.Add(interpreter.Usage.Snapshot().Output);
        }

        Assert.Equal([0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 58, 58, 58, 60, 60, 60, 60, 60, 89, 89], outputs);
    }

    [Fact]
    public void Error_result_is_authoritative_too()
    {
        var bytes = Fixture("claude-error.jsonl");
        var (_, live) = Run(WithoutLastLines(bytes, 1));
        // Opus 4.5: 3×5 + 45×25 + 10000×0.50 + 2000×6.25 = 18640 µ$.
        Assert.Equal(new UsageTotals(new TokenCounts(3, 45, 10000, 2000), 0.01864m, true), live.Usage.Snapshot());

        var (_, done) = Run(bytes);
        Assert.Equal(new UsageTotals(new TokenCounts(3, 45, 10000, 2000), 0.026525m, false), done.Usage.Snapshot());
    }

    [Fact]
    public void Result_with_cost_but_no_usage_keeps_counted_tokens_and_makes_the_cost_exact()
    {
        var live = WithoutLastLines(Fixture("claude-error.jsonl"), 1);
        var early = """{"type":"result","subtype":"error_during_execution","is_error":true,"duration_ms":900,"total_cost_usd":0.02,"session_id":"x"}"""u8;
        var (lines, interpreter) = Run([.. live, .. early, (byte)'\n']);

        Assert.Equal(new UsageTotals(new TokenCounts(3, 45, 10000, 2000), 0.02m, false), interpreter.Usage.Snapshot());
        Assert.Equal(new DisplayLine("✗ error_during_execution in 900ms · $0.02", DisplayStyle.Error), lines[^1]);
    }

    [Fact]
    public void Two_runs_add_up()
    {
        var (_, first) = Run(Fixture("claude-repeated-ids.jsonl"));
        var (_, second) = Run(WithoutLastLines(Fixture("claude-error.jsonl"), 1));

        var sum = UsageTotals.Sum([first.Usage.Snapshot(), second.Usage.Snapshot()]);
        Assert.Equal(new TokenCounts(17, 426, 55454, 7242), sum.Tokens);
        Assert.Equal(63139, sum.Total);
        Assert.Equal(0.04125m + 0.01864m, sum.CostUsd);
        Assert.True(sum.CostEstimated); // the second run has no result yet
        Assert.Equal("~$0.06", sum.FormatCost());
        Assert.Equal(UsageTotals.Zero, UsageTotals.Sum([]));
    }

    [Fact]
    public void Codex_turn_usage_is_a_cumulative_snapshot_per_thread()
    {
        var options = new AgentOutputOptions { Model = "gpt-5-codex" };
        var bytes = Fixture("codex-exec.jsonl");
        var (_, afterFirstTurn) = Run(WithoutLastLines(bytes, 5), options);
        Assert.Equal(new TokenCounts(315, 1122, 24448, 0), afterFirstTurn.Usage.Snapshot().Tokens);

        var (_, interpreter) = Run(bytes, options);
        var totals = interpreter.Usage.Snapshot();
        // Last snapshot wins: input 51200 of which 49920 cached; not 24763 + 51200.
        Assert.Equal(new TokenCounts(1280, 1530, 49920, 0), totals.Tokens);
        Assert.Equal(52730, totals.Total);
        // gpt-5: 1280×1.25 + 1530×10 + 49920×0.125 = 23140 µ$, estimated (Codex prints no cost).
        Assert.Equal(0.02314m, totals.CostUsd);
        Assert.True(totals.CostEstimated);
        Assert.Equal(0, interpreter.UnparsedLines);
    }

    [Fact]
    public void Codex_failed_turn_counts_nothing_and_is_not_unparsed()
    {
        var (_, interpreter) = Run(Fixture("codex-failed.jsonl"));
        Assert.Equal(UsageTotals.Zero, interpreter.Usage.Snapshot());
        Assert.Equal(0, interpreter.UnparsedLines);
        Assert.Equal(5, interpreter.Lines);
    }

    [Fact]
    public void Plain_output_has_no_tokens_and_no_estimate()
    {
        var (_, interpreter) = Run("building...\nok\n"u8);
        Assert.Equal(new UsageTotals(default, 0m, false), interpreter.Usage.Snapshot());
        Assert.Equal("$0.00", interpreter.Usage.Snapshot().FormatCost());
    }

    [Fact]
    public void Codex_usage_splits_cached_input_out_of_input()
    {
        Assert.Equal(new TokenCounts(315, 1122, 24448, 0), TokenCounts.FromCodex(24763, 24448, 1122));
        Assert.Equal(new TokenCounts(0, 0, 10, 0), TokenCounts.FromCodex(10, 99, 0)); // cached capped at input
    }

    /// <summary>First-wins and sum-every-line over the assistant lines, straight from the JSON.</summary>
    private static (TokenCounts FirstWins, TokenCounts SumAll) NaiveReadings(byte[] bytes)
    {
        var first = new Dictionary<string, TokenCounts>();
        TokenCounts sum = default;
        foreach (var line in Encoding.UTF8.GetString(bytes).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var doc = JsonDocument.Parse(line);
            if (doc.RootElement.GetProperty("type").GetString() != "assistant")
                continue;
            var message = doc.RootElement.GetProperty("message");
            var u = message.GetProperty("usage");
            var t = new TokenCounts(u.GetProperty("input_tokens").GetInt64(), u.GetProperty("output_tokens").GetInt64(),
                u.GetProperty("cache_read_input_tokens").GetInt64(), u.GetProperty("cache_creation_input_tokens").GetInt64());
            first.TryAdd(message.GetProperty("id").GetString()!, t);
            sum += t;
        }

        TokenCounts firstSum = default;
        foreach (var t in first.Values)
            firstSum += t;
        return (firstSum, sum);
    }
}
