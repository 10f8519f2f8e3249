using System.Text;
using Zeroshot.Agents.Output;
using Zeroshot.Cli.Output;

namespace Zeroshot.Cli.Tests;

public class ClusterPrinterTests
{
    /// <summary>A terminal that accepts nothing until released (Ctrl+S, a frozen link).</summary>
    private sealed class StalledWriter : TextWriter
    {
        public readonly ManualResetEventSlim Released = new();
        public readonly StringBuilder Text = new();

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value) => Write(value.ToString());

        public override void Write(string? value)
        {
            Released.Wait();
            lock (Text) Text.Append(value);
        }
    }

    [Fact]
    public async Task A_stalled_terminal_does_not_stall_the_agents_and_says_how_many_lines_it_skipped()
    {
        var terminal = new StalledWriter();
        var printer = new ClusterPrinter(terminal, color: false, ["worker"], lossy: true, stallTimeout: TimeSpan.FromMilliseconds(100), capacity: 10);
        var feeding = Task.Run(() =>
        {
            for (int i = 0; i < 1000; i++) printer.OnLine("worker", new DisplayLine($"line {i}", DisplayStyle.Raw));
        });
        // The producer (an agent's pump) finishes although nothing was written: it waited once, then skipped.
        await feeding.WaitAsync(TimeSpan.FromSeconds(20)); // throws TimeoutException if the terminal held the agent up
        terminal.Released.Set();
        await printer.DrainAsync(TimeSpan.FromSeconds(20));

        var lines = terminal.Text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        int shown = lines.Count(l => l.StartsWith("worker", StringComparison.Ordinal));
        var notice = Assert.Single(lines, l => l.Contains("lines not shown", StringComparison.Ordinal));
        int skipped = int.Parse(notice.Split('…')[1].Trim().Split(' ')[0]);
        Assert.Equal(1000, shown + skipped);
        Assert.True(skipped > 0);
        Assert.Equal("worker   │ line 0", lines[0]);
    }

    [Fact]
    public async Task A_slow_but_working_file_gets_every_line_in_order()
    {
        var output = new StringWriter();
        var printer = new ClusterPrinter(output, color: false, ["a", "b"], lossy: false, capacity: 4);
        for (int i = 0; i < 500; i++) printer.OnLine(i % 2 == 0 ? "a" : "b", new DisplayLine($"n{i}", DisplayStyle.Text));
        printer.Notice("done");
        await printer.DrainAsync(TimeSpan.FromSeconds(30));
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Enumerable.Range(0, 500).Select(i => $"{(i % 2 == 0 ? "a" : "b")}        │ n{i}"), lines[..500]);
        Assert.Equal("zeroshot │ done", lines[500]);
    }

    [Fact]
    public async Task Without_a_terminal_an_agents_escapes_and_Claudes_exit_bytes_leave_no_junk()
    {
        var output = new StringWriter();
        var printer = new ClusterPrinter(output, color: false, ["worker"]);
        printer.OnLine("worker", new DisplayLine("\u001b[1;32mok\u001b[0m \u001b]0;title\u0007done\u001b(B\u000f", DisplayStyle.Raw));
        printer.OnLine("worker", new DisplayLine("\u001b7\u001b[r\u001b8\u001b(B", DisplayStyle.Raw));
        printer.OnLine("worker", new DisplayLine("", DisplayStyle.Raw)); // an empty line stays a line
        await printer.DrainAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("worker   │ ok done\nworker   │ \n", output.ToString());
    }

    [Fact]
    public async Task On_a_terminal_colours_stay_cursor_control_goes_and_every_line_ends_reset()
    {
        var output = new StringWriter();
        var printer = new ClusterPrinter(output, color: true, ["worker"]);
        printer.OnLine("worker", new DisplayLine("\u001b[31mred\u001b7\u001b[r\u001b8\u001b[?1049h\u001b[5;1H", DisplayStyle.Raw));
        await printer.DrainAsync(TimeSpan.FromSeconds(10));
        string text = output.ToString();
        Assert.Contains("\u001b[31mred", text, StringComparison.Ordinal);
        foreach (var gone in new[] { "\u001b7", "\u001b8", "\u001b[r", "\u001b[?1049h", "\u001b[5;1H" })
            Assert.DoesNotContain(gone, text, StringComparison.Ordinal);
        Assert.EndsWith("\u001b[0m\n", text, StringComparison.Ordinal);
    }
}
