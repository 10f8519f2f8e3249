using System.Buffers;
using System.Text;
using Zeroshot.Terminal.Attach;
using Zeroshot.Terminal.Screen;
using Zeroshot.Terminal.Tests.Support;

namespace Zeroshot.Terminal.Tests.Attach;

/// <summary>
/// The painter checked against a second <see cref="ScreenModel"/> standing for the user's real terminal:
/// after every paint, each cell of the painted region (character, rendition, hyperlink target, wide
/// halves), the cursor and the mirrored modes must equal the source model's. Random screens and random
/// change sequences (seeded, so a failure names its seed), plus a tmux pane fed the painted bytes.
/// </summary>
public class ScreenPainterTests
{
    private static readonly string[] Sgrs =
    [
        "\e[0m", "\e[1m", "\e[2m", "\e[3m", "\e[4m", "\e[4:3m", "\e[5m", "\e[7m", "\e[9m", "\e[53m", "\e[22m", "\e[24m",
        "\e[31m", "\e[42m", "\e[93m", "\e[104m", "\e[38;5;200m", "\e[48;5;17m", "\e[38;2;10;20;30m", "\e[48:2::40:50:60m",
        "\e[58;5;9m", "\e[39m", "\e[49m", "\e[0;44m",
    ];

    private static readonly string[] Texts =
    [
        "hello", "x", "日本語", "😀", "e\u0301", "a\u0308b", "漢", "─│┌", " ", "   ", "tab\there", "\u0915\u094D\u0937",
    ];

    private static readonly string[] Modes =
    [
        "\e[?1h", "\e[?1l", "\e=", "\e>", "\e[?2004h", "\e[?2004l", "\e[?1000h", "\e[?1002h", "\e[?1003h", "\e[?1000l",
        "\e[?1002l", "\e[?1003l", "\e[?9h", "\e[?9l", "\e[?1006h", "\e[?1006l", "\e[?1005h", "\e[?1015h", "\e[?1015l",
        "\e[?1004h", "\e[?1004l", "\e[?5h", "\e[?5l", "\e[?25l", "\e[?25h", "\e[3 q", "\e[0 q", "\e[6 q",
    ];

    // One random change a program might make.
    private static string RandomChange(Random rng, int rows, int columns)
    {
        switch (rng.Next(20))
        {
            case 0 or 1 or 2 or 3: return Texts[rng.Next(Texts.Length)];
            case 4: return new string((char)rng.Next('!', '~'), rng.Next(1, columns + 5));
            case 5 or 6: return Sgrs[rng.Next(Sgrs.Length)];
            case 7: return $"\e[{rng.Next(1, rows + 1)};{rng.Next(1, columns + 1)}H";
            case 8: return "\r\n";
            case 9: return rng.Next(3) switch { 0 => $"\e]8;;https://example.com/{rng.Next(4)}\e\\", 1 => $"\e]8;id={rng.Next(3)};file:///x\e\\", _ => "\e]8;;\e\\" };
            case 10: return $"\e[{rng.Next(3)}K";
            case 11: return rng.Next(4) == 0 ? $"\e[{rng.Next(3)}J" : $"\e[{rng.Next(1, 6)}X";
            case 12: return rng.Next(4) switch { 0 => $"\e[{rng.Next(1, 4)}@", 1 => $"\e[{rng.Next(1, 4)}P", 2 => $"\e[{rng.Next(1, 3)}L", _ => $"\e[{rng.Next(1, 3)}M" };
            case 13: return rng.Next(3) == 0 ? "\e[?1049h" : rng.Next(2) == 0 ? "\e[?1049l" : "\e[?47h";
            case 14: return Modes[rng.Next(Modes.Length)];
            case 15: return rng.Next(2) == 0 ? $"\e[{rows};1H\n\n" : "\e[2S\e[T";
            case 16: return $"\e[2;{Math.Max(3, rows - 1)}r\e[{rows - 1};1H\n\e[r";
            case 17: return "\e[?47l\e(0lqqk\e(B";
            case 18: return $"\e[{rng.Next(1, columns + 1)}G";
            default: return new string('y', columns - 1) + "日";
        }
    }

    public static TheoryData<int, int> Seeds()
    {
        var data = new TheoryData<int, int>();
        for (int seed = 1; seed <= 40; seed++) data.Add(seed, seed % 2);
        return data;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void RandomChangeSequencesPaintTheSameCells(int seed, int top)
    {
        var rng = new Random(seed);
        int rows = rng.Next(2, 12), columns = rng.Next(3, 40);
        var source = new ScreenModel(rows, columns);
        var terminal = new ScreenModel(rows + 1, columns);
        var painter = new ScreenPainter(top, synchronized: seed % 2 == 0);
        var buffer = new ArrayBufferWriter<byte>();
        var log = new StringBuilder();
        for (int frame = 0; frame < 300; frame++)
        {
            int changes = rng.Next(1, 6);
            for (int i = 0; i < changes; i++)
            {
                var change = RandomChange(rng, rows, columns);
                log.Append(change);
                source.Feed(change);
            }
            bool full = rng.Next(25) == 0;
            if (rng.Next(40) == 0)
            {
                // The status bar shown or hidden: the region moves.
                painter.Top = painter.Top == 0 ? 1 : 0;
                terminal.Feed("\e[H\e[2J");
            }
            buffer.ResetWrittenCount();
            painter.Paint(source, buffer, columns, rows, full);
            if (rng.Next(30) == 0)
            {
                // The help box over the screen now and then: the next paint must remove it.
                painter.AppendOverlay(buffer, AttachHelp.Lines("C-b"), columns, rows + painter.Top);
                painter.AppendCursor(source, buffer);
                terminal.Feed(buffer.WrittenSpan);
                buffer.ResetWrittenCount();
                painter.Paint(source, buffer, columns, rows);
            }
            painter.AppendCursor(source, buffer);
            terminal.Feed(buffer.WrittenSpan);
            AssertSame(source, terminal, painter.Top, () => $"seed {seed}, frame {frame}, after {Format.Escaped(log.ToString())}");
        }
    }

    [Theory]
    [InlineData(11, 4, 10)]   // the window taller and wider than the agent's screen: blank around it
    [InlineData(12, -3, -7)]  // smaller: the screen clipped
    [InlineData(13, 2, -5)]
    [InlineData(14, -2, 6)]
    public void AScreenOfAnotherSizeIsClippedOrPaddedToTheWindow(int seed, int extraRows, int extraColumns)
    {
        var rng = new Random(seed);
        int rows = 10, columns = 30, windowRows = rows + extraRows, windowColumns = columns + extraColumns;
        var source = new ScreenModel(rows, columns);
        var terminal = new ScreenModel(windowRows + 1, windowColumns);
        terminal.Feed("\e[41m\e[2J\e[0mgarbage from before");
        var painter = new ScreenPainter(1);
        var buffer = new ArrayBufferWriter<byte>();
        for (int frame = 0; frame < 200; frame++)
        {
            for (int i = rng.Next(1, 5); i > 0; i--) source.Feed(RandomChange(rng, rows, columns));
            buffer.ResetWrittenCount();
            painter.Paint(source, buffer, windowColumns, windowRows, full: frame == 0);
            painter.AppendCursor(source, buffer);
            terminal.Feed(buffer.WrittenSpan);
            for (int r = 0; r < windowRows; r++)
            {
                for (int c = 0; c < windowColumns; c++)
                {
                    var t = terminal.CellAt(r + 1, c);
                    if (r >= rows || c >= columns)
                    {
                        Assert.True(t == default, $"seed {seed} frame {frame}: ({r},{c}) outside the screen is '{terminal.CellText(t)}'");
                        continue;
                    }
                    var s = source.CellAt(r, c);
                    if (c == windowColumns - 1 && (s.Flags & CellFlags.Wide) != 0)
                    {
                        Assert.Equal(" ", terminal.CellText(t)); // half a wide character does not fit
                        continue;
                    }
                    Assert.True(source.CellText(s) == terminal.CellText(t) && s.Attr == t.Attr, $"seed {seed} frame {frame}: ({r},{c}) '{source.CellText(s)}' vs '{terminal.CellText(t)}'");
                }
            }
            Assert.Equal((Math.Min(source.CursorRow, windowRows - 1) + 1, Math.Min(source.CursorColumn, windowColumns - 1)), (terminal.CursorRow, terminal.CursorColumn));
        }
    }

    [Theory]
    [InlineData(21, 0)]
    [InlineData(22, 1)]
    [InlineData(23, 1)]
    public void RandomScrollingOutputPaintsTheSameCells(int seed, int top)
    {
        // Mostly whole lines of output, as an agent writes them: the painter scrolls the window.
        var rng = new Random(seed);
        int rows = rng.Next(3, 20), columns = rng.Next(10, 60);
        var source = new ScreenModel(rows, columns);
        var terminal = new ScreenModel(rows + top, columns);
        var painter = new ScreenPainter(top, synchronized: true);
        var buffer = new ArrayBufferWriter<byte>();
        for (int frame = 0; frame < 300; frame++)
        {
            for (int i = rng.Next(0, rows + 2); i > 0; i--)
            {
                source.Feed(rng.Next(8) switch
                {
                    0 => RandomChange(rng, rows, columns),
                    1 => $"\e[3{rng.Next(8)}m" + Texts[rng.Next(Texts.Length)] + "\e[0m\r\n",
                    _ => $"line {frame}.{i} " + new string((char)rng.Next('a', 'z'), rng.Next(0, columns)) + "\r\n",
                });
            }
            buffer.ResetWrittenCount();
            painter.Paint(source, buffer, columns, rows);
            painter.AppendCursor(source, buffer);
            terminal.Feed(buffer.WrittenSpan);
            AssertSame(source, terminal, top, $"seed {seed}, frame {frame}");
        }
    }

    [Fact]
    public void NothingChangedWritesNothing()
    {
        var source = new ScreenModel(10, 30);
        source.Feed("\e[31mhello\e[0m \e]8;;http://a\e\\link\e]8;;\e\\\e[?1h\e[?25l");
        var painter = new ScreenPainter();
        var buffer = new ArrayBufferWriter<byte>();
        painter.Paint(source, buffer, 30, 10);
        Assert.NotEqual(0, buffer.WrittenCount);
        painter.AppendCursor(source, buffer);
        buffer.ResetWrittenCount();
        painter.Paint(source, buffer, 30, 10);
        Assert.Equal(0, buffer.WrittenCount);
    }

    [Fact]
    public void OneChangedCellRewritesOnlyThatCell()
    {
        var source = new ScreenModel(50, 200);
        for (int r = 0; r < 50; r++) source.Feed($"\e[{r + 1};1H" + new string((char)('a' + r % 26), 200));
        var painter = new ScreenPainter();
        var buffer = new ArrayBufferWriter<byte>();
        painter.Paint(source, buffer, 200, 50);
        painter.AppendCursor(source, buffer);
        source.Feed("\e[20;100HZ");
        buffer.ResetWrittenCount();
        painter.Paint(source, buffer, 200, 50);
        painter.AppendCursor(source, buffer);
        var text = Encoding.UTF8.GetString(buffer.WrittenSpan);
        Assert.Equal("\e[20;100HZ\e[20;101H", text);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void ScrolledOutputIsScrolledNotRepainted(int top)
    {
        const int rows = 50, columns = 200;
        var source = new ScreenModel(rows, columns);
        for (int r = 0; r < rows; r++) source.Feed($"\r\n\e[3{r % 8}mline {r} " + new string('x', 150) + "\e[0m");
        var painter = new ScreenPainter(top);
        var buffer = new ArrayBufferWriter<byte>();
        painter.Paint(source, buffer, columns, rows);
        painter.AppendCursor(source, buffer);
        var terminal = new ScreenModel(rows + top, columns);
        terminal.Feed(buffer.WrittenSpan);
        int full = buffer.WrittenCount;
        source.Feed("\r\nnew 1\r\nnew 2");
        buffer.ResetWrittenCount();
        painter.Paint(source, buffer, columns, rows);
        painter.AppendCursor(source, buffer);
        terminal.Feed(buffer.WrittenSpan);
        Assert.True(buffer.WrittenCount < full / 20, $"{buffer.WrittenCount} bytes for two new lines (a full paint: {full})");
        AssertSame(source, terminal, top, "after scrolling");
    }

    [Fact]
    public void APaintWithAFewChangesAllocatesNothing()
    {
        var source = new ScreenModel(50, 200);
        for (int r = 0; r < 50; r++) source.Feed($"\e[{r + 1};1H\e[3{r % 8}m" + new string('x', 150) + "日本\e]8;;http://l\e\\k\e]8;;\e\\e\u0301");
        var painter = new ScreenPainter(1, synchronized: true);
        var buffer = new ArrayBufferWriter<byte>(1 << 20);
        var changes = Enumerable.Range(0, 64).Select(i => Encoding.UTF8.GetBytes($"\e[{i % 50 + 1};{i * 3 % 200 + 1}H\e[1;3{i % 8}m{(char)('a' + i % 26)}日\e[?25{(i % 2 == 0 ? 'l' : 'h')}")).ToArray();
        // Warm up (the grapheme table, the buffer, JIT).
        for (int i = 0; i < changes.Length; i++) { source.Feed(changes[i]); buffer.ResetWrittenCount(); painter.Paint(source, buffer, 200, 50); painter.AppendCursor(source, buffer); }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < changes.Length; i++)
        {
            source.Feed(changes[i]);
            buffer.ResetWrittenCount();
            painter.Paint(source, buffer, 200, 50);
            painter.AppendCursor(source, buffer);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void RestoreResetsEveryMirroredMode()
    {
        var source = new ScreenModel(5, 20);
        source.Feed("\e[?1h\e=\e[?2004h\e[?1003h\e[?1006h\e[?1004h\e[?5h\e[?25l\e[5 q\e[1;31m\e]8;;http://x\e\\x");
        var terminal = new ScreenModel(6, 20);
        var painter = new ScreenPainter(1, synchronized: true);
        var buffer = new ArrayBufferWriter<byte>();
        painter.Paint(source, buffer, 20, 5);
        painter.AppendCursor(source, buffer);
        terminal.Feed(buffer.WrittenSpan);
        Assert.True(terminal.ApplicationCursorKeys && terminal.ApplicationKeypad && terminal.BracketedPaste && terminal.FocusEvents);
        Assert.Equal(MouseTracking.AnyEvent, terminal.Mouse);
        Assert.Equal(MouseEncoding.Sgr, terminal.MouseEncoding);
        terminal.Feed("\e[2;5r");
        terminal.Feed(ScreenPainter.Restore);
        Assert.False(terminal.ApplicationCursorKeys || terminal.ApplicationKeypad || terminal.BracketedPaste || terminal.FocusEvents || terminal.SynchronizedOutput || terminal.ReverseVideo);
        Assert.Equal(MouseTracking.None, terminal.Mouse);
        Assert.Equal(MouseEncoding.Default, terminal.MouseEncoding);
        Assert.True(terminal.CursorVisible);
        Assert.Equal(0, terminal.CursorStyle);
        Assert.True(terminal.Pen.IsDefault);
        Assert.Equal(0, terminal.CurrentLink);
        Assert.Equal((0, 5), (terminal.ScrollTop, terminal.ScrollBottom));
    }

    [Fact]
    public void HistoryIsWrittenAsLinesWithTheirRenditions()
    {
        var source = new ScreenModel(3, 20);
        source.Feed("\e[1;31mred\e[0m plain\r\n\e[44mblue bg\e[0m\r\n日本 e\u0301 \e]8;;http://h\e\\link\e]8;;\e\\\r\nx\r\ny\r\nz");
        Assert.Equal(3, source.History.Count);
        var buffer = new ArrayBufferWriter<byte>();
        var terminal = new ScreenModel(10, 20);
        terminal.Feed("$ zeroshot attach x\r\n\e[44m");
        new ScreenPainter(1).AppendHistory(source, buffer, 10);
        terminal.Feed(buffer.WrittenSpan);
        // What the terminal showed, then the agent's history, all in the terminal's scrollback; the screen blank.
        Assert.Equal(10 + 3, terminal.History.Count);
        Assert.Equal("$ zeroshot attach x", terminal.LineText(terminal.History[0]));
        for (int r = 0; r < 3; r++) Assert.Equal(Describe(source, source.History[r].Cells), Describe(terminal, terminal.History[10 + r].Cells));
        Assert.All(terminal.Text(), row => Assert.Equal("", row));
        Assert.True(terminal.Pen.IsDefault);
    }

    private static string Describe(ScreenModel model, Cell[] cells) =>
        string.Join("|", cells.Where(c => !c.IsBlank || !c.Attr.IsDefault).Select(c => $"{model.CellText(c)}{c.Attr.GetHashCode()}{(c.Link == 0 ? "" : model.LinkTarget(c.Link))}{c.Flags}"));

    [Fact]
    public void APaintedFrameLooksInTmuxAsTheModel()
    {
        const int rows = 8, columns = 30;
        var source = new ScreenModel(rows, columns);
        source.Feed("\e[1;31mbold red\e[0m \e[38;5;200;48;5;17midx\e[0m \e[38;2;10;200;30mrgb\e[0m\r\n日本語 e\u0301 ─│┌ \e[4munder\e[0m\r\n\e]8;;http://example.com\e\\link\e]8;;\e\\ \e[7minverse\e[0m\r\n\e[44m\e[Kblue line\e[0m\r\n" + new string('w', columns - 1) + "漢");
        var painter = new ScreenPainter(1, synchronized: true);
        var buffer = new ArrayBufferWriter<byte>();
        painter.Paint(source, buffer, columns, rows);
        painter.AppendCursor(source, buffer);
        // A second, differential frame over the first.
        source.Feed("\e[2;3H\e[32mX\e[0m\e[6;5H\e[1mnew\e[0m\e[1;1H\e[2K\e[45mcleared\e[0m\e[8;2H");
        painter.Paint(source, buffer, columns, rows);
        // The status bar above, as the attach client draws it inside the frame.
        string bar = StatusBarView.Render(new StatusBarInfo { Agent = "worker", Model = "sonnet", CpuPercent = 12, Tokens = 1234 }, columns, color: true, DateTimeOffset.UnixEpoch);
        buffer.Write("\e[1;1H"u8);
        buffer.Write(Encoding.UTF8.GetBytes(bar));
        painter.AppendCursor(source, buffer);
        var tmux = ScreenOracle.RunInTmux(buffer.WrittenSpan.ToArray(), columns, rows + 1);
        Assert.Equal(Zeroshot.Terminal.Escapes.EscapeStripper.Strip(bar), tmux.Screen.RowText(0));
        for (int r = 0; r < rows; r++) Assert.Equal(ScreenOracle.Signature(source, r), ScreenOracle.Signature(tmux.Screen, r + 1));
        Assert.Equal((source.CursorRow + 1, source.CursorColumn), (tmux.CursorRow, tmux.CursorColumn));
    }

    // The region of the terminal equals the source: cells, wide halves, links, cursor, modes.
    private static void AssertSame(ScreenModel source, ScreenModel terminal, int top, string what) => AssertSame(source, terminal, top, () => what);

    private static void AssertSame(ScreenModel source, ScreenModel terminal, int top, Func<string> describe)
    {
        for (int r = 0; r < source.Rows; r++)
        {
            for (int c = 0; c < source.Columns; c++)
            {
                var s = source.CellAt(r, c);
                var t = terminal.CellAt(r + top, c);
                string sl = s.Link == 0 ? "" : source.LinkTarget(s.Link), tl = t.Link == 0 ? "" : terminal.LinkTarget(t.Link);
                bool same = source.CellText(s) == terminal.CellText(t) && (s.Code == 0) == (t.Code == 0) && s.Attr == t.Attr && s.Flags == t.Flags && sl == tl;
                if (!same) Assert.Fail($"{describe()}\ncell ({r},{c}) source '{source.CellText(s)}' {s.Code} {s.Flags} {sl} / terminal '{terminal.CellText(t)}' {t.Code} {t.Flags} {tl}\nsource:\n{string.Join('\n', source.Text())}\nterminal:\n{string.Join('\n', terminal.Text())}");
            }
        }
        if ((source.CursorRow + top, source.CursorColumn) != (terminal.CursorRow, terminal.CursorColumn)) Assert.Fail($"{describe()}\ncursor ({source.CursorRow},{source.CursorColumn}) + {top} vs ({terminal.CursorRow},{terminal.CursorColumn})");
        Assert.Equal(source.CursorVisible, terminal.CursorVisible);
        Assert.Equal(source.CursorStyle, terminal.CursorStyle);
        Assert.Equal(source.ApplicationCursorKeys, terminal.ApplicationCursorKeys);
        Assert.Equal(source.ApplicationKeypad, terminal.ApplicationKeypad);
        Assert.Equal(source.BracketedPaste, terminal.BracketedPaste);
        Assert.Equal(source.FocusEvents, terminal.FocusEvents);
        Assert.Equal(source.ReverseVideo, terminal.ReverseVideo);
        Assert.Equal(source.Mouse, terminal.Mouse);
        Assert.Equal(source.MouseEncoding, terminal.MouseEncoding);
        Assert.False(terminal.IsAlternateScreen);
        Assert.Equal(0, terminal.CurrentLink);
        Assert.True(terminal.Pen.IsDefault);
    }
}
