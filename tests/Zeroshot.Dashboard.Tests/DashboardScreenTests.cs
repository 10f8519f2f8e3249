using Zeroshot.Terminal;
using Zeroshot.Terminal.Screen;
using Zeroshot.Terminal.Tests.Support;
using static Zeroshot.Dashboard.Tests.Fixtures;

namespace Zeroshot.Dashboard.Tests;

/// <summary>What the screen writer does to a terminal, read back from the product's screen model (itself checked against tmux).</summary>
public sealed class DashboardScreenTests
{
    /// <summary>A terminal of the given size: the screen model, fed by what is written to <see cref="Stream"/>.</summary>
    private sealed class Terminal
    {
        public Terminal(int width, int height)
        {
            Model = new ScreenModel(height, width);
            Stream = new FeedStream(Model.Feed);
        }

        public ScreenModel Model { get; }

        public FeedStream Stream { get; }

        public long Written => Stream.Bytes;

        public void Write(ReadOnlySpan<byte> bytes) => Stream.Write(bytes);
    }

    [Fact]
    public void Frames_appear_whole_on_the_alternate_screen_then_only_changed_lines_are_written_and_restore_gives_the_screen_back()
    {
        const int W = 100, H = 24;
        var terminal = new Terminal(W, H);
        terminal.Model.Feed("shell prompt $ "u8);
        var screen = new DashboardScreen(terminal.Stream, TerminalCapabilities.Full);
        var state = new DashboardState();
        state.Update(Busy("alpha", T0, cpu: 10));
        state.Update(Busy("beta", T0.AddSeconds(-1), cpu: 20));

        screen.Enter();
        Assert.True(terminal.Model.IsAlternateScreen);
        Assert.False(terminal.Model.CursorVisible);
        var first = DashboardView.Render(state, W, H, T0);
        Assert.Equal(H, screen.Draw(first));
        Assert.Equal(first.Lines.Select(l => l.Text.TrimEnd()), terminal.Model.Text());

        long before = terminal.Written;
        Assert.Equal(0, screen.Draw(DashboardView.Render(state, W, H, T0)));
        Assert.Equal(before, terminal.Written); // nothing changed: nothing written

        state.Update(Busy("beta", T0.AddSeconds(1), cpu: 55)); // beta: its cluster line, its worker's row, the top border
        var next = DashboardView.Render(state, W, H, T0.AddSeconds(1));
        int changed = first.Lines.Zip(next.Lines).Count(p => !p.First.Equals(p.Second));
        Assert.InRange(changed, 3, 8);
        Assert.Equal(changed, screen.Draw(next));
        Assert.Equal(next.Lines.Select(l => l.Text.TrimEnd()), terminal.Model.Text());

        terminal.Write(DashboardScreen.Restore);
        Assert.False(terminal.Model.IsAlternateScreen);
        Assert.True(terminal.Model.CursorVisible);
        Assert.True(terminal.Model.AutoWrap);
        Assert.Equal("shell prompt $", terminal.Model.RowText(0));
    }

    [Fact]
    public void A_frame_of_another_size_is_drawn_whole()
    {
        var terminal = new Terminal(80, 24);
        var screen = new DashboardScreen(terminal.Stream, TerminalCapabilities.Full);
        var state = new DashboardState();
        state.Update(Busy("alpha", T0));
        screen.Enter();
        screen.Draw(DashboardView.Render(state, 100, 30, T0));
        terminal.Model.Resize(24, 80);
        var small = DashboardView.Render(state, 80, 24, T0);
        Assert.Equal(24, screen.Draw(small));
        Assert.Equal(small.Lines.Select(l => l.Text.TrimEnd()), terminal.Model.Text());
    }
}
