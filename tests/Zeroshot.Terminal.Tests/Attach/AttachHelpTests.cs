using System.Buffers;
using Zeroshot.Terminal.Attach;
using Zeroshot.Terminal.Screen;

namespace Zeroshot.Terminal.Tests.Attach;

/// <summary>The <c>prefix ?</c> help and its box over the agent's screen.</summary>
public class AttachHelpTests
{
    [Fact]
    public void TheHelpNamesEveryCommandWithThePrefix()
    {
        var lines = AttachHelp.Lines("C-a");
        foreach (var key in new[] { "C-a d", "C-a m", "C-a c", "C-a n / p", "C-a C-a", "C-a ?" })
            Assert.Contains(lines, l => l.StartsWith(key, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(80, 24)]
    [InlineData(30, 8)]
    [InlineData(12, 5)]
    public void TheBoxIsDrawnOverTheScreenAndTheNextPaintRemovesIt(int columns, int rows)
    {
        var source = new ScreenModel(rows - 1, columns);
        for (int r = 0; r < rows - 1; r++) source.Feed($"\e[{r + 1};1H\e[3{r % 8}m" + new string((char)('a' + r), columns - 2) + "日");
        var terminal = new ScreenModel(rows, columns);
        var painter = new ScreenPainter(1);
        var buffer = new ArrayBufferWriter<byte>();
        painter.Paint(source, buffer, columns, rows - 1);
        painter.AppendOverlay(buffer, AttachHelp.Lines("C-b"), columns, rows);
        painter.AppendCursor(source, buffer);
        terminal.Feed(buffer.WrittenSpan);
        var text = terminal.Text();
        // A closed box, every line within the terminal.
        int top = Array.FindIndex(text, l => l.Contains('┌'));
        int bottom = Array.FindIndex(text, l => l.Contains('└'));
        Assert.True(top >= 0 && bottom > top, string.Join('\n', text));
        Assert.Contains("C-b d", string.Join('\n', text));
        Assert.True(terminal.Pen.IsDefault);
        // The next paint (no help) puts the screen back.
        buffer.ResetWrittenCount();
        painter.Paint(source, buffer, columns, rows - 1);
        painter.AppendCursor(source, buffer);
        terminal.Feed(buffer.WrittenSpan);
        for (int r = 0; r < rows - 1; r++) Assert.Equal(source.RowText(r), terminal.RowText(r + 1));
    }
}
