namespace Zeroshot.Terminal;

/// <summary>
/// Keeps the footer pinned to the bottom rows of a real terminal while agent output scrolls above it.
/// The output area is the scroll region (DECSTBM) rows 1..(height − footer height): it starts at row 1 so
/// lines scrolled off its top still reach the terminal's scrollback (xterm and tmux only save lines
/// scrolled off a region whose top margin is the first row). Every frame is one write, wrapped in
/// synchronized output, positioned with DECSC/CUP/DECRC so the output's cursor and attributes survive
/// (DECSC saves position, SGR attributes and the pending-wrap flag — VT510 manual, DECSC).
/// Autowrap is off while footer lines are written so a width disagreement can never scroll the screen.
/// All output to the terminal must go through <see cref="WriteOutput"/> (or be reported with
/// <see cref="OnOutputRelayed"/>) so resets are noticed and the footer is never injected into the middle
/// of an escape sequence or UTF-8 character. Thread-safe: every public member takes one lock.
/// Limitation: a program that itself uses DECSC/DECRC across a footer refresh gets our saved cursor back.
/// Limitation: each frame ends with DECAWM on (<c>CSI ? 7 h</c>), the power-on default; a program that turned
/// autowrap off gets it back on at the next refresh.
/// </summary>
internal sealed class FooterRenderer
{
    private readonly Stream _out;
    private readonly AnsiWriter _w;
    private readonly ResetSequenceDetector _detector = new();
    private readonly Lock _lock = new();
    private int _width;
    private int _height;
    private int _reserved;          // rows at the bottom currently kept out of the output area
    private bool _regionValid;      // the terminal's DECSTBM matches _reserved
    private FooterLine?[] _drawn = [];
    private FooterFrame? _last;
    private bool _pending;          // a frame waits for the output to reach a sequence boundary
    private bool _atLineStart = true;
    private bool _tornDown;

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
            if (!_detector.AtBoundary) { _pending = true; return; }
            DrawCore(frame);
            FooterBytesWritten += _w.Flush(_out);
        }
    }

    private void DrawCore(FooterFrame frame)
    {
        _pending = false;
        int h = frame.Height;
        bool establish = h != _reserved || !_regionValid;
        bool changed = establish;
        for (int i = 0; !changed && i < h; i++) changed = !frame.Lines[i].Equals(_drawn[i]);
        if (!changed) return; // unchanged frame: not a single byte

        _w.BeginSync();
        if (establish) Establish(h);
        _w.SaveCursor().AutoWrap(false);
        int top = _height - h + 1;
        for (int i = 0; i < h; i++)
        {
            var line = frame.Lines[i];
            if (line.Equals(_drawn[i])) continue;
            _w.MoveTo(top + i, 1).ResetStyle().EraseLine();
            foreach (var seg in line.Segments) _w.Style(seg.Style).Text(seg.Text);
            _drawn[i] = line;
        }
        _w.ResetStyle().AutoWrap(true).RestoreCursor().EndSync();
    }

    // Moves the bottom of the output area so that `rows` rows are reserved. When the footer grows, the
    // output is first scrolled up inside the current region with IND (ESC D; unlike LF not translated by
    // the tty's ONLCR, so the column stays) and the cursor brought back with CUU: lines that would end
    // up under the footer go to the scrollback instead of being overwritten. If the cursor was higher
    // than the new bottom, IND only moves it and CUU returns it: nothing scrolls. DECSTBM homes the
    // cursor, hence DECSC/DECRC around it.
    private void Establish(int rows)
    {
        int old = _reserved;
        if (rows > old)
        {
            if (!_regionValid)
            {
                // IND must scroll only the output area (or, with no footer yet, the whole screen).
                _w.SaveCursor();
                if (old == 0) _w.ResetScrollRegion();
                else _w.SetScrollRegion(1, _height - old);
                _w.RestoreCursor();
            }
            int delta = rows - old;
            for (int i = 0; i < delta; i++) _w.Index();
            _w.CursorUp(delta);
        }
        _w.SaveCursor();
        if (rows == 0) _w.ResetScrollRegion();
        else _w.SetScrollRegion(1, _height - rows);
        // Rows that leave the footer become output area: blank them.
        for (int r = _height - old + 1; r <= _height - rows; r++) _w.MoveTo(r, 1).ResetStyle().EraseLine();
        _w.RestoreCursor();
        _reserved = rows;
        _regionValid = true;
        _drawn = new FooterLine?[rows];
    }

    /// <summary>Forgets what is on the footer rows so the next <see cref="Draw"/> rewrites them all (e.g. after
    /// output the detector cannot see through, such as a program addressing rows below its PTY size).</summary>
    public void Invalidate()
    {
        lock (_lock) Array.Clear(_drawn);
    }

    /// <summary>Relays agent output to the terminal, repairing the footer right after any sequence in it
    /// that reset the scroll region or the screen (the bytes are split there).</summary>
    public void WriteOutput(ReadOnlySpan<byte> bytes)
    {
        lock (_lock)
        {
            if (bytes.IsEmpty) return;
            _atLineStart = bytes[^1] == (byte)'\n';
            while (!bytes.IsEmpty)
            {
                int end = _detector.FindReset(bytes, out var kind);
                var part = end < 0 ? bytes : bytes[..end];
                _out.Write(part);
                bytes = bytes[part.Length..];
                if (kind != TerminalReset.None) Repair(kind);
            }
            AfterOutput();
        }
    }

    /// <summary>Tells the renderer about output the caller already wrote to the terminal itself; any
    /// repair happens after the whole chunk.</summary>
    public void OnOutputRelayed(ReadOnlySpan<byte> bytes)
    {
        lock (_lock)
        {
            if (bytes.IsEmpty) return;
            _atLineStart = bytes[^1] == (byte)'\n';
            var kind = _detector.Feed(bytes);
            if (kind != TerminalReset.None) Repair(kind);
            AfterOutput();
        }
    }

    private void Repair(TerminalReset kind)
    {
        if (_tornDown) return;
        if ((kind & TerminalReset.ScrollRegion) != 0) _regionValid = false;
        Array.Clear(_drawn); // every footer row may be gone or moved
        if (_last != null && _detector.AtBoundary) DrawCore(_last);
        else _pending = _last != null;
        FooterBytesWritten += _w.Flush(_out);
    }

    private void AfterOutput()
    {
        if (_pending && _last != null && _detector.AtBoundary && !_tornDown)
        {
            DrawCore(_last);
            FooterBytesWritten += _w.Flush(_out);
        }
        _out.Flush();
    }

    /// <summary>
    /// The terminal was resized (call once per debounced SIGWINCH, then <see cref="Draw"/> a frame rendered
    /// for the new size). Terminals reset the scroll region on resize and move, cut or reflow our rows,
    /// so everything below the output cursor is erased (ED 0 between DECSC and DECRC) and the next frame
    /// re-establishes the region with the same scroll-up-first logic as a growing footer. No position outside the new
    /// screen is ever addressed.
    /// </summary>
    public void Resize(int width, int height)
    {
        lock (_lock)
        {
            if (_tornDown) return;
            _width = Math.Max(1, width);
            _height = Math.Max(1, height);
            if (_reserved > 0 && _detector.AtBoundary)
            {
                // ED 0 from the saved cursor: the footer (or what a reflowing terminal made of it) is
                // always below the output cursor, wherever the resize moved it.
                _w.BeginSync().SaveCursor().ResetStyle().EraseBelow().RestoreCursor().EndSync();
                FooterBytesWritten += _w.Flush(_out);
            }
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
            _w.SaveCursor().ResetScrollRegion();
            for (int r = _height - _reserved + 1; r <= _height; r++) _w.MoveTo(r, 1).ResetStyle().EraseLine();
            _w.RestoreCursor().AutoWrap(true).ResetStyle().ShowCursor();
            if (!_atLineStart) _w.Text("\r\n");
            _reserved = 0;
            FooterBytesWritten += _w.Flush(_out);
            _out.Flush();
        }
    }
}
