using System.Diagnostics;

namespace Zeroshot.RealAgents.Tests.Support;

/// <summary>
/// (Copied from tests/Zeroshot.Terminal.Tests/Support/TmuxSession.cs.) A real terminal for end-to-end tests: a detached tmux session of a fixed size on a private server
/// (<c>tmux -L &lt;socket&gt; -f /dev/null</c>, so the user's server and configuration are never touched)
/// running one command. Read the screen with <see cref="Capture"/>, wait with <see cref="WaitForText"/>,
/// resize with <see cref="Resize"/> (the pane gets SIGWINCH). Dispose kills the private server.
/// </summary>
public sealed class TmuxSession : IDisposable
{
    private static int _counter;
    private bool _disposed;
    private string? _socketPath;

    private TmuxSession(string socket, string name)
    {
        Socket = socket;
        Name = name;
    }

    /// <summary>Private server socket name (<c>-L</c>).</summary>
    public string Socket { get; }

    /// <summary>Session name (also the target).</summary>
    public string Name { get; }

    /// <summary>Starts <paramref name="command"/> (run by the shell) in a <paramref name="width"/>×<paramref name="height"/> pane.</summary>
    public static TmuxSession Start(int width, int height, string command, IReadOnlyDictionary<string, string>? environment = null)
    {
        int n = Interlocked.Increment(ref _counter);
        var session = new TmuxSession($"zs-test-{Environment.ProcessId}-{n}", $"s{n}");
        var args = new List<string> { "new-session", "-d", "-s", session.Name, "-x", width.ToString(), "-y", height.ToString() };
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) { args.Add("-e"); args.Add($"{k}={v}"); }
        args.Add(command);
        try
        {
            session.Run([.. args]);
            // Keep the pane (and its screen) after the command exits so tests can still read it.
            session.Run("set-option", "-t", session.Name, "remain-on-exit", "on");
            session._socketPath = session.Run("display-message", "-p", "-t", session.Name, "#{socket_path}").Trim();
        }
        catch
        {
            session.Dispose();
            throw;
        }
        return session;
    }

    /// <summary>Runs a tmux command against this session's server and returns its standard output.</summary>
    public string Run(params string[] args)
    {
        var psi = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-L");
        psi.ArgumentList.Add(Socket);
        psi.ArgumentList.Add("-f");
        psi.ArgumentList.Add("/dev/null");
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("TMUX");
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start tmux");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        if (!p.WaitForExit(20_000))
        {
            p.Kill();
            throw new TimeoutException($"tmux {string.Join(' ', args)} did not finish in 20 s");
        }
        if (p.ExitCode != 0) throw new InvalidOperationException($"tmux {string.Join(' ', args)} failed ({p.ExitCode}): {stderr.Trim()}");
        return stdout.Result;
    }

    /// <summary>Sends keys (tmux key names such as <c>Enter</c>, <c>C-c</c>).</summary>
    public void SendKeys(params string[] keys) => Run(["send-keys", "-t", Name, .. keys]);

    /// <summary>Types <paramref name="text"/> literally.</summary>
    public void SendText(string text) => Run("send-keys", "-t", Name, "-l", text);

    /// <summary>The visible screen (or with <paramref name="scrollback"/> the history too), one string per
    /// row with trailing blanks trimmed; <paramref name="escapes"/> keeps SGR attributes (<c>-e</c>).</summary>
    public string[] Capture(bool scrollback = false, bool escapes = false)
    {
        var args = new List<string> { "capture-pane", "-p", "-t", Name };
        if (escapes) args.Add("-e");
        if (scrollback) { args.Add("-S"); args.Add("-"); }
        var text = Run([.. args]);
        var lines = text.Split('\n');
        if (lines.Length > 0 && lines[^1].Length == 0) lines = lines[..^1];
        return [.. lines.Select(l => l.TrimEnd(' '))];
    }

    /// <summary>Pane size, cursor position (0-based) and whether the cursor is visible.</summary>
    public (int Width, int Height, int CursorRow, int CursorColumn, bool CursorVisible) State()
    {
        var parts = Run("display-message", "-p", "-t", Name, "#{pane_width} #{pane_height} #{cursor_y} #{cursor_x} #{cursor_flag}").Trim().Split(' ');
        return (int.Parse(parts[0]), int.Parse(parts[1]), int.Parse(parts[2]), int.Parse(parts[3]), parts[4] == "1");
    }

    /// <summary>Resizes the window (the program receives SIGWINCH).</summary>
    public void Resize(int width, int height) => Run("resize-window", "-t", Name, "-x", width.ToString(), "-y", height.ToString());

    /// <summary>Polls the screen (every 30 ms) until <paramref name="condition"/> holds; fails with the last
    /// screen after <paramref name="timeout"/> (default 15 s).</summary>
    public string[] WaitFor(Func<string[], bool> condition, string what, TimeSpan? timeout = null, bool scrollback = false)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            var screen = Capture(scrollback);
            if (condition(screen)) return screen;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"tmux screen never showed {what}; last screen:\n{string.Join('\n', screen)}");
            using var wait = new ManualResetEventSlim();
            wait.Wait(30);
        }
    }

    /// <summary>Waits until <paramref name="text"/> is on the screen.</summary>
    public string[] WaitForText(string text, TimeSpan? timeout = null, bool scrollback = false) =>
        WaitFor(s => s.Any(l => l.Contains(text, StringComparison.Ordinal)), $"\"{text}\"", timeout, scrollback);

    /// <summary>Kills the session now (same as <see cref="Dispose"/>).</summary>
    public void Kill() => Dispose();

    /// <summary>Kills the private server (and so the session and its processes).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try { Run("kill-server"); }
        catch (InvalidOperationException) { /* already gone */ }
        // kill-server leaves the socket file behind.
        if (_socketPath is { Length: > 0 }) File.Delete(_socketPath);
    }
}
