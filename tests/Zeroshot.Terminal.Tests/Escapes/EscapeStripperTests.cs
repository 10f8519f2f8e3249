using System.Text;
using FsCheck;
using FsCheck.Xunit;
using Zeroshot.Terminal.Escapes;

namespace Zeroshot.Terminal.Tests.Escapes;

public class EscapeStripperTests
{
    [Theory]
    [InlineData("\e7\e[r\e8\e(B\x0f", "")]                              // Claude Code's exit bytes: no "B\x0f" junk
    [InlineData("done\e(B\x0f", "done")]
    [InlineData("\e[1;32m✓\e[0m build ok", "✓ build ok")]
    [InlineData("\e]0;title\aafter", "after")]                         // OSC ended by BEL
    [InlineData("\e]8;;http://x\e\\link\e]8;;\e\\", "link")]            // OSC ended by ST
    [InlineData("\eP1$r0m\e\\dcs", "dcs")]
    [InlineData("\e[2 q\e[!p\e[?1049h\e[>4;1mtext", "text")]            // intermediates and private markers
    [InlineData("a\tb\nc\rd\a\b\x0e\x7f\u0085\u009b31mX", "a\tb\ncdX")]   // C0 (but TAB, LF), DEL, C1 go
    [InlineData("\e_apc\e\\\e^pm\e\\x", "x")]
    [InlineData("cut \e[3", "cut ")]                                      // incomplete at the end: dropped
    public void Strips(string input, string expected) => Assert.Equal(expected, EscapeStripper.Strip(input));

    [Fact]
    public void LoneSurrogatesBecomeReplacementCharacters() // not in InlineData: attributes cannot hold them
    {
        Assert.Equal("lone \ufffd surrogate \ufffd", EscapeStripper.Strip("lone \ud800 surrogate \udc00"));
        Assert.Equal("pair 😀", EscapeStripper.Strip("pair \ud83d\ude00"));
    }

    [Fact]
    public void PlainTextIsReturnedAsIs()
    {
        const string text = "plain\ttext 日本 😀\n";
        Assert.Same(text, EscapeStripper.Strip(text));
    }

    private static readonly string[] Pool =
    [
        "\e", "[", "]", "(", "B", "\x0f", "\a", "\e\\", "1", ";", ":", "?", "!", " ", "m", "r", "P", "_", "\u009b", "\u009c",
        "\u009d", "\u0085", "x", "é", "日", "😀", "\ud83d", "\t", "\n", "\r", "\x18", "\x1a", "\x7f", "\0", "\b", "text",
    ];

    private static string Soup(int[]? picks) => string.Concat((picks ?? []).Select(p => Pool[(int)((uint)p % (uint)Pool.Length)]));

    [Property(MaxTest = 500)]
    public bool OutputHasNoEscapeNorControlsButTabAndNewline(int[] picks)
    {
        var output = EscapeStripper.Strip(Soup(picks));
        // No escape, no control but TAB and LF, no C1, and no lone surrogate (a UTF-8 round trip would replace it).
        return output.All(EscapeStripper.IsAllowed) && Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(output)) == output;
    }

    [Property(MaxTest = 500)]
    public bool PlainTextPassesUnchanged(string? text)
    {
        if (text is null) return true;
        var plain = new string(text.Where(c => EscapeStripper.IsAllowed(c) && !char.IsSurrogate(c)).ToArray());
        return ReferenceEquals(plain, EscapeStripper.Strip(plain));
    }

    [Property(MaxTest = 500)]
    public bool StripsToNothingSaysWhatStrippingWouldLeave(int[] picks, bool whiteSpaceIsNothing, byte spaces)
    {
        // Leading blanks (none, or up to a few), then the soup: both the quick answer and the stripped one are taken.
        var text = new string(' ', spaces % 4) + Soup(picks);
        var stripped = EscapeStripper.Strip(text);
        bool expected = whiteSpaceIsNothing ? string.IsNullOrWhiteSpace(stripped) : stripped.Length == 0;
        return EscapeStripper.StripsToNothing(text, whiteSpaceIsNothing) == expected;
    }

    [Theory]
    [InlineData("", false, true)]
    [InlineData("   ", false, false)]
    [InlineData("   ", true, true)]
    [InlineData("\e7\e[r\e8\e(B\x0f", false, true)]      // Claude Code's exit bytes
    [InlineData(" \e[0m \t", true, true)]
    [InlineData(" \e[0m \t", false, false)]
    [InlineData("tests │ \e[32m✓\e[0m ok", true, false)]
    [InlineData("\e[32m\e[0mx", true, false)]
    public void StripsToNothingExamples(string text, bool whiteSpaceIsNothing, bool expected) =>
        Assert.Equal(expected, EscapeStripper.StripsToNothing(text, whiteSpaceIsNothing));

    [Property(MaxTest = 300)]
    public bool StrippingIsIdempotent(int[] picks)
    {
        var once = EscapeStripper.Strip(Soup(picks));
        return EscapeStripper.Strip(once) == once;
    }

    [Fact]
    public void SkipLeadingSkipsCompleteSequencesOnly()
    {
        Assert.Equal("{\"a\":1}", Skip("\e[?1h\e={\"a\":1}"));
        Assert.Equal("{}", Skip("\e(B\e]0;t\a\e]1;x\e\\{}"));
        Assert.Equal("\e[12", Skip("\e[12"));          // incomplete: kept
        Assert.Equal("text", Skip("text"));
        Assert.Equal("\eé", Skip("\eé"));           // ESC before a non-ASCII character is no sequence
        Assert.Equal("\x0f{}", Skip("\e(B\x0f{}"));   // a control ends the skipping

        static string Skip(string s) => Encoding.UTF8.GetString(EscapeStripper.SkipLeading(Encoding.UTF8.GetBytes(s)));
    }
}

public class DisplayPolicyTests
{
    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("\e[31mred\e[0m", "\e[31mred\e[0m\e[0m")]
    [InlineData("\e[38:2::1:2:3mrgb", "\e[38:2:0:1:2:3mrgb\e[0m")]
    [InlineData("exit\e7\e[r\e8\e(B\x0f", "exit")]                                    // Claude Code's exit bytes
    [InlineData("\e[s\e[5;1Hx\e[u\e[2J\e[K\e[3A\e[?1049h\e[?1000h\e[?2004h\e=\ec\e[!p\e[6n\e[>c", "x")]
    [InlineData("\e]0;title\a\e]52;c;AAAA\a\e]8;;http://x\e\\link\e]8;;\e\\", "link")]
    [InlineData("a\u0085b\u009b2Jc\ad\be", "abcde")]
    [InlineData("10%\r55%\r100%", "100%")]                                            // CR redraws the line
    [InlineData("\e[1mbold\rover", "\e[0;1mover\e[0m")]                                  // … keeping its attributes
    [InlineData("line\r", "line")]
    [InlineData("a\tb", "a\tb")]
    [InlineData("\e[1;31", "")]                                                       // cut sequence at the end
    public void KeepsTextAndSgrOnly(string input, string expected) => Assert.Equal(expected, DisplayPolicy.SanitizeLine(input));

    [Property(MaxTest = 500)]
    public bool KeepsEveryCharacterOfTextWhereverTheSequencesFall(int[] picks)
    {
        // Runs of printable ASCII (copied whole) between sequences, controls and non-ASCII text (parsed): without a CR,
        // the text shown is exactly the text stripping keeps, whatever the order.
        string[] pool = ["plain words ", "x", "~{}", "@", "\e[31m", "\e[0m", "\e[?1049h", "\e]0;a title\a", "\ePq#0;2\e\\", "\e(B", "\e7",
            "\u009b2J", "\t", "日本", "é", "😀", "\b", "\e[", "m", "\e[1;38;5;208mwarm"];
        var line = string.Concat((picks ?? []).Select(p => pool[(int)((uint)p % (uint)pool.Length)]));
        return EscapeStripper.Strip(DisplayPolicy.SanitizeLine(line)) == EscapeStripper.Strip(line);
    }

    [Property(MaxTest = 300)]
    public bool OnlyTextTabAndResetTerminatedSgrRemain(int[] picks)
    {
        string[] pool = ["\e[31m", "\e[1;4:3;38;5;9m", "\e[", "7", "\e7", "\e8", "\e[s", "\e[u", "\e[r", "\ec", "\e[!p", "\e[?1049h", "\r", "\t", "\n", "x", "日", "\e]0;t\a", "\u009b", "m"];
        var line = string.Concat((picks ?? []).Select(p => pool[(int)((uint)p % (uint)pool.Length)]));
        var output = DisplayPolicy.SanitizeLine(line);
        // Parse the output: only prints, TAB and plain SGR; if any SGR, it ends with SGR 0.
        var parser = new EscapeParser();
        var check = new Check();
        parser.Feed(output.AsSpan(), ref check);
        return !check.Bad && parser.IsGround && (!check.AnySgr || output.EndsWith("\e[0m", StringComparison.Ordinal));
    }

    private struct Check : IEscapeHandler
    {
        public bool Bad, AnySgr;
        public void Print(Rune rune) { }
        public void Execute(int control) => Bad |= control != '\t';
        public void EscDispatch(ReadOnlySpan<byte> intermediates, char final) => Bad = true;
        public void CsiDispatch(CsiSequence csi) { Bad |= !(csi.Final == 'm' && csi.IsPlain); AnySgr = true; }
        public void DcsHook(CsiSequence header) => Bad = true;
        public void DcsPut(int codePoint) => Bad = true;
        public void DcsUnhook() => Bad = true;
        public void OscDispatch(ReadOnlySpan<char> data, bool truncated) => Bad = true;
    }
}
