using System.Text;
using Zeroshot.Terminal;

namespace Zeroshot.Agents.Notify;

/// <summary>
/// A desktop notification through <c>notify-send</c> (libnotify, the freedesktop.org Desktop Notifications client:
/// https://specifications.freedesktop.org/notification-spec/latest/). Only where it can work: <c>notify-send</c> on PATH
/// and a display (<c>DISPLAY</c> or <c>WAYLAND_DISPLAY</c>); a supervisor on a headless server or over plain ssh has no
/// one to show it to. Run without a shell, in the background, killed after a few seconds (a notification daemon that
/// does not answer D-Bus must not pile up processes).
/// </summary>
internal sealed class DesktopNotifier
{
    /// <summary>The default time limit of one <c>notify-send</c>.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    // What notify-send needs to reach the session's notification daemon, passed from the environment the notifier was
    // made with (a supervisor started by `run` carries the person's session variables).
    private static readonly string[] SessionVariables = ["DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"];

    private readonly TimeSpan _timeout;
    private readonly Action<string>? _log;
    private readonly BackgroundWork _work;
    private readonly Dictionary<string, string?> _environment;

    private DesktopNotifier(string executable, Dictionary<string, string?> environment, TimeSpan timeout, Action<string>? log)
    {
        Executable = executable;
        _environment = environment;
        _timeout = timeout;
        _log = log;
        _work = new BackgroundWork(log);
    }

    /// <summary>The <c>notify-send</c> found on PATH.</summary>
    public string Executable { get; }

    /// <summary>
    /// A notifier when <c>notify-send</c> is on the PATH of <paramref name="getEnv"/> and <c>DISPLAY</c> or
    /// <c>WAYLAND_DISPLAY</c> is set there; else null (the channel is simply absent). Pure lookup: nothing is run.
    /// </summary>
    public static DesktopNotifier? TryCreate(Func<string, string?> getEnv, TimeSpan? timeout = null, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(getEnv);
        if (string.IsNullOrEmpty(getEnv("DISPLAY")) && string.IsNullOrEmpty(getEnv("WAYLAND_DISPLAY")))
            return null;
        if (ExecutableSearch.Find("notify-send", getEnv("PATH")) is not { } executable)
            return null;
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var name in SessionVariables)
            if (getEnv(name) is { Length: > 0 } value)
                environment[name] = value;
        return new DesktopNotifier(executable, environment, timeout ?? DefaultTimeout, log);
    }

    /// <summary>
    /// The argv for one notification: <c>notify-send --app-name=zeroshot --urgency=&lt;u&gt; -- &lt;title&gt; &lt;body&gt;</c>.
    /// <c>--</c> ends the options (GLib's option parser honours it), so a body starting with '-' stays the body.
    /// Needs-input is <c>critical</c> (stays until dismissed: the agent is blocked), the rest <c>normal</c>. The texts
    /// lose their controls and are bounded (<see cref="TerminalNotification.Sanitize"/>); in the body, <c>&amp; &lt; &gt;</c>
    /// are escaped because servers with the <c>body-markup</c> capability (GNOME Shell, KDE, dunst, mako) read it as markup.
    /// </summary>
    public IReadOnlyList<string> Arguments(AgentEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var urgency = e.Kind == AgentEventKind.NeedsInput ? "critical" : "normal";
        return
        [
            Executable, "--app-name=zeroshot", $"--urgency={urgency}", "--",
            TerminalNotification.Sanitize(e.Title, TerminalNotification.MaxTitleLength),
            EscapeMarkup(TerminalNotification.Sanitize(e.Body, TerminalNotification.MaxBodyLength)),
        ];
    }

    /// <summary>Shows <paramref name="e"/> in the background and returns at once; a failure is logged.</summary>
    public void Fire(AgentEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        _work.Fire(() => ShowAsync(e));
    }

    /// <summary>Waits for the notifications in flight (shutdown, tests).</summary>
    public Task DrainAsync() => _work.DrainAsync();

    /// <summary>Runs <c>notify-send</c> for <paramref name="e"/> and returns how it ended (also logged when it failed).</summary>
    public async Task<ProcessOutcome> ShowAsync(AgentEvent e, CancellationToken ct = default)
    {
        var outcome = await BoundedProcess.RunAsync(Arguments(e), null, _environment, _timeout, ct).ConfigureAwait(false);
        if (outcome.Status != ProcessStatus.Ok)
            _log?.Invoke(outcome.Status switch
            {
                ProcessStatus.Failed => $"notify-send exited with code {outcome.ExitCode}" + (outcome.Error.Length > 0 ? $": {outcome.Error}" : ""),
                ProcessStatus.Killed => $"notify-send was killed after {_timeout.TotalSeconds:0.###}s",
                _ => $"notify-send: {outcome.Error}",
            });
        return outcome;
    }

    private static string EscapeMarkup(string text)
    {
        if (text.AsSpan().IndexOfAny('&', '<', '>') < 0) return text;
        var sb = new StringBuilder(text.Length + 16);
        foreach (char c in text)
            sb.Append(c switch { '&' => "&amp;", '<' => "&lt;", '>' => "&gt;", _ => c.ToString() });
        return sb.ToString();
    }
}
