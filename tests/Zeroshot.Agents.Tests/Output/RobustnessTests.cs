using System.Text;
using FsCheck;
using FsCheck.Xunit;
using Zeroshot.Agents.Output;
using static Zeroshot.Agents.Tests.Output.OutputTestKit;

namespace Zeroshot.Agents.Tests.Output;

public sealed class RobustnessTests
{
    /// <summary>Every fixture plus plain, ANSI, malformed, invalid UTF-8 and unterminated lines, in one stream.</summary>
    private static readonly byte[] Mixed =
    [
        .. Fixture("claude-repeated-ids.jsonl"),
        .. "\u001b[32m✓\u001b[0m build ok\r\n10%\r55%\r100%\r\n"u8,
        .. Fixture("claude-partial.jsonl"),
        .. "{\"type\":\"assistant\",\"message\":{\"id\":\"msg_cut\"\n"u8,
        0xC3, 0x28, 0xFF, 0x00, (byte)'\n',
        .. Fixture("codex-exec.jsonl"),
        .. Fixture("claude-error.jsonl"),
        .. "no newline at the end"u8,
    ];

    private static readonly string[] Soup =
    [
        "{", "}", "[", "]", ",", ":", "\"type\"", "\"assistant\"", "\"result\"", "\"stream_event\"", "\"message\"",
        "\"id\"", "\"usage\"", "\"output_tokens\"", "\"content\"", "\"tool_use\"", "\"turn.completed\"", "\"item\"",
        "1e309", "-1", "9223372036854775808", "null", "true", "\"\\u0000\"", "\"\\ud800\"", "\n", "\r\n", "\r",
        "\u001b[31m", "é", "\"message_delta\"", "\"event\"", "\"message_start\"", "\"input_tokens\"", "0.5",
    ];

    [Property(MaxTest = 200)]
    public bool Random_splits_give_the_same_totals_and_lines(PositiveInt[] sizes)
    {
        var whole = Run(Mixed);
        var split = Run(Mixed, chunkSizes: sizes.Select(s => s.Get % 700 + 1).ToArray());
        return whole.Lines.SequenceEqual(split.Lines)
               && whole.Interpreter.Usage.Snapshot() == split.Interpreter.Usage.Snapshot()
               && whole.Interpreter.UnparsedLines == split.Interpreter.UnparsedLines
               && whole.Interpreter.Lines == split.Interpreter.Lines;
    }

    [Fact]
    public void Mixed_stream_totals_are_exact()
    {
        var (lines, interpreter) = Run(Mixed, new AgentOutputOptions { Model = "gpt-5" });
        // One process is one session: each Claude result is cumulative and replaces all Claude figures before it,
        // so the last result (claude-error, $0.026525 exact) stands, plus the Codex thread priced at the last
        // model named (Opus 4.5: 1280×5 + 1530×25 + 49920×0.5 = 69610 µ$, estimated).
        Assert.Equal(new UsageTotals(new TokenCounts(1283, 1575, 59920, 2000), 0.026525m + 0.06961m, true), interpreter.Usage.Snapshot());
        Assert.Equal(2, interpreter.UnparsedLines); // the cut JSON and the binary line
        Assert.Equal(10 + 2 + 21 + 2 + 15 + 4 + 1, interpreter.Lines);
        Assert.Contains(new DisplayLine("\u001b[32m✓\u001b[0m build ok", DisplayStyle.Raw), lines);
        Assert.Contains(new DisplayLine("10%\r55%\r100%", DisplayStyle.Raw), lines);
        Assert.Equal(new DisplayLine("no newline at the end", DisplayStyle.Raw), lines[^1]);
    }

    [Property(MaxTest = 300)]
    public bool Random_bytes_never_throw(byte[] data, PositiveInt[] sizes)
    {
        var (lines, interpreter) = Run(data ?? [], chunkSizes: sizes.Select(s => s.Get % 97 + 1).ToArray());
        return interpreter.UnparsedLines <= interpreter.Lines && lines.Count == interpreter.Lines;
    }

    [Property(MaxTest = 500)]
    public bool Json_like_soup_never_throws(int[] picks, PositiveInt[] sizes)
    {
        var text = string.Concat((picks ?? []).Select(p => Soup[(int)((uint)p % (uint)Soup.Length)]));
        var (lines, interpreter) = Run(Encoding.UTF8.GetBytes(text), chunkSizes: sizes.Select(s => s.Get % 13 + 1).ToArray());
        var snapshot = interpreter.Usage.Snapshot();
        return lines.Count == interpreter.Lines && snapshot.CostUsd == snapshot.CostUsd;
    }

    [Property(MaxTest = 300)]
    public bool Ansi_lines_pass_through_byte_identical(int[] picks)
    {
        string[] pool = ["\u001b[31m", "\u001b[0m", "\u001b[1;32m", "\u001b[2K", "\u001b]0;title\u0007", "\r", "\t", "text", " ", "✓", "日本", "😀", "{", "]"];
        var line = string.Concat((picks ?? []).Select(p => pool[(int)((uint)p % (uint)pool.Length)]));
        var bytes = Encoding.UTF8.GetBytes(line);
        // As the terminal prints it: ONLCR turns the agent's "\n" into "\r\n".
        var (lines, _) = Run([.. bytes, (byte)'\r', (byte)'\n']);
        return lines.Count == 1 && lines[0].Style == DisplayStyle.Raw && Encoding.UTF8.GetBytes(lines[0].Text).AsSpan().SequenceEqual(bytes);
    }

    [Fact]
    public void A_50_MB_line_is_cut_counted_and_does_not_hold_50_MB()
    {
        var lines = new List<DisplayLine>();
        var interpreter = new AgentOutputInterpreter(lines.Add);
        var chunk = new byte[64 * 1024];
        chunk.AsSpan().Fill((byte)'a');
        long before = GC.GetAllocatedBytesForCurrentThread();

        var head = "{\"type\":\"assistant\",\"message\":{\"id\":\"msg_big\",\"content\":[{\"type\":\"text\",\"text\":\""u8;
        interpreter.Feed(head);
        long fed = head.Length + "\"}]}}".Length;
        while (fed < 50L * 1024 * 1024)
        {
            interpreter.Feed(chunk);
            fed += chunk.Length;
        }
        Assert.True(interpreter.LineBufferCapacity <= LineAssembler.DefaultMaxLineBytes, $"buffer {interpreter.LineBufferCapacity}");
        interpreter.Feed("\"}]}}\n"u8);
        interpreter.Feed("""{"type":"assistant","message":{"id":"msg_after","model":"claude-haiku-4-5","content":[{"type":"text","text":"still here"}],"usage":{"input_tokens":10,"output_tokens":5}}}"""u8);
        interpreter.Feed("\n"u8);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(allocated < 16L * 1024 * 1024, $"allocated {allocated} bytes for a 50 MB line");
        Assert.Equal(1, interpreter.UnparsedLines);
        Assert.Equal(2, lines.Count);
        Assert.Equal(DisplayStyle.Raw, lines[0].Style);
        Assert.EndsWith($" … [{fed} bytes, cut]", lines[0].Text, StringComparison.Ordinal);
        Assert.True(lines[0].Text.Length < 17 * 1024);
        Assert.Equal(new DisplayLine("still here", DisplayStyle.Text), lines[1]);
        Assert.Equal(new TokenCounts(10, 5, 0, 0), interpreter.Usage.Snapshot().Tokens);
        Assert.True(interpreter.LineBufferCapacity <= 64 * 1024, "buffer shrinks back after the long line");
    }

    [Fact]
    public void Invalid_utf8_and_binary_are_shown_and_counted()
    {
        var (lines, interpreter) = Run([0xC3, 0x28, (byte)'\n', (byte)'a', 0x00, (byte)'b', (byte)'\n', .. "ok\n"u8]);
        Assert.Equal(["\uFFFD(", "a\0b", "ok"], lines.Select(l => l.Text));
        Assert.Equal(2, interpreter.UnparsedLines);
    }

    [Fact]
    public void A_long_line_from_a_terminal_counts_its_bytes_without_the_crlf()
    {
        // Through a PTY (ONLCR) every line ends in CR LF; the CR is not the agent's byte, cut or not.
        var line = new byte[100_000];
        line.AsSpan().Fill((byte)'x');
        var (lines, _) = Run([.. line, (byte)'\r', (byte)'\n'], new AgentOutputOptions { MaxLineBytes = 1000 }, chunkSizes: [4096]);
        Assert.EndsWith(" … [100000 bytes, cut]", lines[0].Text, StringComparison.Ordinal);
        var (whole, _) = Run([.. line, (byte)'\r', (byte)'\n'], new AgentOutputOptions { MaxLineBytes = 1000 });
        Assert.EndsWith(" … [100000 bytes, cut]", whole[0].Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Raw_display_cut_never_splits_a_utf8_sequence()
    {
        var line = string.Concat(Enumerable.Repeat("é", 20)); // 40 bytes
        var (lines, _) = Run(Encoding.UTF8.GetBytes(line + "\n"), new AgentOutputOptions { MaxRawDisplayBytes = 15 });
        Assert.Equal(new DisplayLine("ééééééé … [40 bytes, cut]", DisplayStyle.Raw), lines[0]);
    }
}
