using System.Text;
using Zeroshot.Agents.Config;
using Zeroshot.Agents.Notify;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Tests.State;
using Zeroshot.Terminal;
using static Zeroshot.Agents.Tests.Notify.NotifyTestKit;

namespace Zeroshot.Agents.Tests.Notify;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public class NotifierTests
{
    private static Func<string, string?> Env(params (string Name, string Value)[] env) => k => env.FirstOrDefault(e => e.Name == k).Value;

    [Fact]
    public void The_terminal_gets_bell_and_osc_once_per_interval()
    {
        var clock = new ManualClock(At);
        var written = new List<string>();
        var notifier = Notifier.ForTerminal(NotificationSettings.Default, Env(("TERM", "xterm-kitty"), ("KITTY_WINDOW_ID", "1")),
            b => written.Add(Encoding.UTF8.GetString(b)), clock);
        var e = AgentEvent.NeedsInput("c", "demo", "planner", "Allow\a?", At);
        Assert.Equal(NotificationDecision.Send, notifier.Notify(e));
        Assert.Equal(NotificationDecision.TooSoonForThisAgent, notifier.Notify(e));
        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(NotificationDecision.Send, notifier.Notify(e));
        Assert.Equal(["\e]9;zeroshot: demo: planner needs input: Allow ?\a\a", "\e]9;zeroshot: demo: planner needs input: Allow ?\a\a"], written);
        Assert.Null(notifier.Desktop);
        Assert.Null(notifier.Hook);
    }

    [Fact]
    public void Settings_turn_the_terminal_channels_off()
    {
        var env = Env(("TERM", "foot"));
        var e = AgentEvent.Idle("c", null, "a", At);
        Assert.Equal("\a", Bytes(NotificationSettings.Default with { Osc = false }, env, e));
        Assert.Equal("\e]777;notify;zeroshot: c;a is waiting for the next prompt\a", Bytes(NotificationSettings.Default with { Bell = false }, env, e));
        Assert.Equal("", Bytes(NotificationSettings.Default with { Bell = false, Osc = false }, env, e));
        // Inside tmux: the bell alone, unless passthrough is on.
        var tmux = Env(("TERM", "tmux-256color"), ("TMUX", "/tmp/x"), ("VTE_VERSION", "7600"));
        Assert.Equal("\a", Bytes(NotificationSettings.Default, tmux, e));
        Assert.Equal("\ePtmux;\e\e]777;notify;zeroshot: c;a is waiting for the next prompt\a\e\\\a", Bytes(NotificationSettings.Default with { TmuxPassthrough = true }, tmux, e));

        static string Bytes(NotificationSettings settings, Func<string, string?> env, AgentEvent e)
        {
            var written = new List<byte[]>();
            Notifier.ForTerminal(settings, env, written.Add, new ManualClock(At)).Notify(e);
            return string.Concat(written.Select(Encoding.UTF8.GetString));
        }
    }

    [Fact]
    public async Task The_supervisor_runs_the_hook_and_the_desktop_in_the_background()
    {
        using var dir = new StoreTempDir();
        Script(dir, "notify-send", $"printf '%s\\n' \"$@\" >> {Sh(dir.File("desktop"))}");
        Script(dir, "on-event", $"cat >> {Sh(dir.File("hook"))}");
        var env = Env(("PATH", dir.Path), ("DISPLAY", ":0"));
        var logs = new List<string>();
        var clock = new ManualClock(At);
        var notifier = Notifier.ForSupervisor(NotificationSettings.Default, env, ["on-event"], clock, logs.Add);
        Assert.NotNull(notifier.Desktop);
        Assert.Equal([dir.File("on-event")], notifier.Hook!.Command);

        Assert.Equal(NotificationDecision.Send, notifier.Notify(AgentEvent.Idle("c", null, "a", At)));
        Assert.Equal(NotificationDecision.TooSoonForThisAgent, notifier.Notify(AgentEvent.Idle("c", null, "a", At)));
        Assert.Equal(NotificationDecision.Send, notifier.Notify(AgentEvent.ClusterEnded("c", null, ClusterState.Completed, At)));
        await notifier.DrainAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Empty(logs);
        // The hook, a program rather than a ring, got every event; the desktop only what the limit let through.
        var hookLines = File.ReadAllLines(dir.File("hook"));
        Assert.Equal(3, hookLines.Length);
        Assert.Equal(2, File.ReadAllLines(dir.File("desktop")).Count(l => l == "--app-name=zeroshot"));
    }

    [Fact]
    public void Desktop_off_or_absent_and_a_bad_hook()
    {
        using var dir = new StoreTempDir();
        Script(dir, "notify-send", "exit 0");
        var env = Env(("PATH", dir.Path), ("DISPLAY", ":0"));
        Assert.Null(Notifier.ForSupervisor(NotificationSettings.Default with { Desktop = false }, env, null, TimeProvider.System).Desktop);
        Assert.Null(Notifier.ForSupervisor(NotificationSettings.Default, Env(("PATH", dir.Path)), null, TimeProvider.System).Desktop);
        var error = Assert.Throws<UserErrorException>(() => EventHookRunner.ParseCommand("missing-hook 'x"));
        Assert.Equal("--on-event: a single quote is not closed", error.Message);
        error = Assert.Throws<UserErrorException>(() => Notifier.ForSupervisor(NotificationSettings.Default, env, ["missing-hook"], TimeProvider.System));
        Assert.Equal("--on-event: 'missing-hook' was not found on PATH", error.Message);
    }

    [Fact]
    public void The_supervisor_can_own_the_terminal_too()
    {
        var written = new List<byte[]>();
        var notifier = Notifier.ForSupervisor(NotificationSettings.Default, Env(("TERM", "xterm")), null, new ManualClock(At), terminal: written.Add);
        Assert.Equal(TerminalNotificationSupport.BellOnly, notifier.TerminalSupport);
        notifier.Notify(AgentEvent.Idle("c", null, "a", At));
        Assert.Equal("\a", Encoding.UTF8.GetString(Assert.Single(written)));
    }
}
