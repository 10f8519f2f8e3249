using System.Text;
using Zeroshot.Terminal.Escapes;

namespace Zeroshot.Dashboard;

/// <summary>
/// Decodes what the terminal sends in raw mode into <see cref="DashboardKey"/>s, with the product's one escape-sequence
/// parser: characters, Enter, Backspace (DEL or BS), Tab, Ctrl+C, the cursor and editing keys in both their CSI and SS3
/// forms (xterm "PC-style function keys": <c>CSI A</c>, <c>SS3 A</c>, <c>CSI 5 ~</c>…), and SGR mouse reports
/// (<c>CSI &lt; b ; x ; y M</c>, xterm ctlseqs "SGR (1006)": a left press is a click, buttons 64/65 the wheel). A lone
/// ESC at the end of a read is the Escape key: terminals send a key's whole sequence in one write.
/// </summary>
internal sealed class DashboardKeys
{
    private readonly EscapeParser _parser = new();
    private bool _afterEsc;

    /// <summary>The keys in <paramref name="read"/> (one read of the terminal).</summary>
    public List<DashboardKey> Decode(ReadOnlySpan<byte> read)
    {
        var keys = new List<DashboardKey>(4);
        var handler = new Handler(keys);
        foreach (byte b in read)
        {
            if (_parser.IsGround && b is 0x7F)
            {
                // DEL is ignored by the parser (ECMA-48), but it is what the Backspace key sends.
                keys.Add(new DashboardKey(KeyKind.Backspace));
                continue;
            }
            _parser.Feed([b], ref handler);
            _afterEsc = b == 0x1B;
        }
        if (_afterEsc && !_parser.IsGround)
        {
            // Nothing followed the ESC in this read: the Escape key itself.
            _parser.Reset();
            _afterEsc = false;
            keys.Add(new DashboardKey(KeyKind.Escape));
        }
        return keys;
    }

    private struct Handler(List<DashboardKey> keys) : IEscapeHandler
    {
        public bool Ss3;

        public void Print(Rune rune)
        {
            if (Ss3)
            {
                Ss3 = false;
                if (Cursor((char)rune.Value) is { } key) keys.Add(new DashboardKey(key));
                return;
            }
            if (rune.IsBmp) keys.Add(DashboardKey.Of((char)rune.Value));
        }

        public void Execute(int control)
        {
            Ss3 = false;
            switch (control)
            {
                case 0x03:
                    keys.Add(new DashboardKey(KeyKind.Interrupt));
                    break;
                case 0x0D or 0x0A:
                    keys.Add(new DashboardKey(KeyKind.Enter));
                    break;
                case 0x08:
                    keys.Add(new DashboardKey(KeyKind.Backspace));
                    break;
                case 0x09:
                    keys.Add(new DashboardKey(KeyKind.Tab));
                    break;
            }
        }

        public void EscDispatch(ReadOnlySpan<byte> intermediates, char final)
        {
            // ESC O is SS3: the next character names the key (application cursor mode, keypad).
            Ss3 = intermediates.IsEmpty && final == 'O';
        }

        public void CsiDispatch(CsiSequence csi)
        {
            Ss3 = false;
            if (csi.Private == '<' && csi.Final is 'M' && csi.Parameters.Length >= 3)
            {
                int button = csi.Parameters[0], column = csi.Parameters[1] - 1, row = csi.Parameters[2] - 1;
                if ((button & 32) != 0) return; // motion
                var kind = (button & 0xC3) switch
                {
                    0 => KeyKind.Click,
                    64 => KeyKind.WheelUp,
                    65 => KeyKind.WheelDown,
                    _ => (KeyKind?)null,
                };
                if (kind is { } k) keys.Add(new DashboardKey(k, Column: column, Row: row));
                return;
            }
            if (!csi.IsPlain) return;
            if (csi.Final == '~')
            {
                var key = csi.Param(0, 0) switch
                {
                    1 or 7 => KeyKind.Home,
                    4 or 8 => KeyKind.End,
                    5 => KeyKind.PageUp,
                    6 => KeyKind.PageDown,
                    _ => (KeyKind?)null,
                };
                if (key is { } k) keys.Add(new DashboardKey(k));
                return;
            }
            if (Cursor(csi.Final) is { } cursor) keys.Add(new DashboardKey(cursor));
        }

        private static KeyKind? Cursor(char final) => final switch
        {
            'A' => KeyKind.Up,
            'B' => KeyKind.Down,
            'C' => KeyKind.Right,
            'D' => KeyKind.Left,
            'H' => KeyKind.Home,
            'F' => KeyKind.End,
            'M' => KeyKind.Enter, // SS3 M: keypad Enter
            _ => null,
        };

        public void DcsHook(CsiSequence header) { }

        public void DcsPut(int codePoint) { }

        public void DcsUnhook() { }

        public void OscDispatch(ReadOnlySpan<char> data, bool truncated) { }
    }
}
