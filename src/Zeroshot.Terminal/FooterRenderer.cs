using System.Text;
using Zeroshot.Terminal.Escapes;

namespace Zeroshot.Terminal;

/// <summary>
/// Keeps the footer pinned to the bottom rows of a real terminal while agent output scrolls above it.
/// The output area is the scroll region (DECSTBM) rows 1..(height − footer height): it starts at row 1 so
/// lines scrolled off its top still reach the terminal's scrollback (xterm and tmux only save lines
/// scrolled off a region whose top margin is the first row). Every frame is one write, wrapped in
/// synchronized output; autowrap is off while footer lines are written so a width disagreement can never
/// scroll the screen.
/// </summary>
/// <remarks>
/// <para>All output to the terminal goes through <see cref="WriteOutput"/>, which applies the
/// <see cref="DisplayPolicy"/> to it (text, SGR, CR, LF and TAB pass; LF is written as CR LF and TAB as
/// spaces so the tty's ONLCR setting and the terminal's tab stops do not matter) and models the output
/// area: cursor row and column, the pending-wrap flag (the "last column" rule) and the SGR attributes.
/// Nothing that moves the cursor, saves it, sets margins or resets the terminal can reach the terminal
/// through it, so that model is exact, and frames never borrow the terminal's single saved-cursor slot:
/// after drawing, the cursor goes back with CUP and the attributes with SGR. (The old DECSC/DECRC framing
/// broke when an agent's own <c>ESC 7 … ESC 8</c> — Claude Code's exit — straddled a refresh.) For the
/// same reason there is nothing left to repair after agent output: the reset detection is gone.</para>
/// <para>The cursor's row is not known when the footer first appears (nor after a resize, which
/// terminals answer by moving, cutting or reflowing rows and resetting the margins), and the terminal
/// cannot be asked without reading its input. The renderer then anchors it: IND as many times as the
/// footer has rows (from wherever the cursor is, so the rows the footer takes are scrolled into the
/// scrollback if the cursor was among them), and the output continues on the last row of the output
/// area. On a screen that was full (the usual case) that is exactly where it was; on a fresh screen the
/// output starts at the bottom of the output area, below blank rows. Nothing is overwritten and the
/// scrollback holds every line in order. A frame is deferred while the cursor is in the pending-wrap
/// state (CUP would cancel it) or the output ends inside a sequence or character; it is drawn right
/// after the next output that ends on a boundary.</para>
/// <para>Widths come from <see cref="TextWidth"/>; a terminal that disagrees about a character's width
/// (rare emoji sequences) puts the cursor elsewhere until the next line feed at the bottom margin.
/// Each frame ends with DECAWM on (<c>CSI ? 7 h</c>), the power-on default. Thread-safe: every public
/// member takes one lock.</para>
/// </remarks>
internal sealed class FooterRenderer
{
    private readonly Stream _out;
    private readonly AnsiWriter _w;
    private readonly EscapeParser _parser = new();
    private readonly Lock _lock = new();
    private int _width;
    private int _height;
    private int _reserved;          // rows at the bottom currently kept out of the output area
    private bool _regionValid;      // the terminal's DECSTBM matches _reserved
    private FooterLine?[] _drawn = [];
    private FooterFrame? _last;
    private bool _pending;          // a frame waits for the output to reach a boundary
    private bool _tornDown;

    // The output area's cursor (row 1-based, column 0-based) and rendition, as the terminal has them.
    private bool _known;            // _row is known (anchored); the column is always tracked
    private int _row = 1;
    private int _col;
    private bool _pendingWrap;
    private SgrState _sgr;

    /// <summary>Creates a renderer for a terminal of the given size; nothing is written until <see cref="Draw"/>.</summary>
    public FooterRenderer(Stream output, TerminalCapabilities capabilities, int width, int height)
    {
        _out = output;
        _w = new AnsiWriter(capabilities);
        _width = width;
        _height = height;
    }

    /// <summary>Rows the footer currently reserves at the bottom.</summary>
    public int FooterHeight { get { lock (_lock) return _reserved; } }

    /// <summary>Rows available to the output (what the agents' PTYs should be told).</summary>
    public int OutputRows { get { lock (_lock) return _height - _reserved; } }

    /// <summary>Bytes of escape sequences and footer text written so far (benchmarks, tests).</summary>
    public long FooterBytesWritten { get; private set; }

    /// <summary>Shows <paramref name="frame"/>, writing only the lines that changed. A frame rendered for
    /// another width than the current one is ignored (a resize raced it; the next one will fit).</summary>
    public void Draw(FooterFrame frame)
    {
        lock (_lock)
        {
            if (_tornDown || frame.Width != _width || frame.Height > _height) return;
            _last = frame;
            if (!AtBoundary) { _pending = true; return; }
            DrawCore(frame);
            FooterBytesWritten += _w.Flush(_out);
        }
    }

    // Where a frame may be injected: between characters and sequences, and not in the pending-wrap state.
    private bool AtBoundary => _parser.IsGround && !_pendingWrap;

    private int Bottom => _height - _reserved; // last row of the output area

    private void DrawCore(FooterFrame frame)
    {
        _pending = false;
        int h = frame.Height;
        bool establish = h != _reserved || !_regionValid || !_known;
        bool changed = establish;
        for (int i = 0; !changed && i < h; i++) changed = !frame.Lines[i].Equals(_drawn[i]);
        if (!changed) return; // unchanged frame: not a single byte

        _w.BeginSync();
        if (establish) Establish(h);
        _w.AutoWrap(false);
        int top = _height - h + 1;
        for (int i = 0; i < h; i++)
        {
            var line = frame.Lines[i];
            if (line.Equals(_drawn[i])) continue;
            _w.MoveTo(top + i, 1).ResetStyle().EraseLine();
            foreach (var seg in line.Segments) _w.Style(seg.Style).Text(seg.Text);
            _drawn[i] = line;
        }
        _w.ResetStyle().AutoWrap(true);
        ReturnToOutput();
        _w.EndSync();
    }

    // The cursor and attributes back where the output left them (CUP cannot express pending wrap, which
    // is why frames wait until it is off).
    private void ReturnToOutput()
    {
        _w.MoveTo(_row, Math.Min(_col, _width - 1) + 1);
        if (!_sgr.IsDefault) _w.Sgr(_sgr);
    }

    // Makes the output area rows 1..(height − rows). With the cursor's row unknown, it is anchored first:
    // IND (ESC D; unlike LF not translated by the tty's ONLCR) `rows` times from wherever it is scrolls the
    // screen just enough that the cursor's row is above the footer rows if it was among them, and the
    // output then continues on the last row of the output area. When the footer grows over the cursor's
    // row, the output is scrolled up inside the current region (IND at its bottom margin) so the lines that
    // would end up under the footer go to the scrollback instead of being overwritten. DECSTBM homes the
    // cursor; ReturnToOutput puts it back.
    private void Establish(int rows)
    {
        int old = _regionValid ? _reserved : 0;
        if (!_known)
        {
            for (int i = 0; i < rows; i++) _w.Index();
            _row = _height - rows;
            _known = true;
            old = 0;
        }
        else if (rows > old && _row > _height - rows)
        {
            int k = _row - (_height - rows);
            _w.MoveTo(_height - old, 1);
            for (int i = 0; i < k; i++) _w.Index();
            _row -= k;
        }
        if (rows == 0) _w.ResetScrollRegion();
        else _w.SetScrollRegion(1, _height - rows);
        // Rows that leave the footer become output area: blank them (with default attributes: erasing
        // paints the current background).
        _w.ResetStyle();
        for (int r = _height - _reserved + 1; r <= _height - rows; r++) _w.MoveTo(r, 1).EraseLine();
        _reserved = rows;
        _regionValid = true;
        _drawn = new FooterLine?[rows];
    }

    /// <summary>Forgets what is on the footer rows so the next <see cref="Draw"/> rewrites them all.</summary>
    public void Invalidate()
    {
        lock (_lock) Array.Clear(_drawn);
    }

    /// <summary>
    /// Rings the person's terminal: <paramref name="sequence"/> is a BEL or an OSC 9/777 notification
    /// (<see cref="TerminalNotification.Encode"/>), which prints nothing and moves no cursor; written between frames and
    /// output writes, never inside one, and not after teardown.
    /// </summary>
    public void Notify(ReadOnlySpan<byte> sequence)
    {
        lock (_lock)
        {
            if (_tornDown || sequence.IsEmpty) return;
            _out.Write(sequence);
            _out.Flush();
        }
    }

    /// <summary>Writes output (UTF-8, split anywhere) to the output area under the
    /// <see cref="DisplayPolicy"/>: text, SGR, CR, LF (as CR LF) and TAB (as spaces) reach the terminal,
    /// everything else is dropped. A frame that waited for a boundary is drawn right after.</summary>
    public void WriteOutput(ReadOnlySpan<byte> bytes)
    {
        lock (_lock)
        {
            if (bytes.IsEmpty) return;
            var filter = new OutputFilter(this);
            while (!bytes.IsEmpty)
            {
                // Printable ASCII between sequences is nearly all of an agent's output: one column per byte and
                // nothing to parse, so a run of it is copied at once (what Print does one rune at a time).
                int run = _parser.PrintableRun(bytes);
                int take = run > 0 ? run : EscapeParser.NextPiece(bytes);
                if (run > 0) PrintAscii(bytes[..run]);
                else _parser.Feed(bytes[..take], ref filter);
                bytes = bytes[take..];
            }
            _w.Flush(_out);
            if (_pending && _last != null && AtBoundary && !_tornDown)
            {
                DrawCore(_last);
                FooterBytesWritten += _w.Flush(_out);
            }
            _out.Flush();
        }
    }

    private void Print(Rune rune)
    {
        int width = TextWidth.RuneWidth(rune);
        if (width > 0)
        {
            // Autowrap (on: the policy lets no DECAWM through and frames end with it on), as the terminal does.
            if (_pendingWrap || (width == 2 && _col == _width - 1 && _width > 1))
            {
                _col = 0;
                LineFeed();
            }
            _pendingWrap = false;
        }
        Span<char> utf16 = stackalloc char[2];
        _w.Text(utf16[..rune.EncodeToUtf16(utf16)]);
        _col += width;
        if (_col >= _width)
        {
            _col = _width - 1;
            _pendingWrap = true;
        }
    }

    /// <summary><see cref="Print"/> for a run of printable ASCII (one column each), a row's worth at a time.</summary>
    private void PrintAscii(ReadOnlySpan<byte> run)
    {
        while (!run.IsEmpty)
        {
            if (_pendingWrap)
            {
                _col = 0;
                LineFeed();
            }
            int n = Math.Min(run.Length, Math.Max(1, _width - _col));
            _w.Ascii(run[..n]);
            _col += n;
            if (_col >= _width)
            {
                _col = _width - 1;
                _pendingWrap = true;
            }
            run = run[n..];
        }
    }

    private void LineFeed()
    {
        _pendingWrap = false;
        if (_row < Bottom) _row++; // at the bottom margin the region scrolls
    }

    private void Execute(int control)
    {
        switch (control)
        {
            case '\r':
                _w.Text('\r');
                _col = 0;
                _pendingWrap = false;
                break;
            case '\n':
                _w.Text("\r\n");
                _col = 0;
                LineFeed();
                break;
            case '\t':
                // Spaces up to the next multiple of 8, never past the last column (a TAB does not wrap).
                if (_pendingWrap) break;
                int stop = Math.Min(_width - 1, (_col / 8 + 1) * 8);
                while (_col < stop) Print(new Rune(' '));
                break;
        }
    }

    private void Sgr(CsiSequence csi)
    {
        _sgr.Apply(csi);
        _w.Sgr(csi);
    }

    /// <summary>The display policy over the output stream, feeding the cursor model.</summary>
    private readonly struct OutputFilter(FooterRenderer r) : IEscapeHandler
    {
        public void Print(Rune rune) => r.Print(rune);
        public void Execute(int control) => r.Execute(control);
        public void CsiDispatch(CsiSequence csi)
        {
            if (DisplayPolicy.IsKept(csi)) r.Sgr(csi);
        }
        public void EscDispatch(ReadOnlySpan<byte> intermediates, char final) { }
        public void DcsHook(CsiSequence header) { }
        public void DcsPut(int codePoint) { }
        public void DcsUnhook() { }
        public void OscDispatch(ReadOnlySpan<char> data, bool truncated) { }
    }

    /// <summary>
    /// The terminal was resized (call once per debounced SIGWINCH, then <see cref="Draw"/> a frame rendered
    /// for the new size). Terminals reset the scroll region on resize and move, cut or reflow our rows, so
    /// everything below the output cursor is erased (ED 0 does not move the cursor) and the next frame
    /// anchors the cursor again (see the remarks). No position outside the new screen is ever addressed.
    /// </summary>
    public void Resize(int width, int height)
    {
        lock (_lock)
        {
            if (_tornDown) return;
            _width = Math.Max(1, width);
            _height = Math.Max(1, height);
            if (_reserved > 0 && _parser.IsGround)
            {
                // The footer (or what a reflowing terminal made of it) is always below the output cursor.
                _w.BeginSync().ResetStyle().EraseBelow();
                if (!_sgr.IsDefault) _w.Sgr(_sgr);
                _w.EndSync();
                FooterBytesWritten += _w.Flush(_out);
            }
            _col = Math.Min(_col, _width - 1);
            _known = false;
            _reserved = 0;
            _regionValid = false;
            _drawn = [];
            _last = null;
        }
    }

    /// <summary>
    /// Leaves the terminal as it was found: full scroll region, footer rows cleared, autowrap on, SGR reset,
    /// cursor visible, and the cursor on the line after the output. Idempotent; call on every exit path.
    /// </summary>
    public void Teardown()
    {
        lock (_lock)
        {
            if (_tornDown) return;
            _tornDown = true;
            if (_known && _regionValid)
            {
                // DECSTBM homes the cursor: clear the footer rows, then back to the output's position.
                _w.ResetScrollRegion().ResetStyle();
                for (int r = _height - _reserved + 1; r <= _height; r++) _w.MoveTo(r, 1).EraseLine();
                _w.MoveTo(_row, Math.Min(_col, _width - 1) + 1);
            }
            _w.AutoWrap(true).ResetStyle().ShowCursor();
            // Pending wrap: CUP put the cursor on the last column; CR LF still starts the next line.
            if (_col != 0 || _pendingWrap) _w.Text("\r\n");
            _reserved = 0;
            FooterBytesWritten += _w.Flush(_out);
            _out.Flush();
        }
    }
}
