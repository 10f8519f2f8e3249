using Zeroshot.Terminal;
using Zeroshot.Terminal.Screen;
using static Zeroshot.Dashboard.Tests.Fixtures;

namespace Zeroshot.Dashboard.Tests;

/// <summary>What the screen writer does to a terminal, read back from the product's screen model (itself checked against tmux).</summary>
public sealed class DashboardScreenTests
{
    private sealed class Terminal(int width, int height) : Stream
    {
        public ScreenModel Model { get; } = new(height, width);

        public long Written { get; private set; }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Model.Feed(buffer);
            Written += buffer.Length;
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Flush() { }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    [Fact]
    public void Frames_appear_whole_on_the_alternate_screen_then_only_changed_lines_are_written_and_restore_gives_the_screen_back()
    {
        const int W = 100, H = 24;
        var terminal = new Terminal(W, H);
        terminal.Model.Feed("shell prompt $ "u8);
        var screen = new DashboardScreen(terminal, TerminalCapabilities.Full);
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
        var screen = new DashboardScreen(terminal, TerminalCapabilities.Full);
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
