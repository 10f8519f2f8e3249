using System.Globalization;
using Zeroshot.Terminal.Tests.Support;

namespace Zeroshot.Cli.Tests;

/// <summary>
/// Checks of what a run leaves on a real terminal and in plain output, shared by the tests that drive a
/// stand-in agent and those that drive a real agent CLI (Claude Code, Codex): numbered lines in order,
/// the footer on the bottom rows, no escape junk.
/// </summary>
internal static class TerminalChecks
{
    /// <summary>What Claude Code writes when it exits (field notes): DECSC, DECSTBM reset, DECRC, then
    /// <c>ESC ( B</c> in some paths.</summary>
    public const string ClaudeExitBytes = "\u001b7\u001b[r\u001b8";

    /// <summary>The same as a bash <c>printf</c> format.</summary>
    public const string ClaudeExitPrintf = @"\0337\033[r\0338";

    /// <summary>Whether the footer box is on the screen's bottom rows (its last row is the box's bottom).</summary>
    public static bool FooterAtBottom(string[] screen, int height) =>
        screen.Length == height && screen[height - 1].StartsWith("└─", StringComparison.Ordinal) && screen.Any(l => l.StartsWith("┌─", StringComparison.Ordinal));

    /// <summary>Row of the footer's top edge, or -1.</summary>
    public static int FooterTop(string[] screen) => Array.FindIndex(screen, l => l.StartsWith("┌─", StringComparison.Ordinal));

    /// <summary>The numbers N of the lines that contain <paramref name="marker"/>N (e.g. "num-"), in order.</summary>
    public static List<int> Numbers(IEnumerable<string> lines, string marker)
    {
        var numbers = new List<int>();
        foreach (var line in lines)
        {
            int at = line.IndexOf(marker, StringComparison.Ordinal);
            if (at < 0) continue;
            int start = at + marker.Length, end = start;
            while (end < line.Length && char.IsAsciiDigit(line[end])) end++;
            if (end > start) numbers.Add(int.Parse(line.AsSpan(start, end - start), CultureInfo.InvariantCulture));
        }
        return numbers;
    }

    /// <summary>Every line marker1 … marker<paramref name="count"/> exactly once and in order.</summary>
    public static void AssertEveryNumberedLineOnceInOrder(IEnumerable<string> lines, string marker, int count)
    {
        var all = lines.ToList();
        Assert.True(Enumerable.Range(1, count).SequenceEqual(Numbers(all, marker)),
            $"expected {marker}1..{marker}{count} once each, in order; got:\n{string.Join('\n', all)}");
    }

    /// <summary>Plain output (a file or pipe): no ESC, no other C0 control but TAB and LF, no C1, and not
    /// the <c>B\x0f</c> left by an escape stripper that read <c>ESC ( B</c> as two bytes.</summary>
    public static void AssertPlain(string output)
    {
        Assert.DoesNotContain("\u001b", output, StringComparison.Ordinal);
        Assert.DoesNotContain("B\u000f", output, StringComparison.Ordinal);
        var bad = output.Where(c => c is not ('\t' or '\n') && (c < 0x20 || c is >= '\u007f' and <= '\u009f')).ToList();
        Assert.True(bad.Count == 0, $"control characters in plain output: {string.Join(' ', bad.Select(c => ((int)c).ToString("x2", CultureInfo.InvariantCulture)))}");
    }

    /// <summary>
    /// Captures the screen every 30 ms until <paramref name="done"/> holds, asserting on every capture
    /// that shows the footer that it is on the bottom rows with no <paramref name="marker"/> line inside
    /// it, and that the output above it is in order. Returns the captures that showed the footer.
    /// </summary>
    public static List<string[]> WatchFooter(TmuxSession tmux, int height, string marker, Func<string[], bool> done, TimeSpan timeout)
    {
        var withFooter = new List<string[]>();
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var screen = tmux.Capture();
            int top = FooterTop(screen);
            if (top >= 0)
            {
                Assert.True(FooterAtBottom(screen, height), $"footer not on the bottom rows:\n{string.Join('\n', screen)}");
                Assert.All(screen[top..], l => Assert.DoesNotContain(marker, l, StringComparison.Ordinal));
                var above = Numbers(screen[..top], marker);
                Assert.True(above.SequenceEqual(above.Order().Distinct()), $"output above the footer out of order:\n{string.Join('\n', screen)}");
                withFooter.Add(screen);
            }
            if (done(screen)) return withFooter;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"never done; last screen:\n{string.Join('\n', screen)}");
            using var wait = new ManualResetEventSlim();
            wait.Wait(30);
        }
    }
}
