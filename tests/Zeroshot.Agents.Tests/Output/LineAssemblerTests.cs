using System.Text;
using Zeroshot.Agents.Output;

namespace Zeroshot.Agents.Tests.Output;

public sealed class LineAssemblerTests
{
    private static List<(string Line, bool Truncated, long Total)> Lines(int cap, params string[] chunks)
    {
        var result = new List<(string, bool, long)>();
        var assembler = new LineAssembler((line, truncated, total) => result.Add((Encoding.UTF8.GetString(line), truncated, total)), cap);
        foreach (var chunk in chunks)
            assembler.Feed(Encoding.UTF8.GetBytes(chunk));
        assembler.Complete();
        return result;
    }

    [Fact]
    public void Crlf_from_onlcr_loses_its_cr_even_when_split_between_chunks()
    {
        Assert.Equal([("a", false, 1L), ("bc", false, 2L), ("", false, 0L)], Lines(1024, "a\r\nb", "c\r", "\n\r\n"));
    }

    [Fact]
    public void Bare_cr_progress_redraws_stay_in_the_line()
    {
        Assert.Equal([("10%\r50%\r100%", false, 12L)], Lines(1024, "10%\r50%", "\r100%\r\n"));
    }

    [Fact]
    public void Last_line_without_newline_is_delivered_on_complete()
    {
        Assert.Equal([("x", false, 1L), ("tail", false, 4L)], Lines(1024, "x\nta", "il"));
        Assert.Empty(Lines(1024, "", ""));
    }

    [Fact]
    public void Long_line_keeps_its_head_and_skips_the_rest()
    {
        var head = new string('h', 16);
        // Over the cap in one chunk (fast path) and across chunks (buffered path).
        Assert.Equal([(head, true, 40L), ("next", false, 4L)], Lines(16, head + new string('t', 24) + "\nnext\n"));
        // The CR of the final CRLF is the terminal's (ONLCR), not the line's, even in a skipped tail: 36 bytes, not 37.
        Assert.Equal([(head, true, 36L), ("next", false, 4L)], Lines(16, "hhhhhhhhhh", "hhhhhhttttttttttttt", "tttttt\r", "\r\nnext\n"));
    }
}
