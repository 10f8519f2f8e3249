using System.Text;
using Zeroshot.Agents.Output;
using static Zeroshot.Agents.Tests.Output.OutputTestKit;

namespace Zeroshot.Agents.Tests.Output;

public sealed class RenderingTests
{
    private static DisplayLine L(string text, DisplayStyle style) => new(text, style);

    [Fact]
    public void Claude_transcript_renders_for_people()
    {
        var (lines, _) = Run(Fixture("claude-repeated-ids.jsonl"));
        Assert.Equal(
        [
            L("● session 5f0c2a7e-8d1b-4c3e-9a55-0b6f1e2d3c4a · model claude-sonnet-4-5-20250929", DisplayStyle.Dim),
            L("I'll start by running the test suite to see what fails.", DisplayStyle.Text),
            L("⚙ Bash: npm test", DisplayStyle.Tool),
            L("  ↳ 9 lines", DisplayStyle.Dim),
            L("One test fails in price.test.ts.", DisplayStyle.Text),
            L("Let me read the implementation.", DisplayStyle.Text),
            L("⚙ Read: /home/dev/shop/src/prices.ts", DisplayStyle.Tool),
            L("  ↳ error: File does not exist. Did you mean src/price.ts?", DisplayStyle.Error),
            L("✻ The file is src/price.ts, not prices.ts. The failing case is rounding.", DisplayStyle.Dim),
            L("The failing test expects `round(2.675, 2)` to be 2.68; the implementation uses `toFixed`, which rounds the binary value down. I'd switch to integer cents.", DisplayStyle.Text),
            L("✓ done in 12.3s · 51.1K tokens · $0.04", DisplayStyle.Ok),
        ], lines);
    }

    [Fact]
    public void The_last_line_is_the_last_line_shown_with_text_and_not_a_line_of_escapes_or_blanks()
    {
        var transcript = Encoding.UTF8.GetString(Fixture("claude-repeated-ids.jsonl"));
        // Claude Code ends its output by showing the cursor again (ESC[?25h) on a line of its own; blank lines follow.
        var (_, interpreter) = Run(Encoding.UTF8.GetBytes(transcript + "\u001b[?25h\n   \n\n"));
        Assert.Equal("✓ done in 12.3s · 51.1K tokens · $0.04", interpreter.LastLine);
        var (_, plain) = Run("first\n\u001b[1mbold\u001b[0m\n\u001b[K\n"u8);
        Assert.Equal("\u001b[1mbold\u001b[0m", plain.LastLine); // as shown: the reader strips the escapes
        Assert.Null(new AgentOutputInterpreter(null).LastLine);
        var accountingOnly = new AgentOutputInterpreter(null);
        accountingOnly.Feed("text\n"u8);
        Assert.Null(accountingOnly.LastLine); // without a sink nothing is rendered
    }

    [Fact]
    public void Error_result_and_array_tool_result()
    {
        var (lines, _) = Run(Fixture("claude-error.jsonl"));
        Assert.Equal(
        [
            L("● session c0ffee00-1111-4222-8333-944455556666 · model claude-opus-4-5-20251101", DisplayStyle.Dim),
            L("⚙ Grep: toFixed\\(", DisplayStyle.Tool),
            L("  ↳ 1 line", DisplayStyle.Dim),
            L("✗ error_max_turns in 1m05s · 12.0K tokens · $0.03", DisplayStyle.Error),
        ], lines);
    }

    [Fact]
    public void Failed_success_result_shows_the_reason()
    {
        var line = """{"type":"result","subtype":"success","is_error":true,"duration_ms":2100,"result":"API Error: 529 {\"type\":\"overloaded_error\"}\nretry later","total_cost_usd":0}"""u8;
        var (lines, _) = Run([.. line, (byte)'\n']);
        Assert.Equal([L("✗ failed in 2.1s · $0.00 · API Error: 529 {\"type\":\"overloaded_error\"}", DisplayStyle.Error)], lines);
    }

    [Fact]
    public void Partial_messages_render_once_from_the_assistant_lines()
    {
        var (lines, _) = Run(Fixture("claude-partial.jsonl"));
        Assert.Equal(
        [
            L("● session a41e7c9b-2f3d-4e5a-8b6c-7d8e9f0a1b2c · model claude-sonnet-4-5-20250929", DisplayStyle.Dim),
            L("I'll run the tests.", DisplayStyle.Text),
            L("⚙ Bash: dotnet test --no-build", DisplayStyle.Tool),
            L("  ↳ 1 line", DisplayStyle.Dim),
            L("All 48 tests pass.", DisplayStyle.Text),
        ], lines);
    }

    [Fact]
    public void Codex_events_render_for_people()
    {
        var (lines, _) = Run(Fixture("codex-exec.jsonl"), new AgentOutputOptions { Model = "gpt-5-codex" });
        Assert.Equal(
        [
            L("● thread 0199a213-81c0-7800-8aa1-bbab2a035a53", DisplayStyle.Dim),
            L("✻ **Inspecting the failing test** I need to look at how sum handles empty arrays.", DisplayStyle.Dim),
            L("⚙ shell: npm test", DisplayStyle.Tool),
            L("  ↳ error: exit 1 · # fail 1", DisplayStyle.Error),
            L("⚙ patch: update src/sum.js", DisplayStyle.Tool),
            L("⚙ shell: npm test", DisplayStyle.Tool),
            L("  ↳ 5 lines", DisplayStyle.Dim),
            L("Fixed `sum([])` to return 0; the test passes.", DisplayStyle.Text),
            L("✓ turn done · 25.9K tokens · ~$0.01", DisplayStyle.Ok),
            L("⚙ github.create_pull_request: Fix sum of empty array", DisplayStyle.Tool),
            L("  ↳ done", DisplayStyle.Dim),
            L("Opened PR #12.", DisplayStyle.Text),
            L("✓ turn done · 52.7K tokens · ~$0.02", DisplayStyle.Ok),
        ], lines);
    }

    [Fact]
    public void Codex_errors_render_as_errors()
    {
        var (lines, _) = Run(Fixture("codex-failed.jsonl"));
        Assert.Equal(
        [
            L("● thread 0199b7c4-02aa-7d31-9f3e-5c1d2e3f4a5b", DisplayStyle.Dim),
            L("↻ retrying 1/5: Reconnecting... 1/5", DisplayStyle.Error),
            L("✗ error: stream error: exceeded retry limit, last status: 429 Too Many Requests", DisplayStyle.Error),
            L("✗ turn failed: stream error: exceeded retry limit, last status: 429 Too Many Requests", DisplayStyle.Error),
        ], lines);
    }

    [Fact]
    public void Raw_mode_shows_lines_as_written_but_still_accounts()
    {
        var bytes = Fixture("claude-repeated-ids.jsonl");
        var (lines, interpreter) = Run(bytes, new AgentOutputOptions { Raw = true });
        var expected = Encoding.UTF8.GetString(bytes).TrimEnd('\n').Split('\n');
        Assert.Equal(expected, lines.Select(l => l.Text));
        Assert.All(lines, l => Assert.Equal(DisplayStyle.Raw, l.Style));
        Assert.Equal(0.04125m, interpreter.Usage.Snapshot().CostUsd);
    }

    [Fact]
    public void Json_of_neither_dialect_and_plain_lines_pass_through_unchanged()
    {
        var input = "{\"level\":\"info\",\"msg\":\"listening\"}\n[1,2,3]\n  plain text  \n\n{\"type\":\"keep_alive\"}\n"u8;
        var (lines, interpreter) = Run(input);
        Assert.Equal(
        [
            L("{\"level\":\"info\",\"msg\":\"listening\"}", DisplayStyle.Raw),
            L("[1,2,3]", DisplayStyle.Raw),
            L("  plain text  ", DisplayStyle.Raw),
            L("", DisplayStyle.Raw),
            L("{\"type\":\"keep_alive\"}", DisplayStyle.Raw),
        ], lines);
        Assert.Equal(0, interpreter.UnparsedLines);
    }

    [Fact]
    public void Malformed_json_is_shown_raw_and_counted_unparsed()
    {
        var input = "{\"type\":\"assistant\",\"message\":{\"id\":\"m\n{\"a\":1} trailing\n{}}\n"u8;
        var (lines, interpreter) = Run(input);
        Assert.Equal(["{\"type\":\"assistant\",\"message\":{\"id\":\"m", "{\"a\":1} trailing", "{}}"], lines.Select(l => l.Text));
        Assert.Equal(3, interpreter.UnparsedLines);
    }

    [Fact]
    public void Tool_detail_picks_the_most_telling_input_and_cuts_it()
    {
        var longCommand = new string('x', 300);
        var input = $$$"""
            {"type":"assistant","message":{"id":"m1","content":[{"type":"tool_use","id":"t1","name":"WebFetch","input":{"prompt":"summarise","url":"https://example.com/a"}}]}}
            {"type":"assistant","message":{"id":"m1","content":[{"type":"tool_use","id":"t2","name":"Bash","input":{"command":"cd src &&\n  make\tall"}}]}}
            {"type":"assistant","message":{"id":"m1","content":[{"type":"tool_use","id":"t3","name":"Bash","input":{"command":"{{{longCommand}}}"}}]}}
            {"type":"assistant","message":{"id":"m1","content":[{"type":"tool_use","id":"t4","name":"TodoWrite","input":{"todos":[{"content":"a"},{"content":"b"}]}}]}}
            {"type":"assistant","message":{"id":"m1","content":[{"type":"tool_use","id":"t5","name":"ExitPlanMode","input":{}}]}}
            {"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t5","content":""}]}}

            """;
        var (lines, _) = Run(Encoding.UTF8.GetBytes(input));
        Assert.Equal(
        [
            "⚙ WebFetch: https://example.com/a",
            "⚙ Bash: cd src && make all",
            "⚙ Bash: " + new string('x', 99) + "…",
            "⚙ TodoWrite: 2 todos",
            "⚙ ExitPlanMode",
            "  ↳ (no output)",
        ], lines.Select(l => l.Text));
    }

    [Fact]
    public void Escapes_inside_json_text_never_reach_the_display()
    {
        var input = """{"type":"assistant","message":{"id":"m","content":[{"type":"text","text":"\u001b[31mred\u001b[0m\tok\u0007"}]}}"""u8;
        var (lines, _) = Run([.. input, (byte)'\n']);
        Assert.Equal([L("[31mred[0m\tok", DisplayStyle.Text)], lines);
    }
}
