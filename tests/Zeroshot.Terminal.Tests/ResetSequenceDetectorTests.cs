using System.Text;
using Zeroshot.Terminal;

namespace Zeroshot.Terminal.Tests;

public class ResetSequenceDetectorTests
{
    public static TheoryData<string, int> Cases => new()
    {
        { "plain text\r\n", (int)(TerminalReset.None) },
        { "\e[r", (int)(TerminalReset.ScrollRegion) },
        { "\e[1;20r", (int)(TerminalReset.ScrollRegion) },
        { "\ec", (int)(TerminalReset.ScrollRegion | TerminalReset.FooterErased) },
        { "\e[!p", (int)(TerminalReset.ScrollRegion | TerminalReset.FooterErased) },
        { "\e[?1049h", (int)(TerminalReset.ScrollRegion | TerminalReset.FooterErased) },
        { "\e[?1049l", (int)(TerminalReset.ScrollRegion | TerminalReset.FooterErased) },
        { "\e[?1047h", (int)(TerminalReset.ScrollRegion | TerminalReset.FooterErased) },
        { "\e[?25;47l", (int)(TerminalReset.ScrollRegion | TerminalReset.FooterErased) },
        { "\e[2J", (int)(TerminalReset.FooterErased) },
        { "\e[J", (int)(TerminalReset.FooterErased) },
        { "\e[0J", (int)(TerminalReset.FooterErased) },
        { "\e[1J", (int)(TerminalReset.None) },   // above the cursor only
        { "\e[3J", (int)(TerminalReset.None) },   // scrollback only
        { "\e[?25l\e[?2026h\e[1;31mred\e[0m\e[2K\e[5;1H", (int)(TerminalReset.None) },
        { "\e[?1r", (int)(TerminalReset.None) },  // XTRESTORE, not DECSTBM
        { "\e[>4;1m", (int)(TerminalReset.None) },
        { "\e]0;\e[r title\a", (int)(TerminalReset.None) }, // inside an OSC string: not a sequence
        { "\e]8;;http://x\e\\link\e]8;;\e\\\e[r", (int)(TerminalReset.ScrollRegion) },
        { "\e(B\e)0", (int)(TerminalReset.None) },
        { "日本語\e[r", (int)(TerminalReset.ScrollRegion) },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void DetectsWholeAndSplitAtEveryByte(string text, int expectedFlags)
    {
        var expected = (TerminalReset)expectedFlags;
        var bytes = Encoding.UTF8.GetBytes(text);
        Assert.Equal(expected, new ResetSequenceDetector().Feed(bytes));
        for (int split = 1; split < bytes.Length; split++)
        {
            var d = new ResetSequenceDetector();
            var found = d.Feed(bytes.AsSpan(0, split)) | d.Feed(bytes.AsSpan(split));
            Assert.Equal(expected, found);
        }
        var single = new ResetSequenceDetector();
        var all = TerminalReset.None;
        foreach (var b in bytes) all |= single.Feed([b]);
        Assert.Equal(expected, all);
        Assert.True(single.AtBoundary);
    }

    [Fact]
    public void FindResetReturnsTheOffsetJustAfterTheSequence()
    {
        var bytes = Encoding.UTF8.GetBytes("ab\e[rcd\ecef");
        var d = new ResetSequenceDetector();
        Assert.Equal(5, d.FindReset(bytes, out var kind));
        Assert.Equal(TerminalReset.ScrollRegion, kind);
        Assert.Equal(4, d.FindReset(bytes.AsSpan(5), out kind));
        Assert.True(kind.HasFlag(TerminalReset.FooterErased));
        Assert.Equal(-1, d.FindReset(bytes.AsSpan(9), out kind));
    }

    [Fact]
    public void BoundaryTracksSequencesStringsAndUtf8()
    {
        var d = new ResetSequenceDetector();
        var bytes = Encoding.UTF8.GetBytes("日");
        d.Feed(bytes.AsSpan(0, 1));
        Assert.False(d.AtBoundary);
        d.Feed(bytes.AsSpan(1));
        Assert.True(d.AtBoundary);
        d.Feed("\e["u8);
        Assert.False(d.AtBoundary);
        d.Feed("1;2"u8);
        Assert.False(d.AtBoundary);
        d.Feed("m\e]0;t"u8);
        Assert.False(d.AtBoundary);
        d.Feed("\a"u8);
        Assert.True(d.AtBoundary);
    }

    [Fact]
    public void DoesNotAllocatePerByte()
    {
        var d = new ResetSequenceDetector();
        var bytes = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("\e[1;32mline 日本 \e[2K\e[r\r\n", 200)));
        d.Feed(bytes); // warm up
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) d.Feed(bytes);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}

public class ResetSequenceDetectorRandomTests
{
    [Fact]
    public void RandomChunkingAgreesWithByteByByte()
    {
        string[] pieces = ["abc", "日本", "😀", "é", "\e[r", "\e[1;31m", "\e[2J", "\e]0;t\a", "\ec", "\e[?1049h", "\r\n", "\e[?25l", "\e(B", "\e[!p", "x"];
        var rng = new Random(1234);
        for (int round = 0; round < 300; round++)
        {
            var text = string.Concat(Enumerable.Range(0, rng.Next(1, 30)).Select(_ => pieces[rng.Next(pieces.Length)]));
            var bytes = System.Text.Encoding.UTF8.GetBytes(text);
            var reference = new ResetSequenceDetector();
            var chunked = new ResetSequenceDetector();
            int pos = 0;
            while (pos < bytes.Length)
            {
                int len = Math.Min(bytes.Length - pos, rng.Next(1, 9));
                var refKind = TerminalReset.None;
                foreach (var b in bytes.AsSpan(pos, len)) refKind |= reference.Feed([b]);
                var kind = chunked.Feed(bytes.AsSpan(pos, len));
                Assert.Equal(refKind, kind);
                Assert.Equal(reference.AtBoundary, chunked.AtBoundary);
                pos += len;
            }
        }
    }
}
