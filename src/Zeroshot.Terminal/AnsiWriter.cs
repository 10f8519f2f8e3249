using System.Text;
using Zeroshot.Terminal.Escapes;

namespace Zeroshot.Terminal;

/// <summary>
/// The one place that produces escape sequences. A frame is built into a reusable char buffer and sent
/// with <see cref="Flush(Stream)"/> as ONE write, so the terminal never sees half a frame between
/// reads (and, inside a synchronized-output pair, never paints one). Sequences follow ECMA-48 and
/// xterm's ctlseqs (https://invisible-island.net/xterm/ctlseqs/ctlseqs.html). Not thread-safe.
/// </summary>
internal sealed class AnsiWriter
{
    private char[] _chars = new char[4096];
    private byte[] _bytes = new byte[4096 * 3];
    private int _length;
    private Style? _current; // null: unknown (start, after relayed SGR)

    /// <summary>Creates a writer for a terminal with the given capabilities.</summary>
    public AnsiWriter(TerminalCapabilities capabilities) => Capabilities = capabilities;

    /// <summary>What the writer may emit.</summary>
    public TerminalCapabilities Capabilities { get; }

    /// <summary>Characters buffered for the current frame.</summary>
    public int Length => _length;

    /// <summary>The buffered frame (valid until the next append).</summary>
    public ReadOnlySpan<char> Buffered => _chars.AsSpan(0, _length);

    /// <summary>Appends literal text (the caller guarantees it has no control characters).</summary>
    public AnsiWriter Text(ReadOnlySpan<char> text)
    {
        EnsureRoom(text.Length);
        text.CopyTo(_chars.AsSpan(_length));
        _length += text.Length;
        return this;
    }

    /// <summary>Appends printable ASCII bytes as text (the caller guarantees 0x20–0x7E only).</summary>
    public AnsiWriter Ascii(ReadOnlySpan<byte> text)
    {
        EnsureRoom(text.Length);
        System.Text.Ascii.ToUtf16(text, _chars.AsSpan(_length), out int written);
        _length += written;
        return this;
    }

    /// <summary>Appends one character.</summary>
    public AnsiWriter Text(char c)
    {
        EnsureRoom(1);
        _chars[_length++] = c;
        return this;
    }

    /// <summary>Switches to <paramref name="style"/> (nothing emitted when it is already current).</summary>
    public AnsiWriter Style(Style style)
    {
        if (style == _current) return this;
        // Reset then set: SGR 22 clears both bold and dim, so incremental changes are not simpler.
        Csi().Text('0');
        if (style.Bold) Text(";1");
        if (style.Dim) Text(";2");
        // Inverse (SGR 7) marks a selection even where colours are off (NO_COLOR, a dumb palette).
        if (style.Inverse) Text(";7");
        AppendColor(style.Foreground, foreground: true);
        AppendColor(style.Background, foreground: false);
        Text('m');
        _current = style;
        return this;
    }

    /// <summary>SGR 0 (always emitted: the terminal's attributes are unknown after foreign output).</summary>
    public AnsiWriter ResetStyle()
    {
        Csi().Text("0m");
        _current = Zeroshot.Terminal.Style.Plain;
        return this;
    }

    private void AppendColor(Color color, bool foreground)
    {
        var depth = Capabilities.Colors;
        if (color.Kind == ColorKind.Default || depth == ColorDepth.None) return;
        if (color.Kind == ColorKind.Rgb && depth == ColorDepth.TrueColor)
        {
            Text(foreground ? ";38;2;" : ";48;2;").Number(color.R).Text(';').Number(color.G).Text(';').Number(color.B);
            return;
        }
        if (color.Kind == ColorKind.Indexed && depth >= ColorDepth.Indexed256)
        {
            Text(foreground ? ";38;5;" : ";48;5;").Number(color.R);
            return;
        }
        int basic = color.Kind switch
        {
            ColorKind.Basic => color.R & 15,
            ColorKind.Indexed => color.R < 16 ? color.R : 7,
            _ => NearestBasic(color.R, color.G, color.B),
        };
        if (color.Kind == ColorKind.Rgb && depth == ColorDepth.Indexed256)
        {
            // 6x6x6 cube of xterm's palette (indices 16..231).
            int idx = 16 + 36 * (color.R * 5 / 255) + 6 * (color.G * 5 / 255) + color.B * 5 / 255;
            Text(foreground ? ";38;5;" : ";48;5;").Number(idx);
            return;
        }
        Text(';').Number((basic < 8 ? (foreground ? 30 : 40) : (foreground ? 90 : 100)) + (basic & 7));
    }

    private static int NearestBasic(byte r, byte g, byte b)
    {
        int bits = (r > 127 ? 1 : 0) | (g > 127 ? 2 : 0) | (b > 127 ? 4 : 0);
        bool bright = Math.Max(r, Math.Max(g, b)) > 191;
        return bits + (bright ? 8 : 0);
    }

    /// <summary>Relays an SGR sequence as parsed (parameters and their ':' / ';' separators kept), so an
    /// agent's colours reach the terminal unchanged. The tracked style becomes unknown.</summary>
    public AnsiWriter Sgr(CsiSequence sgr)
    {
        Csi();
        var p = sgr.Parameters;
        for (int i = 0; i < p.Length; i++)
        {
            if (i > 0) Text(sgr.IsSubparameter(i) ? ':' : ';');
            Number(p[i]);
        }
        _current = null;
        return Text('m');
    }

    /// <summary>Sets exactly <paramref name="state"/> (SGR 0 first, then every attribute and colour it
    /// has, colours in the form they were given: the terminal already accepted them). The tracked style
    /// becomes unknown unless <paramref name="state"/> is the default.</summary>
    public AnsiWriter Sgr(in SgrState state)
    {
        if (state.IsDefault) return ResetStyle();
        Csi().Text('0');
        var f = state.Flags;
        if ((f & SgrState.Attributes.Bold) != 0) Text(";1");
        if ((f & SgrState.Attributes.Dim) != 0) Text(";2");
        if ((f & SgrState.Attributes.Italic) != 0) Text(";3");
        if (state.Underline == 1) Text(";4");
        else if (state.Underline > 1) Text(";4:").Number(state.Underline);
        if ((f & SgrState.Attributes.Blink) != 0) Text(";5");
        if ((f & SgrState.Attributes.Inverse) != 0) Text(";7");
        if ((f & SgrState.Attributes.Hidden) != 0) Text(";8");
        if ((f & SgrState.Attributes.Strike) != 0) Text(";9");
        if ((f & SgrState.Attributes.Overline) != 0) Text(";53");
        AppendExact(state.Foreground, 30, 90, 38);
        AppendExact(state.Background, 40, 100, 48);
        AppendExact(state.UnderlineColor, 0, 0, 58);
        _current = null;
        return Text('m');
    }

    private void AppendExact(Color color, int basic, int bright, int extended)
    {
        switch (color.Kind)
        {
            case ColorKind.Basic when basic != 0:
                Text(';').Number((color.R < 8 ? basic : bright) + (color.R & 7));
                break;
            case ColorKind.Basic or ColorKind.Indexed:
                Text(';').Number(extended).Text(";5;").Number(color.R);
                break;
            case ColorKind.Rgb:
                Text(';').Number(extended).Text(";2;").Number(color.R).Text(';').Number(color.G).Text(';').Number(color.B);
                break;
        }
    }

    /// <summary>CUP: moves the cursor to 1-based <paramref name="row"/>, <paramref name="column"/>.</summary>
    public AnsiWriter MoveTo(int row, int column)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(row, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(column, 1);
        return Csi().Number(row).Text(';').Number(column).Text('H');
    }

    /// <summary>CUU: cursor up <paramref name="n"/> rows (stops at the top margin).</summary>
    public AnsiWriter CursorUp(int n) => n <= 0 ? this : Csi().Number(n).Text('A');

    /// <summary>IND (ESC D): down one row, scrolling the region at its bottom margin; unlike LF it is
    /// not subject to the tty's ONLCR translation, so the column is kept.</summary>
    public AnsiWriter Index() => Text("\u001bD");

    /// <summary>EL 2: erases the whole line the cursor is on.</summary>
    public AnsiWriter EraseLine() => Csi().Text("2K");

    /// <summary>ED 0: erases from the cursor to the end of the screen.</summary>
    public AnsiWriter EraseBelow() => Csi().Text('J');

    /// <summary>DECSTBM: scroll region rows <paramref name="top"/>..<paramref name="bottom"/> (1-based,
    /// inclusive). Terminals home the cursor afterwards; wrap with DECSC/DECRC.</summary>
    public AnsiWriter SetScrollRegion(int top, int bottom) => Csi().Number(top).Text(';').Number(bottom).Text('r');

    /// <summary>DECSTBM without parameters: the full screen scrolls again (also homes the cursor).</summary>
    public AnsiWriter ResetScrollRegion() => Csi().Text('r');

    /// <summary>DECTCEM set: cursor visible.</summary>
    public AnsiWriter ShowCursor() => Csi().Text("?25h");

    /// <summary>DECTCEM reset: cursor hidden.</summary>
    public AnsiWriter HideCursor() => Csi().Text("?25l");

    /// <summary>DECAWM: autowrap on/off.</summary>
    public AnsiWriter AutoWrap(bool on) => Csi().Text(on ? "?7h" : "?7l");

    /// <summary>Begin synchronized update (DEC mode 2026) when the terminal is assumed to support it.</summary>
    public AnsiWriter BeginSync() => Capabilities.SynchronizedOutput ? Csi().Text("?2026h") : this;

    /// <summary>End synchronized update.</summary>
    public AnsiWriter EndSync() => Capabilities.SynchronizedOutput ? Csi().Text("?2026l") : this;

    /// <summary>The alternate screen (xterm private mode 1049: saves the cursor, switches and clears; off returns to the
    /// main screen as it was).</summary>
    public AnsiWriter AlternateScreen(bool on) => Csi().Text(on ? "?1049h" : "?1049l");

    /// <summary>Mouse button reporting (mode 1000: press and release, wheel) in SGR encoding (1006: <c>CSI &lt; b;x;y M/m</c>,
    /// no 223-column limit); off turns both off.</summary>
    public AnsiWriter MouseReporting(bool on) => Csi().Text(on ? "?1000h" : "?1000l").Csi().Text(on ? "?1006h" : "?1006l");

    /// <summary>Erases the whole screen (ED 2); the cursor stays.</summary>
    public AnsiWriter EraseScreen() => Csi().Text("2J");

    /// <summary>BEL (C0 0x07): the terminal's bell. Terminals turn it into a sound, a flash, an urgency hint on the
    /// window or a tab marker (tmux's <c>monitor-bell</c>); it is the one attention signal every terminal knows.</summary>
    public AnsiWriter Bell() => Text('\a');

    /// <summary>
    /// OSC 9 ; <paramref name="text"/> BEL: a desktop notification in iTerm2's form
    /// (https://iterm2.com/documentation-escape-codes.html; also WezTerm, kitty, ghostty, Warp, VS Code:
    /// https://ghostty.org/docs/vt/osc/9). The text is passed through <see cref="TerminalNotification.Sanitize"/>
    /// (no control byte may end the string early or start another sequence) and, as ghostty's page asks, never
    /// starts with a digit, which ConEmu and Windows Terminal would read as one of their own <c>OSC 9 ; n</c> commands.
    /// </summary>
    public AnsiWriter NotifyOsc9(string text)
    {
        var clean = TerminalNotification.Sanitize(text, TerminalNotification.MaxBodyLength);
        Text("\u001b]9;");
        if (clean.Length > 0 && char.IsAsciiDigit(clean[0])) Text(' ');
        return Text(clean).Text('\a');
    }

    /// <summary>
    /// OSC 777 ; notify ; <paramref name="title"/> ; <paramref name="body"/> BEL: a desktop notification in
    /// rxvt-unicode's form (its <c>notify</c> extension, https://manpages.debian.org/testing/rxvt-unicode/urxvt.7.en.html;
    /// also foot, VTE builds with Fedora's notification patch, Windows Terminal since 2026 (microsoft/terminal#20012)).
    /// Both texts are sanitized; a ';' in the title would move the split between title and body, so it becomes ','.
    /// </summary>
    public AnsiWriter NotifyOsc777(string title, string body)
    {
        var cleanTitle = TerminalNotification.Sanitize(title, TerminalNotification.MaxTitleLength).Replace(';', ',');
        var cleanBody = TerminalNotification.Sanitize(body, TerminalNotification.MaxBodyLength);
        return Text("\u001b]777;notify;").Text(cleanTitle).Text(';').Text(cleanBody).Text('\a');
    }

    /// <summary>
    /// Wraps <paramref name="sequence"/> in tmux's passthrough envelope, <c>DCS tmux ; …ST</c> with every ESC inside
    /// doubled (https://github.com/tmux/tmux/wiki/FAQ#what-is-the-passthrough-escape-sequence-and-how-do-i-use-it), so
    /// tmux hands it to the outer terminal unchanged. tmux drops the envelope unless <c>allow-passthrough</c> is on
    /// (tmux 3.3+), so the caller only uses it when the person said so.
    /// </summary>
    public AnsiWriter TmuxPassthrough(ReadOnlySpan<char> sequence)
    {
        Text("\u001bPtmux;");
        foreach (char c in sequence)
        {
            if (c == '\u001b') Text('\u001b');
            Text(c);
        }
        return Text("\u001b\\");
    }

    private AnsiWriter Csi() => Text("\u001b[");

    private AnsiWriter Number(int value)
    {
        EnsureRoom(11);
        value.TryFormat(_chars.AsSpan(_length), out int written, default, System.Globalization.CultureInfo.InvariantCulture);
        _length += written;
        return this;
    }

    private void EnsureRoom(int extra)
    {
        if (_length + extra <= _chars.Length) return;
        Array.Resize(ref _chars, Math.Max(_chars.Length * 2, _length + extra));
    }

    /// <summary>Discards the buffered frame.</summary>
    public void Clear() => _length = 0;

    /// <summary>Writes the buffered frame as UTF-8 in one <see cref="Stream.Write(ReadOnlySpan{byte})"/>
    /// and clears the buffer. Returns the number of bytes written (0 writes nothing).</summary>
    public int Flush(Stream stream)
    {
        if (_length == 0) return 0;
        int max = Encoding.UTF8.GetMaxByteCount(_length);
        if (_bytes.Length < max) _bytes = new byte[max];
        int n = Encoding.UTF8.GetBytes(_chars.AsSpan(0, _length), _bytes);
        stream.Write(_bytes, 0, n);
        stream.Flush();
        _length = 0;
        return n;
    }

    /// <summary>Writes the buffered frame to a <see cref="TextWriter"/> in one call and clears it.</summary>
    public int Flush(TextWriter writer)
    {
        int n = _length;
        if (n == 0) return 0;
        writer.Write(_chars, 0, n);
        writer.Flush();
        _length = 0;
        return n;
    }
}
