namespace Zeroshot.Terminal.Tests;

/// <summary><see cref="Format.Escaped"/>: a user's input quoted in an error message never carries a control byte.</summary>
public class EscapedTextTests
{
    [Theory]
    [InlineData("worker", "worker")]
    [InlineData("a\u001b]0;PWNED\u0007", @"a\e]0;PWNED\x07")]
    [InlineData("x\u009b6n", @"x\x9b6n")]
    [InlineData("line\nnext\tcol\r", @"line\nnext\tcol\r")]
    [InlineData("del\u007f", @"del\x7f")]
    [InlineData("é 漢 🙂", "é 漢 🙂")]
    public void Controls_are_written_as_escapes_and_other_text_is_kept(string input, string expected)
    {
        string escaped = Format.Escaped(input);
        Assert.Equal(expected, escaped);
        Assert.DoesNotContain(escaped, c => c < ' ' || c is >= '\u007f' and <= '\u009f');
        Assert.Equal(escaped, Format.Escaped(escaped)); // idempotent: escaping twice changes nothing
    }

    [Fact]
    public void Text_without_controls_is_the_same_instance()
    {
        const string text = "nothing to escape here";
        Assert.Same(text, Format.Escaped(text));
    }
}
