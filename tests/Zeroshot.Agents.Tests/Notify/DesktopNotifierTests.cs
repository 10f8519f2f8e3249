using Zeroshot.Agents.Notify;
using Zeroshot.Agents.Tests.State;
using static Zeroshot.Agents.Tests.Notify.NotifyTestKit;

namespace Zeroshot.Agents.Tests.Notify;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public class DesktopNotifierTests
{
    // A fake notify-send that writes its argv (one per line, NUL-free) and its DISPLAY to files.
    private static string FakeNotifySend(StoreTempDir dir, string body = "") => Script(dir, "notify-send",
        $"for a in \"$@\"; do printf '%s\\n' \"$a\"; done > {Sh(dir.File("argv"))}; printf '%s' \"$DISPLAY|$WAYLAND_DISPLAY\" > {Sh(dir.File("display"))}; {body}");

    private static Func<string, string?> Env(params (string Name, string Value)[] env) => k => env.FirstOrDefault(e => e.Name == k).Value;

    [Fact]
    public void The_channel_exists_only_with_notify_send_on_path_and_a_display()
    {
        using var dir = new StoreTempDir();
        Assert.Null(DesktopNotifier.TryCreate(Env(("PATH", dir.Path), ("DISPLAY", ":0"))));
        var fake = FakeNotifySend(dir);
        Assert.Null(DesktopNotifier.TryCreate(Env(("PATH", dir.Path))));
        Assert.Null(DesktopNotifier.TryCreate(Env(("PATH", dir.Path), ("DISPLAY", ""))));
        Assert.Null(DesktopNotifier.TryCreate(Env(("PATH", "/nonexistent-zs"), ("DISPLAY", ":0"))));
        Assert.Equal(fake, DesktopNotifier.TryCreate(Env(("PATH", "/nonexistent-zs:" + dir.Path), ("DISPLAY", ":0")))!.Executable);
        Assert.Equal(fake, DesktopNotifier.TryCreate(Env(("PATH", dir.Path), ("WAYLAND_DISPLAY", "wayland-0")))!.Executable);
        // Found but not executable: absent.
        File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.Null(DesktopNotifier.TryCreate(Env(("PATH", dir.Path), ("DISPLAY", ":0"))));
    }

    [Fact]
    public async Task Notify_send_gets_the_title_and_body_as_argv_and_the_display()
    {
        using var dir = new StoreTempDir();
        FakeNotifySend(dir);
        var notifier = DesktopNotifier.TryCreate(Env(("PATH", dir.Path), ("DISPLAY", ":42")))!;
        var e = AgentEvent.NeedsInput("c-1", "demo", "planner", "-rf? $(rm -rf ~) `x` <b>&</b>\n\e[31mred", At);

        var outcome = await notifier.ShowAsync(e);

        Assert.Equal(ProcessStatus.Ok, outcome.Status);
        Assert.Equal(
            ["--app-name=zeroshot", "--urgency=critical", "--", "zeroshot: demo", "planner needs input: -rf? $(rm -rf ~) `x` &lt;b&gt;&amp;&lt;/b&gt; [31mred"],
            File.ReadAllLines(dir.File("argv")));
        Assert.Equal(":42|", File.ReadAllText(dir.File("display")));

        notifier.Fire(AgentEvent.Idle("c-1", null, "w", At));
        await notifier.DrainAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(["--app-name=zeroshot", "--urgency=normal", "--", "zeroshot: c-1", "w is waiting for the next prompt"], File.ReadAllLines(dir.File("argv")));
    }

    [Fact]
    public async Task A_notify_send_that_hangs_is_killed_and_a_failing_one_logged()
    {
        using var dir = new StoreTempDir();
        FakeNotifySend(dir, "exec sleep 60");
        var logs = new List<string>();
        var notifier = DesktopNotifier.TryCreate(Env(("PATH", dir.Path), ("DISPLAY", ":0")), TimeSpan.FromMilliseconds(300), logs.Add)!;
        var outcome = await notifier.ShowAsync(AgentEvent.Idle("c", null, "a", At)).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(ProcessStatus.Killed, outcome.Status);
        Assert.Equal("notify-send was killed after 0.3s", Assert.Single(logs));

        logs.Clear();
        FakeNotifySend(dir, "echo 'GDBus.Error: no notification server' >&2; exit 1");
        outcome = await notifier.ShowAsync(AgentEvent.Idle("c", null, "a", At));
        Assert.Equal(ProcessStatus.Failed, outcome.Status);
        Assert.Equal("notify-send exited with code 1: GDBus.Error: no notification server", Assert.Single(logs));
    }
}
