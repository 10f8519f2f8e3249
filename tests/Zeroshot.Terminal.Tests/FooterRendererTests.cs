using System.Text;
using Zeroshot.Terminal;
using Zeroshot.Terminal.Tests.Support;

namespace Zeroshot.Terminal.Tests;

public class FooterRendererTests
{
    /// <summary>A terminal stand-in: every write goes into a <see cref="ModelTerminal"/>.</summary>
    private sealed class Harness
    {
        public readonly ModelTerminal Vt;
        public readonly FeedStream Stream;
        public readonly FooterRenderer Renderer;
        public int Width, Height;
        public FooterModel Model = FooterViewTests.Model(agents: 2);
        public FooterFrame? Frame;
        private int _line;

        public Harness(int width = 100, int height = 24)
        {
            Width = width;
            Height = height;
            Vt = new ModelTerminal(height, width);
            Stream = new FeedStream(Vt.Feed);
            Renderer = new FooterRenderer(Stream, TerminalCapabilities.Full, width, height);
        }

        public void Draw()
        {
            Frame = FooterView.Render(Model, Width, Height);
            Renderer.Draw(Frame);
        }

        public void Output(string text) => Renderer.WriteOutput(Encoding.UTF8.GetBytes(text));

        public void Lines(int n)
        {
            for (int i = 0; i < n; i++) Output($"output line {++_line}\r\n");
        }

        public int LinesWritten => _line;

        /// <summary>The next numbered line with <paramref name="inside"/> after its number.</summary>
        public void LineWith(string inside) => Output($"output line {++_line} {inside}\r\n");

        public void Resize(int width, int height)
        {
            Width = width;
            Height = height;
            Vt.Resize(height, width);
            Renderer.Resize(width, height);
            Draw();
        }

        /// <summary>The footer occupies exactly the bottom rows, the region is everything above it,
        /// and no footer text is anywhere else (screen or scrollback).</summary>
        public void AssertFooterPinned()
        {
            var f = Frame!;
            int h = f.Height;
            Assert.Equal(h, Renderer.FooterHeight);
            for (int i = 0; i < h; i++) Assert.Equal(f.Lines[i].Text.TrimEnd(' '), Vt.RowText(Height - h + i));
            Assert.Equal(0, Vt.ScrollTop);
            Assert.Equal(Height - h - 1, Vt.ScrollBottom);
            Assert.InRange(Vt.CursorRow, 0, Height - h - 1);
            for (int r = 0; r < Height - h; r++) Assert.DoesNotContain("cosmic-meteor", Vt.RowText(r));
            Assert.DoesNotContain(Vt.Scrollback, l => l.Contains("cosmic-meteor", StringComparison.Ordinal));
            Assert.Equal(0, Vt.OutOfRangeRequests);
        }

        /// <summary>Output lines appear in order, none lost or duplicated, in scrollback + output area.</summary>
        public void AssertOutputInOrder()
        {
            var seen = Vt.Scrollback.Concat(Vt.ScreenLines()).Where(l => l.StartsWith("output line ", StringComparison.Ordinal)).ToList();
            Assert.Equal(Enumerable.Range(1, _line).Select(i => $"output line {i}"), seen);
        }
    }

    [Fact]
    public void OutputScrollsAboveTheFooterInOrderAndReachesTheScrollback()
    {
        var h = new Harness();
        h.Lines(5);
        h.Draw();
        h.Lines(100);
        h.Draw();
        h.AssertFooterPinned();
        h.AssertOutputInOrder();
        Assert.True(h.Vt.Scrollback.Count >= 80);
        Assert.Equal("output line 105", h.Vt.RowText(h.Height - h.Frame!.Height - 2));
    }

    [Fact]
    public void FooterGrowingScrollsOutputUpInsteadOfOverwritingIt()
    {
        var h = new Harness { Model = FooterViewTests.Model(agents: 1) };
        h.Draw();
        h.Lines(40);
        Assert.Equal(3, h.Frame!.Height);
        h.Model = FooterViewTests.Model(agents: 4);
        h.Draw();
        Assert.Equal(6, h.Frame.Height);
        h.AssertFooterPinned();
        h.AssertOutputInOrder();
        h.Lines(3);
        h.AssertOutputInOrder();
        // The cursor is still right below the last output line.
        Assert.Equal("output line 43", h.Vt.RowText(h.Vt.CursorRow - 1));
    }

    [Fact]
    public void OnAFreshScreenTheFirstFooterKeepsEarlierLinesAndOutputContinuesAboveIt()
    {
        var h = new Harness();
        h.Output("$ zeroshot run\r\n");
        h.Lines(2);
        h.Draw();
        h.AssertFooterPinned();
        Assert.Empty(h.Vt.Scrollback);
        Assert.Equal(["$ zeroshot run", "output line 1", "output line 2"], h.Vt.ScreenLines().Take(3));
        int bottom = h.Height - h.Frame!.Height - 1;
        Assert.Equal((bottom, 0), (h.Vt.CursorRow, h.Vt.CursorColumn)); // the anchor: last row of the output area
        h.Lines(1);
        Assert.Equal("output line 3", h.Vt.RowText(bottom - 1));
        h.AssertOutputInOrder();
    }

    [Fact]
    public void TheFooterNeverUsesTheSavedCursorSlot()
    {
        var bytes = new MemoryStream();
        var r = new FooterRenderer(bytes, TerminalCapabilities.Full, 80, 24);
        var model = FooterViewTests.Model(agents: 3);
        r.WriteOutput("a\r\n"u8);
        r.Draw(FooterView.Render(model, 80, 24));
        r.WriteOutput("b\r\n"u8);
        r.Draw(FooterView.Render(model with { State = "stopping" }, 80, 24));
        r.Resize(70, 20);
        r.Draw(FooterView.Render(model, 70, 20));
        r.Teardown();
        var text = Encoding.UTF8.GetString(bytes.ToArray());
        Assert.DoesNotContain("\e7", text);
        Assert.DoesNotContain("\e8", text);
        Assert.DoesNotContain("\e[s", text);
        Assert.DoesNotContain("\e[u", text);
    }

    [Fact]
    public void FirstFooterOnAFullScreenPushesTheTopLinesToTheScrollback()
    {
        var h = new Harness();
        h.Lines(40);
        h.Draw();
        h.AssertFooterPinned();
        h.AssertOutputInOrder();
        Assert.Equal("output line 40", h.Vt.RowText(h.Vt.CursorRow - 1));
        Assert.Equal(h.Height - h.Frame!.Height - 1, h.Vt.CursorRow);
    }

    [Fact]
    public void PendingWrapAtTheMarginSurvivesAFooterRefresh()
    {
        var h = new Harness(60, 20);
        h.Draw();
        h.Lines(30);
        h.Output(new string('x', 60)); // cursor parked on the last column, wrap pending
        h.Model = h.Model with { State = "stopping" };
        h.Draw();
        h.Output("y\r\n");
        h.AssertFooterPinned();
        Assert.Equal(new string('x', 60), h.Vt.RowText(h.Vt.CursorRow - 2));
        Assert.Equal("y", h.Vt.RowText(h.Vt.CursorRow - 1));
    }

    [Fact]
    public void FooterShrinkingBlanksTheRowsItGivesBack()
    {
        var h = new Harness { Model = FooterViewTests.Model(agents: 4) };
        h.Draw();
        h.Lines(30);
        h.Model = FooterViewTests.Model(agents: 1);
        h.Draw();
        h.AssertFooterPinned();
        h.Lines(30);
        h.AssertFooterPinned();
        h.AssertOutputInOrder();
    }

    /// <summary>What agents write that used to move the cursor or reset the terminal under the footer.</summary>
    public static TheoryData<string> CursorGames => new()
    {
        "\e7\e[r\e8",                    // Claude Code at exit (the bug: ESC 8 restored the footer's DECSC)
        "\e7\e[r\e8\e(B\x0f",
        "\e[r",                           // Claude Code at start-up
        "\e[1;24r",
        "\e[s\e[1;1Hmoved\e[u",
        "\ec",
        "\e[!p",
        "\e[2J\e[H",
        "\e[?1049h\e[Hfull screen app\e[?1049l",
        "\e[?1049h",                      // entered and never left
        "\e7",                            // saved and never restored
        "\e8",                            // restored without a save
        "\e[?7l",                         // autowrap off
        "\e[24;1Hbottom row",
        "\eM\eM\eM\e[10A",
    };

    [Theory]
    [MemberData(nameof(CursorGames))]
    public void CursorGamesBeforeAfterAndAroundRefreshesNeverMoveTheFooterNorReorderLines(string games)
    {
        var h = new Harness();
        h.Draw();
        h.Lines(30);
        h.LineWith(games);                                         // inside a line
        h.Model = h.Model with { State = "a" };
        h.Draw();                                                  // after
        h.Output(games);                                           // before the next refresh…
        h.Model = h.Model with { State = "b" };
        h.Draw();
        h.Output("\r\n" + games[..(games.Length / 2)]);           // …and straddling one
        h.Model = h.Model with { State = "b2" };
        h.Draw();
        h.Output(games[(games.Length / 2)..] + "\r\n");
        h.Lines(5);
        h.Model = h.Model with { State = "c" };
        h.Draw();
        h.Lines(40);
        h.AssertFooterPinned();
        var seen = h.Vt.History().Where(l => l.StartsWith("output line ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).ToList();
        Assert.Equal(Enumerable.Range(1, h.LinesWritten).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), seen);
        Assert.False(h.Vt.IsAlternateScreen);
        Assert.True(h.Vt.AutoWrap);
    }

    [Fact]
    public void ClaudeExitBytesBetweenLinesLeaveEveryLineInOrder()
    {
        var h = new Harness(80, 20);
        h.Draw();
        for (int i = 1; i <= 60; i++)
        {
            h.Output($"n{i}\r\n");
            if (i % 7 == 0) h.Output("\e7\e[r\e8");
            if (i % 5 == 0) h.Draw();
        }
        h.AssertFooterPinned();
        var numbered = h.Vt.History().Where(l => l.StartsWith('n')).ToList();
        Assert.Equal(Enumerable.Range(1, 60).Select(i => $"n{i}"), numbered);
    }

    [Fact]
    public void AgentColoursSurviveAFooterRefreshAndTabsBecomeSpaces()
    {
        var h = new Harness();
        h.Draw();
        var bytes = new MemoryStream();
        var r = new FooterRenderer(bytes, TerminalCapabilities.Full, 80, 24);
        r.Draw(FooterView.Render(h.Model, 80, 24));
        r.WriteOutput("\e[1;38;5;208mhot"u8);
        bytes.SetLength(0);
        r.Draw(FooterView.Render(h.Model with { State = "x" }, 80, 24));
        var frame = Encoding.UTF8.GetString(bytes.ToArray());
        Assert.EndsWith("\e[0;1;38;5;208m", frame.Replace("\e[?2026l", "", StringComparison.Ordinal)); // attributes back after the frame
        h.Output("a\tb\r\n");
        Assert.Equal("a       b", h.Vt.RowText(h.Vt.CursorRow - 1));
    }

    /// <summary>
    /// Output of every kind the display keeps or drops (ASCII runs longer than a row, wide and multi-byte characters,
    /// SGR, CR, LF, cursor moves, titles, backspaces), cut into random chunks (inside sequences and characters) with
    /// the footer repainted between some of them, ends up exactly as the kept part of it does on a plain terminal of
    /// the output area's size: the renderer's idea of the cursor (its ASCII runs copied a row at a time, the rest
    /// parsed) never drifts from the terminal's. Combining marks are left out: a repaint that falls between a letter
    /// and its mark moves the cursor away and back, and the terminal then no longer joins them (a known limit of a
    /// footer drawn between chunks, not of the cursor model).
    /// </summary>
    [Fact]
    public void AnyOutputInAnyChunksLandsAsOnAPlainTerminalOfTheOutputAreasSize()
    {
        (string Sent, string Shown)[] pieces =
        [
            ("\n", "\r\n"), ("\r\n", "\r\n"), ("\r", "\r"), ("é", "é"), ("作業", "作業"), ("😀", "😀"),
            ("\e[31m", "\e[31m"), ("\e[1;4m", "\e[1;4m"), ("\e[0m", "\e[0m"), ("\e[38;5;208m", "\e[38;5;208m"),
            ("\e[H", ""), ("\e[2J", ""), ("\e[5;10r", ""), ("\e]0;a title\a", ""), ("\b", ""), ("\e7", ""), ("\e[?25l", ""),
        ];
        for (int seed = 1; seed <= 300; seed++)
        {
            var random = new Random(seed);
            var h = new Harness(random.Next(8, 41), random.Next(12, 20));
            h.Draw();
            var sent = new StringBuilder();
            var shown = new StringBuilder();
            for (int i = random.Next(1, 60); i > 0; i--)
            {
                if (random.Next(3) == 0)
                {
                    var (piece, kept) = pieces[random.Next(pieces.Length)];
                    sent.Append(piece);
                    shown.Append(kept);
                }
                else
                {
                    // Printable ASCII, up to more than two rows of it.
                    string text = new([.. Enumerable.Range(0, random.Next(1, 2 * h.Width + 5)).Select(_ => (char)random.Next(0x20, 0x7F))]);
                    sent.Append(text);
                    shown.Append(text);
                }
            }
            byte[] bytes = Encoding.UTF8.GetBytes(sent.ToString());
            for (int at = 0; at < bytes.Length;)
            {
                int n = Math.Min(bytes.Length - at, random.Next(1, 40));
                h.Renderer.WriteOutput(bytes.AsSpan(at, n));
                at += n;
                if (random.Next(4) == 0)
                {
                    h.Renderer.Invalidate(); // a full repaint: the cursor leaves the output and must come back to it
                    h.Draw();
                }
            }
            h.Renderer.WriteOutput("\e[0m\r\n"u8);
            shown.Append("\e[0m\r\n");
            h.Renderer.Invalidate();
            h.Draw();

            var plain = new ModelTerminal(h.Height - h.Frame!.Height, h.Width);
            plain.Feed(shown.ToString());
            var area = h.Vt.Scrollback.Concat(Enumerable.Range(0, h.Height - h.Frame.Height).Select(h.Vt.RowText)).ToList();
            while (area.Count > 0 && area[^1].Length == 0) area.RemoveAt(area.Count - 1);
            // The first footer on a fresh screen pushed its blank rows into the scrollback: blank lines at the start
            // are not compared.
            area = [.. area.SkipWhile(line => line.Length == 0)];
            var expected = plain.History().SkipWhile(line => line.Length == 0).ToList();
            Assert.True(expected.SequenceEqual(area), $"seed {seed}: {h.Width}x{h.Height}, sent {System.Text.Json.JsonSerializer.Serialize(sent.ToString())}\nexpected:\n{string.Join("\n", expected)}\nfound:\n{string.Join("\n", area)}");
            h.AssertFooterPinned();
        }
    }

    [Fact]
    public void ASequenceSplitAcrossChunksIsNeverInterrupted()
    {
        var h = new Harness();
        h.Draw();
        h.Lines(30);
        int writes = h.Stream.Writes;
        h.Output("\e[");                       // chunk ends inside a CSI
        h.Model = FooterViewTests.Model(agents: 3);
        h.Draw();                              // must wait
        Assert.Equal(writes, h.Stream.Writes); // nothing relayed yet, no frame either
        h.Output("1;32mgreen\e[0m\r\n");       // the sequence completes; the frame follows
        Assert.Equal("green", h.Vt.RowText(h.Vt.CursorRow - 1));
        h.AssertFooterPinned();
    }

    [Fact]
    public void UnchangedFrameWritesNothingAndAChangedOneOnlyItsRows()
    {
        var h = new Harness();
        h.Draw();
        h.Lines(3);
        long bytes = h.Stream.Bytes;
        h.Draw();
        h.Draw();
        Assert.Equal(bytes, h.Stream.Bytes);
        var a = h.Model.Agents;
        h.Model = h.Model with { Agents = [a[0], a[1] with { Status = "model" }] };
        h.Draw();
        long delta = h.Stream.Bytes - bytes;
        Assert.InRange(delta, 1, 400); // one agent row (~110 columns of text + a few sequences), not the whole box
        h.AssertFooterPinned();
    }

    [Fact]
    public void InvalidateRepaintsAFooterOverwrittenBehindOurBack()
    {
        var h = new Harness();
        h.Draw();
        h.Vt.Feed($"\e7\e[{h.Height};1Hgarbage\e8"); // someone else writes to the terminal
        h.Draw();
        Assert.StartsWith("garbage", h.Vt.RowText(h.Height - 1));
        h.Renderer.Invalidate();
        h.Draw();
        h.AssertFooterPinned();
    }

    [Fact]
    public void AShorterNumberLeavesNoStaleDigits()
    {
        var h = new Harness();
        var a = h.Model.Agents;
        h.Model = h.Model with { Agents = [a[0] with { Tokens = 123_456_789, CpuPercent = 1234 }, a[1]] };
        h.Draw();
        h.Model = h.Model with { Agents = [a[0] with { Tokens = 7, CpuPercent = 5 }, a[1]] };
        h.Draw();
        h.AssertFooterPinned();
        string row = h.Vt.RowText(h.Height - h.Frame!.Height + 1);
        Assert.Contains("CPU   5%", row);
        Assert.Contains("TOK 7 ", row);
        Assert.DoesNotContain("123", row);
    }

    [Fact]
    public void WideCharactersLandExactlyOnTheirColumns()
    {
        var h = new Harness(90, 30);
        h.Model = FooterViewTests.Model(agents: 2, id: "作業者😀é") with { ClusterId = "宇宙-流星" };
        h.Draw();
        h.AssertFooterPinned();
        int top = h.Height - h.Frame!.Height;
        Assert.EndsWith("┐", h.Vt.RowText(top));
        Assert.EndsWith("│", h.Vt.RowText(top + 1));
    }

    [Fact]
    public void ResizeSmallerAndBiggerStaysInRange()
    {
        var h = new Harness(120, 40) { Model = FooterViewTests.Model(agents: 6, running: 3) };
        h.Draw();
        h.Lines(60);
        foreach (var (w, ht) in new[] { (80, 20), (40, 12), (200, 60), (30, 9), (120, 40) })
        {
            h.Resize(w, ht);
            h.AssertFooterPinned();
            h.Lines(25);
            h.AssertFooterPinned();
        }
    }

    [Fact]
    public void BelowEightRowsTheFooterHidesAndComesBack()
    {
        var h = new Harness(80, 24);
        h.Draw();
        h.Lines(30);
        h.Resize(80, 7);
        Assert.Equal(0, h.Frame!.Height);
        Assert.Equal(0, h.Renderer.FooterHeight);
        Assert.Equal((0, 6), (h.Vt.ScrollTop, h.Vt.ScrollBottom));
        Assert.DoesNotContain(h.Vt.ScreenLines(), l => l.Contains("cosmic", StringComparison.Ordinal) || l.Contains('│'));
        h.Lines(10);
        h.Resize(80, 24);
        h.AssertFooterPinned();
        h.Lines(10);
        h.AssertFooterPinned();
    }

    [Fact]
    public void TeardownLeavesTheTerminalAsFound()
    {
        var h = new Harness();
        h.Draw();
        h.Lines(50);
        h.Output("\e[?25lprompt without newline");
        h.Renderer.Teardown();
        Assert.Equal((0, h.Height - 1), (h.Vt.ScrollTop, h.Vt.ScrollBottom));
        Assert.True(h.Vt.CursorVisible);
        Assert.True(h.Vt.AutoWrap);
        Assert.DoesNotContain(h.Vt.History(), l => l.Contains("cosmic", StringComparison.Ordinal) || l.Contains('│'));
        Assert.Equal("prompt without newline", h.Vt.RowText(h.Vt.CursorRow - 1));
        Assert.Equal(0, h.Vt.CursorColumn);
        long bytes = h.Stream.Bytes;
        h.Renderer.Teardown();
        h.Draw();
        Assert.Equal(bytes, h.Stream.Bytes); // idempotent, and nothing after teardown
    }

    [Fact]
    public void TeardownAfterANewlineAddsNoBlankLine()
    {
        var h = new Harness();
        h.Draw();
        h.Lines(3);
        h.Renderer.Teardown();
        Assert.Equal(0, h.Vt.CursorColumn);
        Assert.Equal("output line 3", h.Vt.RowText(h.Vt.CursorRow - 1));
    }

    [Fact]
    public void BenchmarkEntryWritesFrames()
    {
        long bytes = FooterBenchmark.RenderFrames(50);
        Assert.InRange(bytes, 50 * 100, 50 * 10_000);
    }
}
