using Microsoft.Data.Sqlite;
using Zeroshot.Agents.Config;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;

namespace Zeroshot.Agents.Tests.State;

public sealed class StoreWriterTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 2, 8, 0, 0, TimeSpan.Zero);
    private const string Id = "locked-out-1";

    private readonly StoreTempDir _dir = new();
    private readonly StateStore _store;

    public StoreWriterTests()
    {
        // A short busy timeout: a locked database answers SQLITE_BUSY quickly and the writer's own retry takes over.
        _store = StateStore.Open(_dir.File("state.db"), TimeProvider.System, TimeSpan.FromMilliseconds(50));
        var config = ClusterConfigLoader.LoadFromJson("""
            { "name": "w", "maxIterations": 2, "agents": [
                { "id": "worker", "role": "worker", "command": ["true"] },
                { "id": "judge", "role": "validator", "command": ["true"], "after": ["worker"] } ] }
            """, "w.json");
        _store.CreateCluster(ClusterRecord.New(Id, config, T0));
    }

    public void Dispose()
    {
        _store.Dispose();
        _dir.Dispose();
    }

    private static UsageTotals Tokens(long output) => new(new TokenCounts(10, output, 0, 0), output / 1000m, true);

    /// <summary>Another process's connection holding the write lock (BEGIN IMMEDIATE) until disposed.</summary>
    private sealed class WriteLock : IDisposable
    {
        private readonly SqliteConnection _connection;

        public WriteLock(string path)
        {
            _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
            _connection.Open();
            using var command = _connection.CreateCommand();
            command.CommandText = "BEGIN IMMEDIATE; UPDATE clusters SET name = name;";
            command.ExecuteNonQuery();
        }

        public void Dispose()
        {
            using (var command = _connection.CreateCommand())
            {
                command.CommandText = "COMMIT;";
                command.ExecuteNonQuery();
            }
            _connection.Dispose();
        }
    }

    [Fact]
    public void Coalescing_keeps_the_newest_of_each_key_in_its_place_and_every_transition()
    {
        var writes = new List<StoreWrite>
        {
            new AgentUsageWrite(Id, "worker", Tokens(1)),
            new AgentLastOutputWrite(Id, "worker", T0),
            new AgentUsageWrite(Id, "judge", Tokens(5)),
            new AgentStateWrite(Id, "worker", AgentState.Waiting),
            new AgentUsageWrite(Id, "worker", Tokens(2)),
            new AgentStateWrite(Id, "worker", AgentState.Stopped),
            new AgentLastOutputWrite(Id, "worker", T0.AddSeconds(1)),
            new AgentUsageWrite(Id, "worker", Tokens(3)),
        };
        StoreWriter.Coalesce(writes);
        Assert.Equal<StoreWrite>([
            new AgentUsageWrite(Id, "judge", Tokens(5)),
            new AgentStateWrite(Id, "worker", AgentState.Waiting),
            new AgentStateWrite(Id, "worker", AgentState.Stopped),
            new AgentLastOutputWrite(Id, "worker", T0.AddSeconds(1)),
            new AgentUsageWrite(Id, "worker", Tokens(3)),
        ], writes);
    }

    [Fact]
    public async Task Writes_reach_the_database_in_order_and_dispose_flushes_them()
    {
        var writer = new StoreWriter(_store);
        writer.Post(new ClusterIterationWrite(Id, 1));
        writer.Post(new AgentStartedWrite(Id, "worker", 1, 4242, 77, T0));
        writer.Post(new AgentUsageWrite(Id, "worker", Tokens(100)));
        writer.Post(new AgentEndedWrite(Id, "worker", AgentState.Completed, 0, T0.AddSeconds(3)));
        writer.Post(new EventWrite(ClusterEventRows.ToRow(Id, new AgentStartedEvent(T0, "worker", 4242))));
        writer.Post(new ClusterStateWrite(Id, ClusterState.Completed, 0, T0.AddSeconds(4)));
        await writer.DisposeAsync();

        Assert.False(writer.Post(new AgentStateWrite(Id, "worker", AgentState.Failed)));
        var read = _store.GetCluster(Id)!;
        Assert.Equal((ClusterState.Completed, 1, 0), (read.State, read.Iteration, read.ExitCode!.Value));
        var worker = read.FindAgent("worker")!;
        Assert.Equal((AgentState.Completed, 4242, 0, 100L), (worker.State, worker.Pid!.Value, worker.ExitCode!.Value, worker.Usage.Tokens.Output));
        var e = Assert.Single(_store.ReadEvents(Id));
        Assert.Equal(("worker", "agent-started"), (e.AgentId, e.Kind));
        Assert.EndsWith(" worker: started (pid 4242)", ClusterEventRows.Line(e), StringComparison.Ordinal);
        Assert.Equal(new AgentStartedEvent(T0, "worker", 4242), ClusterEventRows.FromRow(e));
    }

    [Fact]
    public async Task A_locked_database_delays_writes_without_blocking_Post_and_they_land_after_the_lock()
    {
        var writer = new StoreWriter(_store);
        StoreWriterReport report;
        using (new WriteLock(_store.Path))
        {
            var posting = System.Diagnostics.Stopwatch.StartNew();
            for (int i = 1; i <= 1000; i++) writer.Post(new AgentUsageWrite(Id, "worker", Tokens(i)));
            writer.Post(new AgentEndedWrite(Id, "worker", AgentState.Failed, 3, T0));
            writer.Post(new EventWrite(ClusterEventRows.ToRow(Id, new ClusterEndedEvent(T0, ClusterState.Failed))));
            writer.Post(new ClusterStateWrite(Id, ClusterState.Failed, 1, T0));
            Assert.True(posting.Elapsed < TimeSpan.FromSeconds(1), $"posting took {posting.Elapsed}");
            // The writer meets the lock and retries instead of failing.
            await WaitUntil(() => writer.BusyRetries >= 3);
            Assert.Equal(ClusterState.Running, _store.GetCluster(Id)!.State);
            Assert.True(writer.Pending > 0);
        }
        report = await writer.CompleteAsync(TimeSpan.FromSeconds(30));
        Assert.True(report.Complete, $"{report.Unwritten.Count} unwritten, {report.Failed} failed: {report.LastError}");
        var read = _store.GetCluster(Id)!;
        Assert.Equal(ClusterState.Failed, read.State);
        Assert.Equal((AgentState.Failed, 3, 1000L), (read.FindAgent("worker")!.State, read.FindAgent("worker")!.ExitCode!.Value, read.FindAgent("worker")!.Usage.Tokens.Output));
        Assert.Equal("cluster-ended", Assert.Single(_store.ReadEvents(Id)).Kind);
        // 1000 usage writes for one agent were coalesced: far fewer than 1003 were applied.
        Assert.True(writer.Written < 100, $"{writer.Written} writes");
    }

    [Fact]
    public async Task A_lock_that_outlasts_the_flush_deadline_is_reported_not_thrown()
    {
        var writer = new StoreWriter(_store);
        using var held = new WriteLock(_store.Path);
        writer.Post(new ClusterStateWrite(Id, ClusterState.Completed, 0, T0));
        writer.Post(new AgentUsageWrite(Id, "worker", Tokens(7)));
        var report = await writer.CompleteAsync(TimeSpan.FromMilliseconds(500));
        Assert.False(report.Complete);
        Assert.Equal(2, report.Unwritten.Count);
        Assert.IsType<ClusterStateWrite>(report.Unwritten[0]);
        Assert.Contains("locked", report.LastError, StringComparison.OrdinalIgnoreCase);
        Assert.Same(report, await writer.CompleteAsync(TimeSpan.Zero));
    }

    [Fact]
    public async Task A_write_the_database_refuses_for_good_is_dropped_and_counted()
    {
        var writer = new StoreWriter(_store);
        // An event for a cluster that does not exist violates the foreign key: not a lock, not retried.
        writer.Post(new EventWrite(ClusterEventRows.ToRow("no-such-cluster", new StoppingEvent(T0))));
        writer.Post(new AgentStateWrite(Id, "judge", AgentState.Stopped));
        var report = await writer.CompleteAsync(TimeSpan.FromSeconds(30));
        Assert.Equal((0, 1L), (report.Unwritten.Count, report.Failed));
        Assert.Equal(AgentState.Stopped, _store.GetCluster(Id)!.FindAgent("judge")!.State);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met");
            await Task.Delay(10);
        }
    }
}
