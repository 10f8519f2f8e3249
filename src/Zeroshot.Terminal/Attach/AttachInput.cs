namespace Zeroshot.Terminal.Attach;

/// <summary>What a key read by the attach client asks for.</summary>
internal enum AttachActionKind
{
    /// <summary>Bytes for the agent's PTY (<see cref="AttachAction.Bytes"/>).</summary>
    Forward,
    /// <summary><c>prefix d</c>: leave the agent running and go.</summary>
    Detach,
    /// <summary><c>prefix m</c>: show or hide the status bar.</summary>
    ToggleStatusBar,
    /// <summary><c>prefix c</c>: SIGINT to the agent's foreground process group.</summary>
    Interrupt,
    /// <summary><c>prefix ?</c>: the help box.</summary>
    Help,
    /// <summary><c>prefix n</c>: the cluster's next agent.</summary>
    Next,
    /// <summary><c>prefix p</c>: the cluster's previous agent.</summary>
    Previous,
}

/// <summary>One thing to do for a read of the user's keyboard; <see cref="Bytes"/> only for
/// <see cref="AttachActionKind.Forward"/> (the caller's to keep: each <see cref="AttachInput.Feed"/> that
/// forwards anything allocates one array for them).</summary>
internal readonly record struct AttachAction(AttachActionKind Kind, ReadOnlyMemory<byte> Bytes = default);

/// <summary>
/// The attach client's keyboard, as a pure state machine over the bytes read from the user's terminal (raw mode):
/// keys go to the agent (<see cref="AttachActionKind.Forward"/>), the prefix key (Ctrl+B by default, tmux's) followed
/// by a command key gives a command: <c>d</c> detach, <c>m</c> status bar, <c>c</c> interrupt, <c>?</c> help,
/// <c>n</c>/<c>p</c> next/previous agent, the prefix again sends the prefix itself (in the encoding it came in); any
/// other key after the prefix is dropped, as tmux does. Ctrl+C is forwarded like any byte.
/// </summary>
/// <remarks>
/// <para>The prefix is recognised anywhere in a read, as its control byte and in the encodings a terminal uses when
/// told to report modified keys: the kitty keyboard protocol / CSI u (<c>CSI 98;5u</c>, <c>CSI 98;5:1u</c>; press
/// events only, release and repeat events while waiting for the command key are dropped, as are the lone modifier
/// keys kitty may report) and xterm's modifyOtherKeys (<c>CSI 27;5;98~</c>); the command key may come the same ways.
/// Inside a bracketed paste (<c>CSI 200~</c> … <c>CSI 201~</c>) nothing is a command.</para>
/// <para>A read that ends inside an escape sequence keeps it (at most <see cref="MaxPending"/> bytes) for the next
/// read, or <see cref="Flush"/>; a lone ESC at the end of a read is the Escape key and is forwarded at once.</para>
/// <para>Mouse reports carry rows counted from the real terminal's top; with a status bar (<see cref="Top"/> 1) the
/// agent's screen starts one row lower, so the row is shifted up by <see cref="Top"/> (SGR <c>CSI &lt; b;x;y M/m</c>,
/// urxvt <c>CSI b;x;y M</c> and X10 <c>CSI M cb cx cy</c>), and a report on the status bar is dropped. X10 reports with
/// UTF-8 coordinates (?1005) beyond row 95 are forwarded unshifted.</para>
/// </remarks>
internal sealed class AttachInput
{
    /// <summary>Ctrl+B, tmux's default prefix.</summary>
    public const byte DefaultPrefix = 0x02;

    /// <summary>The longest partial escape sequence kept for the next read; longer ones are forwarded as they are.</summary>
    public const int MaxPending = 64;

    private const byte Esc = 0x1B;
    private static ReadOnlySpan<byte> PasteEnd => "\e[201~"u8;

    private readonly int _prefixCode; // the key a CSI u / modifyOtherKeys report gives for the prefix with Ctrl
    private readonly List<AttachAction> _actions = [];
    private readonly List<(AttachActionKind Kind, int Start, int Length)> _ops = [];
    private byte[] _work = new byte[256];
    private byte[] _out = new byte[256];
    private int _outLength;
    private readonly byte[] _pending = new byte[MaxPending];
    private int _pendingLength;
    private bool _awaiting;   // the prefix was pressed: the next key is a command
    private bool _inPaste;
    private int _swallowRelease = -1; // the release event of a command key given in CSI u form

    /// <summary>Creates the state machine for prefix byte <paramref name="prefix"/> (see <see cref="ParsePrefix"/>)
    /// and a window starting at terminal row <paramref name="top"/>.</summary>
    public AttachInput(byte prefix = DefaultPrefix, int top = 0)
    {
        if (prefix >= 0x20 || prefix == Esc) throw new ArgumentOutOfRangeException(nameof(prefix), "the prefix is a control byte other than ESC");
        Prefix = prefix;
        _prefixCode = prefix switch
        {
            0 => ' ',
            <= 0x1A => 0x60 + prefix, // Ctrl+a..z: the lower-case letter (kitty and xterm report it so)
            _ => 0x40 + prefix,       // Ctrl+\ ] ^ _
        };
        Top = top;
    }

    /// <summary>The prefix's control byte.</summary>
    public byte Prefix { get; }

    /// <summary>The real terminal's row of the agent's first row (0, or 1 under a status bar), for mouse reports.</summary>
    public int Top { get; set; }

    /// <summary>Whether the prefix was pressed and the command key is awaited.</summary>
    public bool AwaitingCommand => _awaiting;

    /// <summary>Whether nothing is held from earlier reads (no prefix awaiting its command, no partial sequence, no
    /// paste under way): then a read without ESC and without the prefix is forwarded exactly as it is.</summary>
    public bool BetweenKeys => !_awaiting && _pendingLength == 0 && !_inPaste;

    /// <summary>
    /// The actions of one read, in order (consecutive forwarded bytes as one <see cref="AttachActionKind.Forward"/>).
    /// Actions after a <see cref="AttachActionKind.Detach"/> are still reported; the caller stops there. The list is
    /// reused by the next call.
    /// </summary>
    public IReadOnlyList<AttachAction> Feed(ReadOnlySpan<byte> read)
    {
        int n = _pendingLength + read.Length;
        if (_work.Length < n) _work = new byte[Math.Max(n, _work.Length * 2)];
        _pending.AsSpan(0, _pendingLength).CopyTo(_work);
        read.CopyTo(_work.AsSpan(_pendingLength));
        _pendingLength = 0;
        return Process(n, final: false);
    }

    /// <summary>Takes a partial sequence kept from the last read as complete (call it when no more input came for a
    /// moment, e.g. 50 ms: the user typed Alt+[ or Escape then [), and returns its actions.</summary>
    public IReadOnlyList<AttachAction> Flush()
    {
        int n = _pendingLength;
        _pending.AsSpan(0, n).CopyTo(_work);
        _pendingLength = 0;
        return Process(n, final: true);
    }

    private IReadOnlyList<AttachAction> Process(int n, bool final)
    {
        _ops.Clear();
        _actions.Clear();
        _outLength = 0;
        var work = _work.AsSpan(0, n);
        int i = 0;
        while (i < n)
        {
            if (_inPaste)
            {
                int end = work[i..].IndexOf(PasteEnd);
                if (end >= 0)
                {
                    Forward(work.Slice(i, end + PasteEnd.Length));
                    i += end + PasteEnd.Length;
                    _inPaste = false;
                    continue;
                }
                // Keep a tail that may be the start of the paste's end for the next read.
                int keep = final ? 0 : PartialSuffix(work[i..], PasteEnd);
                Forward(work[i..(n - keep)]);
                Keep(work[(n - keep)..]);
                break;
            }
            byte b = work[i];
            if (b == Esc)
            {
                int length = SequenceLength(work[i..]);
                if (length == 0)
                {
                    // Incomplete: a lone ESC is the Escape key; the rest waits for the next read.
                    if (i == n - 1) length = 1;
                    else if (final || n - i > MaxPending) length = n - i;
                    else
                    {
                        Keep(work[i..]);
                        break;
                    }
                }
                Sequence(work.Slice(i, length));
                i += length;
                continue;
            }
            if (_awaiting)
            {
                int length = Utf8Length(b);
                if (i + length > n && !final)
                {
                    Keep(work[i..]);
                    break;
                }
                length = Math.Min(length, n - i);
                _awaiting = false;
                if (b == Prefix) Forward(work.Slice(i, 1));
                else if (length == 1) Command(b);
                i += length;
                continue;
            }
            if (b == Prefix)
            {
                _awaiting = true;
                i++;
                continue;
            }
            // A run of ordinary bytes.
            int run = i + 1;
            while (run < n && work[run] != Esc && work[run] != Prefix) run++;
            Forward(work[i..run]);
            i = run;
        }
        return Results();
    }

    private void Keep(ReadOnlySpan<byte> tail)
    {
        tail.CopyTo(_pending);
        _pendingLength = tail.Length;
    }

    // The longest proper prefix of `pattern` that `data` ends with.
    private static int PartialSuffix(ReadOnlySpan<byte> data, ReadOnlySpan<byte> pattern)
    {
        for (int k = Math.Min(pattern.Length - 1, data.Length); k > 0; k--)
        {
            if (data[^k..].SequenceEqual(pattern[..k])) return k;
        }
        return 0;
    }

    private static int Utf8Length(byte lead) => lead switch
    {
        < 0xC0 => 1,
        < 0xE0 => 2,
        < 0xF0 => 3,
        _ => 4,
    };

    // Length of the escape sequence at the start of s (s[0] is ESC); 0 when it is not complete yet.
    private static int SequenceLength(ReadOnlySpan<byte> s)
    {
        if (s.Length < 2) return 0;
        byte next = s[1];
        switch (next)
        {
            case (byte)'[':
                if (s.Length < 3) return 0;
                if (s[2] == 'M') return s.Length >= 6 ? 6 : 0; // X10 mouse: three raw bytes follow
                for (int j = 2; j < s.Length; j++)
                {
                    byte c = s[j];
                    if (c is >= 0x40 and <= 0x7E) return j + 1;
                    if (c is < 0x20 or > 0x3F) return j; // malformed: what came so far, on its own
                }
                return 0;
            case (byte)'O':
                return s.Length >= 3 ? 3 : 0;
            case (byte)'P' or (byte)']' or (byte)'_' or (byte)'^' or (byte)'X':
                // A string (a terminal's reply): up to ST (ESC \) or BEL.
                for (int j = 2; j < s.Length; j++)
                {
                    if (s[j] == 0x07) return j + 1;
                    if (s[j] == Esc && j + 1 < s.Length && s[j + 1] == '\\') return j + 2;
                }
                return 0;
            case Esc:
                return 1; // Escape pressed twice: the first one alone
            default:
                // Alt+key: ESC and one (UTF-8) character.
                int length = 1 + Utf8Length(next);
                return s.Length >= length ? length : 0;
        }
    }

    private void Sequence(ReadOnlySpan<byte> seq)
    {
        if (seq.Length >= 3 && seq[1] == '[')
        {
            Csi(seq);
            return;
        }
        // SS3 keys, Alt+key, a lone Escape: keys. Strings (terminal replies) are not keys.
        bool key = seq.Length < 2 || seq[1] is not ((byte)'P' or (byte)']' or (byte)'_' or (byte)'^' or (byte)'X');
        if (_awaiting && key)
        {
            _awaiting = false; // an unknown key after the prefix (Escape cancels it): dropped
            return;
        }
        Forward(seq);
    }

    private void Csi(ReadOnlySpan<byte> seq)
    {
        byte final = seq[^1];
        if (seq.Length == 6 && seq[2] == 'M')
        {
            X10Mouse(seq);
            return;
        }
        var body = seq[2..^1];
        if (final is (byte)'M' or (byte)'m' && (body.Length > 0 && body[0] == '<' || final == 'M' && Fields(body, out _, out _, out _) == 3))
        {
            Mouse(seq, body, final);
            return;
        }
        if (final is (byte)'I' or (byte)'O' && body.IsEmpty)
        {
            Forward(seq); // focus in/out: not a key
            return;
        }
        if (final == '~' && body.SequenceEqual("200"u8))
        {
            _awaiting = false;
            _inPaste = true;
            Forward(seq);
            return;
        }
        if (Key(body, final) is { } k)
        {
            KeyEvent(seq, k);
            return;
        }
        if (_awaiting)
        {
            _awaiting = false; // cursor keys, function keys…: unknown after the prefix, dropped
            return;
        }
        Forward(seq);
    }

    private readonly record struct KeyReport(int Code, int Shifted, int Modifiers, int Event);

    // A CSI u (kitty) or modifyOtherKeys report: the key, the modifier bits (shift 1, alt 2, ctrl 4, …; the lock
    // bits 64 and 128 masked off), the event (1 press, 2 repeat, 3 release).
    private static KeyReport? Key(ReadOnlySpan<byte> body, byte final)
    {
        if (body.IsEmpty || body[0] is not (>= (byte)'0' and <= (byte)'9')) return null;
        Span<int> f = stackalloc int[9]; // three fields of three sub-fields, -1 when absent
        f.Fill(-1);
        int field = 0, sub = 0;
        for (int j = 0; j < body.Length; j++)
        {
            byte c = body[j];
            if (c == ';') { if (++field > 2) return null; sub = 0; }
            else if (c == ':') { if (++sub > 2) return null; }
            else if (c is >= (byte)'0' and <= (byte)'9')
            {
                ref int v = ref f[field * 3 + sub];
                v = v < 0 ? c - '0' : Math.Min(v * 10 + c - '0', 0x10FFFF + 1);
            }
            else return null;
        }
        if (final == 'u')
        {
            int mods = f[3] < 1 ? 0 : f[3] - 1;
            return new KeyReport(f[0], f[1], mods & ~(64 | 128), f[4] < 1 ? 1 : f[4]);
        }
        if (final == '~' && f[0] == 27 && f[3] >= 1 && f[6] >= 0)
            return new KeyReport(f[6], -1, (f[3] - 1) & ~(64 | 128), 1);
        return null;
    }

    private void KeyEvent(ReadOnlySpan<byte> seq, KeyReport k)
    {
        const int Ctrl = 4;
        bool prefix = k.Modifiers == Ctrl && k.Code == _prefixCode;
        if (!_awaiting)
        {
            if (k.Event == 3 && k.Code == _swallowRelease)
            {
                _swallowRelease = -1;
                return;
            }
            if (prefix && k.Event == 1)
            {
                _awaiting = true;
                return;
            }
            Forward(seq);
            return;
        }
        // Waiting for the command key: releases and repeats (of the prefix itself), and the modifier and lock keys
        // kitty reports on their own, are not it.
        if (k.Event != 1 || k.Code is (>= 57441 and <= 57452) or (>= 57358 and <= 57360)) return;
        _awaiting = false;
        if (prefix)
        {
            Forward(seq);
            return;
        }
        int code = k.Modifiers switch
        {
            0 => k.Code,
            1 => k.Shifted > 0 ? k.Shifted : -1,
            _ => -1,
        };
        if (code is > 0 and < 0x80 && Command((byte)code)) _swallowRelease = k.Code;
    }

    private bool Command(byte key)
    {
        AttachActionKind? kind = key switch
        {
            (byte)'d' => AttachActionKind.Detach,
            (byte)'m' => AttachActionKind.ToggleStatusBar,
            (byte)'c' => AttachActionKind.Interrupt,
            (byte)'?' => AttachActionKind.Help,
            (byte)'n' => AttachActionKind.Next,
            (byte)'p' => AttachActionKind.Previous,
            _ => null,
        };
        if (kind is not { } k) return false;
        _ops.Add((k, 0, 0));
        return true;
    }

    // Splits "a;b;c" into numbers; returns how many fields there are (only plain numbers count; else 0).
    private static int Fields(ReadOnlySpan<byte> body, out int a, out int b, out int c)
    {
        a = b = c = -1;
        int field = 0, value = -1;
        for (int j = 0; j <= body.Length; j++)
        {
            if (j == body.Length || body[j] == ';')
            {
                if (value < 0 || field > 2) return 0;
                if (field == 0) a = value;
                else if (field == 1) b = value;
                else c = value;
                field++;
                value = -1;
                continue;
            }
            byte ch = body[j];
            if (ch is < (byte)'0' or > (byte)'9') return 0;
            value = value < 0 ? ch - '0' : Math.Min(value * 10 + ch - '0', 1 << 20);
        }
        return field;
    }

    // SGR (CSI < b;x;y M/m) or urxvt (CSI b;x;y M) mouse report: the row shifted up by Top.
    private void Mouse(ReadOnlySpan<byte> seq, ReadOnlySpan<byte> body, byte final)
    {
        if (Top == 0)
        {
            Forward(seq);
            return;
        }
        bool sgr = body[0] == '<';
        if (Fields(sgr ? body[1..] : body, out int button, out int x, out int y) != 3)
        {
            Forward(seq);
            return;
        }
        y -= Top;
        if (y < 1) return; // on the status bar
        Span<byte> rebuilt = stackalloc byte[48];
        int n = 0;
        rebuilt[n++] = Esc;
        rebuilt[n++] = (byte)'[';
        if (sgr) rebuilt[n++] = (byte)'<';
        n += Write(rebuilt[n..], button);
        rebuilt[n++] = (byte)';';
        n += Write(rebuilt[n..], x);
        rebuilt[n++] = (byte)';';
        n += Write(rebuilt[n..], y);
        rebuilt[n++] = final;
        Forward(rebuilt[..n]);
    }

    private static int Write(Span<byte> to, int value)
    {
        value.TryFormat(to, out int written, default, System.Globalization.CultureInfo.InvariantCulture);
        return written;
    }

    // X10 (CSI M cb cx cy, each value + 32): the row shifted up by Top.
    private void X10Mouse(ReadOnlySpan<byte> seq)
    {
        int y = seq[5] - 32;
        if (Top == 0 || y < 1 || seq[5] >= 0x80)
        {
            Forward(seq);
            return;
        }
        y -= Top;
        if (y < 1) return; // on the status bar
        Span<byte> shifted = stackalloc byte[6];
        seq.CopyTo(shifted);
        shifted[5] = (byte)(y + 32);
        Forward(shifted);
    }

    private void Forward(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty) return;
        if (_out.Length < _outLength + bytes.Length) Array.Resize(ref _out, Math.Max(_out.Length * 2, _outLength + bytes.Length));
        bytes.CopyTo(_out.AsSpan(_outLength));
        if (_ops.Count > 0 && _ops[^1].Kind == AttachActionKind.Forward)
        {
            var last = _ops[^1];
            _ops[^1] = last with { Length = last.Length + bytes.Length };
        }
        else _ops.Add((AttachActionKind.Forward, _outLength, bytes.Length));
        _outLength += bytes.Length;
    }

    private List<AttachAction> Results()
    {
        // One array per read for the forwarded bytes: the caller may hold them while it sends them.
        var bytes = _outLength == 0 ? [] : _out.AsSpan(0, _outLength).ToArray();
        foreach (var (kind, start, length) in _ops)
            _actions.Add(new AttachAction(kind, kind == AttachActionKind.Forward ? bytes.AsMemory(start, length) : default));
        return _actions;
    }

    // ---- the prefix key as the user writes it ----

    /// <summary>
    /// Reads a prefix key as written on the command line or in settings: <c>C-b</c>, <c>c-B</c>, <c>^b</c> (Ctrl and
    /// a letter), <c>C-Space</c> / <c>C-@</c> / <c>^@</c>, <c>C-\</c>, <c>C-]</c>, <c>C-^</c>, <c>C-_</c>. Returns the
    /// control byte and how to show it (<c>C-b</c>). Throws <see cref="FormatException"/> with a one-line message for
    /// anything else.
    /// </summary>
    public static (byte Prefix, string Label) ParsePrefix(string text)
    {
        if (TryParsePrefix(text, out byte prefix, out string label, out string error)) return (prefix, label);
        throw new FormatException(error);
    }

    /// <summary>The non-throwing <see cref="ParsePrefix"/>: false with a one-line <paramref name="error"/>.</summary>
    public static bool TryParsePrefix(string text, out byte prefix, out string label, out string error)
    {
        ArgumentNullException.ThrowIfNull(text);
        prefix = 0;
        label = "";
        error = "";
        var t = text.AsSpan().Trim();
        ReadOnlySpan<char> key = default;
        if (t.Length > 2 && (t[0] is 'C' or 'c') && t[1] == '-') key = t[2..];
        else if (t.Length > 1 && t[0] == '^') key = t[1..];
        if (key.Equals("Space", StringComparison.OrdinalIgnoreCase) || key is "@")
        {
            prefix = 0;
        }
        else if (key.Length == 1 && char.IsAsciiLetter(key[0]))
        {
            prefix = (byte)(char.ToLowerInvariant(key[0]) - 'a' + 1);
        }
        else if (key.Length == 1 && key[0] is '\\' or ']' or '^' or '_')
        {
            prefix = (byte)(key[0] - 0x40);
        }
        else if (key.Length == 1 && key[0] == '[')
        {
            error = $"invalid prefix key '{Format.Escaped(text)}': C-[ is the Escape key; use C-<letter> (C-b, C-a) or C-Space";
            return false;
        }
        else
        {
            error = $"invalid prefix key '{Format.Escaped(text)}': use C-<letter> (C-b, C-a), ^<letter> (^a) or C-Space";
            return false;
        }
        label = PrefixLabel(prefix);
        return true;
    }

    /// <summary>How prefix byte <paramref name="prefix"/> is shown in the status bar and the help: <c>C-b</c>,
    /// <c>C-Space</c>, <c>C-\</c>.</summary>
    public static string PrefixLabel(byte prefix) => prefix switch
    {
        0 => "C-Space",
        <= 0x1A => "C-" + (char)('a' + prefix - 1),
        < 0x20 => "C-" + (char)(prefix + 0x40),
        _ => throw new ArgumentOutOfRangeException(nameof(prefix)),
    };
}
