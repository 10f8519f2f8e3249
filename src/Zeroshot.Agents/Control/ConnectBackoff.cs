using System.Net.Sockets;

namespace Zeroshot.Agents.Control;

/// <summary>
/// When a client tries connect(2) to a control socket again. A Unix stream socket whose listen backlog is full
/// refuses at once with EAGAIN (unix(7): "the socket is nonblocking and the connection cannot be completed
/// immediately", and for Unix sockets a full backlog) — the supervisor is alive and busy accepting, so the client
/// waits a little and tries again, within a bounded time. A refused connection (ECONNREFUSED: nobody listens) or a
/// missing file are final. Pure: the caller measures time with its TimeProvider.
/// </summary>
internal static class ConnectBackoff
{
    /// <summary>How long a client keeps trying before it reports the supervisor as not answering.</summary>
    public static readonly TimeSpan DefaultBudget = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan First = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan Longest = TimeSpan.FromMilliseconds(250);

    /// <summary>Whether connect(2) failed only for now (EAGAIN, which .NET reports as WouldBlock).</summary>
    public static bool IsTransient(SocketError error) => error is SocketError.WouldBlock or SocketError.TryAgain or SocketError.NoBufferSpaceAvailable;

    /// <summary>
    /// The pause before attempt <paramref name="attempt"/> + 1 (0-based), or null when <paramref name="elapsed"/> has
    /// used up <paramref name="budget"/>: 5 ms doubling up to 250 ms, scaled by <paramref name="jitter"/> (0 to 1, so
    /// hundreds of clients that failed together do not retry together) between half and the full pause, and never
    /// past the budget.
    /// </summary>
    public static TimeSpan? Next(int attempt, TimeSpan elapsed, TimeSpan budget, double jitter)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(attempt);
        if (elapsed >= budget) return null;
        double ms = Math.Min(Longest.TotalMilliseconds, First.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 20)));
        ms *= 0.5 + (0.5 * Math.Clamp(jitter, 0, 1));
        return TimeSpan.FromMilliseconds(Math.Min(ms, (budget - elapsed).TotalMilliseconds));
    }
}
