using Zeroshot.Agents.Config;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;
using Zeroshot.Metrics;

namespace Zeroshot.Agents.Tests.State;

/// <summary>The history of a run: which snapshots become points (<see cref="HistoryRecorder"/>, on an injected clock),
/// and the <c>samples</c> table (a real SQLite file).</summary>
public sealed class HistoryTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 3, 10, 0, 0, TimeSpan.Zero);

    private static ClusterSnapshot Tick(DateTimeOffset at, AgentState workerState, int iteration = 1, long tokens = 100) =>
        ClusterSnapshot.Create("c-1", ClusterKind.Cluster, "c", ClusterState.Running, iteration, 3, T0,
        [
            new AgentSnapshot("worker", AgentRole.Worker, "sim", null, workerState, workerState == AgentState.Running ? 42 : null, iteration, null, null,
                AgentActivity.Tool, "Bash", new TokenCounts(tokens, 0, 0, 0), 0.25m, false, null, null,
                workerState == AgentState.Running ? new TreeSample { Timestamp = at, Pid = 42, Exists = true, CpuPercent = 12.5, MemoryMB = 40 } : null),
            new AgentSnapshot("judge", AgentRole.Validator, "sim", null, AgentState.Waiting, null, iteration, null, null, null, null,
                default, 0, false, null, null, null),
        ]);

    private static List<(string Agent, HistoryPoint Point)> Points(IReadOnlyList<StoreWrite> writes) =>
        writes.OfType<SamplesWrite>().SelectMany(w => w.Points).ToList();

    [Fact]
    public void Every_tick_of_the_first_hour_then_one_point_per_interval_and_a_stopped_agent_only_when_it_changes()
    {
        var recorder = new HistoryRecorder("c-1", T0);
        var first = Points(recorder.Record(Tick(T0.AddSeconds(1), AgentState.Running), T0.AddSeconds(1)));
        // The running worker, and the waiting judge once (its state is new).
        Assert.Equal(["worker", "judge"], first.Select(p => p.Agent));
        var w = first[0].Point;
        Assert.Equal((AgentState.Running, "tool:Bash", 12.5, 40d, 100L, 0.25), (w.State, w.Activity, w.CpuPercent!.Value, w.MemoryMB!.Value, w.Tokens, w.CostUsd));
        Assert.Equal(["worker"], Points(recorder.Record(Tick(T0.AddSeconds(2), AgentState.Running, tokens: 101), T0.AddSeconds(2))).Select(p => p.Agent));
        // The worker ends: one point with its new state, then none while nothing changes.
        var ended = Points(recorder.Record(Tick(T0.AddSeconds(3), AgentState.Completed), T0.AddSeconds(3)));
        Assert.Equal((AgentState.Completed, (string?)null), (ended.Single().Point.State, ended.Single().Point.Activity));
        Assert.Empty(recorder.Record(Tick(T0.AddSeconds(4), AgentState.Completed), T0.AddSeconds(4)));

        // After the first hour: a point per 10 s.
        var late = T0 + HistoryRecorder.FullResolution;
        int recorded = 0;
        for (int s = 0; s < 60; s++)
            recorded += Points(recorder.Record(Tick(late.AddSeconds(s), AgentState.Running, tokens: 200 + s), late.AddSeconds(s))).Count(p => p.Agent == "worker");
        Assert.InRange(recorded, 6, 7);
    }

    [Fact]
    public void A_flat_stretch_is_stored_as_its_two_ends_and_the_last_point_is_released_at_the_end()
    {
        var recorder = new HistoryRecorder("c-1", T0);
        List<(string Agent, HistoryPoint Point)> At(int s, long tokens, AgentState state = AgentState.Running) =>
            Points(recorder.Record(Tick(T0.AddSeconds(s), state, tokens: tokens), T0.AddSeconds(s))).Where(p => p.Agent == "worker").ToList();

        Assert.Single(At(1, tokens: 100));
        // Nothing changes for four ticks: nothing is written.
        for (int s = 2; s <= 5; s++) Assert.Empty(At(s, tokens: 100));
        // A change: the last equal point first (the flat line ends where it ended), then the new one.
        Assert.Equal([(T0.AddSeconds(5), 100L), (T0.AddSeconds(6), 150L)], At(6, tokens: 150).Select(p => (p.Point.At, p.Point.Tokens)));
        Assert.Empty(At(7, tokens: 150));
        Assert.Empty(At(8, tokens: 150));
        // The run ends with the agent still running: its held point reaches the store, once.
        var released = Points(recorder.ReleaseHeld());
        Assert.Equal([("worker", T0.AddSeconds(8))], released.Select(p => (p.Agent, p.Point.At)));
        Assert.Empty(recorder.ReleaseHeld());

        // A state change is written even when the values are equal, after the held point.
        Assert.Empty(At(9, tokens: 150));
        Assert.Equal([(T0.AddSeconds(9), AgentState.Running), (T0.AddSeconds(10), AgentState.Completed)],
            At(10, tokens: 150, AgentState.Completed).Select(p => (p.Point.At, p.Point.State)));
        Assert.Empty(recorder.ReleaseHeld());
    }

    [Fact]
    public void A_long_run_is_thinned_to_stay_bounded()
    {
        var recorder = new HistoryRecorder("c-1", T0);
        var thins = new List<ThinSamplesWrite>();
        int points = 0;
        // 30 hours at one sample a second.
        for (int s = 0; s < 30 * 3600; s++)
        {
            var writes = recorder.Record(Tick(T0.AddSeconds(s), AgentState.Running, tokens: s), T0.AddSeconds(s));
            points += Points(writes).Count(p => p.Agent == "worker");
            thins.AddRange(writes.OfType<ThinSamplesWrite>());
        }
        // 3600 points in the first hour, then 10 s apart until the cap, then 20 s apart with the older half thinned.
        Assert.NotEmpty(thins);
        Assert.All(thins, t => Assert.Equal(T0 + HistoryRecorder.FullResolution, t.After));
        // Recorded over 30 h: the first hour whole, then sparser and sparser; the store halves its later part at each thin.
        Assert.True(points < HistoryRecorder.MaxPointsPerAgent * 2, $"{points} points recorded over 30 h");
    }

    [Fact]
    public void The_samples_table_keeps_points_per_agent_in_order_and_thinning_halves_the_later_part()
    {
        using var dir = new StoreTempDir();
        using var store = StateStore.Open(dir.File("state.db"));
        store.CreateCluster(ClusterRecord.New("c-1", new ClusterConfig("c", null, 3, [new AgentConfig("worker", AgentRole.Worker, Command: ["true"])]), T0));
        var recorder = new HistoryRecorder("c-1", T0);
        for (int s = 0; s < 40; s++)
            foreach (var write in recorder.Record(Tick(T0.AddSeconds(s), AgentState.Running, tokens: s), T0.AddSeconds(s)))
                write.Apply(store);
        var stored = store.ReadSamples("c-1");
        Assert.Equal(40, stored["worker"].Count);
        Assert.Equal(Enumerable.Range(0, 40).Select(s => (long)s), stored["worker"].Select(p => p.Tokens));
        Assert.Equal(T0.AddSeconds(39), stored["worker"][^1].At);

        store.ThinSamples("c-1", "worker", T0.AddSeconds(19.5));
        var thinned = store.ReadSamples("c-1")["worker"];
        Assert.Equal(20 + 10, thinned.Count);
        Assert.Equal(Enumerable.Range(0, 20).Select(s => (long)s), thinned.Take(20).Select(p => p.Tokens));

        // status --history of a cluster without a supervisor: the stored points as samples.
        var snapshot = ClusterSnapshot.FromRecord(store.GetCluster("c-1")!, stored);
        Assert.Equal(40, snapshot.Agents[0].History!.Count);
        Assert.Equal(12.5, snapshot.Agents[0].History![0].CpuPercent);
    }
}
