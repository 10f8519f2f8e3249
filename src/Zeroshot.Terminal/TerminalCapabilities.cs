namespace Zeroshot.Terminal;

/// <summary>How many colours the terminal can show.</summary>
internal enum ColorDepth
{
    /// <summary>No colour at all (NO_COLOR, TERM=dumb): bold/dim only.</summary>
    None,
    /// <summary>The 16 ANSI colours (SGR 30–37, 90–97).</summary>
    Basic16,
    /// <summary>xterm's 256-colour palette (SGR 38;5;n).</summary>
    Indexed256,
    /// <summary>24-bit colour (SGR 38;2;r;g;b).</summary>
    TrueColor,
}

/// <summary>What the output terminal is assumed to support, derived from the environment.</summary>
/// <param name="Colors">Colour depth.</param>
/// <param name="SynchronizedOutput">
/// Whether frames are wrapped in DEC private mode 2026 (begin/end synchronized update). Terminals that
/// do not know the mode ignore the DECSET (ECMA-48 / DEC STD 070: unrecognized private modes are
/// ignored; xterm, VTE, tmux, Linux console all do), so it is on for every terminal except TERM=dumb,
/// where nothing but plain text is written anyway. Probing with DECRQM would need a read from the tty.
/// </param>
/// <param name="IsDumb">TERM=dumb (or unset): no cursor addressing, so no footer.</param>
internal sealed record TerminalCapabilities(ColorDepth Colors, bool SynchronizedOutput, bool IsDumb)
{
    /// <summary>Full-featured terminal (tests, benchmarks).</summary>
    public static TerminalCapabilities Full { get; } = new(ColorDepth.TrueColor, true, false);

    /// <summary>
    /// Reads NO_COLOR (https://no-color.org: any non-empty value disables colour), TERM (dumb, *-256color,
    /// *-direct) and COLORTERM (truecolor/24bit, the de-facto convention of VTE, iTerm2, kitty…).
    /// </summary>
    public static TerminalCapabilities FromEnvironment(Func<string, string?> getEnv)
    {
        var term = getEnv("TERM") ?? string.Empty;
        bool dumb = term.Length == 0 || term == "dumb";
        ColorDepth depth;
        var colorTerm = getEnv("COLORTERM") ?? string.Empty;
        if (dumb || !string.IsNullOrEmpty(getEnv("NO_COLOR"))) depth = ColorDepth.None;
        else if (colorTerm is "truecolor" or "24bit" || term.EndsWith("-direct", StringComparison.Ordinal)) depth = ColorDepth.TrueColor;
        else if (term.Contains("256color", StringComparison.Ordinal)) depth = ColorDepth.Indexed256;
        else depth = ColorDepth.Basic16;
        return new TerminalCapabilities(depth, !dumb, dumb);
    }
}
