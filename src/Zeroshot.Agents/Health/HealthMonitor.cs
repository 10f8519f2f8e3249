using System.Globalization;
using Zeroshot.Agents.Output;
using Zeroshot.Metrics;
using Fmt = Zeroshot.Terminal.Format;

namespace Zeroshot.Agents.Health;

/// <summary>The thresholds of the verdicts (settings.json <c>health</c>, a cluster file's or an agent's <c>health</c>).</summary>
/// <param name="StalledAfter">A model request in flight with no byte received on the agent's sockets this long: stalled.</param>
/// <param name="StuckAfter">No output, no CPU, no network and no progress in any child this long: stuck.</param>
/// <param name="BusyIdleAfter">High CPU with no output and no network this long: busy-idle.</param>
/// <param name="BusyCpuPercent">CPU of the whole tree (percent of one core) that counts as high.</param>
/// <param name="IdleCpuPercent">CPU of the whole tree at or below which the tree does nothing: 20 ms a second, above
/// the blips of an idle runtime (a timer, a GC, a tiering compile) that would otherwise restart a stuck agent's clock.</param>
internal sealed record HealthThresholds(
    TimeSpan StalledAfter,
    TimeSpan StuckAfter,
    TimeSpan BusyIdleAfter,
    double BusyCpuPercent = 50,
    double IdleCpuPercent = 2)
{
    /// <summary>
    /// The defaults. A streaming model API sends bytes (tokens, or keep-alive pings) every few seconds while it works,
    /// so two minutes without one on an open connection is a stall; a silent agent is called stuck after five minutes
    /// of nothing at all, as is one spinning a core for five minutes without a word.
    /// </summary>
    public static HealthThresholds Default { get; } = new(TimeSpan.FromSeconds(120), TimeSpan.FromSeconds(300), TimeSpan.FromSeconds(300));
}

/// <summary>One sample's worth of what is known about a running agent, for <see cref="HealthMonitor.Judge"/>.</summary>
/// <param name="Now">The sample's time.</param>
/// <param name="Activity">What its CLI says it does (null for a command without an interpreter).</param>
/// <param name="ActivityDetail">The tool, the retry, the question.</param>
/// <param name="LastOutputAt">When it last wrote output.</param>
/// <param name="Sample">The sample of its process tree (null before the first).</param>
internal readonly record struct HealthInput(
    DateTimeOffset Now,
    AgentActivity? Activity,
    string? ActivityDetail,
    DateTimeOffset? LastOutputAt,
    TreeSample? Sample);

/// <summary>
/// The health verdict of one running agent, recomputed on every sample from every signal together: what its CLI says
/// (needs input, idle, retrying, a tool, a model request), its output, the CPU of its whole process tree (a busy child
/// is progress: a detector that looked at the parent alone called such agents stuck), its children, and its sockets
/// (bytes moved, time since the last byte received, connections stuck in SYN-SENT). Pure: samples in, verdicts out,
/// time from the samples. One per agent run (<see cref="Reset"/> at a new run).
/// </summary>
internal sealed class HealthMonitor(HealthThresholds thresholds)
{
    private readonly HealthThresholds _t = thresholds;

    // When each kind of progress was last seen (null: not in this run yet; the run's start stands in).
    private DateTimeOffset? _runStart;
    private DateTimeOffset? _lastCpu;       // tree CPU above the idle level
    private DateTimeOffset? _lastNetwork;   // any byte received or sent by the tree
    private DateTimeOffset? _busySince;     // tree CPU continuously at or above the busy level
    private DateTimeOffset? _connectingSince;
    private int? _children;
    private DateTimeOffset? _lastChildChange;
    private double _busyCpuSum;
    private int _busySamples;
    // The root's main thread's wake-ups counted since the tree's CPU was last above the idle level; null while no sample
    // has said (its event loop polling for nothing and one blocked in a call look the same by CPU, not by this).
    private long? _wakeupsSinceCpu;

    private HealthVerdict? _verdict;
    private DateTimeOffset _since;
    private int _count;

    /// <summary>The thresholds in use.</summary>
    public HealthThresholds Thresholds => _t;

    /// <summary>How many samples in a row gave the current verdict (the actions' "after N consecutive verdicts").</summary>
    public int Consecutive => _count;

    /// <summary>Forgets everything: the agent starts a new run.</summary>
    public void Reset()
    {
        _runStart = _lastCpu = _lastNetwork = _busySince = _connectingSince = _lastChildChange = null;
        _children = null;
        _busyCpuSum = 0;
        _busySamples = 0;
        _wakeupsSinceCpu = null;
        _verdict = null;
        _count = 0;
    }

    /// <summary>Takes one sample and returns the verdict now, with its reasons.</summary>
    public HealthSnapshot Judge(in HealthInput input)
    {
        var now = input.Now;
        _runStart ??= now;
        var s = input.Sample is { Exists: true } live ? live : null;
        double? cpu = s?.CpuPercent;
        if (cpu is { } c && c > _t.IdleCpuPercent)
        {
            _lastCpu = now;
            _wakeupsSinceCpu = null;
        }
        else if (s?.RootWakeups is { } woke)
        {
            _wakeupsSinceCpu = (_wakeupsSinceCpu ?? 0) + woke;
        }
        if (s is { NetRxBytesPerSec: > 0 } or { NetTxBytesPerSec: > 0 }) _lastNetwork = now;
        if (cpu is { } busy && busy >= _t.BusyCpuPercent)
        {
            _busySince ??= now;
            _busyCpuSum += busy;
            _busySamples++;
        }
        else
        {
            _busySince = null;
            _busyCpuSum = 0;
            _busySamples = 0;
        }
        var net = s?.NetworkState;
        if (net is { Connecting: > 0 }) _connectingSince ??= now;
        else _connectingSince = null;
        if (s?.ChildCount is { } children)
        {
            if (_children is { } before && before != children) _lastChildChange = now;
            _children = children;
        }

        var (verdict, reasons) = Decide(input, s, net);
        if (verdict != _verdict)
        {
            _verdict = verdict;
            _since = now;
            _count = 0;
        }
        _count++;
        return new HealthSnapshot(verdict, _since, reasons);
    }

    private (HealthVerdict, string[]) Decide(in HealthInput input, TreeSample? s, NetworkState? net)
    {
        var now = input.Now;
        var start = _runStart!.Value;
        TimeSpan Since(DateTimeOffset? at) => now - (at is { } t && t > start ? t : start);
        var quietFor = Since(input.LastOutputAt);
        switch (input.Activity)
        {
            case AgentActivity.NeedsInput:
                return (HealthVerdict.NeedsInput, [input.ActivityDetail is { } asked ? "asks: " + asked : "asks for input"]);
            case AgentActivity.Idle:
                return (HealthVerdict.Idle, ["its turn ended; waiting for a prompt"]);
            case AgentActivity.Retrying:
                return (HealthVerdict.Retrying, [input.ActivityDetail is { } retry ? "retrying the model request: " + retry : "retrying the model request"]);
        }

        // Busy-idle: the CLI spinning without a word or a byte. Not during a tool call, whose work is CPU in the tree
        // (a build, a test run) and shows no output until it ends.
        if (input.Activity != AgentActivity.Tool && _busySince is { } busySince)
        {
            var busyFor = now - busySince;
            var silentFor = Min(quietFor, Since(_lastNetwork));
            if (busyFor >= _t.BusyIdleAfter && silentFor >= _t.BusyIdleAfter)
            {
                double average = _busyCpuSum / Math.Max(1, _busySamples);
                return (HealthVerdict.BusyIdle,
                [
                    $"CPU {Pct(average)} for {Fmt.Duration(busyFor, compact: true)}",
                    $"no output for {Fmt.Duration(quietFor, compact: true)}",
                    NoNetwork(s),
                ]);
            }
        }

        if (input.Activity == AgentActivity.Tool)
        {
            string tool = input.ActivityDetail is { } name ? "tool " + name : "a tool";
            // A tool that has nothing running, uses nothing and says nothing for the stuck threshold is stuck; one
            // with a child (a build, `sleep`, a server it waits on) is left alone: a long tool call is not a stuck agent.
            if (s?.ChildCount is 0 && IsStill(now, quietFor, start))
                return (HealthVerdict.Stuck, StuckReasons(quietFor, now, s, "in " + tool));
            return (HealthVerdict.RunningTool, [tool + " running", ChildText(s)]);
        }

        if (input.Activity == AgentActivity.Model && net is { } n)
        {
            if (_connectingSince is { } connecting && now - connecting >= _t.StalledAfter)
                return (HealthVerdict.Stalled,
                [
                    $"connecting for {Fmt.Duration(now - connecting, compact: true)} ({Plural(n.Connecting, "socket")} in SYN-SENT)",
                    $"no output for {Fmt.Duration(quietFor, compact: true)}",
                ]);
            if (n.Established > 0 && n.LastReceiveMs is { } ms)
            {
                // The kernel's own clock of the last byte: true from the first sample, whatever we saw before.
                var silent = TimeSpan.FromMilliseconds(ms);
                if (silent >= _t.StalledAfter && quietFor >= _t.StalledAfter)
                    return (HealthVerdict.Stalled,
                    [
                        $"no bytes from the model for {Fmt.Duration(silent, compact: true)} on an open connection",
                        $"no output for {Fmt.Duration(quietFor, compact: true)}",
                        $"CPU {Pct(s?.CpuPercent)}",
                    ]);
                return (HealthVerdict.WaitingOnModel,
                [
                    $"last byte from the model {Fmt.Ago(silent)}",
                    $"{Plural(n.Established, "open connection")}",
                ]);
            }
        }

        if (IsStill(now, quietFor, start))
            return (HealthVerdict.Stuck, StuckReasons(quietFor, now, s, null));
        if (input.Activity == AgentActivity.Model)
            return (HealthVerdict.WaitingOnModel, [net is null ? "a model request in flight (its sockets cannot be read)" : "a model request in flight, no connection open"]);
        return (HealthVerdict.Active, [ActiveReason(input, quietFor, s)]);
    }

    // Nothing at all for the stuck threshold: no output, no CPU in the tree, no byte on its sockets, no child started or ended.
    private bool IsStill(DateTimeOffset now, TimeSpan quietFor, DateTimeOffset start)
    {
        TimeSpan Since(DateTimeOffset? at) => now - (at is { } t && t > start ? t : start);
        return quietFor >= _t.StuckAfter && Since(_lastCpu) >= _t.StuckAfter && Since(_lastNetwork) >= _t.StuckAfter
               && Since(_lastChildChange) >= _t.StuckAfter;
    }

    private string[] StuckReasons(TimeSpan quietFor, DateTimeOffset now, TreeSample? s, string? where)
    {
        var still = Min(quietFor, now - (_lastCpu ?? _runStart!.Value));
        var reasons = new List<string>(5) { $"no output for {Fmt.Duration(quietFor, compact: true)}" };
        if (where is not null) reasons.Insert(0, where);
        reasons.Add($"CPU {Pct(s?.CpuPercent)} over {Fmt.Duration(still, compact: true)}");
        reasons.Add(NoNetwork(s));
        reasons.Add(ChildText(s));
        if (_wakeupsSinceCpu is { } wakeups)
        {
            string over = Fmt.Duration(now - (_lastCpu ?? _runStart!.Value), compact: true);
            // A thread blocked in a call that never returns (a lock, a pipe nobody writes) never wakes; one that keeps
            // waking without using CPU polls for something that does not come.
            reasons.Add(wakeups == 0 ? $"its main thread has not woken in {over}" : $"its main thread woke {Plural((int)Math.Min(wakeups, int.MaxValue), "time")} in {over}, doing nothing");
        }
        // proc(5) state D: a process waiting on I/O that does not come back (a hung mount) is why it is still.
        if (s?.Blocked is > 0 and var blocked)
            reasons.Add(Plural(blocked, "process", "processes") + " in uninterruptible I/O (D)");
        return [.. reasons];
    }

    private static string ActiveReason(in HealthInput input, TimeSpan quietFor, TreeSample? s)
    {
        if (quietFor < TimeSpan.FromSeconds(10)) return $"output {Fmt.Ago(quietFor)}";
        return $"CPU {Pct(s?.CpuPercent)}, output {Fmt.Ago(quietFor)}";
    }

    private static string NoNetwork(TreeSample? s) => s?.NetworkState is null ? "network not measured" : "no network traffic";

    private static string ChildText(TreeSample? s) => s?.ChildCount switch
    {
        null => "children unknown",
        0 => "no child process",
        int n => Plural(n, "child process", "child processes"),
    };

    private static string Pct(double? cpu) => cpu is { } c ? c.ToString("0.0", CultureInfo.InvariantCulture) + "%" : "unknown";

    private static string Plural(int n, string one, string? many = null) =>
        n.ToString(CultureInfo.InvariantCulture) + " " + (n == 1 ? one : many ?? one + "s");

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
