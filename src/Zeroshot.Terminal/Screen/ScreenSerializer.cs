using System.Text;
using Zeroshot.Terminal.Escapes;

namespace Zeroshot.Terminal.Screen;

/// <summary>
/// Writes a <see cref="ScreenModel"/> back as bytes that recreate it on a fresh terminal of the same
/// size (what attach replays): optionally the scrollback (so it lands in the terminal's own
/// history), the main screen, the alternate screen when it is shown, then the modes, the title,
/// the scroll region, the saved cursor, the cursor and the current rendition.
/// </summary>
/// <remarks>
/// Text goes row after row with CR LF, each row's trailing blanks left out, and a row that auto-wrapped
/// is continued without CR LF so the receiving terminal also knows it wrapped. The rendition is written
/// as a full SGR (reset, then every attribute) only where it changes, hyperlinks as OSC 8 where they
/// change. Line drawing characters are written as the Unicode glyphs the model keeps. The pending-wrap
/// state is recreated by writing the last column's cell again from its own column. Not recreated: the
/// DECSC/CSI s saved cursor, G2/G3 designations, and ?2026 (a half-finished synchronized update would
/// freeze the client's screen).
/// </remarks>
internal static class ScreenSerializer
{
    /// <summary>The bytes that recreate <paramref name="model"/>; with <paramref name="scrollback"/>
    /// its history first.</summary>
    public static byte[] Serialize(ScreenModel model, bool scrollback = false)
    {
        var sb = new StringBuilder(model.Rows * (model.Columns + 8));
        // A known start: default rendition, no margins, autowrap on, cursor home, screen clear.
        sb.Append("\e[0m\e[r\e[?7h\e[H\e[2J");
        var pen = default(SgrState);
        int link = 0;
        if (scrollback)
        {
            for (int i = 0; i < model.History.Count; i++)
            {
                var next = i + 1 < model.History.Count ? model.History[i + 1] : model.MainLines[0];
                WriteLine(sb, model, model.History[i], next, ref pen, ref link, model.Columns);
            }
        }
        var main = model.MainLines;
        for (int r = 0; r < main.Length; r++) WriteLine(sb, model, main[r], r + 1 < main.Length ? main[r + 1] : null, ref pen, ref link, model.Columns);
        if (model.IsAlternateScreen)
        {
            // The main screen's cursor (?1049 saved it), then the alternate screen over it.
            SetPen(sb, model, ref pen, ref link, default, 0);
            var (row, col) = model.MainCursor;
            sb.Append("\e[").Append(row + 1).Append(';').Append(col + 1).Append("H\e[?1049h\e[H");
            var alt = model.ScreenLines;
            for (int r = 0; r < alt.Length; r++) WriteLine(sb, model, alt[r], r + 1 < alt.Length ? alt[r + 1] : null, ref pen, ref link, model.Columns);
        }
        SetPen(sb, model, ref pen, ref link, default, 0);
        Modes(sb, model);
        Tabs(sb, model);
        // In origin mode the cursor can be outside the region (tmux's BS from column 0 onto a wrapped
        // row above it, DECRC), where no CUP relative to the region reaches: it is then placed with
        // the region still the whole screen, saved (DECSC keeps DECOM), the region set (which homes
        // the cursor) and the cursor restored (DECRC does not clamp it to the region).
        bool region = model.ScrollTop != 0 || model.ScrollBottom != model.Rows - 1;
        bool outside = model.OriginMode && (model.CursorRow < model.ScrollTop || model.CursorRow > model.ScrollBottom);
        if (region && !outside) Region(sb, model);
        // DECOM last but before the cursor: CUP below is then written relative to the region.
        if (model.OriginMode) sb.Append("\e[?6h");
        Cursor(sb, model, ref pen, ref link, outside ? 0 : model.ScrollTop);
        if (outside)
        {
            sb.Append("\e7");
            Region(sb, model);
            sb.Append("\e8");
        }
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    // Writes one row and what moves to the next (nothing after the last row: next is null).
    private static void WriteLine(StringBuilder sb, ScreenModel model, Line line, Line? next, ref SgrState pen, ref int link, int columns)
    {
        var cells = line.RawCells;
        int width = Math.Min(cells.Length, columns);
        int end = width;
        // A wrapped row is written in full so the terminal wraps it too; otherwise trailing blanks
        // without a visible attribute are left out.
        if (!line.Wrapped) while (end > 0 && Invisible(cells[end - 1])) end--;
        for (int c = 0; c < end; c++)
        {
            ref readonly var cell = ref cells[c];
            if ((cell.Flags & CellFlags.Continuation) != 0) continue;
            SetPen(sb, model, ref pen, ref link, cell.Attr, cell.Link);
            model.AppendCellText(sb, cell);
        }
        if (next == null) return;
        // The next row's first character wraps, as it did; a next row with nothing to write needs the
        // line feed itself.
        if (line.Wrapped && end == width && !Array.TrueForAll(next.RawCells, c => Invisible(c))) return;
        SetPen(sb, model, ref pen, ref link, pen, 0);
        // Erased-to-end-of-line background would be lost: LF scrolls with the current background.
        if (pen.Background != default) SetPen(sb, model, ref pen, ref link, default, 0);
        sb.Append("\r\n");
    }

    // A blank cell with the default rendition: what the fresh terminal has already.
    private static bool Invisible(in Cell cell) => cell.IsBlank && cell.Link == 0 && cell.Flags == CellFlags.None && cell.Attr.IsDefault;

    private static void SetPen(StringBuilder sb, ScreenModel model, ref SgrState pen, ref int link, in SgrState attr, int cellLink)
    {
        if (cellLink != link)
        {
            sb.Append("\e]8;");
            if (cellLink != 0) sb.Append(model.LinkTarget(cellLink));
            else sb.Append(';');
            sb.Append("\e\\");
            link = cellLink;
        }
        if (attr == pen) return;
        AppendSgr(sb, attr);
        pen = attr;
    }

    /// <summary>Appends <c>CSI 0 ; … m</c> setting exactly <paramref name="a"/>.</summary>
    public static void AppendSgr(StringBuilder sb, in SgrState a)
    {
        sb.Append("\e[0");
        var f = a.Flags;
        if ((f & SgrState.Attributes.Bold) != 0) sb.Append(";1");
        if ((f & SgrState.Attributes.Dim) != 0) sb.Append(";2");
        if ((f & SgrState.Attributes.Italic) != 0) sb.Append(";3");
        if (a.Underline == 1) sb.Append(";4");
        else if (a.Underline > 1) sb.Append(";4:").Append(a.Underline);
        if ((f & SgrState.Attributes.Blink) != 0) sb.Append(";5");
        if ((f & SgrState.Attributes.Inverse) != 0) sb.Append(";7");
        if ((f & SgrState.Attributes.Hidden) != 0) sb.Append(";8");
        if ((f & SgrState.Attributes.Strike) != 0) sb.Append(";9");
        if ((f & SgrState.Attributes.Overline) != 0) sb.Append(";53");
        Colour(sb, a.Foreground, 30, 90, 38);
        Colour(sb, a.Background, 40, 100, 48);
        Colour(sb, a.UnderlineColor, -1, -1, 58);
        sb.Append('m');
    }

    private static void Colour(StringBuilder sb, Color c, int basic, int bright, int extended)
    {
        switch (c.Kind)
        {
            case ColorKind.Default: return;
            case ColorKind.Basic when basic >= 0:
                sb.Append(';').Append(c.R < 8 ? basic + c.R : bright + c.R - 8);
                return;
            case ColorKind.Basic or ColorKind.Indexed:
                sb.Append(';').Append(extended).Append(";5;").Append(c.R);
                return;
            case ColorKind.Rgb:
                sb.Append(';').Append(extended).Append(";2;").Append(c.R).Append(';').Append(c.G).Append(';').Append(c.B);
                return;
        }
    }

    private static void Modes(StringBuilder sb, ScreenModel m)
    {
        if (m.Title.Length > 0) sb.Append("\e]2;").Append(m.Title).Append("\e\\");
        if (m.ApplicationCursorKeys) sb.Append("\e[?1h");
        if (m.ReverseVideo) sb.Append("\e[?5h");
        if (m.CursorBlink) sb.Append("\e[?12h");
        if (!m.CursorVisible) sb.Append("\e[?25l");
        if (m.Mouse != MouseTracking.None) sb.Append(m.Mouse switch { MouseTracking.X10 => "\e[?9h", MouseTracking.Normal => "\e[?1000h", MouseTracking.ButtonEvent => "\e[?1002h", _ => "\e[?1003h" });
        if (m.MouseEncoding != MouseEncoding.Default) sb.Append(m.MouseEncoding switch { MouseEncoding.Utf8 => "\e[?1005h", MouseEncoding.Sgr => "\e[?1006h", _ => "\e[?1015h" });
        if (m.FocusEvents) sb.Append("\e[?1004h");
        if (m.BracketedPaste) sb.Append("\e[?2004h");
        if (m.InsertMode) sb.Append("\e[4h");
        if (m.NewLineMode) sb.Append("\e[20h");
        if (m.ApplicationKeypad) sb.Append("\e=");
        if (m.CursorStyle != 0) sb.Append("\e[").Append(m.CursorStyle).Append(" q");
        var cs = m.CharacterSets;
        if (cs.G0 is not ('\0' or 'B')) sb.Append("\e(").Append(cs.G0);
        if (cs.G1 is not ('\0' or 'B')) sb.Append("\e)").Append(cs.G1);
        if (cs.Gl == 1) sb.Append('\x0E');
        // ?2026 is not replayed: a half-finished synchronized update would freeze the client's screen.
    }

    private static void Tabs(StringBuilder sb, ScreenModel m)
    {
        bool standard = true;
        for (int c = 0; c < m.Columns && standard; c++) standard = m.IsTabStop(c) == (c % 8 == 0 && c > 0);
        if (standard) return;
        sb.Append("\e[3g");
        for (int c = 0; c < m.Columns; c++)
        {
            if (m.IsTabStop(c)) sb.Append("\e[").Append(c + 1).Append("G\eH");
        }
    }

    private static void Region(StringBuilder sb, ScreenModel m) =>
        sb.Append("\e[").Append(m.ScrollTop + 1).Append(';').Append(m.ScrollBottom + 1).Append('r');

    // The cursor by CUP, in origin mode relative to the row <paramref name="top"/> (the region's top).
    private static void Cursor(StringBuilder sb, ScreenModel m, ref SgrState pen, ref int link, int top)
    {
        int row = m.OriginMode ? m.CursorRow - top : m.CursorRow;
        if (m.PendingWrap)
        {
            // Write the last cell again from its own column: the terminal is then in pending wrap there.
            var cell = m.CellAt(m.CursorRow, m.Columns - 1);
            int col = m.Columns - 1;
            if ((cell.Flags & CellFlags.Continuation) != 0) { col--; cell = m.CellAt(m.CursorRow, col); }
            sb.Append("\e[").Append(row + 1).Append(';').Append(col + 1).Append('H');
            if (m.InsertMode) sb.Append("\e[4l");
            SetPen(sb, m, ref pen, ref link, cell.Attr, cell.Link);
            if (cell.Code == 0) sb.Append(' ');
            else m.AppendCellText(sb, cell);
            if (m.InsertMode) sb.Append("\e[4h");
        }
        else sb.Append("\e[").Append(row + 1).Append(';').Append(m.CursorColumn + 1).Append('H');
        SetPen(sb, m, ref pen, ref link, m.Pen, m.CurrentLink);
        if (!m.AutoWrap) sb.Append("\e[?7l");
    }
}
