using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Zeroshot.Terminal.Escapes;
using Zeroshot.Terminal.Screen;
using static Zeroshot.Terminal.Attach.TerminalOutput;

namespace Zeroshot.Terminal.Attach;

/// <summary>
/// Paints a <see cref="ScreenModel"/> (the agent's screen, kept by the attach client) onto the user's real terminal,
/// in a window of rows <c>[Top, Top + rows)</c>, as a diff against what it painted last: only the changed span of each
/// changed row is rewritten, and output that scrolled is scrolled on the terminal rather than repainted. Pure: it
/// appends bytes to the caller's <see cref="IBufferWriter{T}"/> (reuse one <see cref="ArrayBufferWriter{T}"/>, reset
/// after each write to the terminal); a frame with a few changed cells on a 200×50 screen allocates nothing (a test
/// measures it). Not thread-safe.
/// </summary>
/// <remarks>
/// <para>A frame: <see cref="Paint"/> (cells and modes), then whatever else the caller draws (the status bar, the help
/// box of <see cref="AppendOverlay"/>), then <see cref="AppendCursor"/>; written to the terminal in one call.</para>
/// <para>Cells are written with their exact rendition (SGR 0 then every attribute, colours in the form the program
/// gave) and OSC 8 hyperlink; a wide character once for its two cells; a cell with combining marks as its whole
/// cluster. Blank cells (never written, or erased) are erased rather than written as spaces (ECH, or EL to the end of
/// the row) with their background, so the real terminal holds exactly the model's cells: the self-oracle tests paint
/// into a second model standing for the terminal and compare every cell, and a tmux test compares a pane.</para>
/// <para>The input-affecting modes of the model are mirrored while attached (DECCKM ?1, DECKPAM/DECKPNM, bracketed
/// paste ?2004, mouse tracking ?9/?1000/?1002/?1003 and encoding ?1005/?1006/?1015, focus events ?1004), and reverse
/// video ?5, each only when it changed; <see cref="Restore"/> undoes them on detach. The painter never enters the alternate screen: it
/// paints on the main screen so what <see cref="AppendHistory"/> writes, and what scrolls off a window at the
/// terminal's top, lands in the terminal's own scrollback. A scroll region is set only around a scroll, and reset.</para>
/// <para>Contract with the other writers of the terminal (the status bar, the help box): they leave the rendition at
/// SGR 0 and no hyperlink open; <see cref="Paint"/> ends that way too.</para>
/// </remarks>
internal sealed class ScreenPainter
{
    /// <summary>Everything the painter may have set, reset (write it on detach): hyperlink closed, SGR 0,
    /// scroll region reset (inside DECSC/DECRC, as DECSTBM homes the cursor), normal cursor keys and
    /// keypad, bracketed paste off, every mouse mode and encoding off, focus events off, synchronized
    /// output ended, normal video (?5), cursor visible with the default style. ?1049 is not left: the client never
    /// enters it.</summary>
    public static ReadOnlySpan<byte> Restore =>
        "\e]8;;\e\\\e7\e[r\e8\e[0m\e[?5l\e[?1l\e>\e[?2004l\e[?1003l\e[?1002l\e[?1000l\e[?9l\e[?1006l\e[?1015l\e[?1005l\e[?1004l\e[?2026l\e[?25h\e[0 q"u8;

    // Marks a shadow cell whose real content is not known (under the help box): never equal to a model cell.
    private static readonly Cell Stale = new() { Code = int.MinValue };

    private readonly bool _synchronized;
    private Cell[] _shadow = [];        // what the real terminal shows, row-major, in the painted model's ids
    private int[] _first = [], _last = []; // per row: the changed span of this frame (-1: none)
    // Per row: the model's line and its Line.Version that _shadow's row holds (null: not known). A row whose line and
    // version are the same as then is unchanged without a compare: an echo's paint then compares one row, not all.
    private Line?[] _seenLine = [];
    private int[] _seenVersion = [];
    private int _seenColumns;           // the model's width when they were taken (a narrower model shows fewer cells)
    private ScreenModel? _painted;      // the model _shadow's grapheme and link ids belong to
    private int _rows, _columns;        // the window painted: rows [Top, Top + _rows), columns [0, _columns)
    private bool _valid;
    private int _top;
    private bool _syncOpen;

    // Terminal state as last written.
    private bool _modesKnown;
    private bool _cursorKeys, _keypad, _paste, _focus, _reverse;
    private MouseTracking _mouse;
    private MouseEncoding _mouseEncoding;
    private bool _cursorVisible = true;
    private int _cursorStyle;

    // Within one paint.
    private SgrState _pen;
    private int _link;
    private int _atRow, _atColumn; // where the real cursor is (-1: unknown, e.g. pending wrap)

    /// <summary>Creates a painter for a window whose first row is terminal row <paramref name="top"/> (see
    /// <see cref="Top"/>); with <paramref name="synchronized"/> each frame is a synchronized update (DEC mode 2026:
    /// <see cref="Paint"/> writes <c>CSI ? 2026 h</c>, <see cref="AppendCursor"/> <c>CSI ? 2026 l</c>), so the
    /// terminal shows it whole, status bar and help box included.</summary>
    public ScreenPainter(int top = 0, bool synchronized = false)
    {
        Top = top;
        _synchronized = synchronized;
    }

    /// <summary>The real terminal's row the model's first row is painted on: 0 without the status bar, 1 with
    /// it. Changing it makes the next paint full.</summary>
    public int Top
    {
        get => _top;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            if (value != _top) _valid = false;
            _top = value;
        }
    }

    /// <summary>Forgets what was painted and the modes set: the next <see cref="Paint"/> rewrites every cell
    /// and mode (after a window resize or foreign output).</summary>
    public void Invalidate()
    {
        _valid = false;
        _modesKnown = false;
    }

    /// <summary>
    /// Begins a frame: appends to <paramref name="output"/> the bytes that bring the real terminal's window
    /// (rows <c>[Top, Top + rows)</c>, columns <c>[0, columns)</c>; <paramref name="columns"/> is the terminal's
    /// width) from what this painter painted last to <paramref name="model"/>'s visible screen (the alternate one
    /// when shown), clipped to the window or padded with blanks when the model is smaller, then the mirrored
    /// modes. <paramref name="full"/> repaints every cell (as after <see cref="Invalidate"/>); another model or
    /// another window size is always painted in full. Without synchronized output, appends nothing when nothing
    /// changed. End the frame with <see cref="AppendCursor"/> (after the status bar and help box, if any).
    /// </summary>
    public void Paint(ScreenModel model, IBufferWriter<byte> output, int columns, int rows, bool full = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        bool fresh = false;
        if (full || !_valid || !ReferenceEquals(model, _painted) || rows != _rows || columns != _columns)
        {
            if (_shadow.Length != rows * columns) _shadow = new Cell[rows * columns];
            if (_first.Length != rows) { _first = new int[rows]; _last = new int[rows]; _seenLine = new Line?[rows]; _seenVersion = new int[rows]; }
            _painted = model;
            _rows = rows;
            _columns = columns;
            for (int r = 0; r < rows; r++) { _first[r] = 0; _last[r] = columns - 1; }
            _valid = true;
            fresh = true;
        }
        if (_synchronized && !_syncOpen)
        {
            Bytes(output, "\e[?2026h"u8);
            _syncOpen = true;
        }
        if (!fresh) Scroll(model, output);
        bool changed = fresh || Diff(model);
        if (!changed && !ModesChanged(model)) return;
        // After an invalidation the rendition and hyperlink on the terminal are not known: reset both.
        if (fresh) Bytes(output, "\e]8;;\e\\\e[0m"u8);
        _pen = default;
        _link = 0;
        _atRow = -1;
        if (changed)
        {
            for (int r = 0; r < rows; r++)
            {
                if (_first[r] < 0) continue;
                PaintSpan(model, Source(model, r), r, _first[r], _last[r], output);
                _first[r] = -1;
            }
        }
        if (fresh) Remember(model);
        if (_link != 0) Link(output, null);
        if (!_pen.IsDefault) Bytes(output, "\e[0m"u8);
        Modes(model, output);
    }

    /// <summary>
    /// Ends a frame: the cursor to the model's cursor (offset by <see cref="Top"/>, clamped to the window), always
    /// written as the status bar or help box may have moved it; its visibility and style when they changed; the
    /// end of the synchronized update <see cref="Paint"/> began.
    /// </summary>
    public void AppendCursor(ScreenModel model, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(output);
        int rows = _rows > 0 ? _rows : model.Rows, columns = _columns > 0 ? _columns : model.Columns;
        MoveTo(output, _top + Math.Min(model.CursorRow, rows - 1), Math.Min(model.CursorColumn, columns - 1));
        if (model.CursorVisible != _cursorVisible)
        {
            Bytes(output, model.CursorVisible ? "\e[?25h"u8 : "\e[?25l"u8);
            _cursorVisible = model.CursorVisible;
        }
        if (model.CursorStyle != _cursorStyle)
        {
            Bytes(output, "\e["u8);
            Number(output, model.CursorStyle);
            Bytes(output, " q"u8);
            _cursorStyle = model.CursorStyle;
        }
        if (_syncOpen)
        {
            Bytes(output, "\e[?2026l"u8);
            _syncOpen = false;
        }
    }

    // The model's cells of window row r (clipped to the window; empty below the model): cells past it are blank.
    // (RawCells: reading is not writing, and must not move the row's version.)
    private ReadOnlySpan<Cell> Source(ScreenModel model, int r) =>
        r < model.Rows ? model.ScreenLines[r].RawCells.AsSpan(0, Math.Min(model.Columns, _columns)) : default;

    // The window's rows now hold what the model's lines hold (after a full paint).
    private void Remember(ScreenModel model)
    {
        for (int r = 0; r < _rows; r++) See(model, r);
        _seenColumns = model.Columns;
    }

    // Whether window row r holds the same version of the same line as when it was last painted.
    private bool Unchanged(ScreenModel model, int r)
    {
        if (r >= model.Rows || model.Columns != _seenColumns) return false;
        var line = model.ScreenLines[r];
        return ReferenceEquals(line, _seenLine[r]) && line.Version == _seenVersion[r];
    }

    private void See(ScreenModel model, int r)
    {
        var line = r < model.Rows ? model.ScreenLines[r] : null;
        _seenLine[r] = line;
        _seenVersion[r] = line?.Version ?? 0;
    }

    private static Cell At(ReadOnlySpan<Cell> source, int c) => c < source.Length ? source[c] : default;

    // When the model's rows are the painted rows moved up by k (output scrolled), scrolls the real window by k
    // (line feeds at the bottom of a scroll region set to the window; with the window at the terminal's top the
    // lines go to its scrollback, as they would in a terminal of its own) and the painted rows with it, so the
    // diff that follows writes the new rows only, not every row.
    private void Scroll(ScreenModel model, IBufferWriter<byte> output)
    {
        int rows = _rows, columns = _columns;
        if (rows < 3) return;
        if (Unchanged(model, 0)) return;
        var first = Source(model, 0);
        if (SameRow(first, 0) || IsBlankRow(first)) return;
        int k = 1;
        while (k < rows && !SameRow(first, k)) k++;
        if (k == rows) return;
        int moved = 0, kept = 0;
        for (int r = 0; r < rows; r++)
        {
            var now = Source(model, r);
            if (r + k < rows && SameRow(now, r + k)) moved++;
            if (SameRow(now, r)) kept++;
        }
        if (moved <= kept || moved < (rows - k) / 2) return;
        Bytes(output, "\e["u8);
        Number(output, _top + 1);
        Bytes(output, ";"u8);
        Number(output, _top + rows);
        Bytes(output, "r"u8);
        MoveTo(output, _top + rows - 1, 0);
        for (int i = 0; i < k; i++) Bytes(output, "\n"u8);
        Bytes(output, "\e[r"u8); // DECSTBM homes the cursor: every cell below is written with a position
        Array.Copy(_shadow, k * columns, _shadow, 0, (rows - k) * columns);
        Array.Clear(_shadow, (rows - k) * columns, k * columns);
        Array.Clear(_seenLine); // the rows moved: compared in full by the diff that follows
    }

    private bool SameRow(ReadOnlySpan<Cell> now, int shadowRow)
    {
        var was = _shadow.AsSpan(shadowRow * _columns, _columns);
        if (!MemoryMarshal.AsBytes(now).SequenceEqual(MemoryMarshal.AsBytes(was[..now.Length])) && !now.SequenceEqual(was[..now.Length])) return false;
        foreach (ref readonly var cell in was[now.Length..]) if (cell != default) return false;
        return true;
    }

    private static bool IsBlankRow(ReadOnlySpan<Cell> row)
    {
        foreach (ref readonly var cell in row) if (cell != default) return false;
        return true;
    }

    // Finds each row's changed span; false when nothing changed.
    private bool Diff(ScreenModel model)
    {
        int columns = _columns;
        bool any = false;
        for (int r = 0; r < _rows; r++)
        {
            if (Unchanged(model, r))
            {
                _first[r] = -1;
                continue;
            }
            // Whatever the row's diff finds is painted by this frame: the row then holds this version.
            See(model, r);
            var now = Source(model, r);
            var was = _shadow.AsSpan(r * columns, columns);
            // Bitwise equal cells are equal (the converse may fail on padding: then the cell is only repainted),
            // and comparing bytes is vectorized: an unchanged row costs a memory compare.
            int first = MemoryMarshal.AsBytes(now).CommonPrefixLength(MemoryMarshal.AsBytes(was[..now.Length])) / Unsafe.SizeOf<Cell>();
            while (first < now.Length && now[first] == was[first]) first++;
            if (first == now.Length) while (first < columns && was[first] == default) first++;
            if (first == columns) { _first[r] = -1; continue; }
            int last = columns - 1;
            while (last >= now.Length && was[last] == default) last--;
            if (last < now.Length) while (now[last] == was[last]) last--;
            // A span never starts on the right half of a wide character nor ends on its left half, on
            // either side: writing half of one blanks the other half on the real terminal.
            if (first > 0 && ((At(now, first).Flags | was[first].Flags) & CellFlags.Continuation) != 0) first--;
            if (last < columns - 1 && ((At(now, last).Flags | was[last].Flags) & CellFlags.Wide) != 0) last++;
            _first[r] = first;
            _last[r] = last;
            any = true;
        }
        _seenColumns = model.Columns;
        return any;
    }

    private bool ModesChanged(ScreenModel m) =>
        !_modesKnown || m.ApplicationCursorKeys != _cursorKeys || m.ApplicationKeypad != _keypad || m.BracketedPaste != _paste
        || m.FocusEvents != _focus || m.Mouse != _mouse || m.MouseEncoding != _mouseEncoding || m.ReverseVideo != _reverse;

    // Writes cells [first, last] of window row `row` and records them as painted.
    private void PaintSpan(ScreenModel model, ReadOnlySpan<Cell> source, int row, int first, int last, IBufferWriter<byte> output)
    {
        int columns = _columns;
        var shadow = _shadow.AsSpan(row * columns, columns);
        int c = first;
        while (c <= last)
        {
            var cell = At(source, c);
            if (Erasable(cell))
            {
                // A run of blanks with one background: ECH, or EL when it reaches the end of the row.
                int end = c + 1;
                while (end <= last && At(source, end) == cell) end++;
                Goto(row, c, output);
                SetPen(model, cell.Attr, 0, output);
                if (end == columns) Bytes(output, "\e[K"u8);
                else Csi(output, end - c, (byte)'X');
                c = end;
                continue;
            }
            if ((cell.Flags & CellFlags.Continuation) != 0)
            {
                // The right half of a wide character written just before it: nothing of its own.
                c++;
                continue;
            }
            Goto(row, c, output);
            SetPen(model, cell.Attr, cell.Link, output);
            if (cell.Code is >= 0x20 and < 0x7F && cell.Flags == CellFlags.None)
            {
                // Fast path: a run of printable ASCII with one rendition and link, written as one copy.
                int end = c + 1;
                while (end <= last && end < source.Length && source[end].Code is >= 0x20 and < 0x7F && source[end].Flags == CellFlags.None
                    && source[end].Link == cell.Link && source[end].Attr == cell.Attr) end++;
                var span = output.GetSpan(end - c);
                for (int i = c; i < end; i++) span[i - c] = (byte)source[i].Code;
                output.Advance(end - c);
                c = end;
                _atColumn = c < columns ? c : -1;
                if (_atColumn < 0) _atRow = -1;
                continue;
            }
            int width = (cell.Flags & CellFlags.Wide) != 0 ? 2 : 1;
            if (cell.Code == 0 || (width == 2 && c + 1 >= columns)) Bytes(output, " "u8); // a wide character cut by the window: blank
            else if (cell.Code > 0) CodePoint(output, cell.Code);
            else Utf8(output, model.CellText(cell));
            c += width;
            // At the right margin the terminal's wrap is pending: its cursor is not where the next cell goes.
            _atColumn = c < columns ? c : -1;
            if (_atColumn < 0) _atRow = -1;
        }
        for (int i = first; i <= last; i++) shadow[i] = At(source, i);
    }

    // A cell the terminal produces by erasing with the current background: nothing written, no link.
    private static bool Erasable(in Cell cell) =>
        cell.Code == 0 && cell.Flags == CellFlags.None && cell.Link == 0 && cell.Attr == new SgrState { Background = cell.Attr.Background };

    private void Goto(int row, int column, IBufferWriter<byte> output)
    {
        if (_atRow == row && _atColumn == column) return;
        if (_atRow == row && _atColumn >= 0 && column > _atColumn && column - _atColumn < 100)
        {
            Csi(output, column - _atColumn, (byte)'C'); // CUF: shorter than a CUP
        }
        else MoveTo(output, _top + row, column);
        _atRow = row;
        _atColumn = column;
    }

    private void SetPen(ScreenModel model, in SgrState attr, int link, IBufferWriter<byte> output)
    {
        if (link != _link)
        {
            Link(output, link == 0 ? null : model.LinkTarget(link));
            _link = link;
        }
        if (attr == _pen) return;
        Sgr(output, attr);
        _pen = attr;
    }

    private void Modes(ScreenModel m, IBufferWriter<byte> output)
    {
        bool known = _modesKnown;
        if (!known || m.ApplicationCursorKeys != _cursorKeys) Bytes(output, m.ApplicationCursorKeys ? "\e[?1h"u8 : "\e[?1l"u8);
        if (!known || m.ApplicationKeypad != _keypad) Bytes(output, m.ApplicationKeypad ? "\e="u8 : "\e>"u8);
        if (!known || m.BracketedPaste != _paste) Bytes(output, m.BracketedPaste ? "\e[?2004h"u8 : "\e[?2004l"u8);
        if (!known || m.FocusEvents != _focus) Bytes(output, m.FocusEvents ? "\e[?1004h"u8 : "\e[?1004l"u8);
        // DECSCNM is how the screen looks, not input, but the cells only look right with it (a visual bell flashes it).
        if (!known || m.ReverseVideo != _reverse) Bytes(output, m.ReverseVideo ? "\e[?5h"u8 : "\e[?5l"u8);
        if (!known || m.Mouse != _mouse)
        {
            // Off first (the old mode, or all of them when unknown), then the new one: xterm keeps one
            // tracking mode, but resetting a mode that is not the current one does not turn it off.
            if (!known) Bytes(output, "\e[?1003l\e[?1002l\e[?1000l\e[?9l"u8);
            else if (_mouse != MouseTracking.None) ModeNumber(output, TrackingMode(_mouse), false);
            if (m.Mouse != MouseTracking.None) ModeNumber(output, TrackingMode(m.Mouse), true);
        }
        if (!known || m.MouseEncoding != _mouseEncoding)
        {
            if (!known) Bytes(output, "\e[?1006l\e[?1015l\e[?1005l"u8);
            else if (_mouseEncoding != MouseEncoding.Default) ModeNumber(output, EncodingMode(_mouseEncoding), false);
            if (m.MouseEncoding != MouseEncoding.Default) ModeNumber(output, EncodingMode(m.MouseEncoding), true);
        }
        _cursorKeys = m.ApplicationCursorKeys;
        _keypad = m.ApplicationKeypad;
        _paste = m.BracketedPaste;
        _focus = m.FocusEvents;
        _reverse = m.ReverseVideo;
        _mouse = m.Mouse;
        _mouseEncoding = m.MouseEncoding;
        if (!known)
        {
            // Unknown visibility and style: written below whatever they are.
            _cursorVisible = !m.CursorVisible;
            _cursorStyle = -1;
        }
        _modesKnown = true;
    }

    private static int TrackingMode(MouseTracking t) => t switch
    {
        MouseTracking.X10 => 9,
        MouseTracking.Normal => 1000,
        MouseTracking.ButtonEvent => 1002,
        _ => 1003,
    };

    private static int EncodingMode(MouseEncoding e) => e switch
    {
        MouseEncoding.Utf8 => 1005,
        MouseEncoding.Sgr => 1006,
        _ => 1015,
    };

    private static void ModeNumber(IBufferWriter<byte> output, int mode, bool set)
    {
        Bytes(output, "\e[?"u8);
        Number(output, mode);
        Bytes(output, set ? "h"u8 : "l"u8);
    }

    /// <summary>
    /// Appends <paramref name="model"/>'s scrollback, oldest first, as text with its renditions and hyperlinks, so it
    /// lands in the user's terminal's own scrollback: from the terminal's last row (<paramref name="terminalRows"/>),
    /// each line after a CR LF, then <paramref name="terminalRows"/> more CR LF, which scroll what the terminal showed
    /// and every history line off the screen, leaving it blank for the full paint that follows (this invalidates).
    /// Each line ends with SGR 0 and no link open, so no background bleeds into a scroll; trailing blanks are left out.
    /// Written once when attaching.
    /// </summary>
    public void AppendHistory(ScreenModel model, IBufferWriter<byte> output, int terminalRows)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfLessThan(terminalRows, 1);
        Bytes(output, "\e]8;;\e\\\e[0m"u8);
        MoveTo(output, terminalRows - 1, 0);
        var history = model.History;
        for (int i = 0; i < history.Count; i++)
        {
            Bytes(output, "\r\n"u8);
            var cells = history[i].Cells;
            int end = cells.Length;
            while (end > 0 && cells[end - 1].IsBlank && cells[end - 1].Link == 0 && cells[end - 1].Attr.IsDefault && cells[end - 1].Flags == CellFlags.None) end--;
            SgrState pen = default;
            int link = 0;
            for (int c = 0; c < end; c++)
            {
                ref readonly var cell = ref cells[c];
                if ((cell.Flags & CellFlags.Continuation) != 0) continue;
                if (cell.Link != link)
                {
                    Link(output, cell.Link == 0 ? null : model.LinkTarget(cell.Link));
                    link = cell.Link;
                }
                if (cell.Attr != pen)
                {
                    Sgr(output, cell.Attr);
                    pen = cell.Attr;
                }
                if (cell.Code == 0) Bytes(output, " "u8);
                else if (cell.Code > 0) CodePoint(output, cell.Code);
                else Utf8(output, model.CellText(cell));
            }
            if (link != 0) Link(output, null);
            if (!pen.IsDefault) Bytes(output, "\e[0m"u8);
        }
        for (int i = 0; i < terminalRows; i++) Bytes(output, "\r\n"u8);
        _valid = false;
    }

    /// <summary>
    /// Draws <paramref name="lines"/> in a box (single-line borders, one column of padding) centred on a terminal of
    /// <paramref name="columns"/> × <paramref name="rows"/>, over whatever is painted there (the help of
    /// <c>prefix ?</c>); lines too long are cut, a box too tall loses its last lines. The cells it covers are
    /// repainted by the next <see cref="Paint"/>, so a paint without the box removes it. Leaves SGR 0.
    /// </summary>
    public void AppendOverlay(IBufferWriter<byte> output, IReadOnlyList<string> lines, int columns, int rows)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(lines);
        if (columns < 5 || rows < 3) return;
        int inner = 0;
        foreach (var line in lines) inner = Math.Max(inner, TextWidth.Columns(line));
        inner = Math.Min(inner, columns - 4);
        int shown = Math.Min(lines.Count, rows - 2);
        int width = inner + 4, height = shown + 2;
        int left = (columns - width) / 2, top = (rows - height) / 2;
        Bytes(output, "\e]8;;\e\\\e[0m"u8);
        for (int r = 0; r < height; r++)
        {
            MoveTo(output, top + r, left);
            if (r == 0 || r == height - 1)
            {
                Utf8(output, r == 0 ? "┌" : "└");
                for (int i = 0; i < width - 2; i++) Utf8(output, "─");
                Utf8(output, r == 0 ? "┐" : "┘");
            }
            else
            {
                Utf8(output, "│ ");
                Utf8(output, TextWidth.Fit(Format.Sanitize(lines[r - 1]), inner));
                Utf8(output, " │");
            }
            // The box's cells hold something the model does not know: repainted by the next paint.
            int shadowRow = top + r - _top;
            if (shadowRow < 0 || shadowRow >= _rows) continue;
            var cells = _shadow.AsSpan(shadowRow * _columns, _columns);
            int from = Math.Max(0, left - 1), to = Math.Min(_columns, left + width + 1); // a wide character cut at an edge
            cells[from..to].Fill(Stale);
            _seenLine[shadowRow] = null;
        }
    }
}
