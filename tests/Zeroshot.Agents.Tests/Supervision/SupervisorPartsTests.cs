using Zeroshot.Agents.Config;
using Zeroshot.Agents.Control;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;
using Zeroshot.Agents.Tests.Control;
using Zeroshot.Metrics;

namespace Zeroshot.Agents.Tests.Supervision;

/// <summary>The supervisor's named parts on their own: the agent launcher with a real process, the sampler loop's clock.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SupervisorPartsTests : IDisposable
{
    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    private sealed class NullObserver : IClusterObserver
    {
        public List<DisplayLine> Lines { get; } = [];
        public void OnOutput(string agentId, ReadOnlyMemory<byte> chunk) { }
        public void OnEvent(ClusterEvent e) { }
        public void OnLine(string agentId, DisplayLine line)
        {
            lock (Lines) Lines.Add(line);
        }
    }

    private SupervisorServices Services(StateStore store, ZeroshotHome home) =>
        new(store, home, new ProviderCatalog(ZeroshotSettings.Default, ["zeroshot"]), TimeProvider.System, o => PlatformSampler.Create(o, TimeProvider.System));

    [Fact]
    public async Task The_launcher_starts_a_logged_interpreted_run_with_the_rejection_s_feedback_for_a_worker()
    {
        var home = new ZeroshotHome(_temp.Combine("home")).EnsureCreated();
        using var store = StateStore.Open(home);
        var observer = new NullObserver();
        var launcher = new AgentLauncher("launch-test", Services(store, home), observer);
        var worker = new AgentConfig("worker", AgentRole.Worker, Command: ["sh", "-c", "printf '%s|%s\\n' \"$ZEROSHOT_PROMPT\" \"$ZEROSHOT_FEEDBACK_FILE\"; sleep 0.5"]);

        var run = launcher.Launch(worker, "Do it.", 2, "Fix the issues.", "/tmp/feedback-1.json", () => throw new InvalidOperationException("workers need no schema"), 80, 24);
        await run.Process.WaitForExitAsync();
        await run.Pump.Completion;
        run.Interpreter.Complete();
        run.Process.Dispose();
        await run.Pump.DisposeAsync();

        var log = File.ReadAllText(home.AgentLogPath("launch-test", "worker"));
        // The prompt: the cluster's, then the feedback; the feedback file in the environment; every byte logged (ONLCR: CRLF).
        Assert.Equal("Do it.\r\n\r\nFix the issues.|/tmp/feedback-1.json\r\n", log);
        Assert.Contains(observer.Lines, l => l.Text == "Fix the issues.|/tmp/feedback-1.json");
        Assert.True(run.StartTime > 0);   // read right after the spawn, while the agent runs: its identity with the pid
    }

    [Fact]
    public void A_provider_validator_is_asked_for_a_verdict_and_gets_the_schema_file_and_a_failed_start_is_one_line()
    {
        var home = new ZeroshotHome(_temp.Combine("home")).EnsureCreated();
        using var store = StateStore.Open(home);
        var launcher = new AgentLauncher("launch-test", Services(store, home), new NullObserver());
        bool askedForSchema = false;
        var missing = new AgentConfig("tests", AgentRole.Validator, Command: [_temp.Combine("no-such-program")]);
        var error = Assert.Throws<UserErrorException>(() => launcher.Launch(missing, "p", 1, null, null, () => { askedForSchema = true; return "x"; }, 80, 24));
        Assert.Contains("no-such-program", error.Message, StringComparison.Ordinal);
        Assert.False(askedForSchema);   // a command validator answers by exit code: no schema
    }

    private sealed class CountingSampler : ITreeSampler
    {
        public int Calls;
        public void Sample(IReadOnlyList<int> rootPids, List<TreeSample> into)
        {
            if (Interlocked.Increment(ref Calls) == 2) throw new IOException("a passing procfs error");
            foreach (var pid in rootPids) into.Add(TreeSample.Gone(pid, DateTimeOffset.UnixEpoch));
        }
        public void Dispose() { }
    }

    [Fact]
    public async Task The_sampler_loop_samples_what_it_is_given_and_a_failed_tick_blanks_only_that_tick()
    {
        var home = new ZeroshotHome(_temp.Combine("home")).EnsureCreated();
        using var store = StateStore.Open(home);
        var sampler = new CountingSampler();
        var services = new SupervisorServices(store, home, new ProviderCatalog(ZeroshotSettings.Default, ["zeroshot"]), TimeProvider.System, _ => sampler)
        {
            SampleInterval = TimeSpan.FromMilliseconds(1),
        };
        var loop = new SamplerLoop(services);
        var applied = new List<int>();
        int ticks = 0;
        using var stop = new CancellationTokenSource();
        var running = loop.RunAsync(
            collect: pids => pids.AddRange([11, 22]),
            apply: samples => { lock (applied) applied.AddRange(samples.Select(s => s.Pid)); },
            afterTick: () => { if (Interlocked.Increment(ref ticks) == 4) stop.Cancel(); },
            stop.Token);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);

        Assert.Equal(4, ticks);                       // every tick, failed or not
        Assert.Equal(1, loop.Failures);               // the second one
        Assert.Equal([11, 22, 11, 22, 11, 22], applied);
    }
}
