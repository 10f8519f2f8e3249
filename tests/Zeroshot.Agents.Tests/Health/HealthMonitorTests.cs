using Zeroshot.Agents.Health;
using Zeroshot.Agents.Output;
using Zeroshot.Metrics;

namespace Zeroshot.Agents.Tests.Health;

/// <summary>The verdicts from synthetic samples, one a second, with the thresholds short enough to read.</summary>
public sealed class HealthMonitorTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 3, 10, 0, 0, TimeSpan.Zero);
    private static readonly HealthThresholds Short = new(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(45));

    private static TreeSample Sample(int second, double cpu = 0, double rx = 0, int children = 0, NetworkState? net = null) => new()
    {
        Timestamp = T0.AddSeconds(second),
        Pid = 42,
        Exists = true,
        CpuPercent = cpu,
        MemoryMB = 100,
        NetRxBytesPerSec = rx,
        NetTxBytesPerSec = 0,
        ChildCount = children,
        NetworkState = net ?? new NetworkState(0, 0, 0),
    };

    /// <summary>Runs <paramref name="seconds"/> samples through one monitor; returns every verdict.</summary>
    private static List<HealthSnapshot> Run(int seconds, Func<int, HealthInput> input)
    {
        var monitor = new HealthMonitor(Short);
        var verdicts = new List<HealthSnapshot>();
        for (int s = 0; s < seconds; s++) verdicts.Add(monitor.Judge(input(s)));
        return verdicts;
    }

    [Fact]
    public void A_silent_idle_agent_is_stuck_only_after_the_threshold_with_every_reason()
    {
        var verdicts = Run(70, s => new HealthInput(T0.AddSeconds(s), AgentActivity.Quiet, null, T0, Sample(s)));
        Assert.All(verdicts.Take(60), v => Assert.Equal(HealthVerdict.Active, v.Verdict));
        var last = verdicts[^1];
        Assert.Equal(HealthVerdict.Stuck, last.Verdict);
        Assert.Equal(T0.AddSeconds(60), last.Since);
        Assert.Equal(["no output for 1m09s", "CPU 0.0% over 1m09s", "no network traffic", "no child process"], last.Reasons);
    }

    [Fact]
    public void A_stuck_agents_reasons_tell_a_main_thread_that_never_wakes_from_one_that_polls_counted_since_its_cpu_was_last_above_idle()
    {
        // Blocked in a call: after the first sample (no baseline yet) its main thread never runs.
        var blocked = Run(70, s => new HealthInput(T0.AddSeconds(s), AgentActivity.Quiet, null, T0, Sample(s) with { RootWakeups = s == 0 ? null : 0 }));
        Assert.Equal(HealthVerdict.Stuck, blocked[^1].Verdict);
        Assert.Contains("its main thread has not woken in 1m09s", blocked[^1].Reasons);

        // Polling: 10 wake-ups a second, 3% CPU once at 20 s (above the idle level: the count starts again there).
        var polling = Run(90, s => new HealthInput(T0.AddSeconds(s), AgentActivity.Quiet, null, T0,
            Sample(s, cpu: s == 20 ? 3 : 0.5) with { RootWakeups = 10 }));
        Assert.Equal(HealthVerdict.Stuck, polling[^1].Verdict);
        Assert.Contains("its main thread woke 690 times in 1m09s, doing nothing", polling[^1].Reasons);

        // Unknown (no schedstat): nothing said rather than a guess.
        var unknown = Run(70, s => new HealthInput(T0.AddSeconds(s), AgentActivity.Quiet, null, T0, Sample(s)));
        Assert.DoesNotContain(unknown[^1].Reasons, r => r.Contains("main thread", StringComparison.Ordinal));
    }

    [Fact]
    public void A_busy_child_is_progress_so_the_agent_is_never_stuck()
    {
        // The parent says nothing; its tree uses CPU (a child compiles): the original detector called this stuck.
        var verdicts = Run(200, s => new HealthInput(T0.AddSeconds(s), AgentActivity.Quiet, null, T0, Sample(s, cpu: s % 10 == 0 ? 30 : 2, children: 1)));
        Assert.DoesNotContain(verdicts, v => v.Verdict == HealthVerdict.Stuck);
    }

    [Fact]
    public void A_long_tool_call_with_a_child_is_running_tool_however_long_and_silent()
    {
        var verdicts = Run(300, s => new HealthInput(T0.AddSeconds(s), AgentActivity.Tool, "Bash", T0, Sample(s, children: 1)));
        Assert.All(verdicts, v => Assert.Equal(HealthVerdict.RunningTool, v.Verdict));
        Assert.Equal(["tool Bash running", "1 child process"], verdicts[^1].Reasons);
    }

    [Fact]
    public void A_tool_with_nothing_running_and_nothing_happening_is_stuck()
    {
        var verdicts = Run(65, s => new HealthInput(T0.AddSeconds(s), AgentActivity.Tool, "WebFetch", T0, Sample(s, children: 0)));
        Assert.Equal(HealthVerdict.RunningTool, verdicts[59].Verdict);
        Assert.Equal(HealthVerdict.Stuck, verdicts[^1].Verdict);
        Assert.Equal("in tool WebFetch", verdicts[^1].Reasons[0]);
    }

    [Fact]
    public void A_model_request_with_bytes_arriving_waits_on_the_model_and_one_without_bytes_stalls()
    {
        // Bytes trickle (the kernel's last-receive clock stays low): waiting, however long.
        var trickle = Run(120, s => new HealthInput(T0.AddSeconds(s), AgentActivity.Model, null, T0,
            Sample(s, rx: s % 5 == 0 ? 10 : 0, net: new NetworkState(1, 0, 0) { LastReceiveMs = s % 5 * 1000 })));
        Assert.All(trickle, v => Assert.Equal(HealthVerdict.WaitingOnModel, v.Verdict));

        // No byte since the request: stalled at the threshold, from the kernel's clock.
        var stalled = Run(40, s => new HealthInput(T0.AddSeconds(s), AgentActivity.Model, null, T0,
            Sample(s, net: new NetworkState(1, 0, 0) { LastReceiveMs = s * 1000L })));
        Assert.Equal(HealthVerdict.WaitingOnModel, stalled[29].Verdict);
        Assert.Equal(HealthVerdict.Stalled, stalled[30].Verdict);
        Assert.Equal("no bytes from the model for 30s on an open connection", stalled[30].Reasons[0]);
    }

    [Fact]
    public void A_connection_that_never_completes_stalls()
    {
        var verdicts = Run(35, s => new HealthInput(T0.AddSeconds(s), AgentActivity.Model, null, T0,
            Sample(s, net: new NetworkState(0, 0, 0) { Connecting = 1 })));
        Assert.Equal(HealthVerdict.WaitingOnModel, verdicts[29].Verdict);
        Assert.Equal(HealthVerdict.Stalled, verdicts[30].Verdict);
        Assert.Equal("connecting for 30s (1 socket in SYN-SENT)", verdicts[30].Reasons[0]);
    }

    [Fact]
    public void High_cpu_without_output_or_network_is_busy_idle_but_not_inside_a_tool_call()
    {
        var spin = Run(50, s => new HealthInput(T0.AddSeconds(s), AgentActivity.Model, null, T0, Sample(s, cpu: 99)));
        Assert.Equal(HealthVerdict.WaitingOnModel, spin[44].Verdict);
        Assert.Equal(HealthVerdict.BusyIdle, spin[45].Verdict);
        Assert.Equal("CPU 99.0% for 45s", spin[45].Reasons[0]);

        var build = Run(300, s => new HealthInput(T0.AddSeconds(s), AgentActivity.Tool, "Bash", T0, Sample(s, cpu: 180, children: 3)));
        Assert.All(build, v => Assert.Equal(HealthVerdict.RunningTool, v.Verdict));

        // Output now and then is progress.
        var talking = Run(300, s => new HealthInput(T0.AddSeconds(s), AgentActivity.Output, null, T0.AddSeconds(s - s % 20), Sample(s, cpu: 99)));
        Assert.DoesNotContain(talking, v => v.Verdict == HealthVerdict.BusyIdle);
    }

    [Fact]
    public void The_clis_own_signals_come_first_and_since_counts_from_the_change()
    {
        var monitor = new HealthMonitor(Short);
        Assert.Equal(HealthVerdict.NeedsInput, monitor.Judge(new HealthInput(T0, AgentActivity.NeedsInput, "Bash: rm -r build", T0, Sample(0))).Verdict);
        var idle = monitor.Judge(new HealthInput(T0.AddSeconds(1), AgentActivity.Idle, null, T0, Sample(1)));
        Assert.Equal((HealthVerdict.Idle, T0.AddSeconds(1)), (idle.Verdict, idle.Since));
        Assert.Equal(1, monitor.Consecutive);
        idle = monitor.Judge(new HealthInput(T0.AddSeconds(2), AgentActivity.Idle, null, T0, Sample(2)));
        Assert.Equal((T0.AddSeconds(1), 2), (idle.Since, monitor.Consecutive));
        var retry = monitor.Judge(new HealthInput(T0.AddSeconds(3), AgentActivity.Retrying, "529 3/10 in 4s", T0, Sample(3)));
        Assert.Equal(["retrying the model request: 529 3/10 in 4s"], retry.Reasons);

        // An idle interactive agent waiting for hours is idle, never stuck.
        var waiting = Run(600, s => new HealthInput(T0.AddSeconds(s), AgentActivity.Idle, null, T0, Sample(s)));
        Assert.All(waiting, v => Assert.Equal(HealthVerdict.Idle, v.Verdict));
    }

    [Fact]
    public void Reset_starts_the_clocks_over_for_a_new_run()
    {
        var monitor = new HealthMonitor(Short);
        for (int s = 0; s < 70; s++) monitor.Judge(new HealthInput(T0.AddSeconds(s), AgentActivity.Quiet, null, T0, Sample(s)));
        monitor.Reset();
        var fresh = monitor.Judge(new HealthInput(T0.AddSeconds(71), AgentActivity.Quiet, null, T0, Sample(71)));
        Assert.Equal(HealthVerdict.Active, fresh.Verdict);
    }

    [Fact]
    public void Without_network_figures_a_model_request_is_judged_by_output_cpu_and_children()
    {
        var verdicts = Run(70, s => new HealthInput(T0.AddSeconds(s), AgentActivity.Model, null, T0, Sample(s) with { NetworkState = null, NetRxBytesPerSec = null }));
        Assert.Equal(["a model request in flight (its sockets cannot be read)"], verdicts[10].Reasons);
        Assert.Equal(HealthVerdict.Stuck, verdicts[^1].Verdict);
        Assert.Contains("network not measured", verdicts[^1].Reasons);
    }

    [Fact]
    public void A_process_blocked_in_uninterruptible_io_is_named_among_the_reasons()
    {
        var verdicts = Run(65, s => new HealthInput(T0.AddSeconds(s), AgentActivity.Quiet, null, T0, Sample(s, children: 1) with { Blocked = 1 }));
        Assert.Equal(HealthVerdict.Stuck, verdicts[^1].Verdict);
        Assert.Equal("1 process in uninterruptible I/O (D)", verdicts[^1].Reasons[^1]);
    }
}
