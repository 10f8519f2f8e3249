using System.Text;
using Zeroshot.Terminal.Escapes;
using Zeroshot.Terminal.Screen;

namespace Zeroshot.Terminal.Tests.Support;

/// <summary>
/// The footer tests' terminal: a <see cref="ScreenModel"/> (the one screen model, checked against tmux)
/// seen as text rows, scrollback lines and cursor, plus a count of cursor addressing outside the screen,
/// which real terminals clamp silently and the tests use to catch the renderer's arithmetic errors.
/// </summary>
internal sealed class ModelTerminal(int rows, int columns)
{
    private readonly EscapeParser _parser = new();

    /// <summary>The screen model itself.</summary>
    public ScreenModel Model { get; } = new(rows, columns);

    public int Rows => Model.Rows;
    public int Columns => Model.Columns;
    public int CursorRow => Model.CursorRow;
    public int CursorColumn => Model.CursorColumn;
    public int ScrollTop => Model.ScrollTop;
    public int ScrollBottom => Model.ScrollBottom;
    public bool CursorVisible => Model.CursorVisible;
    public bool AutoWrap => Model.AutoWrap;
    public bool IsAlternateScreen => Model.IsAlternateScreen;

    /// <summary>Lines scrolled off the top, oldest first, trailing blanks trimmed.</summary>
    public IReadOnlyList<string> Scrollback => [.. Enumerable.Range(0, Model.History.Count).Select(i => Model.LineText(Model.History[i]))];

    /// <summary>CUP/HVP/VPA/CHA with a row or column outside the screen, DECSTBM with a margin below it.</summary>
    public int OutOfRangeRequests { get; private set; }

    /// <summary>Text of screen row <paramref name="row"/>, trailing blanks trimmed.</summary>
    public string RowText(int row) => Model.RowText(row);

    /// <summary>All screen rows (trailing blanks trimmed).</summary>
    public string[] ScreenLines() => Model.Text();

    /// <summary>Scrollback followed by the screen, trailing empty rows dropped: what a user scrolling
    /// back would read.</summary>
    public List<string> History()
    {
        var all = new List<string>(Scrollback);
        all.AddRange(ScreenLines());
        while (all.Count > 0 && all[^1].Length == 0) all.RemoveAt(all.Count - 1);
        return all;
    }

    public void Feed(ReadOnlySpan<byte> bytes)
    {
        var counter = new RangeCounter(this);
        _parser.Feed(bytes, ref counter);
        Model.Feed(bytes);
    }

    public void Feed(string text) => Feed(Encoding.UTF8.GetBytes(text));

    public void Resize(int rows, int columns) => Model.Resize(rows, columns);

    private struct RangeCounter(ModelTerminal terminal) : IEscapeHandler
    {
        public readonly void Print(Rune rune) { }
        public readonly void Execute(int control) { }
        public readonly void EscDispatch(ReadOnlySpan<byte> intermediates, char final) { }
        public readonly void DcsHook(CsiSequence header) { }
        public readonly void DcsPut(int codePoint) { }
        public readonly void DcsUnhook() { }
        public readonly void OscDispatch(ReadOnlySpan<char> data, bool truncated) { }

        public readonly void CsiDispatch(CsiSequence csi)
        {
            if (csi.Private != '\0' || !csi.Intermediates.IsEmpty) return;
            int rows = terminal.Rows, cols = terminal.Columns;
            switch (csi.Final)
            {
                case 'G' or '`': Check(csi.Param(0, 1), cols); break;
                case 'd': Check(csi.Param(0, 1), rows); break;
                case 'H' or 'f': Check(csi.Param(0, 1), rows); Check(csi.Param(1, 1), cols); break;
                case 'r' when csi.Param(0, 1) > rows || csi.Param(1, rows) > rows: terminal.OutOfRangeRequests++; break;
            }
        }

        private readonly void Check(int oneBased, int limit)
        {
            if (oneBased < 1 || oneBased > limit) terminal.OutOfRangeRequests++;
        }
    }
}
