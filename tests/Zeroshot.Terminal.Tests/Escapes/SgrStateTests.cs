using System.Text;
using Zeroshot.Terminal.Escapes;

namespace Zeroshot.Terminal.Tests.Escapes;

public class SgrStateTests
{
    /// <summary>Applies every SGR in <paramref name="text"/> and writes the result back with AnsiWriter.</summary>
    private static string Replay(string text)
    {
        var collect = new Collect();
        new EscapeParser().Feed(text.AsSpan(), ref collect);
        var w = new AnsiWriter(TerminalCapabilities.Full);
        w.Sgr(collect.State);
        return w.Buffered.ToString();
    }

    [Theory]
    [InlineData("\e[1;31m", "\e[0;1;31m")]
    [InlineData("\e[1;31m\e[0m", "\e[0m")]
    [InlineData("\e[1;2m\e[22;3m", "\e[0;3m")]
    [InlineData("\e[38;5;208;48;2;1;2;3m", "\e[0;38;5;208;48;2;1;2;3m")]
    [InlineData("\e[38:2::1:2:3m\e[4:3m\e[58:5:9m", "\e[0;4:3;38;2;1;2;3;58;5;9m")]
    [InlineData("\e[38:2:1:2:3m", "\e[0;38;2;1;2;3m")]                 // without the colour-space id
    [InlineData("\e[92;104;7;9;53m\e[27m", "\e[0;9;53;92;104m")]
    [InlineData("\e[31m\e[39m\e[m", "\e[0m")]
    [InlineData("\e[31m\e[38;5m\e[1m", "\e[0;1;31m")]                  // malformed extended colour: ignored
    public void TracksWhatTheTerminalApplies(string sgr, string expected) => Assert.Equal(expected, Replay(sgr));

    private struct Collect : IEscapeHandler
    {
        public SgrState State;
        public void CsiDispatch(CsiSequence csi)
        {
            if (csi.Final == 'm' && csi.IsPlain) State.Apply(csi);
        }
        public void Print(Rune rune) { }
        public void Execute(int control) { }
        public void EscDispatch(ReadOnlySpan<byte> intermediates, char final) { }
        public void DcsHook(CsiSequence header) { }
        public void DcsPut(int codePoint) { }
        public void DcsUnhook() { }
        public void OscDispatch(ReadOnlySpan<char> data, bool truncated) { }
    }
}
