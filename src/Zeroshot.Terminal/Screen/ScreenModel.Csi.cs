using Zeroshot.Terminal.Escapes;

namespace Zeroshot.Terminal.Screen;

// Control sequences (ECMA-48 §8.3, xterm ctlseqs "Functions using CSI").
internal sealed partial class ScreenModel
{
    private void Csi(CsiSequence csi)
    {
        char final = csi.Final;
        var intermediates = csi.Intermediates;
        if (csi.Private == '?')
        {
            if (!intermediates.IsEmpty)
            {
                if (intermediates.Length == 1 && intermediates[0] == '$' && final == 'p') ReportMode(csi.Param(0, 0), dec: true);
                return;
            }
            switch (final)
            {
                case 'h' or 'l':
                    foreach (int mode in csi.Parameters) SetPrivateMode(mode, final == 'h');
                    break;
                case 'n' when csi.Param(0, 0) == 6: // DECXCPR
                    _replies.WriteAscii($"\e[?{ReportedRow() + 1};{CursorColumn + 1}R");
                    break;
            }
            return;
        }
        if (csi.Private == '>')
        {
            // DA2: tmux's answer ("84" is tmux's terminal id), so programs that know tmux keep working.
            if (final == 'c' && intermediates.IsEmpty && csi.Param(0, 0) == 0) _replies.WriteAscii("\e[>84;0;0c");
            return;
        }
        if (csi.Private != '\0') return;
        if (!intermediates.IsEmpty)
        {
            if (intermediates.Length != 1) return;
            switch ((char)intermediates[0], final)
            {
                case ('!', 'p'): SoftReset(); break;
                case (' ', 'q'): CursorStyle = Math.Min(csi.Param(0, 0), 6); break;
                case ('$', 'p'): ReportMode(csi.Param(0, 0), dec: false); break;
            }
            return;
        }
        if (final == 'm') { _pen.Apply(csi); return; }
        int n = csi.Param(0, 1);
        switch (final)
        {
            case '@': InsertCharacters(n); break;
            case 'A': CursorUp(n); break;
            case 'B' or 'e': CursorDown(n); break;
            case 'C' or 'a': CursorColumn = Math.Min(Columns - 1, CursorColumn + n); break;
            // From the pending-wrap position tmux counts from one past the last column.
            case 'D': CursorColumn = Math.Max(0, (PendingWrap ? Columns : CursorColumn) - n); break;
            case 'E': CursorDown(n); CursorColumn = 0; break;
            case 'F': CursorUp(n); CursorColumn = 0; break;
            case 'G' or '`': CursorColumn = Math.Clamp(n - 1, 0, Columns - 1); break;
            case 'H' or 'f': MoveTo(n - 1, csi.Param(1, 1) - 1); break;
            case 'I': TabForward(n); break;
            case 'J': EraseDisplay(csi.Param(0, 0)); break;
            case 'K': EraseLine(csi.Param(0, 0)); break;
            case 'L': InsertLines(n); break;
            case 'M': DeleteLines(n); break;
            case 'P': DeleteCharacters(n); break;
            case 'S': ScrollUp(ScrollTop, ScrollBottom, n); break;
            case 'T': if (csi.Parameters.Length <= 1) ScrollDown(ScrollTop, ScrollBottom, n); break; // 5 parameters: mouse highlight
            case 'X': EraseCharacters(n); break;
            case 'Z': TabBackward(n); break;
            case 'b': Repeat(n); return;
            case 'c': if (csi.Param(0, 0) == 0) _replies.WriteAscii("\e[?1;2c"); break; // DA1: VT100 with AVO, as tmux answers
            case 'd': MoveTo(n - 1, CursorColumn); break;
            case 'g': ClearTabs(csi.Param(0, 0)); break;
            case 'h' or 'l':
                foreach (int mode in csi.Parameters)
                {
                    if (mode == 4) InsertMode = final == 'h';
                    else if (mode == 20) NewLineMode = final == 'h';
                }
                break;
            case 'n':
                if (csi.Param(0, 0) == 5) _replies.WriteAscii("\e[0n");
                else if (csi.Param(0, 0) == 6) _replies.WriteAscii($"\e[{ReportedRow() + 1};{CursorColumn + 1}R");
                break;
            case 'r': SetScrollRegion(csi.Param(0, 1), csi.Param(1, Rows)); break;
            case 's': SaveCursor(ref _saved); break;
            case 'u': RestoreCursor(ref _saved); break;
            default: return;
        }
        // Cursor movement cancels a pending wrap; edits and erases keep it (tmux: its cursor stays one
        // past the edge until moved).
        if (final is 'A' or 'B' or 'C' or 'D' or 'E' or 'F' or 'G' or 'H' or 'I' or 'Z' or '`' or 'a' or 'd' or 'e' or 'f' or 'r') PendingWrap = false;
        _lastPrinted = -1;
    }

    private int ReportedRow() => OriginMode ? CursorRow - ScrollTop : CursorRow;

    private void CursorUp(int n)
    {
        int limit = CursorRow >= ScrollTop ? ScrollTop : 0;
        CursorRow = Math.Max(limit, CursorRow - n);
    }

    private void CursorDown(int n)
    {
        int limit = CursorRow <= ScrollBottom ? ScrollBottom : Rows - 1;
        CursorRow = Math.Min(limit, CursorRow + n);
    }

    // CUP/HVP/VPA: in origin mode rows count from the top margin and stay inside the region.
    private void MoveTo(int row, int column)
    {
        if (OriginMode) CursorRow = Math.Clamp(row + ScrollTop, ScrollTop, ScrollBottom);
        else CursorRow = Math.Clamp(row, 0, Rows - 1);
        CursorColumn = Math.Clamp(column, 0, Columns - 1);
    }

    // REP: the last graphic character again, n times (ECMA-48 §8.3.103).
    private void Repeat(int n)
    {
        if (_lastPrinted < 0) return;
        int code = _lastPrinted;
        int width = code < 0x7F ? 1 : TextWidth.RuneWidth(new System.Text.Rune(code));
        n = Math.Min(n, Rows * Columns);
        for (int i = 0; i < n; i++) PrintWidth(code, width);
    }

    private void ClearTabs(int mode)
    {
        if (mode == 0) _tabs[CursorColumn] = false;
        else if (mode == 3) Array.Clear(_tabs);
    }

    private void SetScrollRegion(int top, int bottom)
    {
        bottom = Math.Min(bottom, Rows);
        if (top >= bottom) return; // invalid: ignored (xterm)
        ScrollTop = top - 1;
        ScrollBottom = bottom - 1;
        // Home is the top-left of the screen even in origin mode (tmux screen_write_scrollregion;
        // xterm would home to the region's top).
        CursorRow = CursorColumn = 0;
    }

    // ICH, DCH, ECH and EL 0 do nothing while a wrap is pending (tmux: the cursor is past the edge).
    private void InsertCharacters(int n)
    {
        if (PendingWrap) return;
        var cells = _lines[CursorRow].Cells;
        ShiftRight(cells, CursorColumn, n);
    }

    private void DeleteCharacters(int n)
    {
        if (PendingWrap) return;
        var cells = _lines[CursorRow].Cells;
        int col = CursorColumn, cols = Columns;
        n = Math.Min(n, cols - col);
        FixWideAt(cells, col);
        FixWideAt(cells, col + n);
        Array.Copy(cells, col + n, cells, col, cols - col - n);
        var blank = Blank;
        for (int i = cols - n; i < cols; i++) cells[i] = blank;
    }

    private void EraseCharacters(int n)
    {
        if (PendingWrap) return;
        var cells = _lines[CursorRow].Cells;
        int end = Math.Min(Columns, CursorColumn + n);
        EraseCells(cells, CursorColumn, end);
    }

    // Erases [from, to) with the current background; a wide character cut at either end goes whole.
    private void EraseCells(Cell[] cells, int from, int to)
    {
        if (from >= to) return;
        FixWideAt(cells, from);
        FixWideAt(cells, to);
        var blank = Blank;
        for (int i = from; i < to; i++) cells[i] = blank;
    }

    private void EraseLine(int mode)
    {
        var line = _lines[CursorRow];
        switch (mode)
        {
            case 0:
                if (!PendingWrap) EraseCells(line.Cells, CursorColumn, Columns);
                line.Wrapped = false;
                break;
            case 1: EraseCells(line.Cells, 0, CursorColumn + 1); break;
            case 2: line.Clear(Blank); break;
        }
    }

    private void EraseDisplay(int mode)
    {
        switch (mode)
        {
            case 0:
                EraseLine(0);
                for (int r = CursorRow + 1; r < Rows; r++) _lines[r].Clear(Blank);
                break;
            case 1:
                EraseLine(1);
                for (int r = 0; r < CursorRow; r++) _lines[r].Clear(Blank);
                break;
            case 2:
                // tmux's scroll-on-clear (default on): clearing the whole main screen first moves its
                // rows, up to the last one with text, into the scrollback, so nothing is lost; then
                // every row is cleared with the background, the empty rows moved up included
                // (grid_view_clear_history: grid_scroll_history, then grid_view_clear with bg).
                if (_lines == _main && History.Capacity > 0)
                {
                    int last = Rows - 1;
                    while (last >= 0 && IsEmptyLine(_lines[last])) last--;
                    if (last >= 0) ScrollUp(0, Rows - 1, last + 1);
                }
                foreach (var line in _lines) line.Clear(Blank);
                break;
            case 3:
                History.Clear();
                break;
        }
    }

    private static bool IsEmptyLine(Line line)
    {
        foreach (ref readonly var cell in line.RawCells.AsSpan())
        {
            if (cell != default) return false;
        }
        return true;
    }

    // IL and DL leave the cursor where it is (tmux; the VT510 moves it to the left margin). Outside the
    // scroll region they act on the rows from the cursor to the bottom of the screen (tmux
    // screen_write_insertline/deleteline; xterm ignores them there).
    private void InsertLines(int n)
    {
        int bottom = CursorRow < ScrollTop || CursorRow > ScrollBottom ? Rows - 1 : ScrollBottom;
        ScrollDown(CursorRow, bottom, n);
    }

    // DL never feeds the scrollback, even at the top row (xterm, tmux).
    private void DeleteLines(int n)
    {
        int bottom = CursorRow < ScrollTop || CursorRow > ScrollBottom ? Rows - 1 : ScrollBottom;
        n = Math.Min(n, bottom - CursorRow + 1);
        var blank = Blank;
        for (int i = 0; i < n; i++)
        {
            var gone = _lines[CursorRow];
            Array.Copy(_lines, CursorRow + 1, _lines, CursorRow, bottom - CursorRow);
            gone.Clear(blank);
            _lines[bottom] = gone;
        }
        _lastRow = -1;
    }

    private void SetPrivateMode(int mode, bool on)
    {
        switch (mode)
        {
            case 1: ApplicationCursorKeys = on; break;
            case 5: ReverseVideo = on; break;
            case 6: OriginMode = on; MoveTo(0, 0); PendingWrap = false; break;
            case 7: AutoWrap = on; break;
            case 9: Mouse = on ? MouseTracking.X10 : MouseTracking.None; break;
            case 12: CursorBlink = on; break;
            case 25: CursorVisible = on; break;
            case 1000: Mouse = on ? MouseTracking.Normal : MouseTracking.None; break;
            case 1002: Mouse = on ? MouseTracking.ButtonEvent : MouseTracking.None; break;
            case 1003: Mouse = on ? MouseTracking.AnyEvent : MouseTracking.None; break;
            case 1004: FocusEvents = on; break;
            case 1005: MouseEncoding = on ? MouseEncoding.Utf8 : MouseEncoding.Default; break;
            case 1006: MouseEncoding = on ? MouseEncoding.Sgr : MouseEncoding.Default; break;
            case 1015: MouseEncoding = on ? MouseEncoding.Urxvt : MouseEncoding.Default; break;
            case 1048: if (on) SaveCursor(ref _saved); else RestoreCursor(ref _saved); break;
            case 2004: BracketedPaste = on; break;
            case 2026: SynchronizedOutput = on; break;
            case 47 or 1047 or 1049: Alternate(mode, on); break;
        }
    }

    // ?47, ?1047 and ?1049 switch to a cleared alternate screen (tmux clears it on every entry, with
    // the default background; xterm keeps ?47's old content). ?1049 also saves the cursor position
    // and rendition on entering and restores them on leaving — in tmux even when the alternate screen
    // is not shown, from the last save (tmux screen_alternate_on/off).
    private void Alternate(int mode, bool on)
    {
        if (!on && mode == 1049 && _savedMain.Set)
        {
            CursorRow = Math.Min(_savedMain.Row, Rows - 1);
            CursorColumn = Math.Min(_savedMain.Column, Columns - 1);
            PendingWrap = _savedMain.PendingWrap;
            _pen = _savedMain.Pen;
        }
        if (on == IsAlternateScreen) return;
        if (on)
        {
            if (mode == 1049) SaveCursor(ref _savedMain);
            if (_alternate == null || _alternate.Length != Rows) _alternate = NewLines(Rows, Columns);
            foreach (var line in _alternate)
            {
                if (line.Cells.Length != Columns) line.Cells = new Cell[Columns];
                line.Clear(default);
            }
            _lines = _alternate;
        }
        else _lines = _main;
        _lastRow = -1;
    }

    // DECRQM: CSI ? Pd ; Ps $ y (DEC) or CSI Pd ; Ps $ y (ANSI); Ps 1 set, 2 reset, 0 not recognised.
    private void ReportMode(int mode, bool dec)
    {
        int state;
        if (dec)
        {
            bool? value = mode switch
            {
                1 => ApplicationCursorKeys,
                5 => ReverseVideo,
                6 => OriginMode,
                7 => AutoWrap,
                12 => CursorBlink,
                25 => CursorVisible,
                47 or 1047 or 1049 => IsAlternateScreen,
                9 => Mouse == MouseTracking.X10,
                1000 => Mouse == MouseTracking.Normal,
                1002 => Mouse == MouseTracking.ButtonEvent,
                1003 => Mouse == MouseTracking.AnyEvent,
                1004 => FocusEvents,
                1005 => MouseEncoding == MouseEncoding.Utf8,
                1006 => MouseEncoding == MouseEncoding.Sgr,
                1015 => MouseEncoding == MouseEncoding.Urxvt,
                2004 => BracketedPaste,
                2026 => SynchronizedOutput,
                _ => null,
            };
            state = value is null ? 0 : value.Value ? 1 : 2;
            _replies.WriteAscii($"\e[?{mode};{state}$y");
        }
        else
        {
            bool? value = mode switch { 4 => InsertMode, 20 => NewLineMode, _ => null };
            state = value is null ? 0 : value.Value ? 1 : 2;
            _replies.WriteAscii($"\e[{mode};{state}$y");
        }
    }
}
