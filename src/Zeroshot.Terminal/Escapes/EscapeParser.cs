using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text;

namespace Zeroshot.Terminal.Escapes;

/// <summary>
/// Receives what an <see cref="EscapeParser"/> recognises, in stream order: the "actions" of the DEC
/// ANSI parser (print, execute, esc_dispatch, csi_dispatch, hook/put/unhook, osc_end;
/// https://vt100.net/emu/dec_ansi_parser). Implement it on a struct (or ref struct) and pass it by
/// <c>ref</c>: the calls are then direct and the parse allocates nothing.
/// </summary>
internal interface IEscapeHandler
{
    /// <summary>A graphic character in the ground state (U+0020–U+007E and U+00A0 up; invalid UTF-8 and
    /// lone surrogates arrive as U+FFFD).</summary>
    void Print(Rune rune);

    /// <summary>A C0 control (0x00–0x1F other than ESC) or a C1 control (U+0080–U+009F) that is not a
    /// sequence introducer (ECMA-48 §5.2, §8.3); executed in ground, escape and CSI states alike.</summary>
    void Execute(int control);

    /// <summary>An escape sequence: <c>ESC</c> <paramref name="intermediates"/> (0x20–0x2F, at most
    /// <see cref="EscapeParser.MaxIntermediates"/>) <paramref name="final"/> (0x30–0x7E); ECMA-35 nF
    /// sequences such as <c>ESC ( B</c> (designate G0), <c>ESC # 8</c> (DECALN) and Fp/Fe/Fs ones such as
    /// <c>ESC 7</c> (DECSC), <c>ESC c</c> (RIS).</summary>
    void EscDispatch(ReadOnlySpan<byte> intermediates, char final);

    /// <summary>A complete control sequence (ECMA-48 §5.4). Sequences with too many parameters or
    /// intermediates are ignored (csi-ignore), never dispatched.</summary>
    void CsiDispatch(CsiSequence csi);

    /// <summary>A device control string started (its header has the shape of a CSI sequence).</summary>
    void DcsHook(CsiSequence header);

    /// <summary>One code point of a device control string's data.</summary>
    void DcsPut(int codePoint);

    /// <summary>The device control string ended (ST, CAN, SUB or ESC).</summary>
    void DcsUnhook();

    /// <summary>An operating system command ended (BEL, ST, or an ESC that begins something else).
    /// <paramref name="data"/> is at most <see cref="EscapeParser.MaxOscLength"/> characters; when the
    /// string was longer, <paramref name="truncated"/> is true and the rest was dropped.</summary>
    void OscDispatch(ReadOnlySpan<char> data, bool truncated);
}

/// <summary>
/// A control sequence's parts: <c>CSI</c> [private marker] parameters [intermediates] final (ECMA-48
/// §5.4). Parameters are decimal, 0 when empty (ECMA-48 §5.4.2: "an empty parameter … has the default
/// value"), saturated at 65535; ':' separated sub-parameters (ITU T.416, used by SGR 38/48/58 and 4) are
/// flagged in <see cref="SubparameterMask"/>.
/// </summary>
internal readonly ref struct CsiSequence
{
    internal CsiSequence(ReadOnlySpan<int> parameters, uint subparameterMask, char privateMarker, ReadOnlySpan<byte> intermediates, char final)
    {
        Parameters = parameters;
        SubparameterMask = subparameterMask;
        Private = privateMarker;
        Intermediates = intermediates;
        Final = final;
    }

    /// <summary>The parameters in order (empty for <c>CSI m</c>; <c>CSI ;5m</c> gives 0, 5).</summary>
    public ReadOnlySpan<int> Parameters { get; }

    /// <summary>Bit <c>i</c> is set when parameter <c>i</c> was preceded by ':' (a sub-parameter of the one before).</summary>
    public uint SubparameterMask { get; }

    /// <summary>The private marker (one of <c>&lt; = &gt; ?</c>) right after CSI, or '\0'.</summary>
    public char Private { get; }

    /// <summary>Intermediate bytes (0x20–0x2F) before the final byte, e.g. '!' in DECSTR <c>CSI ! p</c>.</summary>
    public ReadOnlySpan<byte> Intermediates { get; }

    /// <summary>The final byte (0x40–0x7E).</summary>
    public char Final { get; }

    /// <summary>Parameter <paramref name="index"/>, or <paramref name="fallback"/> when it is missing or 0.</summary>
    public int Param(int index, int fallback)
    {
        int v = index < Parameters.Length ? Parameters[index] : 0;
        return v == 0 ? fallback : v;
    }

    /// <summary>Whether parameter <paramref name="index"/> is a ':' sub-parameter.</summary>
    public bool IsSubparameter(int index) => index is > 0 and < 32 && (SubparameterMask & (1u << index)) != 0;

    /// <summary>A plain sequence: no private marker and no intermediates.</summary>
    public bool IsPlain => Private == '\0' && Intermediates.IsEmpty;
}

/// <summary>
/// The one escape-sequence parser of the product: the DEC ANSI state machine of Paul Williams
/// (https://vt100.net/emu/dec_ansi_parser, the model vte and alacritty implement) over ECMA-48 /
/// ECMA-35 syntax, fed UTF-8 bytes or UTF-16 text in chunks split anywhere (state lives in the
/// instance). Nothing is allocated per byte; one OSC buffer is allocated on first use.
/// </summary>
/// <remarks>
/// <para>States: ground, escape, escape-intermediate, csi-entry/param/intermediate/ignore,
/// dcs-entry/param/intermediate/passthrough/ignore, osc-string and sos/pm/apc-string. "Anywhere"
/// transitions: CAN (0x18) and SUB (0x1A) abort any sequence and are executed; ESC starts a new one.</para>
/// <para>Decoding comes first: the stream is UTF-8 (or UTF-16 text); ill-formed UTF-8 becomes U+FFFD
/// per maximal subpart (Unicode §3.9), as do lone surrogates. Code points U+0080–U+009F are C1 controls
/// (ECMA-48 §5.3) — CSI U+009B, DCS U+0090, OSC U+009D, ST U+009C, SOS/PM/APC U+0098/9E/9F are
/// introducers, the rest are executed — while a raw byte 0x80–0x9F, being invalid UTF-8, is U+FFFD.
/// This is vte's choice for UTF-8 terminals: 8-bit C1 bytes cannot be told apart from UTF-8 otherwise.</para>
/// <para>Non-ASCII code points inside escape or control-sequence syntax are not part of any sequence:
/// in escape states the sequence is abandoned and the code point printed; in CSI/DCS headers the sequence
/// is ignored up to its final byte (the DEC model treats GR like GL there; with UTF-8 there is no GR).</para>
/// <para>Bounds: <see cref="MaxParameters"/> parameters and <see cref="MaxIntermediates"/> intermediates
/// (more: the sequence is ignored), <see cref="MaxOscLength"/> characters of OSC data (more: truncated).
/// Like xterm, BEL also ends an OSC string. SOS/PM/APC strings are consumed and reported to no one.</para>
/// </remarks>
internal sealed class EscapeParser
{
    /// <summary>Most parameters a CSI or DCS header may have (vte: 32).</summary>
    public const int MaxParameters = 32;
    /// <summary>Most intermediate bytes kept.</summary>
    public const int MaxIntermediates = 2;
    /// <summary>Most OSC characters kept.</summary>
    public const int MaxOscLength = 4096;
    private const int MaxParamValue = 65535;

    private enum State : byte
    {
        Ground, Escape, EscapeIntermediate,
        CsiEntry, CsiParam, CsiIntermediate, CsiIgnore,
        DcsEntry, DcsParam, DcsIntermediate, DcsPassthrough, DcsIgnore,
        OscString, SosPmApcString,
    }

    [InlineArray(MaxParameters)]
    private struct ParamBuffer { private int _element; }

    [InlineArray(MaxIntermediates)]
    private struct IntermediateBuffer { private byte _element; }

    private State _state;
    private ParamBuffer _params;
    private int _paramCount;
    private int _current = -1;          // value of the parameter being read; -1: no digit yet
    private bool _currentIsSub;
    private bool _anyParam;             // a digit or separator was seen
    private uint _subMask;
    private IntermediateBuffer _intermediates;
    private int _intermediateCount;     // > MaxIntermediates: overflowed
    private char _private;
    private char[]? _osc;
    private int _oscLength;
    private bool _oscTruncated;

    // UTF-8 decoder (Unicode Table 3-7 well-formed sequences).
    private int _utf8Need;
    private int _utf8Value;
    private byte _utf8Lower = 0x80, _utf8Upper = 0xBF;
    // UTF-16: a high surrogate waiting for its low half.
    private char _high;

    /// <summary>True when the input so far ends in the ground state, between characters: nothing
    /// injected here can land inside a sequence, a string or a UTF-8/UTF-16 character.</summary>
    public bool IsGround => _state == State.Ground && _utf8Need == 0 && _high == '\0';

    /// <summary>
    /// How many units at the start of <paramref name="text"/> are printable ASCII (0x20–0x7E) while the parser is in
    /// the ground state: exactly a series of Print actions (vt100.net: ground, 0x20–0x7E), which a consumer may copy at
    /// once instead of feeding (nearly all of an agent's output). 0 otherwise.
    /// </summary>
    public int PrintableRun(ReadOnlySpan<byte> text) => IsGround ? PrintableRunCore(text) : 0;

    /// <inheritdoc cref="PrintableRun(ReadOnlySpan{byte})"/>
    public int PrintableRun(ReadOnlySpan<char> text) => IsGround ? PrintableRunCore(text) : 0;

    /// <summary>
    /// How much of <paramref name="text"/> (which does not start with a <see cref="PrintableRun(ReadOnlySpan{byte})"/>) to
    /// <see cref="Feed{T}(ReadOnlySpan{byte}, ref T)"/> next so that the parser may be in the ground state after it: a
    /// whole <c>ESC [ … final</c>, a lone control, or up to the next final byte (0x40–0x7E) or before the next control.
    /// Any split is correct (the parser keeps its state); this one keeps the printable runs reachable.
    /// </summary>
    public static int NextPiece(ReadOnlySpan<byte> text) => NextPieceCore(text);

    /// <inheritdoc cref="NextPiece(ReadOnlySpan{byte})"/>
    public static int NextPiece(ReadOnlySpan<char> text) => NextPieceCore(text);

    // One body for UTF-8 bytes and UTF-16 units: below 0x80 they are the same code points.
    private static int PrintableRunCore<TUnit>(ReadOnlySpan<TUnit> text) where TUnit : unmanaged, IBinaryInteger<TUnit>
    {
        int run = text.IndexOfAnyExceptInRange(TUnit.CreateTruncating(0x20), TUnit.CreateTruncating(0x7E));
        return run < 0 ? text.Length : run;
    }

    private static int NextPieceCore<TUnit>(ReadOnlySpan<TUnit> text) where TUnit : unmanaged, IBinaryInteger<TUnit>
    {
        static TUnit U(int value) => TUnit.CreateTruncating(value);
        if (text.Length > 2 && text[0] == U(0x1B) && text[1] == U('['))
        {
            int j = 2;
            while (j < text.Length && text[j] >= U(0x20) && text[j] <= U(0x3F)) j++;
            return Math.Min(j + 1, text.Length);
        }
        if (text[0] < U(0x20)) return 1;
        int end = text.IndexOfAnyInRange(U(0x40), U(0x7E));
        int control = (end < 0 ? text : text[..end]).IndexOfAnyInRange(U(0x00), U(0x1F));
        if (control >= 0) end = control;
        return end < 0 ? text.Length : end + 1;
    }

    /// <summary>Forgets any partial sequence or character.</summary>
    public void Reset()
    {
        _state = State.Ground;
        _utf8Need = 0;
        _high = '\0';
        Clear();
    }

    /// <summary>Parses UTF-8 bytes.</summary>
    public void Feed<T>(ReadOnlySpan<byte> utf8, ref T handler) where T : IEscapeHandler, allows ref struct
    {
        foreach (byte b in utf8)
        {
            if (_utf8Need == 0)
            {
                if (b < 0x80) { Advance(b, ref handler); continue; }
                StartUtf8(b, ref handler);
                continue;
            }
            if (b >= _utf8Lower && b <= _utf8Upper)
            {
                _utf8Value = (_utf8Value << 6) | (b & 0x3F);
                _utf8Lower = 0x80;
                _utf8Upper = 0xBF;
                if (--_utf8Need == 0) Advance(_utf8Value, ref handler);
                continue;
            }
            // Maximal subpart ends here: one U+FFFD for it, then this byte starts afresh.
            _utf8Need = 0;
            _utf8Lower = 0x80;
            _utf8Upper = 0xBF;
            Advance(0xFFFD, ref handler);
            if (b < 0x80) Advance(b, ref handler);
            else StartUtf8(b, ref handler);
        }
    }

    private void StartUtf8<T>(byte b, ref T handler) where T : IEscapeHandler, allows ref struct
    {
        switch (b)
        {
            case >= 0xC2 and <= 0xDF: _utf8Need = 1; _utf8Value = b & 0x1F; break;
            case 0xE0: _utf8Need = 2; _utf8Value = b & 0x0F; _utf8Lower = 0xA0; break;
            case 0xED: _utf8Need = 2; _utf8Value = b & 0x0F; _utf8Upper = 0x9F; break; // no surrogates
            case >= 0xE1 and <= 0xEF: _utf8Need = 2; _utf8Value = b & 0x0F; break;
            case 0xF0: _utf8Need = 3; _utf8Value = b & 0x07; _utf8Lower = 0x90; break;
            case >= 0xF1 and <= 0xF3: _utf8Need = 3; _utf8Value = b & 0x07; break;
            case 0xF4: _utf8Need = 3; _utf8Value = b & 0x07; _utf8Upper = 0x8F; break;
            default: Advance(0xFFFD, ref handler); break; // 0x80–0xC1, 0xF5–0xFF: never valid here
        }
    }

    /// <summary>Parses UTF-16 text.</summary>
    public void Feed<T>(ReadOnlySpan<char> text, ref T handler) where T : IEscapeHandler, allows ref struct
    {
        foreach (char c in text)
        {
            if (_high != '\0')
            {
                char high = _high;
                _high = '\0';
                if (char.IsLowSurrogate(c)) { Advance(char.ConvertToUtf32(high, c), ref handler); continue; }
                Advance(0xFFFD, ref handler);
            }
            if (char.IsHighSurrogate(c)) _high = c;
            else Advance(char.IsLowSurrogate(c) ? 0xFFFD : c, ref handler);
        }
    }

    /// <summary>End of input: a character left incomplete becomes U+FFFD. A partial escape sequence is
    /// kept (more input may complete it); call <see cref="Reset"/> to drop it.</summary>
    public void Flush<T>(ref T handler) where T : IEscapeHandler, allows ref struct
    {
        if (_utf8Need == 0 && _high == '\0') return;
        _utf8Need = 0;
        _utf8Lower = 0x80;
        _utf8Upper = 0xBF;
        _high = '\0';
        Advance(0xFFFD, ref handler);
    }

    /// <summary>Feeds one code point (a Unicode scalar value, or U+FFFD) through the state machine.</summary>
    private void Advance<T>(int c, ref T h) where T : IEscapeHandler, allows ref struct
    {
        // Fast path: printable text in ground.
        if (_state == State.Ground && (c is >= 0x20 and < 0x7F || c >= 0xA0))
        {
            h.Print(new Rune(c));
            return;
        }

        // "Anywhere" transitions (vt100.net: from every state).
        switch (c)
        {
            case 0x18 or 0x1A: // CAN, SUB: abort, execute
                Leave(ref h);
                h.Execute(c);
                _state = State.Ground;
                return;
            case 0x1B:
                Leave(ref h);
                Clear();
                _state = State.Escape;
                return;
            case >= 0x80 and <= 0x9F:
                Leave(ref h);
                C1(c, ref h);
                return;
        }

        switch (_state)
        {
            case State.Ground:
                if (c < 0x20) h.Execute(c);
                return; // 0x7F: ignored
            case State.Escape:
                Escape(c, ref h);
                return;
            case State.EscapeIntermediate:
                if (c < 0x20) h.Execute(c);
                else if (c <= 0x2F) Collect(c);
                else if (c < 0x7F) { if (_intermediateCount <= MaxIntermediates) h.EscDispatch(Intermediates, (char)c); _state = State.Ground; }
                else if (c >= 0xA0) { _state = State.Ground; h.Print(new Rune(c)); }
                return;
            case State.CsiEntry or State.CsiParam or State.CsiIntermediate:
                Csi(c, ref h);
                return;
            case State.CsiIgnore:
                if (c < 0x20) h.Execute(c);
                else if (c is >= 0x40 and <= 0x7E) _state = State.Ground;
                return;
            case State.DcsEntry or State.DcsParam or State.DcsIntermediate:
                DcsHeader(c, ref h);
                return;
            case State.DcsPassthrough:
                if (c != 0x7F) h.DcsPut(c);
                return;
            case State.OscString:
                if (c == 0x07) { OscEnd(ref h); _state = State.Ground; } // BEL terminator (xterm)
                else if (c >= 0x20) OscPut(c);
                return;
            default: // DcsIgnore, SosPmApcString: everything up to the terminator is dropped
                return;
        }
    }

    private void C1<T>(int c, ref T h) where T : IEscapeHandler, allows ref struct
    {
        Clear();
        switch (c)
        {
            case 0x90: _state = State.DcsEntry; return;            // DCS
            case 0x9B: _state = State.CsiEntry; return;            // CSI
            case 0x9D: _state = State.OscString; return;           // OSC
            case 0x98 or 0x9E or 0x9F: _state = State.SosPmApcString; return; // SOS, PM, APC
            case 0x9C: _state = State.Ground; return;              // ST
            default: _state = State.Ground; h.Execute(c); return;
        }
    }

    private void Escape<T>(int c, ref T h) where T : IEscapeHandler, allows ref struct
    {
        switch (c)
        {
            case < 0x20: h.Execute(c); return;
            case <= 0x2F: Collect(c); _state = State.EscapeIntermediate; return;
            case '[': _state = State.CsiEntry; return;
            case ']': _state = State.OscString; return;
            case 'P': _state = State.DcsEntry; return;
            case 'X' or '^' or '_': _state = State.SosPmApcString; return;
            case < 0x7F: _state = State.Ground; h.EscDispatch(default, (char)c); return;
            case 0x7F: return;
            default: _state = State.Ground; h.Print(new Rune(c)); return; // non-ASCII: not a sequence
        }
    }

    private void Csi<T>(int c, ref T h) where T : IEscapeHandler, allows ref struct
    {
        if (c < 0x20) { h.Execute(c); return; }
        if (c == 0x7F) return;
        if (c >= 0xA0) { _state = State.CsiIgnore; return; }
        if (c <= 0x2F) { Collect(c); _state = State.CsiIntermediate; return; }
        if (c <= 0x3F)
        {
            if (_state == State.CsiIntermediate) { _state = State.CsiIgnore; return; }
            if (c >= 0x3C)
            {
                // Private marker: only first (csi-entry); later it makes the sequence malformed.
                if (_state == State.CsiEntry) { _private = (char)c; _state = State.CsiParam; }
                else _state = State.CsiIgnore;
                return;
            }
            if (!Param(c)) { _state = State.CsiIgnore; return; }
            _state = State.CsiParam;
            return;
        }
        // 0x40–0x7E: final byte.
        _state = State.Ground;
        if (_intermediateCount > MaxIntermediates) return;
        if (_anyParam && !EndParam()) return;
        h.CsiDispatch(Sequence((char)c));
    }

    private void DcsHeader<T>(int c, ref T h) where T : IEscapeHandler, allows ref struct
    {
        if (c < 0x20 || c == 0x7F) return; // C0 ignored in DCS headers
        if (c >= 0xA0) { _state = State.DcsIgnore; return; }
        if (c <= 0x2F) { Collect(c); _state = State.DcsIntermediate; return; }
        if (c <= 0x3F)
        {
            if (_state == State.DcsIntermediate) { _state = State.DcsIgnore; return; }
            if (c >= 0x3C)
            {
                if (_state == State.DcsEntry) { _private = (char)c; _state = State.DcsParam; }
                else _state = State.DcsIgnore;
                return;
            }
            if (!Param(c)) { _state = State.DcsIgnore; return; }
            _state = State.DcsParam;
            return;
        }
        if (_intermediateCount > MaxIntermediates || (_anyParam && !EndParam())) { _state = State.DcsIgnore; return; }
        _state = State.DcsPassthrough;
        h.DcsHook(Sequence((char)c));
    }

    // Exit actions of the string states when something interrupts them (vt100.net: unhook, osc_end).
    private void Leave<T>(ref T h) where T : IEscapeHandler, allows ref struct
    {
        if (_state == State.DcsPassthrough) h.DcsUnhook();
        else if (_state == State.OscString) OscEnd(ref h);
    }

    private CsiSequence Sequence(char final) =>
        new(((ReadOnlySpan<int>)_params)[.._paramCount], _subMask, _private, ((ReadOnlySpan<byte>)_intermediates)[..Math.Min(_intermediateCount, MaxIntermediates)], final);

    private ReadOnlySpan<byte> Intermediates => ((ReadOnlySpan<byte>)_intermediates)[..Math.Min(_intermediateCount, MaxIntermediates)];

    private void Collect(int c)
    {
        if (_intermediateCount < MaxIntermediates) _intermediates[_intermediateCount] = (byte)c;
        if (_intermediateCount <= MaxIntermediates) _intermediateCount++;
    }

    // A parameter byte (0x30–0x3B). False when the parameter list overflowed.
    private bool Param(int c)
    {
        _anyParam = true;
        if (c <= '9')
        {
            int d = c - '0';
            _current = _current < 0 ? d : Math.Min(_current * 10 + d, MaxParamValue);
            return true;
        }
        // ':' or ';'
        if (!EndParam()) return false;
        _currentIsSub = c == ':';
        return true;
    }

    private bool EndParam()
    {
        if (_paramCount == MaxParameters) return false;
        if (_currentIsSub) _subMask |= 1u << _paramCount;
        _params[_paramCount++] = _current < 0 ? 0 : _current;
        _current = -1;
        _currentIsSub = false;
        return true;
    }

    private void Clear()
    {
        _paramCount = 0;
        _current = -1;
        _currentIsSub = false;
        _anyParam = false;
        _subMask = 0;
        _intermediateCount = 0;
        _private = '\0';
        _oscLength = 0;
        _oscTruncated = false;
    }

    private void OscPut(int c)
    {
        _osc ??= new char[MaxOscLength];
        int need = c >= 0x10000 ? 2 : 1;
        if (_oscLength + need > MaxOscLength) { _oscTruncated = true; return; }
        if (need == 1) _osc[_oscLength++] = (char)c;
        else
        {
            new Rune(c).EncodeToUtf16(_osc.AsSpan(_oscLength));
            _oscLength += 2;
        }
    }

    private void OscEnd<T>(ref T h) where T : IEscapeHandler, allows ref struct
    {
        h.OscDispatch(_osc is null ? default : _osc.AsSpan(0, _oscLength), _oscTruncated);
        _oscLength = 0;
        _oscTruncated = false;
    }
}
