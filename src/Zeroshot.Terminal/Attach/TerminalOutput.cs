using System.Buffers;
using System.Text;
using Zeroshot.Terminal.Escapes;

namespace Zeroshot.Terminal.Attach;

/// <summary>
/// Byte-level escape writing for the attach client, straight into an <see cref="IBufferWriter{T}"/> (the
/// caller's reusable buffer, e.g. an <see cref="ArrayBufferWriter{T}"/> reset with
/// <see cref="ArrayBufferWriter{T}.ResetWrittenCount"/> after each write to the terminal), so painting a
/// frame allocates nothing. Sequences follow ECMA-48 and xterm's ctlseqs
/// (https://invisible-island.net/xterm/ctlseqs/ctlseqs.html); the SGR form is the one
/// <see cref="AnsiWriter.Sgr(in SgrState)"/> and <see cref="Screen.ScreenSerializer.AppendSgr"/> write.
/// </summary>
internal static class TerminalOutput
{
    /// <summary>Appends raw bytes.</summary>
    public static void Bytes(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        var span = output.GetSpan(bytes.Length);
        bytes.CopyTo(span);
        output.Advance(bytes.Length);
    }

    /// <summary>Appends a non-negative decimal number.</summary>
    public static void Number(IBufferWriter<byte> output, int value)
    {
        var span = output.GetSpan(11);
        value.TryFormat(span, out int written, default, System.Globalization.CultureInfo.InvariantCulture);
        output.Advance(written);
    }

    /// <summary>Appends <paramref name="text"/> as UTF-8 (the caller guarantees it has no controls).</summary>
    public static void Utf8(IBufferWriter<byte> output, ReadOnlySpan<char> text)
    {
        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        output.Advance(Encoding.UTF8.GetBytes(text, span));
    }

    /// <summary>Appends one code point as UTF-8 (an invalid one as U+FFFD).</summary>
    public static void CodePoint(IBufferWriter<byte> output, int code)
    {
        if (!Rune.TryCreate(code, out var rune)) rune = Rune.ReplacementChar;
        var span = output.GetSpan(4);
        output.Advance(rune.EncodeToUtf8(span));
    }

    /// <summary>CUP to 0-based <paramref name="row"/>, <paramref name="column"/>.</summary>
    public static void MoveTo(IBufferWriter<byte> output, int row, int column)
    {
        Bytes(output, "\e["u8);
        Number(output, row + 1);
        Bytes(output, ";"u8);
        Number(output, column + 1);
        Bytes(output, "H"u8);
    }

    /// <summary><c>CSI n</c> followed by <paramref name="final"/> (ECH 'X', CUF 'C', …).</summary>
    public static void Csi(IBufferWriter<byte> output, int n, byte final)
    {
        Bytes(output, "\e["u8);
        if (n != 1) Number(output, n);
        var span = output.GetSpan(1);
        span[0] = final;
        output.Advance(1);
    }

    /// <summary>Appends <c>CSI 0 ; … m</c> setting exactly <paramref name="a"/> (colours in the form they
    /// were given, so the terminal shows what the program asked for).</summary>
    public static void Sgr(IBufferWriter<byte> output, in SgrState a)
    {
        if (a.IsDefault) { Bytes(output, "\e[0m"u8); return; }
        Bytes(output, "\e[0"u8);
        var f = a.Flags;
        if ((f & SgrState.Attributes.Bold) != 0) Bytes(output, ";1"u8);
        if ((f & SgrState.Attributes.Dim) != 0) Bytes(output, ";2"u8);
        if ((f & SgrState.Attributes.Italic) != 0) Bytes(output, ";3"u8);
        if (a.Underline == 1) Bytes(output, ";4"u8);
        else if (a.Underline > 1) { Bytes(output, ";4:"u8); Number(output, a.Underline); }
        if ((f & SgrState.Attributes.Blink) != 0) Bytes(output, ";5"u8);
        if ((f & SgrState.Attributes.Inverse) != 0) Bytes(output, ";7"u8);
        if ((f & SgrState.Attributes.Hidden) != 0) Bytes(output, ";8"u8);
        if ((f & SgrState.Attributes.Strike) != 0) Bytes(output, ";9"u8);
        if ((f & SgrState.Attributes.Overline) != 0) Bytes(output, ";53"u8);
        Colour(output, a.Foreground, 30, 90, 38);
        Colour(output, a.Background, 40, 100, 48);
        Colour(output, a.UnderlineColor, 0, 0, 58);
        Bytes(output, "m"u8);
    }

    private static void Colour(IBufferWriter<byte> output, Color c, int basic, int bright, int extended)
    {
        switch (c.Kind)
        {
            case ColorKind.Basic when basic != 0:
                Bytes(output, ";"u8);
                Number(output, (c.R < 8 ? basic : bright) + (c.R & 7));
                return;
            case ColorKind.Basic or ColorKind.Indexed:
                Bytes(output, ";"u8);
                Number(output, extended);
                Bytes(output, ";5;"u8);
                Number(output, c.R);
                return;
            case ColorKind.Rgb:
                Bytes(output, ";"u8);
                Number(output, extended);
                Bytes(output, ";2;"u8);
                Number(output, c.R);
                Bytes(output, ";"u8);
                Number(output, c.G);
                Bytes(output, ";"u8);
                Number(output, c.B);
                return;
        }
    }

    /// <summary>OSC 8 opening hyperlink <paramref name="target"/> ("params;uri", as the model keeps it),
    /// or closing the open one when <paramref name="target"/> is null.</summary>
    public static void Link(IBufferWriter<byte> output, string? target)
    {
        Bytes(output, "\e]8;"u8);
        if (target == null) Bytes(output, ";"u8);
        else Utf8(output, target);
        Bytes(output, "\e\\"u8);
    }
}
