namespace Zeroshot.Terminal;

/// <summary>What a relayed escape sequence did to the terminal state the footer relies on.</summary>
[Flags]
internal enum TerminalReset
{
    /// <summary>Nothing relevant.</summary>
    None = 0,
    /// <summary>The scroll region was changed or reset (<c>CSI r</c>, <c>CSI t;b r</c>, DECSTR, RIS):
    /// DECSTBM must be re-emitted and the footer redrawn.</summary>
    ScrollRegion = 1,
    /// <summary>The footer rows were (or may have been) erased or replaced: ED 0/2 (<c>CSI J</c>,
    /// <c>CSI 2 J</c>, also their DECSED <c>CSI ? J</c> forms), RIS, alternate screen enter/leave.
    /// ED 1 only erases above the cursor (which is in the output area) and ED 3 only the scrollback,
    /// so neither is reported.</summary>
    FooterErased = 2,
}

/// <summary>
/// Byte-level state machine over the agent output being relayed to the terminal (a reduced form of
/// the DEC ANSI parser, https://vt100.net/emu/dec_ansi_parser). Chunks may split anywhere, including
/// inside an escape sequence or a UTF-8 character; state lives in fields, nothing is allocated per byte.
/// It also tells whether the stream is at a boundary (<see cref="AtBoundary"/>), so the footer is never
/// injected into the middle of a sequence, string or character.
/// </summary>
internal sealed class ResetSequenceDetector
{
    private enum State : byte { Ground, Escape, EscapeIntermediate, Csi, String, StringEscape }

    private const int MaxParam = 100000;

    private State _state;
    private int _utf8Remaining;
    private byte _private;
    private byte _intermediate;
    private int _param;           // current parameter value (-1: none yet)
    private int _paramCount;
    private int _firstParam;
    private bool _alternateMode;  // a parameter was 47, 1047 or 1049

    /// <summary>True when the bytes fed so far end between characters and outside any sequence.</summary>
    public bool AtBoundary => _state == State.Ground && _utf8Remaining == 0;

    /// <summary>Feeds a chunk and returns everything it reset.</summary>
    public TerminalReset Feed(ReadOnlySpan<byte> chunk)
    {
        var all = TerminalReset.None;
        while (!chunk.IsEmpty)
        {
            int end = FindReset(chunk, out var kind);
            if (end < 0) break;
            all |= kind;
            chunk = chunk[end..];
        }
        return all;
    }

    /// <summary>
    /// Feeds bytes up to and including the first sequence that resets something and returns the offset
    /// just after it (so the caller can relay that much, repair, then continue), or -1 when the whole
    /// chunk was consumed without a reset.
    /// </summary>
    public int FindReset(ReadOnlySpan<byte> chunk, out TerminalReset kind)
    {
        int i = 0;
        while (i < chunk.Length)
        {
            if (_state == State.Ground)
            {
                // Text between sequences: jump to the next ESC (vectorized); only the UTF-8 state of
                // the text's tail matters, and an ESC cancels a partial character anyway.
                int esc = chunk[i..].IndexOf((byte)0x1B);
                if (esc < 0) { TrackUtf8Tail(chunk[i..]); break; }
                i += esc;
            }
            kind = Step(chunk[i++]);
            if (kind != TerminalReset.None) return i;
        }
        kind = TerminalReset.None;
        return -1;
    }

    // Same result as stepping each byte of `text` (no ESC in it) through the Ground state.
    private void TrackUtf8Tail(ReadOnlySpan<byte> text)
    {
        int n = text.Length;
        int limit = Math.Max(0, n - 4);
        int k = n - 1;
        while (k >= limit && (text[k] & 0xC0) == 0x80) k--;
        if (k < limit)
        {
            // Only continuation bytes: they finish (or overrun) a character begun earlier.
            _utf8Remaining = n < 4 ? Math.Max(0, _utf8Remaining - n) : 0;
            return;
        }
        byte b = text[k];
        int need = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : b >= 0xC0 ? 1 : 0;
        _utf8Remaining = Math.Max(0, need - (n - 1 - k));
    }

    private TerminalReset Step(byte b)
    {
        switch (_state)
        {
            case State.Ground:
                if (b == 0x1B) { _state = State.Escape; _utf8Remaining = 0; }
                else if (b >= 0xC0) _utf8Remaining = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : 1;
                else if (b >= 0x80) { if (_utf8Remaining > 0) _utf8Remaining--; }
                else _utf8Remaining = 0;
                return TerminalReset.None;
            case State.Escape:
                switch (b)
                {
                    case (byte)'[':
                        _state = State.Csi;
                        _private = 0;
                        _intermediate = 0;
                        _param = -1;
                        _paramCount = 0;
                        _firstParam = 0;
                        _alternateMode = false;
                        return TerminalReset.None;
                    case (byte)']' or (byte)'P' or (byte)'_' or (byte)'^' or (byte)'X':
                        _state = State.String;
                        return TerminalReset.None;
                    case (byte)'c':
                        _state = State.Ground;
                        return TerminalReset.ScrollRegion | TerminalReset.FooterErased;
                    case 0x1B:
                        return TerminalReset.None;
                    default:
                        _state = b is >= 0x20 and <= 0x2F ? State.EscapeIntermediate : State.Ground;
                        return TerminalReset.None;
                }
            case State.EscapeIntermediate:
                if (b is < 0x20 or > 0x2F) _state = b == 0x1B ? State.Escape : State.Ground;
                return TerminalReset.None;
            case State.String:
                if (b == 0x07) _state = State.Ground;
                else if (b == 0x1B) _state = State.StringEscape;
                return TerminalReset.None;
            case State.StringEscape:
                _state = b == (byte)'\\' ? State.Ground : State.String;
                return TerminalReset.None;
            default:
                return CsiByte(b);
        }
    }

    private TerminalReset CsiByte(byte b)
    {
        if (b is >= (byte)'0' and <= (byte)'9')
        {
            _param = _param < 0 ? b - '0' : Math.Min(_param * 10 + (b - '0'), MaxParam);
            return TerminalReset.None;
        }
        if (b is (byte)';' or (byte)':') { EndParam(); return TerminalReset.None; }
        if (b is (byte)'?' or (byte)'>' or (byte)'<' or (byte)'=') { _private = b; return TerminalReset.None; }
        if (b is >= 0x20 and <= 0x2F) { _intermediate = b; return TerminalReset.None; }
        if (b == 0x1B) { _state = State.Escape; return TerminalReset.None; } // ESC aborts the sequence
        if (b < 0x20) return TerminalReset.None; // C0 controls execute inside CSI
        EndParam();
        _state = State.Ground;
        switch ((char)b)
        {
            case 'r' when _private == 0 && _intermediate == 0:
                return TerminalReset.ScrollRegion;
            case 'p' when _intermediate == (byte)'!' && _private == 0:
                return TerminalReset.ScrollRegion | TerminalReset.FooterErased;
            case 'h' or 'l' when _private == (byte)'?' && _alternateMode:
                return TerminalReset.ScrollRegion | TerminalReset.FooterErased;
            case 'J' when _intermediate == 0 && (_private == 0 || _private == (byte)'?') && _firstParam is 0 or 2:
                return TerminalReset.FooterErased;
            default:
                return TerminalReset.None;
        }
    }

    private void EndParam()
    {
        int value = _param < 0 ? 0 : _param;
        if (_paramCount == 0) _firstParam = value;
        if (value is 47 or 1047 or 1049) _alternateMode = true;
        _paramCount++;
        _param = -1;
    }
}
