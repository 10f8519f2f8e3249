using System.Text;
using Zeroshot.Terminal;
using Zeroshot.Terminal.Tests.Support;

namespace Zeroshot.Terminal.Tests;

public class ModelTerminalTests
{
    [Fact]
    public void TextAndPendingWrapAtTheLastColumn()
    {
        var vt = new ModelTerminal(3, 5);
        vt.Feed("abcde");
        Assert.Equal((0, 4), (vt.CursorRow, vt.CursorColumn)); // pending wrap: cursor stays on the margin
        vt.Feed("\r\n");
        Assert.Equal((1, 0), (vt.CursorRow, vt.CursorColumn)); // CR cancels the pending wrap: no blank line
        vt.Feed("fghijk");
        Assert.Equal(["abcde", "fghij", "k"], vt.ScreenLines());
    }

    [Fact]
    public void WideCharactersTakeTwoCellsAndWrapWhole()
    {
        var vt = new ModelTerminal(2, 5);
        vt.Feed("ab日本");
        Assert.Equal(["ab日", "本"], vt.ScreenLines());
        vt.Feed("\e[1;3Hx"); // overwriting the left half of 日 blanks its right half
        Assert.Equal("abx", vt.RowText(0));
        vt.Feed("\e[2;2He\u0301");
        Assert.Equal(" e\u0301", vt.RowText(1)); // writing over the right half of 本 blanks its left half
    }

    [Fact]
    public void LinesScrolledOffTheTopGoToScrollbackOnlyWhenTheRegionStartsAtRowOne()
    {
        var vt = new ModelTerminal(4, 10);
        vt.Feed("\e[1;3r");
        for (int i = 1; i <= 5; i++) vt.Feed($"line{i}\r\n");
        Assert.Equal(["line1", "line2", "line3"], vt.Scrollback);
        Assert.Equal(["line4", "line5", "", ""], vt.ScreenLines());

        var vt2 = new ModelTerminal(4, 10);
        vt2.Feed("\e[2;4r\e[2;1H");
        for (int i = 1; i <= 5; i++) vt2.Feed($"l{i}\r\n");
        Assert.Empty(vt2.Scrollback);
        Assert.Equal(["", "l4", "l5", ""], vt2.ScreenLines());
    }

    [Fact]
    public void DecstbmHomesTheCursorAndInvalidRegionsAreIgnored()
    {
        var vt = new ModelTerminal(10, 10);
        vt.Feed("\e[5;5H\e[2;8r");
        Assert.Equal((0, 0, 1, 7), (vt.CursorRow, vt.CursorColumn, vt.ScrollTop, vt.ScrollBottom));
        vt.Feed("\e[5;5H\e[6;3r");
        Assert.Equal((4, 1, 7), (vt.CursorRow, vt.ScrollTop, vt.ScrollBottom));
        vt.Feed("\e[r");
        Assert.Equal((0, 9), (vt.ScrollTop, vt.ScrollBottom));
    }

    [Fact]
    public void CursorMovesClampAndCountOutOfRange()
    {
        var vt = new ModelTerminal(5, 10);
        vt.Feed("\e[3;4H\e[2A\e[3C\e[B\e[2D");
        Assert.Equal((1, 4), (vt.CursorRow, vt.CursorColumn));
        vt.Feed("\e[7G\e[4d");
        Assert.Equal((3, 6), (vt.CursorRow, vt.CursorColumn));
        Assert.Equal(0, vt.OutOfRangeRequests);
        vt.Feed("\e[99;99H");
        Assert.Equal((4, 9), (vt.CursorRow, vt.CursorColumn));
        Assert.Equal(2, vt.OutOfRangeRequests); // row and column
    }

    [Fact]
    public void EraseAndReverseIndex()
    {
        var vt = new ModelTerminal(3, 6);
        vt.Feed("aaaaaa\r\nbbbbbb\r\ncccccc");
        vt.Feed("\e[2;3H\e[K");
        Assert.Equal("bb", vt.RowText(1));
        vt.Feed("\e[1K");
        Assert.Equal("", vt.RowText(1));
        vt.Feed("\e[1;1H\eM");
        Assert.Equal(["", "aaaaaa", ""], vt.ScreenLines());
        vt.Feed("\e[2J");
        Assert.Equal(["", "", ""], vt.ScreenLines());
    }

    [Fact]
    public void SaveRestoreCursorVisibilityAndResets()
    {
        var vt = new ModelTerminal(6, 10);
        vt.Feed("\e[3;4H\e7\e[6;1Hx\e8y\e[?25l");
        Assert.Equal("   y", vt.RowText(2));
        Assert.False(vt.CursorVisible);
        vt.Feed("\e[2;4r\e[!p");
        Assert.True(vt.CursorVisible);
        Assert.Equal((0, 5), (vt.ScrollTop, vt.ScrollBottom));
        vt.Feed("\e[2;4r\e[?25l\ec");
        Assert.True(vt.CursorVisible);
        Assert.Equal((0, 5, 0, 0), (vt.ScrollTop, vt.ScrollBottom, vt.CursorRow, vt.CursorColumn));
        Assert.All(vt.ScreenLines(), l => Assert.Equal("", l));
    }

    [Fact]
    public void AlternateScreenKeepsTheMainScreenAndTheCursor()
    {
        var vt = new ModelTerminal(3, 10);
        vt.Feed("main\r\nsecond");
        vt.Feed("\e[?1049h");
        Assert.True(vt.IsAlternateScreen);
        vt.Feed("\e[1;1Hfull-screen app\r\n\r\n\r\n\r\n");
        Assert.Empty(vt.Scrollback); // alternate screen never feeds the scrollback
        vt.Feed("\e[?1049l");
        Assert.False(vt.IsAlternateScreen);
        Assert.Equal(["main", "second", ""], vt.ScreenLines());
        Assert.Equal((1, 6), (vt.CursorRow, vt.CursorColumn));
    }

    [Fact]
    public void SequencesAndCharactersSplitAcrossFeeds()
    {
        var vt = new ModelTerminal(3, 10);
        var bytes = Encoding.UTF8.GetBytes("\e[2;3H日\e]0;title\a本\e[?2026h!");
        foreach (var b in bytes) vt.Feed([b]);
        Assert.Equal("  日本!", vt.RowText(1));
    }

    [Fact]
    public void InsertDeleteLinesAndChars()
    {
        var vt = new ModelTerminal(4, 6);
        vt.Feed("1\r\n2\r\n3\r\n4\e[2;1H\e[L");
        Assert.Equal(["1", "", "2", "3"], vt.ScreenLines());
        vt.Feed("\e[M\e[M");
        Assert.Equal(["1", "3", "", ""], vt.ScreenLines());
        vt.Feed("\e[1;1Habcdef\e[1;2H\e[2P");
        Assert.Equal("adef", vt.RowText(0));
        vt.Feed("\e[2@");
        Assert.Equal("a  def", vt.RowText(0));
    }

    [Fact]
    public void ResizeResetsTheRegionAndKeepsTheCursorOnScreen()
    {
        var vt = new ModelTerminal(6, 10);
        vt.Feed("\e[1;4r");
        for (int i = 1; i <= 6; i++) vt.Feed($"\e[{i};1Hrow{i}");
        vt.Resize(3, 4);
        Assert.Equal((0, 2, 2), (vt.ScrollTop, vt.ScrollBottom, vt.CursorRow));
        Assert.Equal(["row4", "row5", "row6"], vt.ScreenLines());
        Assert.Equal(["row1", "row2", "row3"], vt.Scrollback);
        vt.Resize(5, 12);
        Assert.Equal(["row4", "row5", "row6", "", ""], vt.ScreenLines());
        Assert.Equal((0, 4), (vt.ScrollTop, vt.ScrollBottom));
    }

    [Fact]
    public void CharsetDesignationsAndShiftControlsPrintNothing()
    {
        var vt = new ModelTerminal(3, 20);
        vt.Feed("done\e(B\x0f\e)0\x0e!\x0f");
        Assert.Equal("done!", vt.RowText(0));
    }

    /// <summary>ESC # 8 (DECALN) fills the screen with E and homes the cursor, as in xterm and tmux
    /// (the old footer oracle ignored it; the "decaln" stream in ScreenTmuxTests checks it against tmux).</summary>
    [Fact]
    public void ScreenAlignmentFillsWithE()
    {
        var vt = new ModelTerminal(2, 4);
        vt.Feed("ab\r\ncd\e#8");
        Assert.Equal(["EEEE", "EEEE"], vt.ScreenLines());
        Assert.Equal((0, 0), (vt.CursorRow, vt.CursorColumn));
    }

    [Fact]
    public void ClaudeExitBytesRestoreTheCursorTheySaved()
    {
        var vt = new ModelTerminal(5, 20);
        vt.Feed("\e[1;3rone\r\ntwo");
        vt.Feed("\e7\e[r\e8");                       // DECSTBM homes; DECRC brings the cursor back
        Assert.Equal((0, 4, 1, 3), (vt.ScrollTop, vt.ScrollBottom, vt.CursorRow, vt.CursorColumn));
        vt.Feed("\e[s\e[5;1Hx\e[u!");
        Assert.Equal("two!", vt.RowText(1));
    }

    [Fact]
    public void C1ControlsAsCodePointsAreExecuted()
    {
        var vt = new ModelTerminal(4, 10);
        vt.Feed("a\u0085b\u009b3;1Hc");
        Assert.Equal(["a", "b", "c", ""], vt.ScreenLines());
    }
}
