using System.Text;
using Zeroshot.Agents.Pty;

namespace Zeroshot.Agents.Tests.Pty;

/// <summary>Helpers shared by the PTY tests: starting bash on a PTY, collecting output, waiting with deadlines.</summary>
internal static class PtyTestKit
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    public static Dictionary<string, string> BaseEnvironment() => new()
    {
        ["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin",
        ["TERM"] = "xterm-256color",
        ["LC_ALL"] = "C.UTF-8",
    };

    public static PtyStartInfo Bash(string script, Dictionary<string, string>? environment = null, string? workingDirectory = null,
        int columns = 80, int rows = 24) => new()
        {
            FileName = "bash",
            Arguments = ["-c", script],
            Environment = environment ?? BaseEnvironment(),
            WorkingDirectory = workingDirectory,
            Columns = columns,
            Rows = rows,
        };

    /// <summary>Polls <paramref name="condition"/> every 20 ms; fails with <paramref name="what"/> after the deadline.</summary>
    public static Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null) =>
        WaitUntilAsync(condition, () => what, timeout);

    /// <summary>As above, describing the wait when it fails (so the message can show the last state seen).</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, Func<string> what, TimeSpan? timeout = null)
    {
        DateTime deadline = DateTime.UtcNow + (timeout ?? Deadline);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting for {what()}");
            }

            await Task.Delay(20);
        }
    }

    public static async Task<PtyExit> ExitWithinDeadline(PtyProcess pty, TimeSpan? timeout = null)
    {
        try
        {
            return await pty.WaitForExitAsync().WaitAsync(timeout ?? Deadline);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"pid {pty.Pid} did not exit in time");
            throw;
        }
    }

    /// <summary>True when /proc/&lt;pid&gt; is gone or a zombie.</summary>
    public static bool IsGone(int pid)
    {
        try
        {
            return !ProcessGroupScanner.ParseStat(File.ReadAllText($"/proc/{pid}/stat")).IsLive;
        }
        catch (IOException)
        {
            return true;
        }
    }

    public static string TempDirectory()
    {
        string path = Path.Combine(Path.GetTempPath(), "zs-pty-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }
}

/// <summary>Reads a PTY to end of output on its own thread and keeps every byte.</summary>
internal sealed class OutputCollector
{
    private readonly MemoryStream _bytes = new();
    private readonly Task _completion;

    public OutputCollector(PtyProcess pty)
    {
        _completion = Task.Factory.StartNew(() =>
        {
            var buffer = new byte[AgentOutputPump.ChunkSize];
            int n;
            while ((n = pty.Read(buffer)) > 0)
            {
                lock (_bytes)
                {
                    _bytes.Write(buffer, 0, n);
                }
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    public byte[] Bytes
    {
        get
        {
            lock (_bytes)
            {
                return _bytes.ToArray();
            }
        }
    }

    public string Text => Encoding.UTF8.GetString(Bytes);

    public Task WaitUntilContainsAsync(string text) =>
        PtyTestKit.WaitUntilAsync(() => Text.Contains(text, StringComparison.Ordinal), () => $"'{text}' in output; got: {Text}");

    /// <summary>Waits for end of output and returns all of it as text.</summary>
    public async Task<string> ToEndAsync()
    {
        try
        {
            await _completion.WaitAsync(PtyTestKit.Deadline);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"no end of output in time; got: {Text}");
        }

        return Text;
    }
}
