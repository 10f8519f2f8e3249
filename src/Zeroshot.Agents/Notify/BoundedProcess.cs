using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace Zeroshot.Agents.Notify;

/// <summary>How a run of a notification command ended.</summary>
internal enum ProcessStatus
{
    /// <summary>It exited with code 0.</summary>
    Ok,

    /// <summary>It exited with another code.</summary>
    Failed,

    /// <summary>It ran past its time limit (or the caller gave up) and was killed with its process tree.</summary>
    Killed,

    /// <summary>It could not be started (not found, not executable).</summary>
    NotStarted,
}

/// <summary>The outcome of <see cref="BoundedProcess.RunAsync"/>.</summary>
/// <param name="Status">How it ended.</param>
/// <param name="ExitCode">The exit code when it exited on its own.</param>
/// <param name="Error">The last line of its standard error (at most 200 characters, escaped), or why it did not start; "" if none.</param>
internal readonly record struct ProcessOutcome(ProcessStatus Status, int? ExitCode, string Error);

/// <summary>
/// Runs a notification command (an <c>--on-event</c> hook, <c>notify-send</c>): argv only, never a shell; optional bytes
/// on standard input; standard output discarded and the tail of standard error kept for the log (the terminal is
/// never written to: the footer owns it); killed with its process tree after a time limit. Never throws for anything
/// the command does.
/// </summary>
internal static class BoundedProcess
{
    private const int ErrorTail = 200;

    // After the command exits (or is killed), how long its output pipes may stay open: a daemonised grandchild can hold
    // them forever, and nothing it writes matters.
    private static readonly TimeSpan DrainGrace = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Runs <paramref name="argv"/> (argv[0] a path or a name looked up on the PATH by the OS), writes
    /// <paramref name="stdin"/> (then closes it; null: an empty standard input), and waits at most
    /// <paramref name="timeout"/>. <paramref name="environment"/> entries are set (null value: removed) on top of the
    /// inherited environment.
    /// </summary>
    public static async Task<ProcessOutcome> RunAsync(IReadOnlyList<string> argv, byte[]? stdin, IReadOnlyDictionary<string, string?>? environment,
        TimeSpan timeout, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(argv);
        ArgumentOutOfRangeException.ThrowIfZero(argv.Count);
        var psi = new ProcessStartInfo(argv[0])
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardErrorEncoding = Encoding.UTF8,
        };
        for (int i = 1; i < argv.Count; i++)
            psi.ArgumentList.Add(argv[i]);
        if (environment is not null)
            foreach (var (name, value) in environment)
            {
                if (value is null) psi.Environment.Remove(name);
                else psi.Environment[name] = value;
            }

        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new Win32Exception("no process started");
        }
        catch (Win32Exception e)
        {
            return new ProcessOutcome(ProcessStatus.NotStarted, null, WhyNotStarted(argv[0], e));
        }

        using (process)
        {
            var stdout = DiscardAsync(process.StandardOutput.BaseStream);
            var stderr = TailAsync(process.StandardError);
            // Written beside the wait, not before it: a hook that never reads a large document must still be killed on time.
            var input = WriteInputAsync(process.StandardInput.BaseStream, stdin);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(timeout);
            bool killed = false;
            try
            {
                await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                killed = true;
                Kill(process);
            }
            // A grandchild that inherited the pipes may keep them open: neither the write nor the drains are waited for long.
            await Task.WhenAny(Task.WhenAll(input, stdout, stderr), Task.Delay(DrainGrace, CancellationToken.None)).ConfigureAwait(false);
            string tail = stderr.IsCompletedSuccessfully ? stderr.Result : "";
            if (killed)
                return new ProcessOutcome(ProcessStatus.Killed, null, tail);
            int code = process.ExitCode;
            return new ProcessOutcome(code == 0 ? ProcessStatus.Ok : ProcessStatus.Failed, code, tail);
        }
    }

    private static async Task WriteInputAsync(Stream stdin, byte[]? bytes)
    {
        try
        {
            if (bytes is { Length: > 0 })
            {
                await stdin.WriteAsync(bytes).ConfigureAwait(false);
                await stdin.FlushAsync().ConfigureAwait(false);
            }
            stdin.Close();
        }
        catch (IOException)
        {
            // EPIPE: the command exited, or closed its standard input without reading it; that is its choice.
        }
        catch (ObjectDisposedException)
        {
            // The process was killed and its pipes closed while the write waited.
        }
    }

    private static async Task DiscardAsync(Stream stdout)
    {
        try
        {
            await stdout.CopyToAsync(Stream.Null).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The pipe broke when the process tree was killed; the output was being thrown away anyway.
        }
        catch (ObjectDisposedException)
        {
            // The process was disposed after the drain grace.
        }
    }

    // The last line of standard error, bounded, with controls escaped: it goes into a log line, never raw to a terminal.
    private static async Task<string> TailAsync(StreamReader reader)
    {
        string last = "";
        try
        {
            while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
                if (line.Trim().Length > 0)
                    last = line.Length > ErrorTail ? line[..ErrorTail] : line;
        }
        catch (IOException)
        {
            // The pipe broke when the process tree was killed; what was read so far is all there is.
        }
        catch (ObjectDisposedException)
        {
            // The process was disposed after the drain grace; the tail is not needed any more.
        }
        return Terminal.Format.Escaped(last.Trim());
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited between the deadline and the kill.
        }
        catch (Win32Exception)
        {
            // Could not be killed (already gone); nothing more to do.
        }
    }

    private static string WhyNotStarted(string file, Win32Exception e) => e.NativeErrorCode switch
    {
        // errno values (Linux and macOS agree on these two).
        2 => file.Contains('/', StringComparison.Ordinal) ? $"'{Terminal.Format.Escaped(file)}' does not exist" : $"'{Terminal.Format.Escaped(file)}' was not found on PATH",
        13 => $"'{Terminal.Format.Escaped(file)}' is not executable (permission denied)",
        _ => $"'{Terminal.Format.Escaped(file)}' could not be started: {Terminal.Format.Escaped(e.Message)}",
    };
}

/// <summary>
/// Fire-and-forget work that can still be awaited: the supervisor never waits for a notification, but its shutdown and
/// the tests can wait for the ones in flight (<see cref="DrainAsync"/>). A failure is logged, never thrown.
/// </summary>
internal sealed class BackgroundWork(Action<string>? log)
{
    private readonly HashSet<Task> _running = [];
    private readonly Lock _lock = new();

    /// <summary>Starts <paramref name="work"/> on the thread pool and returns at once.</summary>
    public void Fire(Func<Task> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        var task = Task.Run(async () =>
        {
            try
            {
                await work().ConfigureAwait(false);
            }
#pragma warning disable CA1031 // A notification must never take the supervisor down, whatever went wrong in it.
            catch (Exception e)
#pragma warning restore CA1031
            {
                log?.Invoke($"notification failed: {Terminal.Format.Escaped(e.Message)}");
            }
        });
        lock (_lock) _running.Add(task);
        _ = task.ContinueWith(t =>
        {
            lock (_lock) _running.Remove(t);
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Completes when everything fired so far has finished (each run is bounded by its own time limit).</summary>
    public Task DrainAsync()
    {
        Task[] running;
        lock (_lock) running = [.. _running];
        return Task.WhenAll(running);
    }
}
