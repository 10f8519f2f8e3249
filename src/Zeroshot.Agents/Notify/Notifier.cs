using Zeroshot.Agents.Config;
using Zeroshot.Terminal;

namespace Zeroshot.Agents.Notify;

/// <summary>
/// Calls the person when an agent needs them (issue 13): the one entry point, <see cref="Notify"/>, takes an
/// <see cref="AgentEvent"/>, applies the rate limit (<see cref="NotificationLimiter"/>) and hands an admitted event to
/// every channel that is on, none of which blocks the caller:
/// <list type="bullet">
/// <item>the terminal (BEL, and OSC 9/777 where known: <see cref="TerminalNotification"/>), through a write callback
/// the owner of the terminal supplies (the <c>run</c> footer, <c>attach</c>, <c>watch</c>);</item>
/// <item>the desktop (<see cref="DesktopNotifier"/>, <c>notify-send</c>);</item>
/// <item>the <c>--on-event</c> hook (<see cref="EventHookRunner"/>).</item>
/// </list>
/// Which channels are on comes from <see cref="NotificationSettings"/>; an absent channel (no hook given, no
/// <c>notify-send</c>, no terminal) is simply skipped. Thread-safe.
/// </summary>
internal sealed class Notifier
{
    private readonly NotificationSettings _settings;
    private readonly NotificationLimiter _limiter;
    private readonly Action<byte[]>? _terminal;

    /// <summary>A notifier with the given channels (each null when absent).</summary>
    /// <param name="settings">Which channels are on, and the limits.</param>
    /// <param name="time">The limiter's clock.</param>
    /// <param name="terminal">Writes bytes to the person's terminal (called on the caller's thread, with a small array
    /// the callee may keep); null: no terminal channel.</param>
    /// <param name="terminalSupport">What the terminal understands; null: <see cref="TerminalNotificationSupport.BellOnly"/>.</param>
    /// <param name="desktop">The desktop channel, used only when <see cref="NotificationSettings.Desktop"/>.</param>
    /// <param name="hook">The <c>--on-event</c> hook (always used when given).</param>
    public Notifier(NotificationSettings settings, TimeProvider time, Action<byte[]>? terminal = null, TerminalNotificationSupport? terminalSupport = null,
        DesktopNotifier? desktop = null, EventHookRunner? hook = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _limiter = new NotificationLimiter(time, settings.MinInterval, settings.MaxPerMinute);
        _terminal = settings.Bell || settings.Osc ? terminal : null;
        TerminalSupport = terminalSupport ?? TerminalNotificationSupport.BellOnly;
        Desktop = settings.Desktop ? desktop : null;
        Hook = hook;
    }

    /// <summary>
    /// The supervisor's notifier: the desktop (when on, and <c>notify-send</c> and a display are found through
    /// <paramref name="getEnv"/>) and the <c>--on-event</c> hook when <paramref name="onEvent"/> is given; plus the
    /// terminal when the supervisor owns one (<c>run</c> in the foreground: pass the footer's writer).
    /// </summary>
    /// <exception cref="UserErrorException"><paramref name="onEvent"/> does not parse or its command is not found (exit 2).</exception>
    public static Notifier ForSupervisor(NotificationSettings settings, Func<string, string?> getEnv, IReadOnlyList<string>? onEvent, TimeProvider time,
        Action<string>? log = null, Action<byte[]>? terminal = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(getEnv);
        var hook = onEvent is null ? null : EventHookRunner.Create(onEvent, getEnv("PATH"), settings.HookTimeout, log);
        var desktop = settings.Desktop ? DesktopNotifier.TryCreate(getEnv, log: log) : null;
        var support = terminal is null ? null : TerminalNotificationSupport.FromEnvironment(getEnv, settings.TmuxPassthrough);
        return new Notifier(settings, time, terminal, support, desktop, hook);
    }

    /// <summary>
    /// A terminal-only notifier for a client that shows a cluster run elsewhere (<c>attach</c>, <c>watch</c>): the
    /// supervisor already ran the desktop and hook channels, so the client only rings its own terminal.
    /// </summary>
    public static Notifier ForTerminal(NotificationSettings settings, Func<string, string?> getEnv, Action<byte[]> terminal, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(terminal);
        return new Notifier(settings, time, terminal, TerminalNotificationSupport.FromEnvironment(getEnv, settings.TmuxPassthrough));
    }

    /// <summary>What the terminal channel sends.</summary>
    public TerminalNotificationSupport TerminalSupport { get; }

    /// <summary>The desktop channel, null when off or absent.</summary>
    public DesktopNotifier? Desktop { get; }

    /// <summary>The hook channel, null when no <c>--on-event</c> was given.</summary>
    public EventHookRunner? Hook { get; }

    /// <summary>
    /// Calls the person about <paramref name="e"/> unless the rate limit drops it. Returns at once: the terminal write is
    /// the callback's (it should queue, not block), the desktop and the hook run in the background.
    /// </summary>
    public NotificationDecision Notify(AgentEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        // The hook is a program, not a ring: it gets every event (it may rate-limit itself); the limit keeps a flapping
        // agent from ringing the person ten times a minute.
        Hook?.Fire(e);
        var decision = _limiter.Admit(e);
        if (decision != NotificationDecision.Send) return decision;
        if (_terminal is not null && TerminalBytes(e) is { Length: > 0 } bytes) _terminal(bytes);
        Desktop?.Fire(e);
        return decision;
    }

    /// <summary>The bytes the terminal channel writes for <paramref name="e"/> (empty when bell and OSC are off).</summary>
    public byte[] TerminalBytes(AgentEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return TerminalNotification.Encode(TerminalSupport, e.Title, e.Body, _settings.Bell, _settings.Osc);
    }

    /// <summary>Waits for the desktop notifications and hooks in flight (before the supervisor exits; tests). Each is
    /// bounded by its time limit.</summary>
    public Task DrainAsync() => Task.WhenAll(Desktop?.DrainAsync() ?? Task.CompletedTask, Hook?.DrainAsync() ?? Task.CompletedTask);
}
