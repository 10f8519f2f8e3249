namespace Zeroshot.Agents.Notify;

/// <summary>What <see cref="NotificationLimiter.Admit"/> decided.</summary>
internal enum NotificationDecision
{
    /// <summary>Call the person.</summary>
    Send,

    /// <summary>Dropped: the same agent raised the same kind of event less than the minimum interval ago.</summary>
    TooSoonForThisAgent,

    /// <summary>Dropped: the global cap of notifications per minute is reached.</summary>
    TooManyOverall,
}

/// <summary>
/// Rate limit of notifications, so a flapping agent (idle, busy, idle…) does not ring ten times a minute. Two rules:
/// <list type="number">
/// <item>per cluster + agent + event kind: at most one per <c>minInterval</c> (a suppressed event does not restart the
/// interval, so an agent that keeps flapping is heard again once per interval, not never);</item>
/// <item>globally: at most <c>maxPerMinute</c> in any sliding 60 seconds, all agents and kinds together (a cluster of
/// fifty agents going idle at once rings a few times, not fifty).</item>
/// </list>
/// <see cref="AgentEventKind.ClusterEnded"/> is exempt from both (it happens once per cluster and is the event the person
/// most wants) but counts towards the global window. A pure state machine over the injected <see cref="TimeProvider"/>
/// (tests move a manual clock, no sleeps). Thread-safe: the supervisor's agents report from several tasks.
/// </summary>
internal sealed class NotificationLimiter
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    // Beyond this many remembered keys, the ones older than the interval are forgotten (they no longer limit anything).
    private const int PruneThreshold = 1024;

    private readonly TimeProvider _time;
    private readonly TimeSpan _minInterval;
    private readonly int _maxPerMinute;
    private readonly Dictionary<(AgentEventKind Kind, string Cluster, string Agent), DateTimeOffset> _lastSent = [];
    private readonly Queue<DateTimeOffset> _recent = new();
    private readonly Lock _lock = new();

    /// <summary>A limiter; <paramref name="minInterval"/> zero turns the per-agent rule off.</summary>
    public NotificationLimiter(TimeProvider time, TimeSpan minInterval, int maxPerMinute)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(minInterval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPerMinute, 1);
        _time = time;
        _minInterval = minInterval;
        _maxPerMinute = maxPerMinute;
    }

    /// <summary>Decides whether <paramref name="e"/> may call the person now, and records it when it may. The limiter's
    /// clock decides, not <see cref="AgentEvent.At"/> (which may come from another process's clock).</summary>
    public NotificationDecision Admit(AgentEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            while (_recent.Count > 0 && now - _recent.Peek() >= Window)
                _recent.Dequeue();
            if (e.Kind == AgentEventKind.ClusterEnded)
            {
                _recent.Enqueue(now);
                return NotificationDecision.Send;
            }
            var key = (e.Kind, e.ClusterId, e.AgentId ?? "");
            if (_minInterval > TimeSpan.Zero && _lastSent.TryGetValue(key, out var last) && now - last < _minInterval && now >= last)
                return NotificationDecision.TooSoonForThisAgent;
            if (_recent.Count >= _maxPerMinute)
                return NotificationDecision.TooManyOverall;
            _recent.Enqueue(now);
            if (_minInterval > TimeSpan.Zero)
            {
                if (_lastSent.Count >= PruneThreshold)
                    Prune(now);
                _lastSent[key] = now;
            }
            return NotificationDecision.Send;
        }
    }

    /// <summary>Agents remembered (tests: the memory stays bounded).</summary>
    internal int RememberedKeys
    {
        get
        {
            lock (_lock) return _lastSent.Count;
        }
    }

    private void Prune(DateTimeOffset now)
    {
        List<(AgentEventKind, string, string)>? stale = null;
        foreach (var (key, at) in _lastSent)
            if (now - at >= _minInterval || now < at)
                (stale ??= []).Add(key);
        if (stale is null) return;
        foreach (var key in stale)
            _lastSent.Remove(key);
    }
}
