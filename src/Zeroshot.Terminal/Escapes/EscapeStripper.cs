using System.Buffers;
using System.Text;

namespace Zeroshot.Terminal.Escapes;

/// <summary>
/// Plain text out of terminal output, for files and pipes: every escape sequence, control string and
/// control character goes (C0 except tab and line feed, DEL, and C1), lone surrogates become U+FFFD,
/// and text without any of those comes back unchanged (the same string instance). Built on
/// <see cref="EscapeParser"/>, so <c>ESC ( B</c>, OSC ended by BEL or ST, DCS and CSI with
/// intermediates are removed whole. A sequence left incomplete at the end of the input is dropped.
/// </summary>
internal static class EscapeStripper
{
    // What needs work: C0, DEL and C1. Tab and LF pass.
    private static readonly SearchValues<char> Suspicious = SearchValues.Create(
        "\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000b\u000c\u000d\u000e\u000f"
        + "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f"
        + "\u007f\u0080\u0081\u0082\u0083\u0084\u0085\u0086\u0087\u0088\u0089\u008a\u008b\u008c\u008d\u008e\u008f"
        + "\u0090\u0091\u0092\u0093\u0094\u0095\u0096\u0097\u0098\u0099\u009a\u009b\u009c\u009d\u009e\u009f");

    /// <summary>True when <paramref name="c"/> may appear in stripped output (tab, LF, or no control).</summary>
    public static bool IsAllowed(char c) => c is '\t' or '\n' || !(c < 0x20 || c is >= '\u007f' and <= '\u009f');

    /// <summary>The text without escape sequences and control characters (see the type).</summary>
    public static string Strip(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!NeedsWork(text)) return text;
        char[]? rented = null;
        Span<char> buffer = text.Length <= 512 ? stackalloc char[text.Length] : (rented = ArrayPool<char>.Shared.Rent(text.Length));
        int n = Strip(text, buffer);
        string result = new(buffer[..n]);
        if (rented is not null) ArrayPool<char>.Shared.Return(rented);
        return result;
    }

    /// <summary>
    /// Whether <paramref name="text"/> shows nothing once stripped (<see cref="Strip(string)"/>), or nothing but white
    /// space when <paramref name="whiteSpaceIsNothing"/>; the stripped text is never built (a display line's check).
    /// </summary>
    public static bool StripsToNothing(ReadOnlySpan<char> text, bool whiteSpaceIsNothing)
    {
        // Up to the first control the text is shown as it is: most lines with escapes start with a visible word.
        int first = text.IndexOfAny(Suspicious);
        var before = first < 0 ? text : text[..first];
        if (whiteSpaceIsNothing ? !before.IsWhiteSpace() : !before.IsEmpty) return false;
        if (first < 0) return true;
        var rest = text[first..];
        char[]? rented = null;
        Span<char> buffer = rest.Length <= 512 ? stackalloc char[rest.Length] : (rented = ArrayPool<char>.Shared.Rent(rest.Length));
        var stripped = buffer[..Strip(rest, buffer)];
        bool nothing = whiteSpaceIsNothing ? stripped.IsWhiteSpace() : stripped.IsEmpty;
        if (rented is not null) ArrayPool<char>.Shared.Return(rented);
        return nothing;
    }

    /// <summary>Strips <paramref name="source"/> into <paramref name="destination"/> (at least as long as
    /// the source: output is never longer) and returns the number of characters written.</summary>
    public static int Strip(ReadOnlySpan<char> source, Span<char> destination)
    {
        if (destination.Length < source.Length) throw new ArgumentException("destination shorter than source", nameof(destination));
        if (!NeedsWork(source))
        {
            source.CopyTo(destination);
            return source.Length;
        }
        var parser = new EscapeParser();
        var handler = new SpanWriter(destination);
        parser.Feed(source, ref handler);
        parser.Flush(ref handler);
        return handler.Length;
    }

    /// <summary>
    /// The rest of <paramref name="utf8"/> after the escape sequences and control strings it starts with
    /// (e.g. <c>ESC [ ? 1 h ESC =</c> that programs write when they start on a terminal, <c>ESC ( B</c>,
    /// an OSC title). A sequence that is not complete within the span is not skipped: the span is returned
    /// from its start. Text, controls and anything else end the skipping.
    /// </summary>
    public static ReadOnlySpan<byte> SkipLeading(ReadOnlySpan<byte> utf8)
    {
        if (utf8.IsEmpty || utf8[0] != 0x1B) return utf8; // the common case: no parser at all
        var parser = new EscapeParser();
        var handler = new SpanWriter(default); // nothing is printed before the loop stops
        int end = 0;
        for (int i = 0; i < utf8.Length; i++)
        {
            if (parser.IsGround && utf8[i] != 0x1B) break;
            parser.Feed(utf8.Slice(i, 1), ref handler);
            if (handler.Length > 0) break; // a non-ASCII code point ended a sequence as text
            if (parser.IsGround) end = i + 1;
        }
        return utf8[end..];
    }

    // Vectorized scans; surrogates only matter when one is unpaired.
    private static bool NeedsWork(ReadOnlySpan<char> text)
    {
        if (text.ContainsAny(Suspicious)) return true;
        int i = text.IndexOfAnyInRange('\uD800', '\uDFFF');
        if (i < 0) return false;
        for (; i < text.Length; i++)
        {
            if (!char.IsSurrogate(text[i])) continue;
            if (!char.IsHighSurrogate(text[i]) || i + 1 == text.Length || !char.IsLowSurrogate(text[i + 1])) return true;
            i++;
        }
        return false;
    }

    /// <summary>Writes printed text, tab and LF into a span.</summary>
    private ref struct SpanWriter(Span<char> destination) : IEscapeHandler
    {
        private readonly Span<char> _destination = destination;
        public int Length;

        public void Print(Rune rune)
        {
            if (_destination.IsEmpty) { Length++; return; } // SkipLeading: only counts
            Length += rune.EncodeToUtf16(_destination[Length..]);
        }

        public void Execute(int control)
        {
            if (control is not ('\t' or '\n')) return;
            if (_destination.IsEmpty) { Length++; return; }
            _destination[Length++] = (char)control;
        }

        public readonly void EscDispatch(ReadOnlySpan<byte> intermediates, char final) { }
        public readonly void CsiDispatch(CsiSequence csi) { }
        public readonly void DcsHook(CsiSequence header) { }
        public readonly void DcsPut(int codePoint) { }
        public readonly void DcsUnhook() { }
        public readonly void OscDispatch(ReadOnlySpan<char> data, bool truncated) { }
    }
}
