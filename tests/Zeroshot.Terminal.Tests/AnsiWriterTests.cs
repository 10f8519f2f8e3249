using System.Text;
using Zeroshot.Terminal;

namespace Zeroshot.Terminal.Tests;

public class AnsiWriterTests
{
    [Fact]
    public void Sequences()
    {
        var w = new AnsiWriter(TerminalCapabilities.Full);
        w.BeginSync().MoveTo(24, 1).EraseLine().SetScrollRegion(1, 20).ResetScrollRegion()
            .HideCursor().ShowCursor().Index().CursorUp(3).EndSync();
        Assert.Equal("\e[?2026h\e[24;1H\e[2K\e[1;20r\e[r\e[?25l\e[?25h\eD\e[3A\e[?2026l", w.Buffered.ToString());
    }

    [Fact]
    public void ColoursDowngradeToTheTerminalsDepth()
    {
        var rgb = new Style(Color.FromRgb(255, 0, 0), Bold: true);
        Assert.Equal("\e[0;1;38;2;255;0;0m", Emit(ColorDepth.TrueColor, rgb));
        Assert.Equal("\e[0;1;38;5;196m", Emit(ColorDepth.Indexed256, rgb));
        Assert.Equal("\e[0;1;91m", Emit(ColorDepth.Basic16, rgb));
        Assert.Equal("\e[0;1m", Emit(ColorDepth.None, rgb));
        Assert.Equal("\e[0;2;33;44m", Emit(ColorDepth.Basic16, new Style(Color.Yellow, Color.Blue, Dim: true)));
    }

    [Fact]
    public void SameStyleTwiceEmitsOnceButAfterRelayedSgrAgain()
    {
        var w = new AnsiWriter(TerminalCapabilities.Full);
        var s = new Style(Color.Green);
        w.Style(s).Text("a").Style(s).Text("b");
        Assert.Equal("\e[0;32mab", w.Buffered.ToString());
        w.Clear();
        var state = new Zeroshot.Terminal.Escapes.SgrState { Foreground = Color.Indexed(208), Underline = 3 };
        w.Sgr(state).Style(s);
        Assert.Equal("\e[0;4:3;38;5;208m\e[0;32m", w.Buffered.ToString());
    }

    [Fact]
    public void FlushIsOneWriteAndEmptiesTheBuffer()
    {
        var w = new AnsiWriter(TerminalCapabilities.Full);
        var stream = new CountingStream();
        Assert.Equal(0, w.Flush(stream));
        Assert.Equal(0, stream.Writes);
        for (int i = 0; i < 2000; i++) w.Text("日本").MoveTo(i + 1, 1);
        int n = w.Flush(stream);
        Assert.Equal(1, stream.Writes);
        Assert.Equal(n, (int)stream.Length);
        Assert.Equal(0, w.Length);
        Assert.StartsWith("日本\e[1;1H", Encoding.UTF8.GetString(stream.ToArray()));
    }

    [Fact]
    public void Capabilities()
    {
        static TerminalCapabilities From(params (string, string)[] env) =>
            TerminalCapabilities.FromEnvironment(k => env.FirstOrDefault(e => e.Item1 == k).Item2);
        Assert.Equal(ColorDepth.TrueColor, From(("TERM", "xterm-256color"), ("COLORTERM", "truecolor")).Colors);
        Assert.Equal(ColorDepth.Indexed256, From(("TERM", "tmux-256color")).Colors);
        Assert.Equal(ColorDepth.Basic16, From(("TERM", "xterm")).Colors);
        Assert.Equal(ColorDepth.None, From(("TERM", "xterm-256color"), ("NO_COLOR", "1")).Colors);
        var dumb = From(("TERM", "dumb"));
        Assert.True(dumb.IsDumb);
        Assert.False(dumb.SynchronizedOutput);
        Assert.True(From(("TERM", "linux")).SynchronizedOutput);
    }

    private static string Emit(ColorDepth depth, Style style)
    {
        var w = new AnsiWriter(new TerminalCapabilities(depth, true, false));
        w.Style(style);
        return w.Buffered.ToString();
    }

    private sealed class CountingStream : MemoryStream
    {
        public int Writes { get; private set; }
        public override void Write(byte[] buffer, int offset, int count) { Writes++; base.Write(buffer, offset, count); }
        public override void Write(ReadOnlySpan<byte> buffer) { Writes++; base.Write(buffer); }
    }
}
