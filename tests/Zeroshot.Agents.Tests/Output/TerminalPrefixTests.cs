using System.Text;
using Zeroshot.Agents.Output;

namespace Zeroshot.Agents.Tests.Output;

/// <summary>
/// Programs started on a terminal may switch terminal modes before their first line (.NET and Node
/// write ESC[?1h ESC= when they start on a PTY): the JSON after it must still be understood.
/// </summary>
public class TerminalPrefixTests
{
    private const string Assistant = """{"type":"assistant","message":{"id":"msg_1","model":"claude-sonnet-4-5","content":[{"type":"text","text":"hi"}],"usage":{"input_tokens":3,"output_tokens":4,"cache_read_input_tokens":0,"cache_creation_input_tokens":0}}}""";

    [Theory]
    [InlineData("\u001b[?1h\u001b=")]
    [InlineData("\u001b]0;title\u0007")]
    [InlineData("\u001b]0;title\u001b\\\u001b[0m ")]
    public void Json_after_terminal_sequences_is_counted_and_rendered(string prefix)
    {
        var (lines, interpreter) = OutputTestKit.Run(Encoding.UTF8.GetBytes(prefix + Assistant + "\r\n"), new AgentOutputOptions { PriceFor = OutputTestKit.Prices });
        Assert.Equal(7, interpreter.Usage.Snapshot().Tokens.Total);
        Assert.Equal([new DisplayLine("hi", DisplayStyle.Text)], lines);
        Assert.Equal(0, interpreter.UnparsedLines);
    }

    [Theory]
    [InlineData("\u001b[")]           // unterminated CSI
    [InlineData("\u001b]0;no end")]   // unterminated OSC
    [InlineData("\u001b")]
    public void Unterminated_sequences_are_plain_output(string text)
    {
        var (lines, interpreter) = OutputTestKit.Run(Encoding.UTF8.GetBytes(text + "\n"));
        Assert.Single(lines);
        Assert.Equal(DisplayStyle.Raw, lines[0].Style);
        Assert.Equal(0, interpreter.Usage.Snapshot().Tokens.Total);
    }
}
