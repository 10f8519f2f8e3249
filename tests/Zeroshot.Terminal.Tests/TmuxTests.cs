using System.Text;
using Zeroshot.Terminal.Tests.Support;

namespace Zeroshot.Terminal.Tests;

/// <summary>The real-terminal helper, and the VirtualTerminal oracle checked against tmux on the same bytes.</summary>
public class TmuxTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("zs-term-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ScrollRegionIsHonouredAndResizeIsSeen()
    {
        using var tmux = TmuxSession.Start(40, 10, "printf '\\033[1;5r\\033[5;1H'; seq 1 20; printf 'done'; sleep 100");
        var screen = tmux.WaitForText("done");
        // Rows 1..5 scroll; rows 6..10 were never written.
        Assert.Equal(["17", "18", "19", "20", "done", "", "", "", "", ""], screen);
        var history = tmux.Capture(scrollback: true);
        Assert.Equal([.. Enumerable.Range(1, 20).Select(i => i.ToString()), "done"], history.Where(l => l.Length > 0));
        tmux.Resize(30, 12);
        tmux.WaitFor(_ => tmux.State().Height == 12, "height 12");
        Assert.Equal(30, tmux.State().Width);
    }

    [Fact]
    public void SendKeysReachesTheProgram()
    {
        using var tmux = TmuxSession.Start(40, 6, "read line; echo \"got:$line\"; sleep 100");
        tmux.SendText("hello");
        tmux.SendKeys("Enter");
        tmux.WaitForText("got:hello");
    }

    [Fact]
    public void FooterBytesLookTheSameInTmuxAndInTheVirtualTerminal()
    {
        const int W = 90, H = 20;
        var bytes = new MemoryStream();
        var renderer = new FooterRenderer(bytes, TerminalCapabilities.Full, W, H);
        var model = FooterViewTests.Model(agents: 3, running: 2, id: "作業者😀");
        renderer.Draw(FooterView.Render(model, W, H));
        for (int i = 1; i <= 40; i++) renderer.WriteOutput(Encoding.UTF8.GetBytes($"line {i} 日本\r\n"));
        renderer.WriteOutput("\e[rreset by agent\r\n"u8);
        renderer.Draw(FooterView.Render(model with { State = "stopping" }, W, H));
        for (int i = 41; i <= 45; i++) renderer.WriteOutput(Encoding.UTF8.GetBytes($"line {i}\r\n"));
        renderer.WriteOutput("END"u8);

        var vt = new VirtualTerminal(H, W);
        vt.Feed(bytes.ToArray());
        var file = Path.Combine(_dir, "frame.bin");
        File.WriteAllBytes(file, bytes.ToArray());
        // stty raw: the pty must not translate anything (our stream already has CR LF where needed).
        using var tmux = TmuxSession.Start(W, H, $"stty raw -echo; cat '{file}'; sleep 100");
        var screen = tmux.WaitForText("END");
        Assert.Equal(vt.ScreenLines(), screen);
        var state = tmux.State();
        Assert.Equal((vt.CursorRow, vt.CursorColumn), (state.CursorRow, state.CursorColumn));
        Assert.Contains(screen, l => l.Contains("cosmic-meteor-87 ─ stopping", StringComparison.Ordinal));

        // Teardown in the same terminal: the footer disappears, nothing of it left in the history.
        var tail = new MemoryStream();
        var r2 = new FooterRenderer(tail, TerminalCapabilities.Full, W, H);
        r2.Draw(FooterView.Render(model, W, H));
        r2.WriteOutput("after\r\n"u8);
        r2.Teardown();
        File.WriteAllBytes(file, tail.ToArray());
        using var tmux2 = TmuxSession.Start(W, H, $"stty raw -echo; cat '{file}'; printf 'PROMPT'; sleep 100");
        var after = tmux2.WaitForText("PROMPT", scrollback: true);
        Assert.DoesNotContain(after, l => l.Contains("cosmic", StringComparison.Ordinal));
        Assert.True(tmux2.State().CursorVisible);
        Assert.Equal(["after", "PROMPT"], after.Where(l => l.Length > 0));
    }
}
