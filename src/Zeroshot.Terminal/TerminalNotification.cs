using System.Text;

namespace Zeroshot.Terminal;

/// <summary>The escape sequence a terminal shows as a desktop notification, if any.</summary>
internal enum OscNotification
{
    /// <summary>None known: the bell (BEL) is the only signal sent.</summary>
    None,

    /// <summary><c>OSC 9 ; text BEL</c> (iTerm2's form; WezTerm, kitty, ghostty, Warp, VS Code).</summary>
    Osc9,

    /// <summary><c>OSC 777 ; notify ; title ; body BEL</c> (rxvt-unicode's form; foot, VTE with Fedora's patch, Windows Terminal).</summary>
    Osc777,
}

/// <summary>
/// How the terminal can be told that something needs the person, derived from the environment like
/// <see cref="TerminalCapabilities"/>: no query is sent (there is no reliable probe for OSC 9/777, kitty#7658), so a
/// notification sequence is only written where the terminal is known to understand it or to drop it silently; every
/// other terminal gets the bell alone, which none of them prints.
/// </summary>
/// <param name="Osc">The notification sequence to send, <see cref="OscNotification.None"/> for the bell alone.</param>
/// <param name="TmuxPassthrough">Inside tmux with passthrough allowed: the sequence goes in tmux's DCS envelope.</param>
/// <param name="InMultiplexer">Inside tmux or GNU screen (a bell there marks the window; an OSC would be swallowed).</param>
internal sealed record TerminalNotificationSupport(OscNotification Osc, bool TmuxPassthrough, bool InMultiplexer)
{
    /// <summary>Bell only (an unknown terminal, a test).</summary>
    public static TerminalNotificationSupport BellOnly { get; } = new(OscNotification.None, false, false);

    /// <summary>
    /// Decides from environment variables, read through <paramref name="getEnv"/> (pure: tests pass a dictionary).
    /// <list type="bullet">
    /// <item>tmux (<c>TMUX</c>, <c>TERM_PROGRAM=tmux</c>, <c>TERM=tmux*</c>): tmux swallows OSC 9/777 (tmux#2915,
    /// tmux#5136) and forwards only what is wrapped in its passthrough envelope, which it drops unless
    /// <c>allow-passthrough</c> is on (off by default, tmux 3.3+). So: the bell alone (tmux marks the window with
    /// <c>monitor-bell</c> and passes the bell to the client), unless <paramref name="allowTmuxPassthrough"/>, when the
    /// outer terminal is recognised by the variables that survive into tmux (<c>LC_TERMINAL</c>, <c>KITTY_WINDOW_ID</c>,
    /// <c>WEZTERM_PANE</c>, <c>GHOSTTY_RESOURCES_DIR</c>, <c>WT_SESSION</c>, <c>VTE_VERSION</c>…) and its sequence wrapped.</item>
    /// <item>GNU screen (<c>STY</c>, <c>TERM=screen*</c> outside tmux): the bell alone.</item>
    /// <item>OSC 9: iTerm2 (<c>TERM_PROGRAM=iTerm.app</c>, <c>LC_TERMINAL=iTerm2</c>), WezTerm (<c>TERM_PROGRAM=WezTerm</c>,
    /// <c>WEZTERM_PANE</c>), ghostty (<c>TERM_PROGRAM=ghostty</c>, <c>TERM=xterm-ghostty</c>), kitty (<c>KITTY_WINDOW_ID</c>,
    /// <c>TERM=xterm-kitty</c>), Warp (<c>TERM_PROGRAM=WarpTerminal</c>), VS Code (<c>TERM_PROGRAM=vscode</c>; xterm.js
    /// before that drops unknown OSCs). Sources: https://iterm2.com/documentation-escape-codes.html,
    /// https://ghostty.org/docs/vt/osc/9, wezterm#489, https://terminfo.dev/extensions/notifications-osc-9.</item>
    /// <item>OSC 777: foot (<c>TERM=foot*</c>), rxvt-unicode (<c>TERM=rxvt-unicode*</c>, its <c>notify</c> extension),
    /// Windows Terminal (<c>WT_SESSION</c>: its OSC 9 is ConEmu's family of commands, not a notification; OSC 777 since
    /// microsoft/terminal#20012, older versions drop it), VTE ≥ 0.46 (<c>VTE_VERSION</c> ≥ 4600: upstream ignores it
    /// silently, Fedora/Ubuntu's patched VTE shows it; https://terminfo.dev/extensions/osc-777-notify).</item>
    /// <item>Everything else (xterm, Konsole, Apple Terminal, Alacritty, the Linux console, TERM=dumb): the bell alone.</item>
    /// </list>
    /// </summary>
    public static TerminalNotificationSupport FromEnvironment(Func<string, string?> getEnv, bool allowTmuxPassthrough = false)
    {
        ArgumentNullException.ThrowIfNull(getEnv);
        string term = getEnv("TERM") ?? "";
        string program = getEnv("TERM_PROGRAM") ?? "";
        bool tmux = Has(getEnv, "TMUX") || program == "tmux" || term.StartsWith("tmux", StringComparison.Ordinal);
        if (tmux)
        {
            var outer = allowTmuxPassthrough ? Detect(getEnv, insideTmux: true) : OscNotification.None;
            return new TerminalNotificationSupport(outer, outer != OscNotification.None, true);
        }
        if (Has(getEnv, "STY") || term.StartsWith("screen", StringComparison.Ordinal))
            return new TerminalNotificationSupport(OscNotification.None, false, true);
        if (term.Length == 0 || term == "dumb")
            return BellOnly;
        return new TerminalNotificationSupport(Detect(getEnv, insideTmux: false), false, false);
    }

    private static bool Has(Func<string, string?> getEnv, string name) => !string.IsNullOrEmpty(getEnv(name));

    // Inside tmux, TERM and TERM_PROGRAM are tmux's own; only variables inherited from the outer terminal tell it apart.
    private static OscNotification Detect(Func<string, string?> getEnv, bool insideTmux)
    {
        string term = insideTmux ? "" : getEnv("TERM") ?? "";
        string program = insideTmux ? "" : getEnv("TERM_PROGRAM") ?? "";
        if (program is "iTerm.app" or "WezTerm" or "ghostty" or "WarpTerminal" or "vscode"
            || getEnv("LC_TERMINAL") == "iTerm2" || Has(getEnv, "WEZTERM_PANE") || Has(getEnv, "KITTY_WINDOW_ID")
            || term is "xterm-kitty" or "xterm-ghostty" || (insideTmux && Has(getEnv, "GHOSTTY_RESOURCES_DIR")))
            return OscNotification.Osc9;
        if (term.StartsWith("foot", StringComparison.Ordinal) || term.StartsWith("rxvt-unicode", StringComparison.Ordinal)
            || Has(getEnv, "WT_SESSION"))
            return OscNotification.Osc777;
        if (int.TryParse(getEnv("VTE_VERSION"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int vte)
            && vte >= 4600)
            return OscNotification.Osc777;
        return OscNotification.None;
    }
}

/// <summary>
/// The bytes that tell the person at the terminal that an agent needs them: an optional OSC 9/777 desktop notification
/// (as <see cref="TerminalNotificationSupport"/> allows) and an optional BEL. The sequences themselves are written by
/// <see cref="AnsiWriter"/>; this class chooses them and makes the text safe.
/// </summary>
internal static class TerminalNotification
{
    /// <summary>Most characters of a notification title kept (longer ones end in '…').</summary>
    public const int MaxTitleLength = 64;

    /// <summary>Most characters of a notification body kept (longer ones end in '…'); far below the OSC limits of
    /// terminals (xterm and the screen model keep 4096).</summary>
    public const int MaxBodyLength = 240;

    /// <summary>
    /// <paramref name="text"/> made safe to put inside an OSC string: every C0 control, DEL and C1 control (0x80–0x9F,
    /// which 8-bit terminals read as CSI/OSC/ST) becomes a space, an unpaired surrogate becomes U+FFFD, runs of white
    /// space become one space, the ends are trimmed, and the result is cut to <paramref name="maxLength"/> characters
    /// (the last being '…'), never between the halves of a surrogate pair. An agent's question is the agent's text: a
    /// BEL or ESC in it must not end the notification early and have the rest executed by the terminal.
    /// </summary>
    public static string Sanitize(string? text, int maxLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
        if (string.IsNullOrEmpty(text)) return "";
        var sb = new StringBuilder(Math.Min(text.Length, maxLength + 2));
        bool space = true; // drops leading white space
        int i = 0;
        for (; i < text.Length && sb.Length <= maxLength; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                sb.Append(c).Append(text[++i]);
                space = false;
                continue;
            }
            if (IsBlank(c))
            {
                if (!space) sb.Append(' ');
                space = true;
                continue;
            }
            sb.Append(char.IsSurrogate(c) ? '\uFFFD' : c);
            space = false;
        }
        while (sb.Length > 0 && sb[^1] == ' ') sb.Length--;
        // Cut when something visible was left unread, or what was kept is too long.
        bool more = false;
        for (; i < text.Length && !more; i++)
            more = !IsBlank(text[i]);
        if (!more && sb.Length <= maxLength) return sb.ToString();
        int keep = Math.Min(sb.Length, maxLength - 1);
        if (keep > 0 && char.IsHighSurrogate(sb[keep - 1])) keep--;
        sb.Length = keep;
        while (sb.Length > 0 && sb[^1] == ' ') sb.Length--;
        return sb.Append('…').ToString();
    }

    // Controls (C0, DEL, C1), line/paragraph separators and white space: shown as (at most) one space.
    private static bool IsBlank(char c) =>
        c < ' ' || (c >= '\x7F' && c <= '\x9F') || c is '\u2028' or '\u2029' || char.IsWhiteSpace(c);

    /// <summary>
    /// Appends the notification to <paramref name="writer"/>: the OSC sequence when <paramref name="osc"/> and the
    /// terminal has one (in tmux's envelope when <see cref="TerminalNotificationSupport.TmuxPassthrough"/>), then BEL
    /// when <paramref name="bell"/>. OSC 9 carries one text, so it reads <c>title: body</c>.
    /// </summary>
    public static AnsiWriter Append(AnsiWriter writer, TerminalNotificationSupport support, string title, string body, bool bell = true, bool osc = true)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(support);
        if (osc && support.Osc != OscNotification.None)
        {
            var target = support.TmuxPassthrough ? new AnsiWriter(writer.Capabilities) : writer;
            if (support.Osc == OscNotification.Osc9)
            {
                var cleanTitle = Sanitize(title, MaxTitleLength);
                target.NotifyOsc9(cleanTitle.Length == 0 ? body : $"{cleanTitle}: {body}");
            }
            else
            {
                target.NotifyOsc777(title, body);
            }
            if (support.TmuxPassthrough) writer.TmuxPassthrough(target.Buffered);
        }
        // The bell goes outside any envelope: tmux itself must see it to mark the window (monitor-bell).
        if (bell) writer.Bell();
        return writer;
    }

    /// <summary>The bytes of <see cref="Append"/> (UTF-8), empty when neither channel is on. For callers that write to
    /// the terminal through their own queue (the footer, attach, watch).</summary>
    public static byte[] Encode(TerminalNotificationSupport support, string title, string body, bool bell = true, bool osc = true)
    {
        var writer = Append(new AnsiWriter(TerminalCapabilities.Full), support, title, body, bell, osc);
        return Encoding.UTF8.GetBytes(writer.Buffered.ToString());
    }
}
