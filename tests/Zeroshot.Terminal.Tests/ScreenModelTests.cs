using System.Text;
using Zeroshot.Terminal.Escapes;
using Zeroshot.Terminal.Screen;

namespace Zeroshot.Terminal.Tests;

/// <summary>The screen model's own state: modes, queries, titles, links, scrollback, resize.</summary>
public class ScreenModelTests
{
    private static string Replies(ScreenModel m)
    {
        var s = Encoding.ASCII.GetString(m.Replies);
        m.ClearReplies();
        return s;
    }

    [Fact]
    public void QueriesAreAnsweredIntoRepliesNotWrittenAnywhere()
    {
        var m = new ScreenModel(10, 20);
        m.Feed("\e[c");
        Assert.Equal("\e[?1;2c", Replies(m));
        m.Feed("\e[>c\e[5n");
        Assert.Equal("\e[>84;0;0c\e[0n", Replies(m));
        m.Feed("\e[4;7H\e[6n");
        Assert.Equal("\e[4;7R", Replies(m));
        // In origin mode the row counts from the top margin (DECOM, VT510 CPR).
        m.Feed("\e[3;8r\e[?6h\e[2;5H\e[6n\e[?6n");
        Assert.Equal("\e[2;5R\e[?2;5R", Replies(m));
        Assert.Equal((3, 4), (m.CursorRow, m.CursorColumn));
        m.Feed("\e[?2004h\e[?2004$p\e[?1049$p\e[?7777$p\e[4h\e[4$p");
        Assert.Equal("\e[?2004;1$y\e[?1049;2$y\e[?7777;0$y\e[4;1$y", Replies(m));
        Assert.True(m.Replies.IsEmpty);
    }

    [Fact]
    public void Osc9NotificationsAreHandedToTheOwnerNotPrintedAndConEmusCommandsAreNot()
    {
        var m = new ScreenModel(5, 40);
        m.Feed("ab\e]9;Approval requested: rm -r build\a\e]9;4;1;50\e\\\e]9;Done.\e\\cd");
        Assert.Equal(["Approval requested: rm -r build", "Done."], m.TakeNotifications());
        Assert.Null(m.TakeNotifications());
        Assert.Equal("abcd", m.RowText(0).TrimEnd());
    }

    [Fact]
    public void ModesProgramsSetAreTracked()
    {
        var m = new ScreenModel(5, 10);
        m.Feed("\e[?1h\e=\e[?25l\e[5 q\e[?2004h\e[?1002h\e[?1006h\e[?1004h\e[?2026h\e[?12h");
        Assert.True(m.ApplicationCursorKeys);
        Assert.True(m.ApplicationKeypad);
        Assert.False(m.CursorVisible);
        Assert.Equal(5, m.CursorStyle);
        Assert.True(m.BracketedPaste);
        Assert.Equal(MouseTracking.ButtonEvent, m.Mouse);
        Assert.Equal(MouseEncoding.Sgr, m.MouseEncoding);
        Assert.True(m.FocusEvents);
        Assert.True(m.SynchronizedOutput);
        Assert.True(m.CursorBlink);
        m.Feed("\e[?1l\e>\e[?25h\e[?2004l\e[?1002l\e[?1006l\e[?1004l\e[?2026l");
        Assert.False(m.ApplicationCursorKeys || m.ApplicationKeypad || m.BracketedPaste || m.FocusEvents || m.SynchronizedOutput);
        Assert.Equal(MouseTracking.None, m.Mouse);
        Assert.True(m.CursorVisible);
    }

    [Fact]
    public void TitleAndHyperlinksComeFromOsc()
    {
        var m = new ScreenModel(3, 20);
        m.Feed("\e]0;first\a\e]2;second title\e\\");
        Assert.Equal("second title", m.Title);
        m.Feed("a\e]8;id=1;https://example.com/x\e\\link\e]8;;\e\\b");
        Assert.Equal(0, m.CellAt(0, 0).Link);
        int id = m.CellAt(0, 1).Link;
        Assert.NotEqual(0, id);
        Assert.Equal("id=1;https://example.com/x", m.LinkTarget(id));
        Assert.Equal(id, m.CellAt(0, 4).Link);
        Assert.Equal(0, m.CellAt(0, 5).Link);
    }

    [Fact]
    public void AttributesOfEveryKindAreKeptPerCell()
    {
        var m = new ScreenModel(2, 20);
        m.Feed("\e[1;3;4:3;5;7;8;9;38;2;1;2;3;48;5;200;58;5;9mX\e[0;2;21;91mY\e[mZ");
        var x = m.CellAt(0, 0).Attr;
        Assert.Equal(SgrState.Attributes.Bold | SgrState.Attributes.Italic | SgrState.Attributes.Blink | SgrState.Attributes.Inverse
            | SgrState.Attributes.Hidden | SgrState.Attributes.Strike, x.Flags);
        Assert.Equal(3, x.Underline);
        Assert.Equal(Color.FromRgb(1, 2, 3), x.Foreground);
        Assert.Equal(Color.Indexed(200), x.Background);
        Assert.Equal(Color.Indexed(9), x.UnderlineColor);
        var y = m.CellAt(0, 1).Attr;
        Assert.Equal((SgrState.Attributes.Dim, (byte)2, Color.Basic(9)), (y.Flags, y.Underline, y.Foreground));
        Assert.True(m.CellAt(0, 2).Attr.IsDefault);
    }

    [Fact]
    public void CursorForwardTabulationFollowsTheTabStops()
    {
        // CHT is checked here rather than against tmux, which does not implement it.
        var m = new ScreenModel(2, 30);
        m.Feed("\e[2I");
        Assert.Equal(16, m.CursorColumn);
        m.Feed("\e[3g\e[5G\eH\e[1G\e[2I");
        Assert.Equal(29, m.CursorColumn);
        m.Feed("\e[Z");
        Assert.Equal(4, m.CursorColumn);
    }

    [Fact]
    public void ScrollbackKeepsTheNewestLinesUpToItsCapacity()
    {
        var m = new ScreenModel(3, 10, scrollback: 5);
        for (int i = 1; i <= 20; i++) m.Feed($"l{i}\r\n");
        Assert.Equal(5, m.History.Count);
        Assert.Equal(["l14", "l15", "l16", "l17", "l18"], Enumerable.Range(0, 5).Select(i => m.LineText(m.History[i])));
        Assert.Equal(["l19", "l20", ""], m.Text());
        // The alternate screen has no scrollback; ED 3 clears it.
        m.Feed("\e[?1049h");
        for (int i = 0; i < 10; i++) m.Feed("alt\r\n");
        Assert.Equal("l18", m.LineText(m.History[4]));
        m.Feed("\e[?1049l\e[3J");
        Assert.Equal(0, m.History.Count);
        Assert.Equal(["l19", "l20", ""], m.Text());
    }

    [Fact]
    public void ResizeCutsAndPadsWithoutReflowKeepingTheCursorLine()
    {
        var m = new ScreenModel(5, 10);
        m.Feed("1\r\n2\r\n3\r\n4\r\nabcdefghij");
        m.Resize(3, 6);
        // Rows above the cursor went to the scrollback so the cursor keeps its line.
        Assert.Equal(["3", "4", "abcdef"], m.Text());
        Assert.Equal(["1", "2"], Enumerable.Range(0, m.History.Count).Select(i => m.LineText(m.History[i])));
        Assert.Equal((2, 5), (m.CursorRow, m.CursorColumn));
        m.Resize(4, 8);
        Assert.Equal(["3", "4", "abcdef", ""], m.Text());
        m.Feed("\e[4;1H日本語日");
        Assert.Equal("日本語日", m.RowText(3));
        Assert.True(m.PendingWrap);
    }

    [Fact]
    public void ResizeOnTheAlternateScreenKeepsBothScreensAndTheMainCursor()
    {
        var m = new ScreenModel(6, 10);
        for (int i = 1; i <= 6; i++) m.Feed($"\r\nmain{i}");
        m.Feed("\e[?1049h\e[6;1Halt");
        m.Resize(4, 8);
        Assert.Equal(["", "", "", "alt"], m.Text()); // rows above the cursor left (no history on this screen)
        // The main screen's two top rows went to the scrollback, after the blank first row scrolled off.
        Assert.Equal(["", "main1", "main2"], Enumerable.Range(0, m.History.Count).Select(i => m.LineText(m.History[i])));
        AssertRoundTrip(m, scrollback: true);
        m.Feed("\e[?1049l");
        Assert.Equal(["main3", "main4", "main5", "main6"], m.Text());
        Assert.Equal((3, 5), (m.CursorRow, m.CursorColumn));
        AssertRoundTrip(m, scrollback: true);
    }

    [Fact]
    public void SerializedScreenRecreatesGridAttributesCursorAndModes()
    {
        var m = new ScreenModel(6, 12);
        m.Feed("\e]2;the title\a\e[1;31mred\e[0m \e]8;;http://x\e\\link\e]8;;\e\\\r\n日本\u0301x\e[44m\e[K\e[0m\r\n");
        m.Feed("abcdefghijklmnop\e(0lqk\e(B\e[?1h\e=\e[?2004h\e[?1000h\e[?1006h\e[3 q\e[?25l\e[4h\e[2;5r\e[3;4H\e[3g\e[4G\eH\e[7m");
        AssertRoundTrip(m);
        m.Feed("\e[?1049h\e[2;2Halt\e[1;12HZ");
        AssertRoundTrip(m);
    }

    /// <summary>Rows recycled from the scrollback are cleared only as far as they were written: every
    /// way of writing a row (ASCII run, wide and box-drawing characters, erase with a background,
    /// insert mode, DECALN) must leave a row that comes back blank.</summary>
    [Fact]
    public void RecycledRowsComeBackBlank()
    {
        var m = new ScreenModel(2, 8, scrollback: 1);
        string[] writes = ["abcdefgh", "ab", "日本語x", "──┼", "\e[44m\e[K\e[0m", "\e[4hxy\e[4l", "\e#8\r\n", "\e[1;31mabc\e[0m", "abcdefghij"];
        for (int round = 0; round < 3; round++)
        {
            foreach (var w in writes)
            {
                m.Feed(Encoding.UTF8.GetBytes(w + "\r\n"));
                for (int c = 0; c < m.Columns; c++) Assert.True(m.CellAt(1, c) == default, $"after {w}: cell {c} of the new row is {m.CellAt(1, c).Code}");
            }
        }
    }

    /// <summary>In origin mode BS can take the cursor above the region (onto a wrapped row, as tmux
    /// does), where no region-relative CUP reaches; the serialization still puts it there.</summary>
    [Fact]
    public void SerializedCursorOutsideTheRegionInOriginMode()
    {
        var m = new ScreenModel(6, 12);
        m.Feed("\e[3;1Habcdefghijklm\e[4;5r\e[?6h\b");
        Assert.Equal((2, 11, true), (m.CursorRow, m.CursorColumn, m.OriginMode));
        AssertRoundTrip(m);
    }

    /// <summary>The byte path writes runs of ASCII straight into the row; the text path goes through the
    /// parser for every character. Both, and the bytes split anywhere, must end in the same state.</summary>
    [Theory]
    [MemberData(nameof(ScreenTmuxTests.CorpusFiles), MemberType = typeof(ScreenTmuxTests))]
    public void FeedingBytesWholeSplitOrAsTextGivesTheSameScreen(string file)
    {
        var bytes = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Corpus", file));
        var whole = new ScreenModel(24, 80);
        whole.Feed(bytes);
        var text = new ScreenModel(24, 80);
        text.Feed(Encoding.UTF8.GetString(bytes));
        AssertSameState(text, whole);
        var split = new ScreenModel(24, 80);
        var random = new Random(7);
        for (int i = 0; i < bytes.Length;)
        {
            int n = Math.Min(random.Next(1, 8), bytes.Length - i);
            split.Feed(bytes.AsSpan(i, n));
            i += n;
        }
        AssertSameState(text, split);
        Assert.Equal(Encoding.ASCII.GetString(text.Replies), Encoding.ASCII.GetString(split.Replies));
    }

    /// <summary>Sequences the byte path reads itself (plain CSI) next to ones it leaves to the parser,
    /// including malformed and overlong ones: the same state as the parser alone gives.</summary>
    [Theory]
    [InlineData("\e[;5mA\e[5;mB\e[mC\e[1;;4mD")]
    [InlineData("\e[1;2;3;4;5;6;7;8;9;10;11;12;13;14;15;16;17;18;19;20;21;22;23;24;25;26;27;28;29;30;31;32;33mX\e[31mY")]
    [InlineData("\e[99999;99999Hz\e[3\n1mq\e[?25l\e[4:3mu\e[2 qv\e[!pw")]
    [InlineData("ab\e[3bc\e[2;3r\e[5Hd\e[1;31")]
    [InlineData("╭──╮日本語✓é\u0085x\u009b2;3Hy\u00a0€\e(0q\u2500\e(B")]
    public void PlainCsiFastPathMatchesTheParser(string stream)
    {
        var bytes = new ScreenModel(6, 20);
        bytes.Feed(Encoding.UTF8.GetBytes(stream));
        var text = new ScreenModel(6, 20);
        text.Feed(stream);
        AssertSameState(text, bytes);
        bytes.Feed("m!"u8);
        text.Feed("m!");
        AssertSameState(text, bytes);
    }

    /// <summary>Ill-formed UTF-8 (a lone continuation, overlong, surrogate, truncated) next to good
    /// text: the byte path's own decoder gives the parser's U+FFFD wherever the parser would.</summary>
    [Fact]
    public void Utf8FastPathMatchesTheParserOnIllFormedInput()
    {
        byte[] stream = [.. "a╭"u8, 0x80, .. "─"u8, 0xE0, 0x80, 0x80, .. "日"u8, 0xED, 0xA0, 0x80, 0xC2, 0x85, 0xC2, .. "b"u8, 0xE2, 0x94];
        var bytes = new ScreenModel(4, 20);
        bytes.Feed(stream);
        var text = new ScreenModel(4, 20);
        // The reference: one byte at a time, so no multi-byte character is decoded outside the parser.
        foreach (byte b in stream) text.Feed([b]);
        AssertSameState(text, bytes);
        Assert.Contains('\uFFFD', bytes.RowText(0));
        bytes.Feed([0x94, 0x80, (byte)'z']);
        foreach (byte b in (byte[])[0x94, 0x80, (byte)'z']) text.Feed([b]);
        AssertSameState(text, bytes);
    }

    internal static void AssertRoundTrip(ScreenModel m, bool scrollback = false)
    {
        var bytes = ScreenSerializer.Serialize(m, scrollback);
        var copy = new ScreenModel(m.Rows, m.Columns, m.History.Capacity);
        copy.Feed(bytes);
        AssertSameState(m, copy);
        if (scrollback)
        {
            Assert.Equal(m.History.Count, copy.History.Count);
            for (int i = 0; i < m.History.Count; i++) Assert.Equal(m.LineText(m.History[i]), copy.LineText(copy.History[i]));
        }
    }

    internal static void AssertSameState(ScreenModel expected, ScreenModel actual)
    {
        Assert.Equal(expected.Text(), actual.Text());
        for (int r = 0; r < expected.Rows; r++)
        {
            for (int c = 0; c < expected.Columns; c++)
            {
                var e = expected.CellAt(r, c);
                var a = actual.CellAt(r, c);
                Assert.True(Same(expected, e, actual, a), $"cell {r},{c}: {Describe(expected, e)} vs {Describe(actual, a)}");
            }
        }
        Assert.Equal((expected.CursorRow, expected.CursorColumn, expected.PendingWrap), (actual.CursorRow, actual.CursorColumn, actual.PendingWrap));
        Assert.Equal(expected.Pen, actual.Pen);
        Assert.Equal(
            (expected.IsAlternateScreen, expected.ScrollTop, expected.ScrollBottom, expected.AutoWrap, expected.OriginMode, expected.InsertMode, expected.ApplicationCursorKeys, expected.ApplicationKeypad, expected.CursorVisible, expected.CursorStyle, expected.BracketedPaste, expected.Mouse, expected.MouseEncoding, expected.FocusEvents, expected.Title),
            (actual.IsAlternateScreen, actual.ScrollTop, actual.ScrollBottom, actual.AutoWrap, actual.OriginMode, actual.InsertMode, actual.ApplicationCursorKeys, actual.ApplicationKeypad, actual.CursorVisible, actual.CursorStyle, actual.BracketedPaste, actual.Mouse, actual.MouseEncoding, actual.FocusEvents, actual.Title));
        Assert.Equal(expected.CharacterSets.LineDrawing, actual.CharacterSets.LineDrawing);
        for (int c = 0; c < expected.Columns; c++) Assert.Equal(expected.IsTabStop(c), actual.IsTabStop(c));
    }

    // A blank written as a space is the same cell to the eye; links compare by target.
    private static bool Same(ScreenModel em, Cell e, ScreenModel am, Cell a) =>
        em.CellText(e) == am.CellText(a) && e.Attr == a.Attr && e.Flags == a.Flags
        && (e.Link == 0 ? a.Link == 0 : a.Link != 0 && em.LinkTarget(e.Link) == am.LinkTarget(a.Link));

    private static string Describe(ScreenModel m, Cell c)
    {
        var sb = new StringBuilder();
        ScreenSerializer.AppendSgr(sb, c.Attr);
        return $"'{m.CellText(c)}' {sb.ToString()[1..]} {c.Flags} link {c.Link}";
    }
}
