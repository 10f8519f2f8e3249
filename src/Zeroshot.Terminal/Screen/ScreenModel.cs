using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Zeroshot.Terminal.Escapes;

namespace Zeroshot.Terminal.Screen;

/// <summary>Which mouse events a program asked for (xterm ctlseqs "Mouse Tracking").</summary>
internal enum MouseTracking : byte
{
    /// <summary>No reporting.</summary>
    None = 0,
    /// <summary>?9: presses only (X10).</summary>
    X10 = 9,
    /// <summary>?1000: presses and releases.</summary>
    Normal = 10,
    /// <summary>?1002: also motion with a button down.</summary>
    ButtonEvent = 12,
    /// <summary>?1003: all motion.</summary>
    AnyEvent = 13,
}

/// <summary>How mouse reports are encoded.</summary>
internal enum MouseEncoding : byte
{
    /// <summary>The X10 byte encoding.</summary>
    Default,
    /// <summary>?1005: UTF-8 coordinates.</summary>
    Utf8,
    /// <summary>?1006: <c>CSI &lt; b ; x ; y M/m</c>.</summary>
    Sgr,
    /// <summary>?1015: urxvt decimal.</summary>
    Urxvt,
}

/// <summary>
/// The screen of a terminal, rebuilt from the bytes a program writes: the grid of cells with their
/// attributes, the cursor, the modes the program set, the scrollback, the title and hyperlinks. It is
/// what tmux keeps per pane: attach replays it (<see cref="ScreenSerializer"/>), and the queries the
/// program sends (DA1, DA2, DSR, DECRQM) are answered from it into <see cref="Replies"/>, for the
/// caller to write to the program's PTY. It never touches a real terminal.
/// </summary>
/// <remarks>
/// <para>Behaviour follows xterm's ctlseqs and, where they differ, tmux 3.3 (the differential tests
/// compare against a tmux pane): auto-wrap with the pending-wrap state (the cursor stays on the last
/// column until the next printable character), wide characters take two cells and wrap whole,
/// combining marks join the previous cell, erasing uses the current background (bce), lines scrolled
/// off a region that starts at the top row of the main screen go to the scrollback, the alternate
/// screen has none.</para>
/// <para>Resize does not reflow (a documented choice for now; tmux reflows): rows are cut or padded
/// with blanks; when the screen gets shorter, rows above the cursor go to the scrollback first so the
/// cursor stays on its line, as xterm does; when it gets taller, blank rows are added at the bottom.</para>
/// <para>Feeding allocates nothing once the scrollback is full, except for a character with combining
/// marks: its text goes into a table shared by the cells (one entry per distinct cluster, never
/// shrunk). Coordinates are 0-based. Not thread-safe: feed it from one thread.</para>
/// </remarks>
internal sealed partial class ScreenModel
{
    /// <summary>Scrollback kept unless told otherwise.</summary>
    public const int DefaultScrollback = 2000;

    private readonly EscapeParser _parser = new();
    private readonly List<string> _graphemes = [];
    private readonly Dictionary<string, int> _graphemeIds = new(StringComparer.Ordinal);
    private readonly List<string> _links = [];
    private readonly Dictionary<string, int> _linkIds = new(StringComparer.Ordinal);
    private readonly ArrayBufferWriterLite _replies = new();

    private Line[] _main;
    private Line[]? _alternate;
    private Line[] _lines;
    private bool[] _tabs;

    private SavedCursor _saved;
    private SavedCursor _savedMain;   // ?1049's own save, separate from DECSC (xterm)
    private int _lastPrinted = -1;    // for REP; -1: nothing printed since the last control
    private int _lastRow = -1, _lastColumn = -1; // where the last graphic character went (combining marks join it)

    /// <summary>Creates a blank screen of <paramref name="rows"/> × <paramref name="columns"/>.</summary>
    public ScreenModel(int rows, int columns, int scrollback = DefaultScrollback)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        Rows = rows;
        Columns = columns;
        History = new Scrollback(scrollback);
        _main = NewLines(rows, columns);
        _lines = _main;
        _tabs = DefaultTabs(columns);
        ScrollBottom = rows - 1;
    }

    private struct SavedCursor
    {
        public int Row, Column;
        public bool PendingWrap, Origin, Set;
        public SgrState Pen;
        public int Link;
        public Charsets Charsets;
    }

    /// <summary>G0–G3 designations ('B' ASCII, '0' DEC Special Graphics) and the set shifted into GL.</summary>
    internal struct Charsets
    {
        public char G0, G1, G2, G3;
        public byte Gl; // 0: G0 (SI), 1: G1 (SO)

        public readonly char this[int g] => g switch { 0 => G0, 1 => G1, 2 => G2, _ => G3 };

        public readonly bool IsDefault => (G0 is '\0' or 'B') && (G1 is '\0' or 'B') && (G2 is '\0' or 'B') && (G3 is '\0' or 'B') && Gl == 0;

        public readonly bool LineDrawing => (Gl == 0 ? G0 : G1) == '0';
    }

    // ---- state a caller (attach, tests, the serializer) reads ----

    /// <summary>Screen height.</summary>
    public int Rows { get; private set; }
    /// <summary>Screen width.</summary>
    public int Columns { get; private set; }
    /// <summary>Cursor row.</summary>
    public int CursorRow { get; private set; }
    /// <summary>Cursor column.</summary>
    public int CursorColumn { get; private set; }
    /// <summary>The cursor sits on the last column after writing there; the next character wraps first.</summary>
    public bool PendingWrap { get; private set; }
    /// <summary>The rendition new text and erased cells get.</summary>
    public SgrState Pen => _pen;
    private SgrState _pen;
    /// <summary>The hyperlink new text gets (0: none).</summary>
    public int CurrentLink { get; private set; }
    /// <summary>Character set state.</summary>
    public Charsets CharacterSets => _charsets;
    private Charsets _charsets;
    /// <summary>First row of the scroll region (DECSTBM).</summary>
    public int ScrollTop { get; private set; }
    /// <summary>Last row of the scroll region (inclusive).</summary>
    public int ScrollBottom { get; private set; }
    /// <summary>Whether the alternate screen is shown.</summary>
    public bool IsAlternateScreen => _lines != _main;
    /// <summary>The main screen's rows while the alternate screen is shown (else the same as the screen).</summary>
    internal Line[] MainLines => _main;
    /// <summary>Where the cursor returns on leaving the alternate screen (?1049's saved cursor).</summary>
    internal (int Row, int Column) MainCursor => (_savedMain.Row, _savedMain.Column);
    /// <summary>Lines scrolled off the top of the main screen.</summary>
    public Scrollback History { get; }
    /// <summary>The window title (OSC 0/2).</summary>
    public string Title { get; private set; } = "";

    /// <summary>DECAWM (?7).</summary>
    public bool AutoWrap { get; private set; } = true;
    /// <summary>DECOM (?6): cursor addressing relative to the scroll region.</summary>
    public bool OriginMode { get; private set; }
    /// <summary>IRM (SM 4): printing shifts the rest of the line right.</summary>
    public bool InsertMode { get; private set; }
    /// <summary>LNM (SM 20): line feed also returns the carriage.</summary>
    public bool NewLineMode { get; private set; }
    /// <summary>DECCKM (?1): cursor keys send SS3 sequences.</summary>
    public bool ApplicationCursorKeys { get; private set; }
    /// <summary>DECKPAM (<c>ESC =</c>) vs DECKPNM (<c>ESC &gt;</c>).</summary>
    public bool ApplicationKeypad { get; private set; }
    /// <summary>DECTCEM (?25).</summary>
    public bool CursorVisible { get; private set; } = true;
    /// <summary>DECSCUSR (<c>CSI Ps SP q</c>): 0 default, 1–6 block/underline/bar, blinking or steady.</summary>
    public int CursorStyle { get; private set; }
    /// <summary>?12: blinking cursor (att610).</summary>
    public bool CursorBlink { get; private set; }
    /// <summary>?2004.</summary>
    public bool BracketedPaste { get; private set; }
    /// <summary>?1004.</summary>
    public bool FocusEvents { get; private set; }
    /// <summary>?2026: the program is between the begin and end of a synchronized update.</summary>
    public bool SynchronizedOutput { get; private set; }
    /// <summary>Mouse reporting (?9, ?1000, ?1002, ?1003).</summary>
    public MouseTracking Mouse { get; private set; }
    /// <summary>Mouse encoding (?1005, ?1006, ?1015).</summary>
    public MouseEncoding MouseEncoding { get; private set; }
    /// <summary>?5 DECSCNM: reverse video for the whole screen.</summary>
    public bool ReverseVideo { get; private set; }

    /// <summary>Answers to the program's queries, in order, not yet taken (see <see cref="ClearReplies"/>).</summary>
    public ReadOnlySpan<byte> Replies => _replies.WrittenSpan;

    private List<string>? _notifications;

    /// <summary>
    /// The desktop notifications the program sent since the last call (<c>OSC 9 ; text</c>, iTerm2's form, which Codex
    /// writes for approvals and finished turns); a terminal would show them, the model hands them to its owner. Null
    /// when there are none. ConEmu's <c>OSC 9 ; n ; …</c> commands (progress and the like) are not notifications.
    /// </summary>
    public List<string>? TakeNotifications()
    {
        var taken = _notifications;
        _notifications = null;
        return taken;
    }

    /// <summary>Forgets the replies (after writing them to the PTY).</summary>
    public void ClearReplies() => _replies.Clear();

    /// <summary>The screen's rows (the alternate screen's while it is shown).</summary>
    internal Line[] ScreenLines => _lines;

    /// <summary>The cell at <paramref name="row"/>, <paramref name="column"/> of the screen.</summary>
    public Cell CellAt(int row, int column) => _lines[row].RawCells[column];

    /// <summary>Whether a tab stop is set at <paramref name="column"/>.</summary>
    public bool IsTabStop(int column) => _tabs[column];

    /// <summary>The text a cell shows (empty for a continuation, a space for a blank).</summary>
    public string CellText(in Cell cell)
    {
        if ((cell.Flags & CellFlags.Continuation) != 0) return "";
        if (cell.Code == 0) return " ";
        return cell.Code < 0 ? _graphemes[-cell.Code - 1] : char.ConvertFromUtf32(cell.Code);
    }

    /// <summary>Appends a cell's text to <paramref name="sb"/> (nothing for a continuation).</summary>
    public void AppendCellText(StringBuilder sb, in Cell cell)
    {
        if ((cell.Flags & CellFlags.Continuation) != 0) return;
        if (cell.Code == 0) sb.Append(' ');
        else if (cell.Code < 0) sb.Append(_graphemes[-cell.Code - 1]);
        else if (cell.Code < 0x10000) sb.Append((char)cell.Code);
        else sb.Append(char.ConvertFromUtf32(cell.Code));
    }

    /// <summary>The target of hyperlink <paramref name="id"/>, as "params;uri" (OSC 8's two fields).</summary>
    public string LinkTarget(int id) => _links[id - 1];

    /// <summary>Text of a row, trailing blanks trimmed.</summary>
    public string LineText(Line line)
    {
        var sb = new StringBuilder(line.RawCells.Length);
        foreach (ref readonly var cell in line.RawCells.AsSpan()) AppendCellText(sb, cell);
        return sb.ToString().TrimEnd(' ');
    }

    /// <summary>Text of screen row <paramref name="row"/>, trailing blanks trimmed.</summary>
    public string RowText(int row) => LineText(_lines[row]);

    /// <summary>Every screen row's text.</summary>
    public string[] Text()
    {
        var rows = new string[Rows];
        for (int r = 0; r < Rows; r++) rows[r] = RowText(r);
        return rows;
    }

    // ---- input ----

    /// <summary>Feeds bytes the program wrote (UTF-8, split anywhere).</summary>
    public void Feed(ReadOnlySpan<byte> bytes)
    {
        var handler = new Handler(this);
        while (!bytes.IsEmpty)
        {
            // Fast path: a run of printable ASCII while the parser is between sequences and
            // characters is exactly a series of Print actions (vt100.net: ground state, 0x20–0x7E),
            // so it is written straight into the row.
            if (_parser.IsGround)
            {
                int run = _parser.PrintableRun(bytes);
                if (run > 0)
                {
                    PrintAscii(bytes[..run]);
                    bytes = bytes[run..];
                    continue;
                }
                // A C0 control other than ESC in ground is exactly an Execute action (vt100.net:
                // "execute" from ground for 0x00–0x17, 0x19, 0x1C–0x1F; CAN and SUB likewise).
                byte first = bytes[0];
                if (first < 0x20 && first != 0x1B)
                {
                    Execute(first);
                    bytes = bytes[1..];
                    continue;
                }
                // Well-formed two- and three-byte UTF-8 text (box drawing, CJK, symbols) decoded here.
                int utf8 = TryUtf8Text(bytes);
                if (utf8 > 0)
                {
                    bytes = bytes[utf8..];
                    continue;
                }
                // The commonest control sequences (SGR, cursor moves, erases) read here too.
                int csi = TryPlainCsi(bytes);
                if (csi > 0)
                {
                    bytes = bytes[csi..];
                    continue;
                }
            }
            // Everything else goes through the parser, in pieces that end where it may be in ground again.
            int end = EscapeParser.NextPiece(bytes);
            _parser.Feed(bytes[..end], ref handler);
            bytes = bytes[end..];
        }
    }

    // A run of complete, well-formed 2- and 3-byte UTF-8 characters from U+00A0 up (Unicode Table 3-7;
    // no C1 controls, no surrogates), printed as the parser would; the bytes used, 0 for anything else.
    private int TryUtf8Text(ReadOnlySpan<byte> bytes)
    {
        int i = 0;
        while (i < bytes.Length)
        {
            byte b = bytes[i];
            int code;
            if (b is >= 0xC2 and <= 0xDF)
            {
                if (i + 1 >= bytes.Length || (bytes[i + 1] & 0xC0) != 0x80) break;
                code = ((b & 0x1F) << 6) | (bytes[i + 1] & 0x3F);
                if (code < 0xA0) break; // a C1 control: the parser's business
                i += 2;
            }
            else if (b is >= 0xE0 and <= 0xEF)
            {
                if (i + 2 >= bytes.Length) break;
                byte b1 = bytes[i + 1], b2 = bytes[i + 2];
                byte lower = b == 0xE0 ? (byte)0xA0 : (byte)0x80, upper = b == 0xED ? (byte)0x9F : (byte)0xBF;
                if (b1 < lower || b1 > upper || (b2 & 0xC0) != 0x80) break;
                code = ((b & 0x0F) << 12) | ((b1 & 0x3F) << 6) | (b2 & 0x3F);
                i += 3;
            }
            else break;
            Print(code);
        }
        return i;
    }

    // A complete "ESC [ Ps ; … final" with decimal parameters only (no private marker, sub-parameters
    // or intermediates), dispatched as the parser would (empty parameters are 0, values saturate at
    // 65535, at most 32); 0 when the bytes are anything else or incomplete, and the parser takes them.
    [SkipLocalsInit] // the parameter buffer is read only up to what was written
    private int TryPlainCsi(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 3 || bytes[0] != 0x1B || bytes[1] != (byte)'[') return 0;
        Span<int> parameters = stackalloc int[EscapeParser.MaxParameters];
        int count = 0, value = 0;
        bool any = false;
        for (int i = 2; i < bytes.Length && i < 64; i++)
        {
            byte b = bytes[i];
            if (b is >= (byte)'0' and <= (byte)'9')
            {
                value = Math.Min(value * 10 + (b - '0'), 65535);
                any = true;
            }
            else if (b == ';')
            {
                if (count == parameters.Length) return 0;
                parameters[count++] = value;
                value = 0;
                any = true;
            }
            else if (b is >= 0x40 and <= 0x7E)
            {
                if (any)
                {
                    if (count == parameters.Length) return 0;
                    parameters[count++] = value;
                }
                Csi(new CsiSequence(parameters[..count], 0, '\0', default, (char)b));
                return i + 1;
            }
            else return 0;
        }
        return 0;
    }

    // Printable ASCII in ground state: what Print does for each byte, one row segment at a time.
    private void PrintAscii(ReadOnlySpan<byte> text)
    {
        if (InsertMode || _charsets.LineDrawing)
        {
            foreach (byte b in text) Print(b);
            return;
        }
        int cols = Columns;
        while (!text.IsEmpty)
        {
            if (PendingWrap)
            {
                if (!AutoWrap) return; // dropped, as in PrintWidth
                Wrap();
            }
            var line = _lines[CursorRow];
            var cells = line.RawCells;
            int col = CursorColumn;
            int take = Math.Min(cols - col, text.Length);
            line.MarkDirty(col + take);
            // Every cell of [col, col + take) is overwritten whole, so of the wide characters under it
            // only a half sticking out at either end needs blanking (what ClearCell would do per cell:
            // a continuation at col loses its left half, a wide cell at the end its right half).
            if ((cells[col].Flags & CellFlags.Continuation) != 0 && col > 0) cells[col - 1] = default;
            int last = col + take - 1;
            if ((cells[last].Flags & CellFlags.Wide) != 0 && last + 1 < cells.Length) cells[last + 1] = default;
            // One whole-cell store per byte from a template (pen, link, no flags): the loop is then
            // free of bounds checks and of the per-cell flag test (this loop is most of the model's
            // time on log output).
            var template = new Cell { Attr = _pen, Link = CurrentLink };
            ref Cell dst = ref MemoryMarshal.GetReference(cells.AsSpan(col, take)); // checked once here
            ref byte src = ref MemoryMarshal.GetReference(text);
            for (int i = 0; i < take; i++)
            {
                template.Code = Unsafe.Add(ref src, i);
                Unsafe.Add(ref dst, i) = template;
            }
            _lastRow = CursorRow;
            _lastColumn = col + take - 1;
            _lastPrinted = text[take - 1];
            text = text[take..];
            if (col + take < cols)
            {
                CursorColumn = col + take;
                continue;
            }
            CursorColumn = cols - 1;
            PendingWrap = AutoWrap;
            if (!AutoWrap && !text.IsEmpty)
            {
                // Without auto-wrap the rest overwrites the last column in turn: the last one stays.
                cells[cols - 1].Code = text[^1];
                _lastPrinted = text[^1];
                return;
            }
        }
    }

    /// <summary>Feeds text (split anywhere).</summary>
    public void Feed(ReadOnlySpan<char> text)
    {
        var handler = new Handler(this);
        _parser.Feed(text, ref handler);
    }

    /// <summary>Feeds text.</summary>
    public void Feed(string text) => Feed(text.AsSpan());

    private readonly struct Handler(ScreenModel model) : IEscapeHandler
    {
        public void Print(Rune rune) => model.Print(rune.Value);
        public void Execute(int control) => model.Execute(control);
        public void EscDispatch(ReadOnlySpan<byte> intermediates, char final) => model.Esc(intermediates, final);
        public void CsiDispatch(CsiSequence csi) => model.Csi(csi);
        public void DcsHook(CsiSequence header) { }   // DECRQSS, sixel, tmux passthrough: not modelled
        public void DcsPut(int codePoint) { }
        public void DcsUnhook() { }
        public void OscDispatch(ReadOnlySpan<char> data, bool truncated) => model.Osc(data, truncated);
    }

    // ---- printing ----

    private void Print(int code)
    {
        if (code < 0x7F)
        {
            if (_charsets.LineDrawing) code = DecSpecialGraphics.Translate(code);
            PrintWidth(code, 1);
            return;
        }
        int width = TextWidth.RuneWidth(new Rune(code));
        if (width == 0) { Combine(code); return; }
        PrintWidth(code, width);
    }

    private void PrintWidth(int code, int width)
    {
        int cols = Columns;
        // Insert mode makes room before the wrap checks, so a character that wraps overwrites the
        // start of the next row instead of inserting there (tmux screen_write_cell).
        if (InsertMode && !PendingWrap) ShiftRight(_lines[CursorRow].Cells, CursorColumn, width);
        if (PendingWrap)
        {
            // DECAWM reset while a wrap was pending: the character is dropped (tmux: the cursor is
            // past the edge; xterm would overwrite the last column).
            if (!AutoWrap) return;
            Wrap();
        }
        if (width == 2 && CursorColumn == cols - 1)
        {
            // A wide character never straddles the margin: it goes whole to the next row, the last
            // column keeping what it had; without auto-wrap it is dropped (tmux screen_write_cell).
            if (!AutoWrap || cols < 2) return;
            Wrap();
        }
        var row = _lines[CursorRow];
        var cells = row.RawCells;
        int col = CursorColumn;
        row.MarkDirty(col + width);
        if (width == 1 && cells[col].Flags == CellFlags.None)
        {
            // Fast path: an ordinary cell over an ordinary cell.
            ref var c = ref cells[col];
            c.Code = code;
            c.Attr = _pen;
            c.Link = CurrentLink;
        }
        else
        {
            ClearCell(cells, col);
            if (width == 2) ClearCell(cells, col + 1);
            cells[col] = new Cell { Code = code, Attr = _pen, Link = CurrentLink, Flags = width == 2 ? CellFlags.Wide : CellFlags.None };
            if (width == 2) cells[col + 1] = new Cell { Attr = _pen, Link = CurrentLink, Flags = CellFlags.Continuation };
        }
        _lastRow = CursorRow;
        _lastColumn = col;
        _lastPrinted = code;
        int next = col + width;
        if (next >= cols)
        {
            // The cursor stays on the last column, with the wrap pending under DECAWM (tmux keeps its
            // cursor one past the edge); without, the next character overwrites the last column.
            CursorColumn = cols - 1;
            PendingWrap = AutoWrap;
        }
        else CursorColumn = next;
    }

    // A zero-width character (combining mark, ZWJ, variation selector) joins the cell written last,
    // if the cursor has not moved away from it (tmux: the previous cell on the cursor's row).
    private void Combine(int code)
    {
        int col = PendingWrap ? CursorColumn : CursorColumn - 1;
        if (col < 0 || _lastRow != CursorRow) return;
        ref var cell = ref _lines[CursorRow].Cells[col];
        if ((cell.Flags & CellFlags.Continuation) != 0 && col > 0) cell = ref _lines[CursorRow].Cells[col - 1];
        if (cell.Code == 0) return;
        string text = string.Concat(CellText(cell), char.ConvertFromUtf32(code));
        if (!_graphemeIds.TryGetValue(text, out int id))
        {
            _graphemes.Add(text);
            id = _graphemes.Count;
            _graphemeIds[text] = id;
        }
        cell.Code = -id;
    }

    private Cell Blank => _pen.Background == default ? default : new Cell { Attr = new SgrState { Background = _pen.Background } };

    // Overwriting either half of a wide character blanks the other half (xterm, tmux).
    private void ClearCell(Cell[] cells, int col)
    {
        var flags = cells[col].Flags;
        if ((flags & CellFlags.Continuation) != 0 && col > 0) cells[col - 1] = default;
        if ((flags & CellFlags.Wide) != 0 && col + 1 < cells.Length) cells[col + 1] = default;
        cells[col] = default;
    }

    private void ShiftRight(Cell[] cells, int col, int n)
    {
        int cols = cells.Length;
        n = Math.Min(n, cols - col);
        FixWideAt(cells, col);
        Array.Copy(cells, col, cells, col + n, cols - col - n);
        var blank = Blank;
        for (int i = col; i < col + n; i++) cells[i] = blank;
        // A wide character pushed half off the right edge disappears.
        if ((cells[cols - 1].Flags & CellFlags.Wide) != 0) cells[cols - 1] = blank;
    }

    // Before cells move or are erased from col on, a wide character split at col loses both halves.
    private static void FixWideAt(Cell[] cells, int col)
    {
        if (col > 0 && col < cells.Length && (cells[col].Flags & CellFlags.Continuation) != 0)
        {
            cells[col - 1] = default;
            cells[col] = default;
        }
    }

    // ---- controls ----

    private void Execute(int c)
    {
        switch (c)
        {
            case '\r': CursorColumn = 0; PendingWrap = false; break;
            case '\n' or '\v' or '\f':
                if (NewLineMode) CursorColumn = 0;
                Index();
                break;
            case '\b':
                // BS from the pending-wrap position goes back from the last column (xterm, tmux).
                // From column 0 tmux goes back onto the previous row's last column when that row
                // wrapped into this one (screen_write_backspace, whatever the scroll region).
                if (PendingWrap) PendingWrap = false;
                else if (CursorColumn > 0) CursorColumn--;
                else if (CursorRow > 0 && _lines[CursorRow - 1].Wrapped) { CursorRow--; CursorColumn = Columns - 1; }
                break;
            case '\t': TabForward(1); break;
            case 0x0E: _charsets.Gl = 1; break;              // SO: G1 into GL
            case 0x0F: _charsets.Gl = 0; break;              // SI: G0 into GL
            case 0x84: Index(); break;                        // IND
            case 0x85: CursorColumn = 0; Index(); break;      // NEL
            case 0x88: _tabs[CursorColumn] = true; break;     // HTS
            case 0x8D: ReverseIndex(); break;                 // RI
        }
    }

    /// <summary>IND / LF: down one row, scrolling the region at its bottom margin.</summary>
    private void Index()
    {
        PendingWrap = false;
        if (CursorRow == ScrollBottom) ScrollUp(ScrollTop, ScrollBottom, 1);
        else if (CursorRow < Rows - 1) CursorRow++;
    }

    /// <summary>Auto-wrap: the row is marked wrapped and the cursor goes to the start of the next,
    /// scrolling the region at its bottom margin; the row scrolled in is blank with the default
    /// background, not the pen's (tmux screen_write_cell: <c>screen_write_linefeed(ctx, 1, 8)</c>).</summary>
    private void Wrap()
    {
        _lines[CursorRow].Wrapped = true;
        CursorColumn = 0;
        PendingWrap = false;
        if (CursorRow == ScrollBottom) ScrollUp(ScrollTop, ScrollBottom, 1, default);
        else if (CursorRow < Rows - 1) CursorRow++;
    }

    private void ReverseIndex()
    {
        PendingWrap = false;
        if (CursorRow == ScrollTop) ScrollDown(ScrollTop, ScrollBottom, 1);
        else if (CursorRow > 0) CursorRow--;
    }

    // HT and CHT stop at the last column; from the pending-wrap position they do nothing (tmux).
    private void TabForward(int n)
    {
        if (PendingWrap) return;
        int col = CursorColumn;
        while (n-- > 0 && col < Columns - 1)
        {
            col++;
            while (col < Columns - 1 && !_tabs[col]) col++;
        }
        CursorColumn = col;
    }

    private void TabBackward(int n)
    {
        PendingWrap = false;
        int col = CursorColumn;
        while (n-- > 0 && col > 0)
        {
            col--;
            while (col > 0 && !_tabs[col]) col--;
        }
        CursorColumn = col;
    }

    // ---- scrolling ----

    private void ScrollUp(int top, int bottom, int n) => ScrollUp(top, bottom, n, Blank);

    private void ScrollUp(int top, int bottom, int n, Cell blank)
    {
        n = Math.Min(n, bottom - top + 1);
        var lines = _lines;
        bool history = top == 0 && _lines == _main && History.Capacity > 0;
        for (int i = 0; i < n; i++)
        {
            var gone = lines[top];
            Array.Copy(lines, top + 1, lines, top, bottom - top);
            if (history) PushHistory(gone); // gone stays the screen's: it becomes the new bottom row
            if (gone.RawCells.Length != Columns) gone.Cells = new Cell[Columns];
            gone.Clear(blank);
            lines[bottom] = gone;
        }
        if (_lastRow >= top && _lastRow <= bottom) _lastRow = -1;
    }

    // The scrollback keeps a compact copy of a row scrolled off (its written length only; a wrapped row
    // whole, as the serializer writes it in full): the client's replay of 2 000 lines allocated a full-width
    // row for each (7.7 MB at 200 columns), and the supervisor kept ~28 B per cell of every agent's history.
    // When the scrollback is full, the oldest row's array takes the copy, so the ring stays allocation-free.
    private void PushHistory(Line row)
    {
        int used = row.Wrapped ? row.RawCells.Length : row.UsedLength();
        var oldest = History.NextEvicted;
        if (oldest is null)
        {
            History.Push(Line.CompactCopy(row, used));
            return;
        }
        oldest.CopyFrom(row, used);
        History.Push(oldest); // the oldest slot, now holding the newest line
    }

    private void ScrollDown(int top, int bottom, int n)
    {
        n = Math.Min(n, bottom - top + 1);
        var lines = _lines;
        var blank = Blank;
        for (int i = 0; i < n; i++)
        {
            var gone = lines[bottom];
            Array.Copy(lines, top, lines, top + 1, bottom - top);
            gone.Clear(blank);
            lines[top] = gone;
        }
        if (_lastRow >= top && _lastRow <= bottom) _lastRow = -1;
    }

    // ---- escape sequences ----

    private void Esc(ReadOnlySpan<byte> intermediates, char final)
    {
        if (intermediates.Length == 1)
        {
            switch (intermediates[0])
            {
                // SCS: ESC ( F designates G0, ) G1, * G2, + G3 (ECMA-35; only '0' and 'B' matter here,
                // other national sets are shown as ASCII, as tmux does).
                case (byte)'(': _charsets.G0 = final; break;
                case (byte)')': _charsets.G1 = final; break;
                case (byte)'*': _charsets.G2 = final; break;
                case (byte)'+': _charsets.G3 = final; break;
                case (byte)'#' when final == '8': AlignmentTest(); break;
            }
            return;
        }
        if (!intermediates.IsEmpty) return;
        switch (final)
        {
            case '7': SaveCursor(ref _saved); break;
            case '8': RestoreCursor(ref _saved); break;
            case 'D': Index(); break;
            case 'E': CursorColumn = 0; Index(); break;
            case 'H': _tabs[CursorColumn] = true; break;
            case 'M': ReverseIndex(); break;
            case 'c': FullReset(); break;
            case '=': ApplicationKeypad = true; break;
            case '>': ApplicationKeypad = false; break;
        }
    }

    // DECALN: the screen filled with 'E', margins reset, cursor home (VT510 manual).
    private void AlignmentTest()
    {
        foreach (var line in _lines)
        {
            Array.Fill(line.Cells, new Cell { Code = 'E' });
            line.Wrapped = false;
        }
        ScrollTop = 0;
        ScrollBottom = Rows - 1;
        CursorRow = CursorColumn = 0;
        PendingWrap = false;
    }

    private void SaveCursor(ref SavedCursor s) => s = new SavedCursor
    {
        Row = CursorRow, Column = CursorColumn, PendingWrap = PendingWrap, Origin = OriginMode,
        Pen = _pen, Link = CurrentLink, Charsets = _charsets, Set = true,
    };

    // DECRC without a DECSC: home, default rendition (xterm).
    private void RestoreCursor(ref SavedCursor s)
    {
        CursorRow = Math.Min(s.Row, Rows - 1);
        CursorColumn = Math.Min(s.Column, Columns - 1);
        PendingWrap = s.PendingWrap;
        OriginMode = s.Origin;
        _pen = s.Pen;
        CurrentLink = s.Link;
        _charsets = s.Set ? s.Charsets : default;
    }

    // ---- OSC ----

    private void Osc(ReadOnlySpan<char> data, bool truncated)
    {
        int semi = data.IndexOf(';');
        if (semi < 0) return;
        var command = data[..semi];
        var rest = data[(semi + 1)..];
        if (command is "0" or "2")
        {
            if (!truncated) Title = rest.ToString();
        }
        else if (command is "9")
        {
            bool conEmu = rest.Length >= 2 && char.IsAsciiDigit(rest[0]) && (rest[1] == ';' || rest.Length == 1);
            if (!truncated && !conEmu && rest.Length > 0 && (_notifications?.Count ?? 0) < 16) (_notifications ??= []).Add(rest.ToString());
        }
        else if (command is "8")
        {
            // OSC 8 ; params ; URI — an empty URI ends the link (egmontkob's hyperlink spec).
            int split = rest.IndexOf(';');
            if (split < 0 || truncated) return;
            if (split == rest.Length - 1) { CurrentLink = 0; return; }
            string key = rest.ToString();
            if (!_linkIds.TryGetValue(key, out int id))
            {
                _links.Add(key);
                id = _links.Count;
                _linkIds[key] = id;
            }
            CurrentLink = id;
        }
    }

    // ---- reset and resize ----

    // RIS (ESC c): power-on state; the scrollback survives (xterm, tmux).
    private void FullReset()
    {
        _lines = _main;
        _alternate = null;
        _pen = default;
        CurrentLink = 0;
        foreach (var line in _main) line.Clear(default);
        SoftReset();
        CursorRow = CursorColumn = 0;
        PendingWrap = false;
        _tabs = DefaultTabs(Columns);
        Title = "";
        ApplicationKeypad = false;
        CursorStyle = 0;
        CursorBlink = false;
        BracketedPaste = FocusEvents = SynchronizedOutput = ReverseVideo = NewLineMode = false;
        Mouse = MouseTracking.None;
        MouseEncoding = MouseEncoding.Default;
        _savedMain = default;
        _lastRow = -1;
    }

    // DECSTR (CSI ! p): VT510 manual table "Soft Terminal Reset"; the cursor itself does not move.
    private void SoftReset()
    {
        CursorVisible = true;
        AutoWrap = true;
        OriginMode = false;
        InsertMode = false;
        ApplicationCursorKeys = false;
        ScrollTop = 0;
        ScrollBottom = Rows - 1;
        _pen = default;
        _charsets = default;
        _saved = default;
    }

    /// <summary>Resizes without reflow (see the remarks on the class). The scroll region becomes the
    /// full screen, tab stops are kept and extended with the default every-8 stops.</summary>
    public void Resize(int rows, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        bool alternate = IsAlternateScreen;
        int mainCursor = alternate ? _savedMain.Row : CursorRow;
        _main = ResizeLines(_main, rows, columns, ref mainCursor, history: true);
        if (alternate)
        {
            _savedMain.Row = mainCursor;
            int altCursor = CursorRow;
            _alternate = ResizeLines(_alternate!, rows, columns, ref altCursor, history: false);
            _lines = _alternate;
            CursorRow = altCursor;
        }
        else
        {
            _lines = _main;
            CursorRow = mainCursor;
        }
        var tabs = DefaultTabs(columns);
        Array.Copy(_tabs, tabs, Math.Min(_tabs.Length, columns));
        _tabs = tabs;
        Rows = rows;
        Columns = columns;
        ScrollTop = 0;
        ScrollBottom = rows - 1;
        CursorRow = Math.Min(CursorRow, rows - 1);
        CursorColumn = Math.Min(CursorColumn, columns - 1);
        _saved.Row = Math.Min(_saved.Row, rows - 1);
        _saved.Column = Math.Min(_saved.Column, columns - 1);
        _savedMain.Column = Math.Min(_savedMain.Column, columns - 1);
        PendingWrap = false;
        _lastRow = -1;
    }

    private Line[] ResizeLines(Line[] old, int rows, int columns, ref int cursor, bool history)
    {
        var list = new List<Line>(old);
        while (list.Count > rows && cursor >= rows)
        {
            var top = list[0];
            list.RemoveAt(0);
            if (history && History.Capacity > 0) History.Push(top);
            cursor--;
        }
        if (list.Count > rows) list.RemoveRange(rows, list.Count - rows);
        while (list.Count < rows) list.Add(new Line(columns));
        foreach (var line in list)
        {
            line.Resize(columns);
            if (line.Cells.Length != columns) continue;
            if (columns < old[0].Cells.Length) line.Wrapped = false;
        }
        return [.. list];
    }

    private static Line[] NewLines(int rows, int columns)
    {
        var lines = new Line[rows];
        for (int r = 0; r < rows; r++) lines[r] = new Line(columns);
        return lines;
    }

    private static bool[] DefaultTabs(int columns)
    {
        var tabs = new bool[columns];
        for (int c = 8; c < columns; c += 8) tabs[c] = true;
        return tabs;
    }

    /// <summary>A growable byte buffer (ArrayBufferWriter without the interface dispatch).</summary>
    private sealed class ArrayBufferWriterLite
    {
        private byte[] _buffer = new byte[64];
        private int _count;

        public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _count);

        public void Clear() => _count = 0;

        public void Write(ReadOnlySpan<byte> bytes)
        {
            if (_count + bytes.Length > _buffer.Length) Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _count + bytes.Length));
            bytes.CopyTo(_buffer.AsSpan(_count));
            _count += bytes.Length;
        }

        public void WriteAscii(string text)
        {
            Span<byte> tmp = stackalloc byte[text.Length];
            for (int i = 0; i < text.Length; i++) tmp[i] = (byte)text[i];
            Write(tmp);
        }
    }
}
