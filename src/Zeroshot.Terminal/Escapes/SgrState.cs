namespace Zeroshot.Terminal.Escapes;

/// <summary>
/// The graphic rendition a terminal applies to new text, as changed by SGR (<c>CSI … m</c>, ECMA-48
/// §8.3.117; colours per ITU T.416 and xterm ctlseqs): intensity, italic, underline style, blink,
/// inverse, hidden, strike-through, overline, and foreground, background and underline colours.
/// Fonts (10–19), framing (51–52, 54) and other rarely used parameters are not tracked.
/// </summary>
internal struct SgrState : IEquatable<SgrState>
{
    /// <summary>Attribute bits.</summary>
    [Flags]
    public enum Attributes : ushort
    {
        /// <summary>None.</summary>
        None = 0,
        /// <summary>SGR 1.</summary>
        Bold = 1,
        /// <summary>SGR 2.</summary>
        Dim = 2,
        /// <summary>SGR 3.</summary>
        Italic = 4,
        /// <summary>SGR 5/6.</summary>
        Blink = 8,
        /// <summary>SGR 7.</summary>
        Inverse = 16,
        /// <summary>SGR 8.</summary>
        Hidden = 32,
        /// <summary>SGR 9.</summary>
        Strike = 64,
        /// <summary>SGR 53.</summary>
        Overline = 128,
    }

    /// <summary>Attribute flags.</summary>
    public Attributes Flags;
    /// <summary>Underline style: 0 none, 1 single, 2 double, 3 curly, 4 dotted, 5 dashed (<c>4:n</c>).</summary>
    public byte Underline;
    /// <summary>Foreground colour.</summary>
    public Color Foreground;
    /// <summary>Background colour.</summary>
    public Color Background;
    /// <summary>Underline colour (SGR 58); <see cref="ColorKind.Basic"/> is not used.</summary>
    public Color UnderlineColor;

    /// <summary>The terminal's default rendition (after SGR 0).</summary>
    public readonly bool IsDefault => this == default;

    /// <summary>Applies one SGR sequence's parameters (an empty list is SGR 0).</summary>
    public void Apply(CsiSequence sgr)
    {
        var p = sgr.Parameters;
        if (p.IsEmpty) { this = default; return; }
        for (int i = 0; i < p.Length; i++)
        {
            int v = p[i];
            if (sgr.IsSubparameter(i)) continue; // a sub-parameter its main parameter did not use
            switch (v)
            {
                case 0: this = default; break;
                case 1: Flags |= Attributes.Bold; break;
                case 2: Flags |= Attributes.Dim; break;
                case 3: Flags |= Attributes.Italic; break;
                case 4:
                    if (sgr.IsSubparameter(i + 1) && i + 1 < p.Length) Underline = (byte)Math.Min(p[++i], 5);
                    else Underline = 1;
                    break;
                case 5 or 6: Flags |= Attributes.Blink; break;
                case 7: Flags |= Attributes.Inverse; break;
                case 8: Flags |= Attributes.Hidden; break;
                case 9: Flags |= Attributes.Strike; break;
                case 21: Underline = 2; break;
                case 22: Flags &= ~(Attributes.Bold | Attributes.Dim); break;
                case 23: Flags &= ~Attributes.Italic; break;
                case 24: Underline = 0; break;
                case 25: Flags &= ~Attributes.Blink; break;
                case 27: Flags &= ~Attributes.Inverse; break;
                case 28: Flags &= ~Attributes.Hidden; break;
                case 29: Flags &= ~Attributes.Strike; break;
                case >= 30 and <= 37: Foreground = Color.Basic(v - 30); break;
                case 38: Foreground = Extended(sgr, ref i, Foreground); break;
                case 39: Foreground = default; break;
                case >= 40 and <= 47: Background = Color.Basic(v - 40); break;
                case 48: Background = Extended(sgr, ref i, Background); break;
                case 49: Background = default; break;
                case 53: Flags |= Attributes.Overline; break;
                case 55: Flags &= ~Attributes.Overline; break;
                case 58: UnderlineColor = Extended(sgr, ref i, UnderlineColor); break;
                case 59: UnderlineColor = default; break;
                case >= 90 and <= 97: Foreground = Color.Basic(v - 90 + 8); break;
                case >= 100 and <= 107: Background = Color.Basic(v - 100 + 8); break;
            }
        }
    }

    // 38/48/58 followed by 5;n or 2;r;g;b (xterm), or the ':' forms 5:n, 2:r:g:b and 2:cs:r:g:b (T.416).
    private static Color Extended(CsiSequence sgr, ref int i, Color unchanged)
    {
        var p = sgr.Parameters;
        if (i + 1 >= p.Length) return unchanged;
        bool colon = sgr.IsSubparameter(i + 1);
        int kind = p[i + 1];
        if (colon)
        {
            int end = i + 1;
            while (end + 1 < p.Length && sgr.IsSubparameter(end + 1)) end++;
            int count = end - i - 1; // values after the kind
            Color result = unchanged;
            if (kind == 5 && count >= 1) result = Color.Indexed(Byte(p[i + 2]));
            else if (kind == 2 && count >= 3)
            {
                int first = count >= 4 ? i + 3 : i + 2; // skip the colour-space id when present
                result = Color.FromRgb(Byte(p[first]), Byte(p[first + 1]), Byte(p[first + 2]));
            }
            i = end;
            return result;
        }
        if (kind == 5 && i + 2 < p.Length)
        {
            i += 2;
            return Color.Indexed(Byte(p[i]));
        }
        if (kind == 2 && i + 4 < p.Length)
        {
            var c = Color.FromRgb(Byte(p[i + 2]), Byte(p[i + 3]), Byte(p[i + 4]));
            i += 4;
            return c;
        }
        i = p.Length; // malformed: xterm ignores the rest
        return unchanged;
    }

    private static byte Byte(int v) => (byte)Math.Min(v, 255);

    /// <inheritdoc/>
    public readonly bool Equals(SgrState other) =>
        Flags == other.Flags && Underline == other.Underline && Foreground == other.Foreground
        && Background == other.Background && UnderlineColor == other.UnderlineColor;

    /// <inheritdoc/>
    public override readonly bool Equals(object? obj) => obj is SgrState other && Equals(other);

    /// <inheritdoc/>
    public override readonly int GetHashCode() => HashCode.Combine(Flags, Underline, Foreground, Background, UnderlineColor);

    /// <summary>Equality.</summary>
    public static bool operator ==(SgrState left, SgrState right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(SgrState left, SgrState right) => !left.Equals(right);
}
