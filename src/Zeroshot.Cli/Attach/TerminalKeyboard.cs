namespace Zeroshot.Cli.Attach;

/// <summary>
/// The one reader of the terminal's keys for the whole process: a thread blocked in read(2) on standard input that hands
/// each read to whoever listens now. Listeners stack: the dashboard listens, an attach started from it listens on top,
/// and when the attach ends its keys come back to the dashboard. (A reader per session would leave the finished
/// session's thread blocked in read(2), and it would swallow the next key.) An empty read (end of input) is passed on
/// as an empty array.
/// </summary>
internal static class TerminalKeyboard
{
    private static readonly Lock Gate = new();
    private static readonly List<Action<byte[]>> Listeners = [];
    private static Thread? s_thread;

    /// <summary>Sends the keys to <paramref name="onKeys"/> until the result is disposed (then to the previous listener).
    /// <paramref name="onKeys"/> runs on the reader thread and may block it (backpressure while a paste is written).</summary>
    public static IDisposable Listen(Action<byte[]> onKeys)
    {
        lock (Gate)
        {
            Listeners.Add(onKeys);
            if (s_thread is null)
            {
                s_thread = new Thread(ReadLoop) { IsBackground = true, Name = "terminal-keyboard" };
                s_thread.Start();
            }
        }
        return new Listener(onKeys);
    }

    private static void ReadLoop()
    {
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                int n = LocalTerminal.Read(buffer);
                Action<byte[]>? listener;
                lock (Gate) listener = Listeners.Count == 0 ? null : Listeners[^1];
                // Keys typed while nobody listens (between an attach and the dashboard's return) are dropped.
                listener?.Invoke(buffer.AsSpan(0, n).ToArray());
                if (n == 0) return;
            }
        }
        catch (IOException)
        {
            // The terminal went away (SIGHUP follows): the signal ends the session.
        }
        finally
        {
            lock (Gate) s_thread = null;
        }
    }

    private sealed class Listener(Action<byte[]> onKeys) : IDisposable
    {
        public void Dispose()
        {
            lock (Gate) Listeners.Remove(onKeys);
        }
    }
}
