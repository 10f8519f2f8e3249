namespace Zeroshot.Terminal.Attach;

/// <summary>
/// The help shown by <c>prefix ?</c> while attached: the keys <see cref="AttachInput"/> understands after the prefix
/// and what they do. Drawn as a box over the agent's screen with <see cref="ScreenPainter.AppendOverlay"/>; any key
/// closes it (the caller invalidates the painter, and the next paint removes it).
/// </summary>
internal static class AttachHelp
{
    /// <summary>The help lines, with the prefix written as <paramref name="prefixLabel"/> (e.g. <c>C-b</c>).</summary>
    public static IReadOnlyList<string> Lines(string prefixLabel)
    {
        ArgumentNullException.ThrowIfNull(prefixLabel);
        string p = Format.Sanitize(prefixLabel);
        return
        [
            "zeroshot attach: keys after the prefix " + p,
            "",
            p + " d        detach (the agent keeps running)",
            p + " m        show or hide the status bar",
            p + " c        interrupt the agent (SIGINT)",
            p + " n / p    next / previous agent of the cluster",
            p + " " + p + "      send " + p + " itself to the agent",
            p + " ?        this help",
            "",
            "Any other key after the prefix is ignored.",
            "Press any key to close this help.",
        ];
    }
}
