using System.Text;
using Zeroshot.Terminal.Escapes;

namespace Zeroshot.Terminal;

/// <summary>
/// An in-memory terminal screen that interprets the VT subset real programs and our renderer emit
/// (xterm ctlseqs; behaviour checked against xterm and tmux): printable text incl. wide characters,
/// autowrap with the pending-wrap ("last column") rule, CR/LF/IND/NEL/RI, cursor movement, EL/ED,
/// IL/DL/ICH/DCH/ECH/SU/SD, DECSTBM, DECSC/DECRC, SGR (parsed, not tracked), RIS, DECSTR, the alternate
/// screen (?1049/?1047/?47), DECTCEM (?25), DECAWM (?7); ?2026 and unknown modes are ignored; OSC/DCS
/// strings, charset designations (<c>ESC ( B</c>) and SI/SO are consumed without effect. Parsing is
/// <see cref="EscapeParser"/>'s (C1 controls U+0084 IND, U+0085 NEL and U+008D RI are executed). Lines scrolled off the top of a region that starts at row 1 on the main screen
/// are appended to <see cref="Scrollback"/>, as xterm and tmux do. Origin mode (DECOM) is not supported.
/// It is the test oracle for the footer and is shaped to become attach's screen model later.
/// Coordinates in this API are 0-based.
/// </summary>
internal sealed class VirtualTerminal
{
    private struct Cell
    {
        public string? Text;    // null = blank; grapheme text (base + combining marks)
        public bool Continuation; // right half of a wide character
    }

    private sealed class Buffer(int rows, int cols)
    {
        public Cell[][] Lines = NewLines(rows, cols);
    }

    private Buffer _main;
    private Buffer? _alternate;
    private Buffer _active;
    private readonly List<string> _scrollback = [];
    private readonly EscapeParser _parser = new();

    private (int Row, int Col, bool PendingWrap) _saved;
    private (int Row, int Col, bool PendingWrap) _savedBeforeAlternate;
    private bool _pendingWrap;

    /// <summary>Creates a blank screen.</summary>
    public VirtualTerminal(int rows, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        Rows = rows;
        Columns = columns;
        _main = new Buffer(rows, columns);
        _active = _main;
        ScrollBottom = rows - 1;
    }

    /// <summary>Screen height.</summary>
    public int Rows { get; private set; }
    /// <summary>Screen width.</summary>
    public int Columns { get; private set; }
    /// <summary>Cursor row (0-based).</summary>
    public int CursorRow { get; private set; }
    /// <summary>Cursor column (0-based).</summary>
    public int CursorColumn { get; private set; }
    /// <summary>First row of the scroll region (0-based, inclusive).</summary>
    public int ScrollTop { get; private set; }
    /// <summary>Last row of the scroll region (0-based, inclusive).</summary>
    public int ScrollBottom { get; private set; }
    /// <summary>DECTCEM state.</summary>
    public bool CursorVisible { get; private set; } = true;
    /// <summary>DECAWM state.</summary>
    public bool AutoWrap { get; private set; } = true;
    /// <summary>Whether the alternate screen is shown.</summary>
    public bool IsAlternateScreen => _active != _main;
    /// <summary>Lines scrolled off the top, oldest first, trailing blanks trimmed.</summary>
    public IReadOnlyList<string> Scrollback => _scrollback;
    /// <summary>Cursor addressing (CUP/HVP/VPA/CHA, DECSTBM) with parameters outside the screen; real
    /// terminals clamp them silently, tests use this to catch renderer arithmetic errors.</summary>
    public int OutOfRangeRequests { get; private set; }

    /// <summary>Text of screen row <paramref name="row"/>, trailing blanks trimmed.</summary>
    public string RowText(int row)
    {
        var sb = new StringBuilder(Columns);
        foreach (var cell in _active.Lines[row])
        {
            if (cell.Continuation) continue;
            sb.Append(cell.Text ?? " ");
        }
        return sb.ToString().TrimEnd(' ');
    }

    /// <summary>All screen rows (trailing blanks trimmed).</summary>
    public string[] ScreenLines()
    {
        var lines = new string[Rows];
        for (int r = 0; r < Rows; r++) lines[r] = RowText(r);
        return lines;
    }

    /// <summary>Scrollback followed by the screen, trailing empty rows dropped: what a user scrolling
    /// back would read.</summary>
    public List<string> History()
    {
        var all = new List<string>(_scrollback);
        all.AddRange(ScreenLines());
        while (all.Count > 0 && all[^1].Length == 0) all.RemoveAt(all.Count - 1);
        return all;
    }

    /// <summary>Feeds UTF-8 bytes (may be split anywhere, including inside a character or sequence).</summary>
    public void Feed(ReadOnlySpan<byte> bytes)
    {
        var handler = new Handler(this);
        _parser.Feed(bytes, ref handler);
    }

    /// <summary>Feeds text (may be split anywhere).</summary>
    public void Feed(ReadOnlySpan<char> text)
    {
        var handler = new Handler(this);
        _parser.Feed(text, ref handler);
    }

    /// <summary>Feeds text.</summary>
    public void Feed(string text) => Feed(text.AsSpan());

    /// <summary>Routes the parser's actions to the screen.</summary>
    private readonly struct Handler(VirtualTerminal vt) : IEscapeHandler
    {
        public void Print(Rune rune) => vt.Print(rune);
        public void Execute(int control) => vt.Control(control);
        public void EscDispatch(ReadOnlySpan<byte> intermediates, char final)
        {
            if (intermediates.IsEmpty) vt.EscapeFinal(final); // ESC ( B, ESC # 8…: no effect here
        }
        public void CsiDispatch(CsiSequence csi) => vt.Dispatch(csi);
        public void DcsHook(CsiSequence header) { }
        public void DcsPut(int codePoint) { }
        public void DcsUnhook() { }
        public void OscDispatch(ReadOnlySpan<char> data, bool truncated) { }
    }

    private void Control(int c)
    {
        switch (c)
        {
            case 0x84: LineFeed(); break;                    // IND (C1)
            case 0x85: CursorColumn = 0; LineFeed(); break;  // NEL (C1)
            case 0x8D: ReverseIndex(); break;                // RI (C1)
            case '\r': CursorColumn = 0; _pendingWrap = false; break;
            case '\n' or '\v' or '\f': LineFeed(); break;
            case '\b': if (CursorColumn > 0) CursorColumn--; _pendingWrap = false; break;
            case '\t': CursorColumn = Math.Min(Columns - 1, (CursorColumn / 8 + 1) * 8); _pendingWrap = false; break;
        }
    }

    private void Print(Rune rune)
    {
        int width = TextWidth.RuneWidth(rune);
        var lines = _active.Lines;
        if (width == 0)
        {
            // Combining mark/ZWJ/VS joins the previous cell (the pending-wrap cell when at the margin).
            int col = _pendingWrap ? CursorColumn : CursorColumn - 1;
            if (col < 0) return;
            ref var prev = ref lines[CursorRow][col];
            if (prev.Continuation && col > 0) prev = ref lines[CursorRow][col - 1];
            if (prev.Text != null) prev.Text += rune.ToString();
            return;
        }
        if (_pendingWrap && AutoWrap)
        {
            CursorColumn = 0;
            LineFeed();
        }
        _pendingWrap = false;
        if (width == 2 && CursorColumn == Columns - 1)
        {
            if (Columns < 2) return;
            if (AutoWrap) { ClearCell(CursorRow, CursorColumn); CursorColumn = 0; LineFeed(); }
            else CursorColumn = Columns - 2;
        }
        ClearCell(CursorRow, CursorColumn);
        if (width == 2) ClearCell(CursorRow, CursorColumn + 1);
        lines[CursorRow][CursorColumn] = new Cell { Text = rune.ToString() };
        if (width == 2) lines[CursorRow][CursorColumn + 1] = new Cell { Continuation = true };
        int next = CursorColumn + width;
        if (next >= Columns) { CursorColumn = Columns - 1; _pendingWrap = true; }
        else CursorColumn = next;
    }

    // Overwriting either half of a wide character blanks the other half (xterm, tmux).
    private void ClearCell(int row, int col)
    {
        var line = _active.Lines[row];
        if (line[col].Continuation && col > 0) line[col - 1] = default;
        if (col + 1 < Columns && line[col + 1].Continuation) line[col + 1] = default;
        line[col] = default;
    }

    private void LineFeed()
    {
        _pendingWrap = false;
        if (CursorRow == ScrollBottom) ScrollUp(1);
        else if (CursorRow < Rows - 1) CursorRow++;
    }

    private void ReverseIndex()
    {
        _pendingWrap = false;
        if (CursorRow == ScrollTop) ScrollDown(1);
        else if (CursorRow > 0) CursorRow--;
    }

    private void ScrollUp(int n) => ScrollUp(ScrollTop, ScrollBottom, n);

    private void ScrollUp(int top, int bottom, int n)
    {
        var lines = _active.Lines;
        n = Math.Min(n, bottom - top + 1);
        for (int i = 0; i < n; i++)
        {
            if (top == 0 && _active == _main) _scrollback.Add(LineText(lines[top]));
            var recycled = lines[top];
            Array.Copy(lines, top + 1, lines, top, bottom - top);
            Array.Clear(recycled);
            lines[bottom] = recycled;
        }
    }

    private void ScrollDown(int top, int bottom, int n)
    {
        var lines = _active.Lines;
        n = Math.Min(n, bottom - top + 1);
        for (int i = 0; i < n; i++)
        {
            var recycled = lines[bottom];
            Array.Copy(lines, top, lines, top + 1, bottom - top);
            Array.Clear(recycled);
            lines[top] = recycled;
        }
    }

    private void ScrollDown(int n) => ScrollDown(ScrollTop, ScrollBottom, n);

    private static string LineText(Cell[] line)
    {
        var sb = new StringBuilder(line.Length);
        foreach (var cell in line)
        {
            if (!cell.Continuation) sb.Append(cell.Text ?? " ");
        }
        return sb.ToString().TrimEnd(' ');
    }

    private void EscapeFinal(char c)
    {
        switch (c)
        {
            case '7': SaveCursor(); break;
            case '8': RestoreCursor(); break;
            case 'D': LineFeed(); break;
            case 'E': CursorColumn = 0; LineFeed(); break;
            case 'M': ReverseIndex(); break;
            case 'c': FullReset(); break;
        }
    }

    private void Dispatch(CsiSequence csi)
    {
        char final = csi.Final;
        if (csi.Private == '?')
        {
            if (final is 'h' or 'l' && csi.Intermediates.IsEmpty)
            {
                foreach (int mode in csi.Parameters) SetPrivateMode(mode, final == 'h');
            }
            return;
        }
        if (csi.Private != 0) return;
        if (csi.Intermediates.Length == 1 && csi.Intermediates[0] == '!')
        {
            if (final == 'p') SoftReset();
            return;
        }
        if (!csi.Intermediates.IsEmpty) return;
        var parameters = csi.Parameters;
        int n = csi.Param(0, 1);
        switch (final)
        {
            case 'A': CursorRow = Math.Max(CursorRow >= ScrollTop ? ScrollTop : 0, CursorRow - n); break;
            case 'B': CursorRow = Math.Min(CursorRow <= ScrollBottom ? ScrollBottom : Rows - 1, CursorRow + n); break;
            case 'C': CursorColumn = Math.Min(Columns - 1, CursorColumn + n); break;
            case 'D': CursorColumn = Math.Max(0, CursorColumn - n); break;
            case 'E': CursorRow = Math.Min(CursorRow <= ScrollBottom ? ScrollBottom : Rows - 1, CursorRow + n); CursorColumn = 0; break;
            case 'F': CursorRow = Math.Max(CursorRow >= ScrollTop ? ScrollTop : 0, CursorRow - n); CursorColumn = 0; break;
            case 'G' or '`': CursorColumn = Clamp(n - 1, Columns); break;
            case 'd': CursorRow = Clamp(n - 1, Rows); break;
            case 'H' or 'f': CursorRow = Clamp(n - 1, Rows); CursorColumn = Clamp(csi.Param(1, 1) - 1, Columns); break;
            case 'J': EraseDisplay(parameters.Length > 0 ? parameters[0] : 0); break;
            case 'K': EraseLine(parameters.Length > 0 ? parameters[0] : 0); break;
            case 'L': if (CursorRow >= ScrollTop && CursorRow <= ScrollBottom) { ScrollDown(CursorRow, ScrollBottom, n); CursorColumn = 0; } break;
            case 'M': if (CursorRow >= ScrollTop && CursorRow <= ScrollBottom) { ScrollUpNoHistory(CursorRow, ScrollBottom, n); CursorColumn = 0; } break;
            case '@': InsertChars(n); break;
            case 'P': DeleteChars(n); break;
            case 'X': for (int i = 0; i < n && CursorColumn + i < Columns; i++) ClearCell(CursorRow, CursorColumn + i); break;
            case 'S': ScrollUp(n); break;
            case 'T': ScrollDown(n); break;
            case 'r': SetScrollRegion(csi.Param(0, 1), csi.Param(1, Rows)); break;
            case 's': SaveCursor(); break;
            case 'u': RestoreCursor(); break;
            case 'm': break; // SGR: attributes are not part of this model's text
        }
        _pendingWrap = final == 'm' && _pendingWrap;
    }

    private int Clamp(int value, int limit)
    {
        if (value < 0 || value >= limit) OutOfRangeRequests++;
        return Math.Clamp(value, 0, limit - 1);
    }

    // DL inside a region never feeds history (xterm, tmux).
    private void ScrollUpNoHistory(int top, int bottom, int n)
    {
        var lines = _active.Lines;
        n = Math.Min(n, bottom - top + 1);
        for (int i = 0; i < n; i++)
        {
            var recycled = lines[top];
            Array.Copy(lines, top + 1, lines, top, bottom - top);
            Array.Clear(recycled);
            lines[bottom] = recycled;
        }
    }

    private void InsertChars(int n)
    {
        var line = _active.Lines[CursorRow];
        n = Math.Min(n, Columns - CursorColumn);
        Array.Copy(line, CursorColumn, line, CursorColumn + n, Columns - CursorColumn - n);
        Array.Clear(line, CursorColumn, n);
    }

    private void DeleteChars(int n)
    {
        var line = _active.Lines[CursorRow];
        n = Math.Min(n, Columns - CursorColumn);
        Array.Copy(line, CursorColumn + n, line, CursorColumn, Columns - CursorColumn - n);
        Array.Clear(line, Columns - n, n);
    }

    private void EraseLine(int mode)
    {
        var line = _active.Lines[CursorRow];
        switch (mode)
        {
            case 0: for (int c = CursorColumn; c < Columns; c++) ClearCell(CursorRow, c); break;
            case 1: for (int c = 0; c <= CursorColumn; c++) ClearCell(CursorRow, c); break;
            case 2: Array.Clear(line); break;
        }
    }

    private void EraseDisplay(int mode)
    {
        var lines = _active.Lines;
        switch (mode)
        {
            case 0:
                EraseLine(0);
                for (int r = CursorRow + 1; r < Rows; r++) Array.Clear(lines[r]);
                break;
            case 1:
                EraseLine(1);
                for (int r = 0; r < CursorRow; r++) Array.Clear(lines[r]);
                break;
            case 2:
                foreach (var line in lines) Array.Clear(line);
                break;
            case 3:
                _scrollback.Clear();
                break;
        }
    }

    private void SetScrollRegion(int top, int bottom)
    {
        if (top > Rows || bottom > Rows) OutOfRangeRequests++;
        bottom = Math.Min(bottom, Rows);
        if (top >= bottom) return; // invalid: ignored (xterm)
        ScrollTop = top - 1;
        ScrollBottom = bottom - 1;
        CursorRow = 0;
        CursorColumn = 0;
        _pendingWrap = false;
    }

    private void SaveCursor() => _saved = (CursorRow, CursorColumn, _pendingWrap);

    private void RestoreCursor()
    {
        CursorRow = Math.Min(_saved.Row, Rows - 1);
        CursorColumn = Math.Min(_saved.Col, Columns - 1);
        _pendingWrap = _saved.PendingWrap;
    }

    private void SetPrivateMode(int mode, bool on)
    {
        switch (mode)
        {
            case 25: CursorVisible = on; break;
            case 7: AutoWrap = on; if (!on) _pendingWrap = false; break;
            case 47 or 1047 or 1049:
                if (on == IsAlternateScreen) return;
                if (on)
                {
                    if (mode == 1049) _savedBeforeAlternate = (CursorRow, CursorColumn, _pendingWrap);
                    _alternate = new Buffer(Rows, Columns);
                    _active = _alternate;
                }
                else
                {
                    _active = _main;
                    if (mode == 1049)
                    {
                        (CursorRow, CursorColumn, _pendingWrap) = _savedBeforeAlternate;
                        CursorRow = Math.Min(CursorRow, Rows - 1);
                        CursorColumn = Math.Min(CursorColumn, Columns - 1);
                    }
                }
                break;
        }
    }

    // DECSTR (CSI ! p): DECTCEM on, DECAWM on, margins full, SGR off, saved cursor home; the cursor
    // itself does not move (VT510 manual, DECSTR table).
    private void SoftReset()
    {
        CursorVisible = true;
        AutoWrap = true;
        ScrollTop = 0;
        ScrollBottom = Rows - 1;
        _saved = default;
    }

    // RIS (ESC c): everything back to power-on state; the scrollback survives (xterm, tmux).
    private void FullReset()
    {
        _active = _main;
        _alternate = null;
        foreach (var line in _main.Lines) Array.Clear(line);
        SoftReset();
        CursorRow = 0;
        CursorColumn = 0;
        _pendingWrap = false;
    }

    /// <summary>
    /// Resizes like xterm: the scroll region becomes the full screen; when rows shrink, rows above the
    /// cursor go to the scrollback first (so the cursor stays on screen), then rows are cut from the
    /// bottom; when rows grow, blank rows are added at the bottom; columns are cut or padded (no reflow).
    /// </summary>
    public void Resize(int rows, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        _main.Lines = ResizeLines(_main.Lines, rows, columns, history: true);
        if (_alternate != null) _alternate.Lines = ResizeLines(_alternate.Lines, rows, columns, history: false);
        Rows = rows;
        Columns = columns;
        ScrollTop = 0;
        ScrollBottom = rows - 1;
        CursorRow = Math.Min(CursorRow, rows - 1);
        CursorColumn = Math.Min(CursorColumn, columns - 1);
        _pendingWrap = false;
    }

    private Cell[][] ResizeLines(Cell[][] old, int rows, int columns, bool history)
    {
        var list = new List<Cell[]>(old);
        bool active = ReferenceEquals(old, _active.Lines);
        int cursor = active ? CursorRow : 0;
        while (list.Count > rows && cursor > 0 && cursor >= rows)
        {
            if (history) _scrollback.Add(LineText(list[0]));
            list.RemoveAt(0);
            cursor--;
        }
        while (list.Count > rows) list.RemoveAt(list.Count - 1);
        while (list.Count < rows) list.Add(new Cell[columns]);
        for (int r = 0; r < rows; r++)
        {
            var line = list[r];
            if (line.Length != columns)
            {
                Array.Resize(ref line, columns);
                if (line[^1].Continuation) line[^1] = default;
                if (columns > 0 && line[^1].Text != null && TextWidth.Columns(line[^1].Text) == 2) line[^1] = default;
                list[r] = line;
            }
        }
        if (active) CursorRow = cursor;
        return [.. list];
    }

    private static Cell[][] NewLines(int rows, int cols)
    {
        var lines = new Cell[rows][];
        for (int r = 0; r < rows; r++) lines[r] = new Cell[cols];
        return lines;
    }
}
