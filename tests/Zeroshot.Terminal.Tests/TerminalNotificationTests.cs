using System.Text;
using Zeroshot.Terminal.Screen;

namespace Zeroshot.Terminal.Tests;

public class TerminalNotificationTests
{
    private static TerminalNotificationSupport From(bool passthrough = false, params (string Name, string Value)[] env) =>
        TerminalNotificationSupport.FromEnvironment(k => env.FirstOrDefault(e => e.Name == k).Value, passthrough);

    public static TheoryData<string, string, string> Terminals => new()
    {
        { "TERM=xterm-256color TERM_PROGRAM=iTerm.app", "iTerm2", "Osc9" },
        { "TERM=xterm-256color TERM_PROGRAM=WezTerm", "WezTerm", "Osc9" },
        { "TERM=xterm-ghostty TERM_PROGRAM=ghostty", "ghostty", "Osc9" },
        { "TERM=xterm-kitty KITTY_WINDOW_ID=1", "kitty", "Osc9" },
        { "TERM=xterm-256color KITTY_WINDOW_ID=3", "kitty over ssh", "Osc9" },
        { "TERM=xterm-256color TERM_PROGRAM=vscode", "VS Code", "Osc9" },
        { "TERM=xterm-256color TERM_PROGRAM=WarpTerminal", "Warp", "Osc9" },
        { "TERM=foot", "foot", "Osc777" },
        { "TERM=rxvt-unicode-256color", "urxvt", "Osc777" },
        { "TERM=xterm-256color WT_SESSION=abc", "Windows Terminal", "Osc777" },
        { "TERM=xterm-256color VTE_VERSION=7600", "GNOME Terminal", "Osc777" },
        { "TERM=xterm-256color VTE_VERSION=4200", "old VTE prints unknown OSCs", "None" },
        { "TERM=xterm-256color VTE_VERSION=x", "garbled VTE_VERSION", "None" },
        { "TERM=xterm-256color", "xterm", "None" },
        { "TERM=xterm-256color KONSOLE_VERSION=230800", "Konsole", "None" },
        { "TERM=xterm-256color TERM_PROGRAM=Apple_Terminal", "Apple Terminal", "None" },
        { "TERM=linux", "Linux console", "None" },
        { "TERM=dumb TERM_PROGRAM=iTerm.app", "dumb", "None" },
        { "TERM_PROGRAM=iTerm.app", "no TERM", "None" },
        { "TERM=tmux-256color TERM_PROGRAM=tmux TMUX=/tmp/t,1,0 KITTY_WINDOW_ID=1", "tmux in kitty", "None" },
        { "TERM=screen-256color TMUX=/tmp/t,1,0 TERM_PROGRAM=tmux", "tmux with screen TERM", "None" },
        { "TERM=screen STY=1.pts-0 TERM_PROGRAM=iTerm.app", "GNU screen", "None" },
    };

    [Theory]
    [MemberData(nameof(Terminals))]
    public void The_sequence_is_chosen_from_the_environment(string env, string terminal, string expected)
    {
        var pairs = env.Split(' ').Select(p => p.Split('=', 2)).Select(p => (p[0], p[1])).ToArray();
        var support = From(false, pairs);
        Assert.True(expected == support.Osc.ToString(), $"{terminal}: {support.Osc}");
        Assert.False(support.TmuxPassthrough);
    }

    [Fact]
    public void Inside_tmux_only_the_bell_unless_passthrough_is_allowed_then_the_outer_terminal_decides()
    {
        var kitty = new[] { ("TERM", "tmux-256color"), ("TERM_PROGRAM", "tmux"), ("TMUX", "/tmp/t,1,0"), ("KITTY_WINDOW_ID", "1") };
        Assert.Equal(new TerminalNotificationSupport(OscNotification.None, false, true), From(false, kitty));
        Assert.Equal(new TerminalNotificationSupport(OscNotification.Osc9, true, true), From(true, kitty));
        // iTerm2 exports LC_TERMINAL, which survives ssh and tmux; TERM_PROGRAM is tmux's own there.
        Assert.Equal(OscNotification.Osc9, From(true, ("TMUX", "x"), ("TERM_PROGRAM", "tmux"), ("LC_TERMINAL", "iTerm2")).Osc);
        Assert.Equal(OscNotification.Osc777, From(true, ("TMUX", "x"), ("VTE_VERSION", "7600")).Osc);
        // Nothing known about the outer terminal: no envelope at all.
        Assert.Equal(new TerminalNotificationSupport(OscNotification.None, false, true), From(true, ("TMUX", "x"), ("TERM", "tmux-256color")));
    }

    [Fact]
    public void Bytes_of_each_form()
    {
        var osc9 = new TerminalNotificationSupport(OscNotification.Osc9, false, false);
        var osc777 = new TerminalNotificationSupport(OscNotification.Osc777, false, false);
        Assert.Equal("\e]9;zeroshot: planner needs input\a\a", Text(osc9, "zeroshot", "planner needs input"));
        Assert.Equal("\e]777;notify;zeroshot;planner needs input\a\a", Text(osc777, "zeroshot", "planner needs input"));
        Assert.Equal("\e]9;zeroshot: x\a", Text(osc9, "zeroshot", "x", bell: false));
        Assert.Equal("\a", Text(osc9, "zeroshot", "x", osc: false));
        Assert.Equal("\a", Text(TerminalNotificationSupport.BellOnly, "zeroshot", "x"));
        Assert.Equal("", Text(osc777, "zeroshot", "x", bell: false, osc: false));
        // tmux's envelope doubles every ESC inside; the bell stays outside for tmux's monitor-bell.
        var wrapped = new TerminalNotificationSupport(OscNotification.Osc9, true, true);
        Assert.Equal("\ePtmux;\e\e]9;z: x\a\e\\\a", Text(wrapped, "z", "x"));
    }

    [Fact]
    public void Text_is_sanitized_and_bounded()
    {
        Assert.Equal("a b c d", TerminalNotification.Sanitize("  a\tb\r\n\u009bc\u007f\u0000d  ", 100));
        Assert.Equal("evil ]0;title b", TerminalNotification.Sanitize("evil\e]0;title\ab", 100));
        Assert.Equal("", TerminalNotification.Sanitize(null, 10));
        Assert.Equal("\uFFFD x", TerminalNotification.Sanitize("\uD800 x", 10));
        Assert.Equal("abcd…", TerminalNotification.Sanitize("abcdefgh", 5));
        Assert.Equal("abcde", TerminalNotification.Sanitize("abcde", 5));
        Assert.Equal("abcde", TerminalNotification.Sanitize("abcde \a\t ", 5));
        // Something visible left out is always marked, even when a space fell at the limit.
        Assert.Equal("abcd…", TerminalNotification.Sanitize("abcde f", 5));
        Assert.Equal("abc…", TerminalNotification.Sanitize("abc  \e\a  def", 5));
        Assert.Equal("…", TerminalNotification.Sanitize("abc", 1));
        // Never half a surrogate pair: "😀" is two chars.
        Assert.Equal("abc…", TerminalNotification.Sanitize("abc😀def", 5));
        Assert.Equal("ab😀…", TerminalNotification.Sanitize("ab😀def", 5));

        var osc777 = new TerminalNotificationSupport(OscNotification.Osc777, false, false);
        // A ';' in the title would move the title/body split; in the body it is harmless.
        Assert.Equal("\e]777;notify;a,b;c;d\a", Text(osc777, "a;b", "c;d", bell: false));
        var osc9 = new TerminalNotificationSupport(OscNotification.Osc9, false, false);
        // ConEmu/Windows Terminal read "OSC 9 ; 4 ; …" as their own command: the text never starts with a digit.
        Assert.Equal("\e]9; 4;1;50\a", Text(osc9, "", "4;1;50", bell: false));
        var longText = Text(osc9, new string('t', 500), new string('b', 5000), bell: false);
        Assert.True(longText.Length <= 4 + TerminalNotification.MaxBodyLength + 1, longText.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    public static TheoryData<string> Forms => new() { "9", "777", "9-tmux", "777-tmux" };

    [Theory]
    [MemberData(nameof(Forms))]
    public void A_notification_prints_nothing_and_leaves_the_screen_as_it_was(string form)
    {
        var support = form switch
        {
            "9" => new TerminalNotificationSupport(OscNotification.Osc9, false, false),
            "777" => new TerminalNotificationSupport(OscNotification.Osc777, false, false),
            "9-tmux" => new TerminalNotificationSupport(OscNotification.Osc9, true, true),
            _ => new TerminalNotificationSupport(OscNotification.Osc777, true, true),
        };
        var model = new ScreenModel(6, 40);
        model.Feed("\e]2;agent title\a\e[31mhello\e[0m\r\nworld \e[1m");
        var before = ScreenSerializer.Serialize(model, scrollback: true);
        var cursor = (model.CursorRow, model.CursorColumn);

        // Hostile text included: an agent's question with its own escapes and a BEL meant to end the OSC early.
        var bytes = TerminalNotification.Encode(support, "zeroshot: demo;x", "planner asks:\e]2;owned\a\e[2J\u009b31m rm -rf /? " + new string('y', 400));
        model.Feed(bytes);

        Assert.Equal(before, ScreenSerializer.Serialize(model, scrollback: true));
        Assert.Equal(cursor, (model.CursorRow, model.CursorColumn));
        Assert.Equal("agent title", model.Title);
        Assert.True(model.Replies.IsEmpty);
        Assert.Equal(["hello", "world"], model.Text().Select(l => l.TrimEnd()).Where(l => l.Length > 0));
    }

    [Fact]
    public void Writer_members_sanitize_on_their_own()
    {
        var w = new AnsiWriter(TerminalCapabilities.Full);
        w.Bell().NotifyOsc9("a\ab").NotifyOsc777("t\e", "b\u009c").TmuxPassthrough("\e]9;x\a");
        Assert.Equal("\a\e]9;a b\a\e]777;notify;t;b\a\ePtmux;\e\e]9;x\a\e\\", w.Buffered.ToString());
    }

    private static string Text(TerminalNotificationSupport support, string title, string body, bool bell = true, bool osc = true) =>
        Encoding.UTF8.GetString(TerminalNotification.Encode(support, title, body, bell, osc));
}
