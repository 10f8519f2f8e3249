namespace Zeroshot.Terminal;

/// <summary>Kind of a <see cref="Color"/>.</summary>
internal enum ColorKind : byte
{
    /// <summary>The terminal's default foreground/background.</summary>
    Default,
    /// <summary>One of the 16 ANSI colours (0–7 normal, 8–15 bright).</summary>
    Basic,
    /// <summary>An entry of the 256-colour palette.</summary>
    Indexed,
    /// <summary>24-bit RGB.</summary>
    Rgb,
}

/// <summary>A terminal colour; downgraded by <see cref="AnsiWriter"/> to what the terminal supports.</summary>
internal readonly record struct Color(ColorKind Kind, byte R, byte G = 0, byte B = 0)
{
    /// <summary>Terminal default.</summary>
    public static Color Default => default;
    /// <summary>ANSI colour 0–15.</summary>
    public static Color Basic(int index) => new(ColorKind.Basic, (byte)index);
    /// <summary>256-palette colour.</summary>
    public static Color Indexed(int index) => new(ColorKind.Indexed, (byte)index);
    /// <summary>Truecolor.</summary>
    public static Color FromRgb(byte r, byte g, byte b) => new(ColorKind.Rgb, r, g, b);

    /// <summary>ANSI red.</summary>
    public static Color Red => Basic(1);
    /// <summary>ANSI green.</summary>
    public static Color Green => Basic(2);
    /// <summary>ANSI yellow.</summary>
    public static Color Yellow => Basic(3);
    /// <summary>ANSI blue.</summary>
    public static Color Blue => Basic(4);
    /// <summary>ANSI magenta.</summary>
    public static Color Magenta => Basic(5);
    /// <summary>ANSI cyan.</summary>
    public static Color Cyan => Basic(6);
    /// <summary>ANSI bright black (grey).</summary>
    public static Color Grey => Basic(8);
}

/// <summary>Text attributes of a segment.</summary>
internal readonly record struct Style(Color Foreground = default, Color Background = default, bool Bold = false, bool Dim = false, bool Inverse = false)
{
    /// <summary>No attributes.</summary>
    public static Style Plain => default;
}
