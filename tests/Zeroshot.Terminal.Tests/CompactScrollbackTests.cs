using System.Text;
using Zeroshot.Terminal.Screen;

namespace Zeroshot.Terminal.Tests;

/// <summary>Scrollback rows kept compact (only as long as what was written on them): same text, renditions,
/// wraps and serialization as full-width rows, and a full scrollback that recycles its rows.</summary>
public class CompactScrollbackTests
{
    [Fact]
    public void AScrolledOffRowKeepsOnlyItsWrittenCells()
    {
        var m = new ScreenModel(3, 80, scrollback: 10);
        m.Feed("short\r\n\e[31mred\e[0m\r\n\r\nlast\r\n");
        Assert.Equal(2, m.History.Count);
        Assert.InRange(m.History[0].RawCells.Length, 5, 16); // rounded up to 16 cells at most
        Assert.Equal("short", m.LineText(m.History[0]));
        Assert.Equal("red", m.LineText(m.History[1]));
        Assert.Equal(Color.Basic(1), m.History[1].RawCells[0].Attr.Foreground);
        // The screen's own rows stay full width.
        for (int r = 0; r < m.Rows; r++) Assert.Equal(80, m.ScreenLines[r].RawCells.Length);
    }

    [Fact]
    public void ABlankRowAndAWrappedRowAndAColouredEraseAreKept()
    {
        var m = new ScreenModel(2, 10, scrollback: 10);
        m.Feed("\r\n");                       // a blank row: no cells
        m.Feed("0123456789abc\r\n");          // wraps: the first row is kept whole with its wrap
        m.Feed("\e[44m\e[K\e[0mx\r\n\r\n");   // an erase with a background: the coloured cells are kept
        Assert.Equal(4, m.History.Count);
        Assert.Empty(m.History[0].RawCells);
        Assert.True(m.History[1].Wrapped);
        Assert.Equal(10, m.History[1].RawCells.Length);
        Assert.Equal("abc", m.LineText(m.History[2]));
        Assert.Equal("x", m.LineText(m.History[3]));
        Assert.Equal(10, m.History[3].RawCells.Length);
        Assert.Equal(Color.Basic(4), m.History[3].RawCells[9].Attr.Background);
    }

    [Fact]
    public void AFullScrollbackRecyclesItsRowsWithTheRightText()
    {
        var m = new ScreenModel(4, 40, scrollback: 5);
        var sb = new StringBuilder();
        // Lines of growing and shrinking length, so recycled rows are both too short and too long.
        for (int i = 0; i < 40; i++) sb.Append(new string((char)('a' + (i % 26)), 1 + (i * 7 % 39))).Append("\r\n");
        m.Feed(sb.ToString());
        Assert.Equal(5, m.History.Count);
        for (int k = 0; k < 5; k++)
        {
            int i = 40 - 3 - 5 + k; // 40 lines and the cursor's empty row: 3 on screen above it
            Assert.Equal(new string((char)('a' + (i % 26)), 1 + (i * 7 % 39)), m.LineText(m.History[k]));
        }
    }

    [Fact]
    public void CompactRowsSerializeAndRoundTrip()
    {
        var m = new ScreenModel(5, 30, scrollback: 50);
        var sb = new StringBuilder();
        for (int i = 0; i < 80; i++)
        {
            sb.Append("\e[3").Append(i % 8).Append("mline ").Append(i).Append("\e[0m");
            if (i % 9 == 0) sb.Append(" and a long tail that wraps past thirty columns");
            if (i % 11 == 0) sb.Append("\e[42m\e[K\e[0m");
            if (i % 13 == 0) sb.Append(" 漢字");
            sb.Append("\r\n");
        }
        m.Feed(sb.ToString());
        Assert.Equal(50, m.History.Count);
        ScreenModelTests.AssertRoundTrip(m, scrollback: true);
    }

    [Fact]
    public void ResizeWithCompactRowsInTheScrollback()
    {
        var m = new ScreenModel(4, 30, scrollback: 20);
        for (int i = 0; i < 12; i++) m.Feed($"row {i}\r\n");
        m.Resize(2, 10);   // rows above the cursor go to the scrollback
        m.Resize(6, 50);
        m.Feed("after\r\n");
        Assert.Equal("row 0", m.LineText(m.History[0]));
        for (int i = 0; i < m.History.Count; i++) Assert.DoesNotContain("\0", m.LineText(m.History[i]), StringComparison.Ordinal);
        ScreenModelTests.AssertRoundTrip(m, scrollback: true);
    }
}
