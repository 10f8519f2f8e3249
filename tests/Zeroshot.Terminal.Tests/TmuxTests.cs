using System.Text;
using Zeroshot.Terminal.Tests.Support;

namespace Zeroshot.Terminal.Tests;

/// <summary>The real-terminal helper, and the ModelTerminal oracle checked against tmux on the same bytes.</summary>
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
    public void FooterBytesLookTheSameInTmuxAndInTheModelTerminal()
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

        var vt = new ModelTerminal(H, W);
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

/// <summary>The renderer driving a real terminal: the test writes to a tmux pane's tty directly.</summary>
public class FooterInTmuxTests
{
    private sealed class Live : IDisposable
    {
        public readonly TmuxSession Tmux;
        public readonly FileStream Tty;
        public readonly FooterRenderer Renderer;
        public int Width, Height;
        public FooterFrame Frame = FooterFrame.Hidden(0);
        public FooterModel Model = FooterViewTests.Model(agents: 3, running: 2);
        private int _line;

        public Live(int width, int height)
        {
            Width = width;
            Height = height;
            Tmux = TmuxSession.Start(width, height, "stty -echo; exec sleep 1000");
            var tty = Tmux.Run("display-message", "-p", "-t", Tmux.Name, "#{pane_tty}").Trim();
            Tty = new FileStream(tty, FileMode.Open, FileAccess.Write);
            Renderer = new FooterRenderer(Tty, TerminalCapabilities.Full, width, height);
        }

        public void Draw()
        {
            Frame = FooterView.Render(Model, Width, Height);
            Renderer.Draw(Frame);
        }

        public void Lines(int n)
        {
            for (int i = 0; i < n; i++) Renderer.WriteOutput(Encoding.UTF8.GetBytes($"out {++_line}\r\n"));
            Tmux.WaitForText($"out {_line}");
        }

        public void Resize(int width, int height)
        {
            Width = width;
            Height = height;
            Tmux.Resize(width, height);
            Tmux.WaitFor(_ => Tmux.State() is var s && s.Width == width && s.Height == height, $"size {width}x{height}");
            Renderer.Resize(width, height);
            Draw();
        }

        public (int Upper, int Lower) Region()
        {
            var p = Tmux.Run("display-message", "-p", "-t", Tmux.Name, "#{scroll_region_upper} #{scroll_region_lower}").Trim().Split(' ');
            return (int.Parse(p[0]), int.Parse(p[1]));
        }

        public void AssertPinned()
        {
            int h = Frame.Height;
            var expected = Frame.Lines.Select(l => l.Text.TrimEnd(' ')).ToArray();
            var screen = Tmux.WaitFor(s => s.Length == Height && s[(Height - h)..].SequenceEqual(expected), "the footer on the bottom rows");
            Assert.DoesNotContain(screen[..(Height - h)], l => l.Contains("cosmic", StringComparison.Ordinal) || l.Contains('│'));
            Assert.DoesNotContain(Tmux.Capture(scrollback: true)[..^Height], l => l.Contains("cosmic", StringComparison.Ordinal));
            Assert.Equal((0, Height - h - 1), Region());
            Assert.InRange(Tmux.State().CursorRow, 0, Height - h - 1);
        }

        public void AssertOutputInOrder()
        {
            var all = Tmux.Capture(scrollback: true).Where(l => l.StartsWith("out ", StringComparison.Ordinal)).ToList();
            Assert.Equal(Enumerable.Range(1, _line).Select(i => $"out {i}"), all);
        }

        public void Dispose()
        {
            Tty.Dispose();
            Tmux.Dispose();
        }
    }

    [Fact]
    public void PinnedThroughOutputResizesResetsAndTeardown()
    {
        using var live = new Live(100, 24);
        live.Draw();
        live.Lines(50);
        live.AssertPinned();
        live.AssertOutputInOrder();

        live.Resize(80, 14);
        live.Lines(10);
        live.AssertPinned();

        live.Resize(80, 6);                     // too small: hidden, full region
        Assert.Equal(0, live.Frame.Height);
        live.Lines(5);
        Assert.Equal((0, 5), live.Region());
        live.Resize(120, 30);                   // room again
        live.Lines(5);
        live.AssertPinned();

        live.Renderer.WriteOutput("\e[r"u8);    // an agent resets the region (Claude Code does at start)
        live.Renderer.WriteOutput("\e[20;1H"u8);
        live.Lines(40);
        live.AssertPinned();

        live.Renderer.Teardown();
        live.Tmux.WaitFor(s => !s.Any(l => l.Contains("cosmic", StringComparison.Ordinal)), "the footer gone");
        Assert.Equal((0, live.Height - 1), live.Region());
        Assert.True(live.Tmux.State().CursorVisible);
    }
}
