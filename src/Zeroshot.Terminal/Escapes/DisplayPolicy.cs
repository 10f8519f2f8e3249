using System.Text;

namespace Zeroshot.Terminal.Escapes;

/// <summary>
/// What of an agent's output may be shown in the interleaved display (<c>run</c>, <c>logs</c>: lines
/// prefixed <c>agent │ </c>, above the footer). Kept: printable text, TAB, and SGR (<c>CSI … m</c>,
/// colours and text attributes). Dropped: every other control sequence (cursor movement, DECSC/DECRC
/// <c>ESC 7</c>/<c>ESC 8</c> and <c>CSI s</c>/<c>CSI u</c>, scroll regions, erasing, RIS <c>ESC c</c>,
/// DECSTR <c>CSI ! p</c>, modes such as the alternate screen, mouse, keypad and bracketed paste, device
/// queries), every escape sequence (charset designations such as <c>ESC ( B</c>), OSC (titles,
/// clipboard, hyperlinks: their text stays), DCS, SOS/PM/APC, C0 controls other than TAB and LF (BEL,
/// BS, SI/SO…) and all C1 controls. A CR followed by more text on the same line is a redraw (progress
/// bars): the text before it is dropped, the attributes in effect are kept; a CR at the end is dropped.
/// A line that used SGR ends with SGR 0, so its colours never bleed into the next line.
/// With this, the terminal's output area only ever receives text, SGR, CR, LF and TAB, which is what
/// lets <see cref="FooterRenderer"/> track the cursor exactly.
/// </summary>
internal static class DisplayPolicy
{
    [ThreadStatic] private static AnsiWriter? _writer;
    [ThreadStatic] private static EscapeParser? _parser;

    /// <summary>True for the only control sequence the display keeps: a plain SGR.</summary>
    public static bool IsKept(CsiSequence csi) => csi.Final == 'm' && csi.IsPlain;

    /// <summary>One line of agent output (no LF) as it may be shown (see the type).</summary>
    public static string SanitizeLine(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        bool plain = true;
        foreach (char c in line)
        {
            if (c < 0x20 && c != '\t' || c is >= '\u007f' and <= '\u009f' || char.IsSurrogate(c)) { plain = false; break; }
        }
        if (plain) return line;

        var writer = _writer ??= new AnsiWriter(TerminalCapabilities.Full);
        var parser = _parser ??= new EscapeParser();
        writer.Clear();
        parser.Reset();
        var handler = new LineFilter(writer);
        var rest = line.AsSpan();
        while (!rest.IsEmpty)
        {
            // Printable ASCII between sequences is copied as a run (what Print does a character at a time).
            int run = parser.PrintableRun(rest);
            int take = run > 0 ? run : EscapeParser.NextPiece(rest);
            if (run > 0) handler.PrintRun(rest[..run]);
            else parser.Feed(rest[..take], ref handler);
            rest = rest[take..];
        }
        parser.Flush(ref handler);
        parser.Reset(); // an unfinished sequence at the end of a line is dropped with the line
        if (handler.UsedSgr) writer.ResetStyle();
        string result = writer.Buffered.ToString();
        writer.Clear();
        return result;
    }

    private struct LineFilter(AnsiWriter writer) : IEscapeHandler
    {
        private SgrState _sgr;
        private bool _carriageReturn;
        public bool UsedSgr;

        public void Print(Rune rune)
        {
            Span<char> utf16 = stackalloc char[2];
            PrintRun(utf16[..rune.EncodeToUtf16(utf16)]);
        }

        /// <summary>Text without controls (a character, or a run of printable ASCII).</summary>
        public void PrintRun(ReadOnlySpan<char> text)
        {
            if (_carriageReturn)
            {
                // Text after a CR redraws the line: what was before it is gone, its attributes are not.
                _carriageReturn = false;
                writer.Clear();
                if (!_sgr.IsDefault) writer.Sgr(_sgr);
            }
            writer.Text(text);
        }

        public void Execute(int control)
        {
            if (control == '\t') Print(new Rune('\t'));
            else if (control == '\r') _carriageReturn = true;
        }

        public void CsiDispatch(CsiSequence csi)
        {
            if (!IsKept(csi)) return;
            _sgr.Apply(csi);
            writer.Sgr(csi);
            UsedSgr = true;
        }

        public readonly void EscDispatch(ReadOnlySpan<byte> intermediates, char final) { }
        public readonly void DcsHook(CsiSequence header) { }
        public readonly void DcsPut(int codePoint) { }
        public readonly void DcsUnhook() { }
        public readonly void OscDispatch(ReadOnlySpan<char> data, bool truncated) { }
    }
}
