using System.Text;
using FsCheck;
using FsCheck.Xunit;
using Zeroshot.Terminal.Escapes;

namespace Zeroshot.Terminal.Tests.Escapes;

/// <summary>Writes every action as text: "P(x)" runs of printed text, "X(0f)", "E(( B)", "C(?1049h)", "O(…)", "D…".</summary>
internal struct Trace : IEscapeHandler
{
    public StringBuilder Log;

    public Trace() => Log = new StringBuilder();

    public readonly void Print(Rune rune) => Log.Append(rune.ToString());
    public readonly void Execute(int control) => Log.Append($"[X{control:x2}]");
    public readonly void EscDispatch(ReadOnlySpan<byte> intermediates, char final) => Log.Append($"[E{Encoding.ASCII.GetString(intermediates)}{final}]");
    public readonly void CsiDispatch(CsiSequence csi) => Log.Append($"[C{Describe(csi)}]");
    public readonly void DcsHook(CsiSequence header) => Log.Append($"[D{Describe(header)}:");
    public readonly void DcsPut(int codePoint) => Log.Append(char.ConvertFromUtf32(codePoint));
    public readonly void DcsUnhook() => Log.Append(":D]");
    public readonly void OscDispatch(ReadOnlySpan<char> data, bool truncated) => Log.Append($"[O{data}{(truncated ? "…" : "")}]");

    private static string Describe(CsiSequence s)
    {
        var sb = new StringBuilder();
        if (s.Private != '\0') sb.Append(s.Private);
        for (int i = 0; i < s.Parameters.Length; i++)
        {
            if (i > 0) sb.Append(s.IsSubparameter(i) ? ':' : ';');
            sb.Append(s.Parameters[i]);
        }
        sb.Append(Encoding.ASCII.GetString(s.Intermediates)).Append(s.Final);
        return sb.ToString();
    }

    public static string Of(byte[] bytes, int chunk = int.MaxValue)
    {
        var parser = new EscapeParser();
        var t = new Trace();
        for (int i = 0; i < bytes.Length; i += chunk) parser.Feed(bytes.AsSpan(i, Math.Min(chunk, bytes.Length - i)), ref t);
        parser.Flush(ref t);
        return t.Log.ToString();
    }

    public static string Of(string text) => Of(Encoding.UTF8.GetBytes(text));
}

public class EscapeParserTests
{
    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("\e(B\x0f", "[E(B][X0f]")]                    // Claude's exit: ESC ( B is 3 bytes, SI is executed
    [InlineData("\e)0\e#8x", "[E)0][E#8]x")]
    [InlineData("\e7\e[r\e8", "[E7][Cr][E8]")]
    [InlineData("\e[?1049h\e[!p\e[1;31m", "[C?1049h][C!p][C1;31m]")]
    [InlineData("\e[;5m\e[m", "[C0;5m][Cm]")]
    [InlineData("\e[38:2::10:20:30m", "[C38:2:0:10:20:30m]")]
    [InlineData("\e[2 q\e[>4;1m", "[C2 q][C>4;1m]")]
    [InlineData("\e]0;title\ax", "[O0;title]x")]
    [InlineData("\e]8;;http://x\e\\link", "[O8;;http://x][E\\]link")]
    [InlineData("\e]2;日本\u009c", "[O2;日本]")]
    [InlineData("\eP1$rabc\e\\z", "[D1$r:abc:D][E\\]z")]
    [InlineData("\e_apc\e\\\e^pm\e\\\eXsos\e\\", "[E\\][E\\][E\\]")]
    [InlineData("\e[31\x18x", "[X18]x")]                      // CAN aborts and executes
    [InlineData("\e[31\x1ax", "[X1a]x")]                      // SUB too
    [InlineData("\e[31\e[32m", "[C32m]")]                     // ESC restarts
    [InlineData("\e[1\n2m", "[X0a][C12m]")]                    // C0 inside CSI executes
    [InlineData("\u009b1m\u0085", "[C1m][X85]")]              // C1 as code points
    [InlineData("\e[1<m", "")]                                // private marker after parameters: ignored
    [InlineData("\e[1!!!p", "")]                              // too many intermediates: ignored
    [InlineData("\eé", "é")]                                   // non-ASCII ends an escape: printed
    [InlineData("a\u007fb", "ab")]                               // DEL ignored
    public void Sequences(string input, string expected) => Assert.Equal(expected, Trace.Of(input));

    [Fact]
    public void ClaudesExitBytesSplitAtEveryPositionGiveTheSameActions()
    {
        var bytes = Encoding.UTF8.GetBytes("line 日\e7\e[r\e8\e(B\x0fnext\e]0;t\e\\\eP1$r\e\\end");
        string whole = Trace.Of(bytes);
        Assert.Equal("line 日[E7][Cr][E8][E(B][X0f]next[O0;t][E\\][D1$r::D][E\\]end", whole);
        for (int k = 1; k < bytes.Length; k++)
        {
            var parser = new EscapeParser();
            var t = new Trace();
            parser.Feed(bytes.AsSpan(0, k), ref t);
            parser.Feed(bytes.AsSpan(k), ref t);
            Assert.Equal(whole, t.Log.ToString());
        }
    }

    [Fact]
    public void InvalidUtf8BecomesReplacementCharactersPerMaximalSubpart()
    {
        Assert.Equal("\ufffd(", Trace.Of([0xC3, 0x28]));
        Assert.Equal("\ufffd[C1m]", Trace.Of([0xE2, 0x82, 0x1B, (byte)'[', (byte)'1', (byte)'m']));
        Assert.Equal("\ufffd\ufffd", Trace.Of([0x9B, 0xFF]));   // raw 8-bit C1 is not UTF-8: not a CSI
        Assert.Equal("\ufffd\ufffd", Trace.Of([0xED, 0xA0]));  // surrogate encodings are rejected
        Assert.Equal("\ufffd", Trace.Of([0xF0, 0x9F, 0x98]));    // incomplete at the end: flushed
        Assert.Equal("😀", Trace.Of([0xF0, 0x9F, 0x98, 0x80]));
    }

    [Fact]
    public void ParameterCountAndOscLengthAreBounded()
    {
        string many = "\e[" + string.Join(';', Enumerable.Range(1, 40)) + "mx";
        Assert.Equal("x", Trace.Of(many));
        string exactly = "\e[" + string.Join(';', Enumerable.Range(1, EscapeParser.MaxParameters)) + "m";
        Assert.StartsWith("[C1;2;3", Trace.Of(exactly));
        Assert.Equal("[C65535m]", Trace.Of("\e[99999999m")); // saturated
        string osc = Trace.Of("\e]0;" + new string('a', 10_000) + "\a");
        Assert.Equal("[O".Length + EscapeParser.MaxOscLength + "…]".Length, osc.Length);
        Assert.EndsWith("…]", osc);
    }

    [Fact]
    public void Utf16InputGivesTheSameActionsAndLoneSurrogatesAreReplaced()
    {
        const string text = "a\e[31m日😀\e]0;t\a\e(B";
        var parser = new EscapeParser();
        var t = new Trace();
        parser.Feed(text.AsSpan(), ref t);
        Assert.Equal(Trace.Of(text), t.Log.ToString());
        t = new Trace();
        parser.Feed("x\ud800y\udc00".AsSpan(), ref t);
        Assert.Equal("x\ufffdy\ufffd", t.Log.ToString());
    }

    private static readonly string[] Pool =
    [
        "\e", "[", "]", "(", ")", "#", "B", "0", "8", "7", "\x0f", "\a", "\e\\", "1", "12", ";", ":", "?", "!", " ", "m", "r", "p",
        "P", "_", "X", "\u009b", "\u009c", "\u009d", "x", "é", "日", "😀", "\t", "\n", "\r", "\x18", "\x1a", "\x7f", "$",
    ];

    internal static byte[] Soup(int[]? picks) =>
        Encoding.UTF8.GetBytes(string.Concat((picks ?? []).Select(p => Pool[(int)((uint)p % (uint)Pool.Length)])));

    [Property(MaxTest = 300)]
    public bool ChunksSplitAnywhereGiveTheSameActions(int[] picks, PositiveInt chunk)
    {
        var bytes = Soup(picks);
        return Trace.Of(bytes) == Trace.Of(bytes, chunk.Get % 5 + 1);
    }

    [Property(MaxTest = 300)]
    public bool RandomBytesNeverThrowAndEndAtABoundaryAfterCan(byte[] data)
    {
        var parser = new EscapeParser();
        var t = new Trace();
        parser.Feed(data ?? [], ref t);
        parser.Feed([0x18], ref t);
        return parser.IsGround;
    }

    private struct Counter : IEscapeHandler
    {
        public long N;
        public void Print(Rune rune) => N++;
        public void Execute(int control) => N++;
        public void EscDispatch(ReadOnlySpan<byte> intermediates, char final) => N++;
        public void CsiDispatch(CsiSequence csi) => N += csi.Parameters.Length + 1;
        public void DcsHook(CsiSequence header) => N++;
        public void DcsPut(int codePoint) => N++;
        public void DcsUnhook() => N++;
        public void OscDispatch(ReadOnlySpan<char> data, bool truncated) => N += data.Length;
    }

    [Fact]
    public void TheHotPathAllocatesNothing()
    {
        var bytes = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("text 日本 😀 \e[1;38;5;208mcolour\e[0m \e]0;title\a \e(B\x0f \eP1$rx\e\\ \e[?1049h\r\n", 500)));
        var parser = new EscapeParser();
        var counter = new Counter();
        parser.Feed(bytes, ref counter); // warm-up (JIT, the OSC buffer)
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) parser.Feed(bytes, ref counter);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(counter.N > 0);
    }
}
