using System.Diagnostics;
using System.Text;
using Xunit.Abstractions;
using Zeroshot.Agents.Pty;
using static Zeroshot.Agents.Tests.Pty.PtyTestKit;

namespace Zeroshot.Agents.Tests.Pty;

public sealed class AgentOutputPumpTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _directory = TempDirectory();

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task FiftyMegabytesReachTheLogByteExactWhileTheDisplayKeepsUp()
    {
        const int size = 50 * 1024 * 1024;
        string source = Path.Combine(_directory, "source.bin");
        byte[] expected = new byte[size];
        new Random(42).NextBytes(expected);
        await File.WriteAllBytesAsync(source, expected);
        string log = Path.Combine(_directory, "logs", "agent.log");

        // stty -opost: raw output, so the log must equal the file (with OPOST every \n would become \r\n).
        await using PtyProcess pty = PtyProcess.Start(Bash($"stty -opost && exec cat '{source}'"));
        var stopwatch = Stopwatch.StartNew();
        await using AgentOutputPump pump = AgentOutputPump.Start(pty, log);
        long displayed = 0;
        int chunks = 0;
        await foreach (ReadOnlyMemory<byte> chunk in pump.Display.ReadAllAsync().WithCancellation(new CancellationTokenSource(TimeSpan.FromSeconds(120)).Token))
        {
            displayed += chunk.Length;
            chunks++;
        }

        await pump.Completion.WaitAsync(TimeSpan.FromSeconds(120));
        stopwatch.Stop();
        output.WriteLine($"pumped {size / 1048576.0:F0} MiB in {stopwatch.Elapsed.TotalSeconds:F2} s = {size / 1048576.0 / stopwatch.Elapsed.TotalSeconds:F0} MiB/s, {chunks} chunks displayed");

        Assert.Equal(size, pump.TotalBytes);
        Assert.Equal(size, displayed + pump.DroppedDisplayBytes);
        byte[] logged = await File.ReadAllBytesAsync(log);
        Assert.True(expected.AsSpan().SequenceEqual(logged), "log differs from the bytes the agent wrote");
        Assert.Equal(new PtyExit(0, null), await ExitWithinDeadline(pty));
    }

    [Fact]
    public async Task ASlowDisplayLosesOldestChunksButNeverTheLog()
    {
        string log = Path.Combine(_directory, "agent.log");
        // 4 MiB of text as the terminal produces it (ONLCR on): base64 lines of 76 characters plus "\r\n".
        await using PtyProcess pty = PtyProcess.Start(Bash("head -c 3145728 /dev/zero | base64"));
        await using AgentOutputPump pump = AgentOutputPump.Start(pty, log, displayCapacity: 2);

        await pump.Completion.WaitAsync(Deadline); // nobody reads the display meanwhile
        var kept = new List<ReadOnlyMemory<byte>>();
        await foreach (ReadOnlyMemory<byte> chunk in pump.Display.ReadAllAsync())
        {
            kept.Add(chunk);
        }

        byte[] logged = await File.ReadAllBytesAsync(log);
        string line = Convert.ToBase64String(new byte[57]) + "\r\n";
        Assert.Equal(3145728 / 57 * line.Length + Convert.ToBase64String(new byte[3145728 % 57]).Length + 2, logged.Length);
        Assert.Equal(line, Encoding.ASCII.GetString(logged, 0, line.Length));
        Assert.Equal(logged.Length, pump.TotalBytes);
        Assert.True(kept.Count <= 2);
        Assert.True(pump.DroppedDisplayBytes > 0);
        Assert.Equal(pump.TotalBytes, pump.DroppedDisplayBytes + kept.Sum(c => c.Length));
        // What the display kept is the newest output: the tail of the log.
        byte[] tail = kept.SelectMany(c => c.ToArray()).ToArray();
        Assert.True(logged.AsSpan()[^tail.Length..].SequenceEqual(tail));
    }

    [Fact]
    public async Task LogIsAppendedAndLastOutputTimeComesFromTheTimeProvider()
    {
        string log = Path.Combine(_directory, "agent.log");
        await File.WriteAllTextAsync(log, "earlier run\n");
        var time = new FixedTimeProvider(new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero));
        await using PtyProcess pty = PtyProcess.Start(Bash("read -r; echo done"));
        await using AgentOutputPump pump = AgentOutputPump.Start(pty, log, time);
        Assert.Null(pump.LastOutputAt);

        pty.Write("go\r"u8);
        await pump.Completion.WaitAsync(Deadline);

        // The terminal echoes the input (ECHO, ICRNL + ONLCR turn the CR into "\r\n"), then the output.
        Assert.Equal("earlier run\ngo\r\ndone\r\n", await File.ReadAllTextAsync(log));
        Assert.Equal(time.Now, pump.LastOutputAt);
        Assert.Equal("go\r\ndone\r\n".Length, pump.TotalBytes);
    }

    [Fact]
    public async Task DisposeStopsAPumpWhoseAgentStillRuns()
    {
        string log = Path.Combine(_directory, "agent.log");
        await using PtyProcess pty = PtyProcess.Start(Bash("echo started; exec sleep 1000"));
        AgentOutputPump pump = AgentOutputPump.Start(pty, log);
        await WaitUntilAsync(() => pump.TotalBytes > 0, "first output");

        await pump.DisposeAsync().AsTask().WaitAsync(Deadline);

        Assert.True(pump.Completion.IsCompletedSuccessfully);
        Assert.Equal("started\r\n", await File.ReadAllTextAsync(log));
        Assert.False(pty.HasExited);
    }

    [Fact]
    public void AnUnwritableLogFailsAtStart()
    {
        string notADirectory = Path.Combine(_directory, "file");
        File.WriteAllText(notADirectory, "");
        using PtyProcess pty = PtyProcess.Start(Bash("true"));

        Assert.ThrowsAny<IOException>(() => AgentOutputPump.Start(pty, Path.Combine(notADirectory, "agent.log")));
    }

    private sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
