using System.Diagnostics;
using System.Globalization;
using System.Text;
using Zeroshot.Terminal.Screen;

namespace Zeroshot.Bench;

/// <summary>
/// The screen model's cost: MB/s of agent output fed through <see cref="ScreenModel"/> (parse,
/// print, scroll into a 2 000-line scrollback), for three kinds of stream: plain log lines, coloured
/// log lines (SGR around words, some non-ASCII), and a TUI redrawing its bottom rows (cursor up,
/// erase line, box drawing, as Claude Code and Codex do while streaming). Also the bytes allocated
/// per MB in the steady state and the time to serialize a full 2 000-line screen for attach.
/// Usage: screen [--megabytes 200]
/// </summary>
internal static class ScreenModelBenchmark
{
    public static int Run(string[] args)
    {
        int megabytes = TreeSamplingBenchmark.Arg(args, "--megabytes", 200);
        foreach (var (name, chunk) in Streams())
        {
            Measure(chunk, 8); // warm up (JIT tiers, scrollback filled)
            double best = 0;
            long allocatedPerMb = 0;
            for (int run = 0; run < 3; run++)
            {
                var (mbps, allocated) = Measure(chunk, megabytes);
                if (mbps > best) { best = mbps; allocatedPerMb = allocated / megabytes; }
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"screen model, {name}: {best:0} MB/s of CPU time ({allocatedPerMb} B allocated per MB)"));
        }
        var model = new ScreenModel(50, 200);
        var plain = Streams()[1].Chunk;
        for (int i = 0; i < 20; i++) model.Feed(plain);
        var sw = Stopwatch.StartNew();
        int n = 0, size = 0;
        while (sw.ElapsedMilliseconds < 1000) { size = ScreenSerializer.Serialize(model, scrollback: true).Length; n++; }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"serialize 200×50 screen with {model.History.Count} lines of scrollback: {sw.Elapsed.TotalMilliseconds / n:0.00} ms, {size / 1024.0:0} KiB"));
        return 0;
    }

    // MB per second of this thread's CPU time (the machine is shared: wall time would count the
    // neighbours), and the bytes allocated while feeding a model that is already full (steady state).
    private static (double MBps, long Allocated) Measure(byte[] chunk, int megabytes)
    {
        var model = new ScreenModel(50, 200);
        // Steady state: the scrollback full (its lines are then recycled), or as full as the stream gets.
        for (int i = 0; i < 4000 && model.History.Count < model.History.Capacity; i++) model.Feed(chunk);
        // ... and its compact rows grown to the lines they take in turn (a row's array grows to full width on the
        // first longer line it is recycled with, never shrinks): 64 chunks (~30 passes of the ring: the
        // last rows to grow are those that kept drawing short lines), then until 8 in a row allocate nothing.
        for (int i = 0, quiet = 0; i < 1000 && (i < 64 || quiet < 8); i++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            model.Feed(chunk);
            quiet = GC.GetAllocatedBytesForCurrentThread() == before ? quiet + 1 : 0;
        }
        long total = (long)megabytes << 20;
        long fed = 0;
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        var cpu = CpuClock.ThreadCpu();
        while (fed < total)
        {
            model.Feed(chunk);
            fed += chunk.Length;
        }
        var used = CpuClock.ThreadCpu() - cpu;
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        return (fed / (double)(1 << 20) / used.TotalSeconds, allocated);
    }

    // About 64 KiB each, fed repeatedly (a PTY read is at most a few KiB; 64 KiB keeps call overhead honest).
    private static List<(string Name, byte[] Chunk)> Streams()
    {
        var random = new Random(42);
        string[] words = ["the", "build", "passed", "src/Zeroshot.Terminal/Screen/ScreenModel.cs", "error", "CS0103:", "name", "does", "not", "exist", "running", "tests", "42", "ms", "ok", "file", "diff", "--git", "a/b"];
        var plain = new StringBuilder();
        var coloured = new StringBuilder();
        var tui = new StringBuilder();
        while (plain.Length < 64 * 1024)
        {
            int count = random.Next(4, 16);
            for (int i = 0; i < count; i++)
            {
                string w = words[random.Next(words.Length)];
                plain.Append(w).Append(' ');
                if (random.Next(4) == 0) coloured.Append("\e[").Append(31 + random.Next(6)).Append('m').Append(w).Append("\e[0m ");
                else if (random.Next(10) == 0) coloured.Append("\e[1m").Append(w).Append("\e[22m ✓ ");
                else coloured.Append(w).Append(' ');
            }
            plain.Append("\r\n");
            coloured.Append("\r\n");
        }
        while (tui.Length < 64 * 1024)
        {
            // A streaming reply: a new line of text, then the input box and status redrawn below it.
            tui.Append("\e[3A\e[2K\r● ");
            for (int i = random.Next(6, 20); i > 0; i--) tui.Append(words[random.Next(words.Length)]).Append(' ');
            tui.Append("\r\n\e[2K╭").Append('─', 60).Append("╮\r\n\e[2K│ \e[2m> Try \"fix the failing test\"\e[0m").Append(' ', 29).Append("│\r\n\e[2K╰").Append('─', 60).Append("╯\r\n");
            tui.Append("\e[2K  \e[38;5;244m? for shortcuts\e[39m\e[1A");
        }
        return [("plain lines", Encoding.UTF8.GetBytes(plain.ToString())), ("coloured lines", Encoding.UTF8.GetBytes(coloured.ToString())), ("TUI redraw", Encoding.UTF8.GetBytes(tui.ToString()))];
    }
}
