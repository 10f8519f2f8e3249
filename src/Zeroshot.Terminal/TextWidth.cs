using System.Buffers;
using System.Globalization;
using System.Text;

namespace Zeroshot.Terminal;

/// <summary>
/// Display width of text in terminal columns. .NET has no East Asian Width data, so the wide ranges
/// below follow Unicode's EastAsianWidth.txt (W and F) and emoji-presentation (Emoji_Presentation=Yes)
/// the way wcwidth(3) implementations (glibc 2.35+, xterm, tmux 3.x) classify them.
/// Grapheme clusters (UAX #29, via <see cref="StringInfo"/>, which works under InvariantGlobalization)
/// are measured by their base character: combining marks, ZWJ and variation selectors add nothing,
/// an emoji ZWJ sequence or a flag counts as one two-column glyph, and VS16 (U+FE0F) widens its base.
/// </summary>
internal static class TextWidth
{
    // Sorted, non-overlapping inclusive ranges of wide (2-column) code points.
    private static readonly int[] Wide =
    [
        0x1100, 0x115F, 0x231A, 0x231B, 0x2329, 0x232A, 0x23E9, 0x23EC, 0x23F0, 0x23F0, 0x23F3, 0x23F3,
        0x25FD, 0x25FE, 0x2614, 0x2615, 0x2648, 0x2653, 0x267F, 0x267F, 0x2693, 0x2693, 0x26A1, 0x26A1,
        0x26AA, 0x26AB, 0x26BD, 0x26BE, 0x26C4, 0x26C5, 0x26CE, 0x26CE, 0x26D4, 0x26D4, 0x26EA, 0x26EA,
        0x26F2, 0x26F3, 0x26F5, 0x26F5, 0x26FA, 0x26FA, 0x26FD, 0x26FD, 0x2705, 0x2705, 0x270A, 0x270B,
        0x2728, 0x2728, 0x274C, 0x274C, 0x274E, 0x274E, 0x2753, 0x2755, 0x2757, 0x2757, 0x2795, 0x2797,
        0x27B0, 0x27B0, 0x27BF, 0x27BF, 0x2B1B, 0x2B1C, 0x2B50, 0x2B50, 0x2B55, 0x2B55, 0x2E80, 0x303E,
        0x3041, 0x33FF, 0x3400, 0x4DBF, 0x4E00, 0x9FFF, 0xA000, 0xA4CF, 0xA960, 0xA97F, 0xAC00, 0xD7A3,
        0xF900, 0xFAFF, 0xFE10, 0xFE19, 0xFE30, 0xFE6F, 0xFF00, 0xFF60, 0xFFE0, 0xFFE6,
        0x16FE0, 0x16FE4, 0x17000, 0x18CFF, 0x1B000, 0x1B2FF, 0x1F004, 0x1F004, 0x1F0CF, 0x1F0CF,
        0x1F18E, 0x1F18E, 0x1F191, 0x1F19A, 0x1F200, 0x1F202, 0x1F210, 0x1F23B, 0x1F240, 0x1F248,
        0x1F250, 0x1F251, 0x1F260, 0x1F265, 0x1F300, 0x1F320, 0x1F32D, 0x1F335, 0x1F337, 0x1F37C,
        0x1F37E, 0x1F393, 0x1F3A0, 0x1F3CA, 0x1F3CF, 0x1F3D3, 0x1F3E0, 0x1F3F0, 0x1F3F4, 0x1F3F4,
        0x1F3F8, 0x1F43E, 0x1F440, 0x1F440, 0x1F442, 0x1F4FC, 0x1F4FF, 0x1F53D, 0x1F54B, 0x1F54E,
        0x1F550, 0x1F567, 0x1F57A, 0x1F57A, 0x1F595, 0x1F596, 0x1F5A4, 0x1F5A4, 0x1F5FB, 0x1F64F,
        0x1F680, 0x1F6C5, 0x1F6CC, 0x1F6CC, 0x1F6D0, 0x1F6D2, 0x1F6D5, 0x1F6D7, 0x1F6DC, 0x1F6DF,
        0x1F6EB, 0x1F6EC, 0x1F6F4, 0x1F6FC, 0x1F7E0, 0x1F7EB, 0x1F7F0, 0x1F7F0, 0x1F90C, 0x1F93A,
        0x1F93C, 0x1F945, 0x1F947, 0x1F9FF, 0x1FA70, 0x1FAFF, 0x20000, 0x2FFFD, 0x30000, 0x3FFFD,
    ];

    // Widths of the Basic Multilingual Plane, computed a 256-code-point page at a time on first use:
    // the screen model asks for every non-ASCII character it prints (box drawing, ✓, CJK), and the
    // category lookup plus the binary search cost more than the rest of printing the cell.
    private static readonly byte[]?[] BmpPages = new byte[]?[256];

    /// <summary>Columns one code point occupies on its own (wcwidth semantics; controls count 0).</summary>
    public static int RuneWidth(Rune rune)
    {
        int v = rune.Value;
        if (v < 0x7F) return v >= 0x20 ? 1 : 0;
        if (v > 0xFFFF) return ComputeWidth(rune);
        var page = Volatile.Read(ref BmpPages[v >> 8]) ?? FillPage(v >> 8);
        return page[v & 0xFF];
    }

    private static byte[] FillPage(int index)
    {
        var page = new byte[256];
        for (int i = 0; i < 256; i++)
        {
            int v = (index << 8) | i;
            // Surrogate code points are not runes; they never reach here from decoded text.
            page[i] = Rune.IsValid(v) ? (byte)ComputeWidth(new Rune(v)) : (byte)1;
        }
        // Two threads may fill the same page: both compute the same bytes, either array is fine.
        Volatile.Write(ref BmpPages[index], page);
        return page;
    }

    private static int ComputeWidth(Rune rune)
    {
        int v = rune.Value;
        if (v < 0x7F) return v >= 0x20 ? 1 : 0;
        if (v < 0xA0) return 0;
        // Hangul Jamo medial vowels and final consonants combine with the preceding syllable.
        if (v is >= 0x1160 and <= 0x11FF) return 0;
        if (v == 0x200B) return 0;
        switch (Rune.GetUnicodeCategory(rune))
        {
            case UnicodeCategory.NonSpacingMark:
            case UnicodeCategory.EnclosingMark:
            case UnicodeCategory.Format:
            case UnicodeCategory.Control:
                return 0;
        }
        return IsWide(v) ? 2 : 1;
    }

    private static bool IsWide(int v)
    {
        if (v < 0x1100) return false;
        int lo = 0, hi = Wide.Length / 2 - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (v < Wide[mid * 2]) hi = mid - 1;
            else if (v > Wide[mid * 2 + 1]) lo = mid + 1;
            else return true;
        }
        return false;
    }

    /// <summary>Columns one grapheme cluster occupies.</summary>
    public static int GraphemeWidth(ReadOnlySpan<char> grapheme)
    {
        if (grapheme.IsEmpty) return 0;
        if (Rune.DecodeFromUtf16(grapheme, out var first, out int used) != OperationStatus.Done) return 1;
        int width = RuneWidth(first);
        if (used == grapheme.Length) return width;
        // A flag is a pair of regional indicators (U+1F1E6..U+1F1FF): one two-column glyph.
        if (first.Value is >= 0x1F1E6 and <= 0x1F1FF) return 2;
        var rest = grapheme[used..];
        // VS16 requests emoji presentation (two columns); a ZWJ sequence renders as one emoji.
        if (width == 1 && (rest.Contains('\uFE0F') || rest.Contains('\u200D'))) return 2;
        return width;
    }

    /// <summary>Display columns of <paramref name="text"/>.</summary>
    public static int Columns(ReadOnlySpan<char> text)
    {
        int total = 0;
        // Fast path: printable ASCII is one column per char and never forms multi-char clusters
        // except CR LF, which are controls (0) anyway.
        int i = 0;
        while (i < text.Length && text[i] is >= ' ' and < '\x7F') i++;
        total = i;
        text = text[i..];
        while (!text.IsEmpty)
        {
            int len = StringInfo.GetNextTextElementLength(text);
            total += GraphemeWidth(text[..len]);
            text = text[len..];
        }
        return total;
    }

    /// <summary>
    /// <paramref name="text"/> cut to exactly <paramref name="width"/> columns: truncated on a grapheme
    /// boundary with an ellipsis when too long, padded with spaces when short (a wide glyph that would
    /// straddle the edge is replaced by padding).
    /// </summary>
    public static string Fit(string text, int width)
    {
        if (width <= 0) return string.Empty;
        int cols = Columns(text);
        if (cols == width) return text;
        if (cols < width) return string.Concat(text, new string(' ', width - cols));
        var sb = new StringBuilder(text.Length + 2);
        int used = 0, budget = width - 1; // one column for the ellipsis
        var span = text.AsSpan();
        while (!span.IsEmpty)
        {
            int len = StringInfo.GetNextTextElementLength(span);
            int w = GraphemeWidth(span[..len]);
            if (used + w > budget) break;
            sb.Append(span[..len]);
            used += w;
            span = span[len..];
        }
        sb.Append('…');
        used++;
        if (used < width) sb.Append(' ', width - used);
        return sb.ToString();
    }
}
