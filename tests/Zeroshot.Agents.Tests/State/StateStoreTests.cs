using Microsoft.Data.Sqlite;
using Zeroshot.Agents.Config;
using Zeroshot.Agents.Health;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;

namespace Zeroshot.Agents.Tests.State;

public sealed class StateStoreTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    private readonly StoreTempDir _dir = new();
    private readonly ManualClock _clock = new(T0);
    private readonly StateStore _store;

    public StateStoreTests()
    {
        _store = StateStore.Open(DbPath, _clock);
    }

    private string DbPath => _dir.File("state.db");

    public void Dispose()
    {
        _store.Dispose();
        _dir.Dispose();
    }

    private static ClusterConfig Example => ClusterConfigLoader.LoadFromJson("""
        { "name": "fix-login", "prompt": "Fix it", "maxIterations": 4, "agents": [
            { "id": "worker", "role": "worker", "provider": "claude", "model": "sonnet" },
            { "id": "tests", "role": "validator", "command": ["dotnet", "test"], "after": ["worker"] } ] }
        """, "fix.json");

    private ClusterRecord Create(string id, DateTimeOffset? startedAt = null, int? supervisorPid = 4242, long? startTime = 777)
    {
        var record = ClusterRecord.New(id, Example, startedAt ?? T0, supervisorPid, startTime, $"/run/{id}.sock");
        _store.CreateCluster(record);
        return record;
    }

    private SqliteConnection Raw()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DbPath, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    [Fact]
    public void Open_creates_a_versioned_schema_in_wal_mode()
    {
        using var raw = Raw();
        Assert.Equal((long)StateStore.SchemaVersion, Scalar(raw, "PRAGMA user_version"));
        Assert.Equal("wal", Scalar(raw, "PRAGMA journal_mode"));
        Assert.Equal(4L, Scalar(raw, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'")); // clusters, agents, events, samples
        Assert.Equal("ok", _store.IntegrityCheck());
        // Opening again is a no-op on the schema.
        using var again = StateStore.Open(DbPath);
        Assert.Empty(again.ListClusters());
    }

    [Fact]
    public void A_new_cluster_reads_back_with_its_agents()
    {
        var created = Create("cosmic-meteor-87");
        var read = _store.GetCluster("cosmic-meteor-87")!;
        Assert.Equal(created with { Agents = read.Agents }, read);
        Assert.Equal(created.Agents, read.Agents);
        Assert.Equal(ClusterKind.Cluster, read.Kind);
        Assert.Equal("fix-login", read.Name);
        Assert.Equal(ClusterState.Running, read.State);
        Assert.Equal(4, read.MaxIterations);
        Assert.Equal(T0, read.StartedAt);
        Assert.Equal((4242, 777L, "/run/cosmic-meteor-87.sock"), (read.SupervisorPid!.Value, read.SupervisorStartTime!.Value, read.SocketPath!));
        Assert.Equal(["worker", "tests"], read.Agents.Select(a => a.AgentId));
        Assert.Equal(("claude", "sonnet", AgentRole.Worker), (read.Agents[0].Provider, read.Agents[0].Model, read.Agents[0].Role));
        Assert.Equal(("command", (string?)null, AgentRole.Validator), (read.Agents[1].Provider, read.Agents[1].Model, read.Agents[1].Role));
        Assert.All(read.Agents, a => Assert.Equal(AgentState.Waiting, a.State));
        Assert.Equal(["dotnet", "test"], read.LoadConfig().FindAgent("tests")!.Command!);
        Assert.Null(_store.GetCluster("nope"));
    }

    [Fact]
    public void Duplicate_ids_are_refused_without_side_effects()
    {
        Create("a-b-10");
        var other = ClusterRecord.New("a-b-10", ClusterTemplates.Demo(), T0);
        Assert.False(_store.TryCreateCluster(other));
        Assert.Throws<InvalidOperationException>(() => _store.CreateCluster(other));
        Assert.Equal("fix-login", _store.GetCluster("a-b-10")!.Name);
        Assert.Equal(2, _store.GetCluster("a-b-10")!.Agents.Count);
    }

    [Fact]
    public void List_is_newest_first()
    {
        Create("old-one-10", T0);
        Create("new-one-10", T0.AddMinutes(5));
        Create("mid-one-10", T0.AddMinutes(1));
        Assert.Equal(["new-one-10", "mid-one-10", "old-one-10"], _store.ListClusters().Select(c => c.Id));
        Assert.All(_store.ListClusters(), c => Assert.Equal(2, c.Agents.Count));
    }

    [Fact]
    public void Cluster_state_changes_stamp_and_clear_the_end()
    {
        Create("c-c-10");
        Assert.True(_store.UpdateClusterState("c-c-10", ClusterState.Failed, exitCode: 1, at: T0.AddSeconds(30)));
        var failed = _store.GetCluster("c-c-10")!;
        Assert.Equal((ClusterState.Failed, 1, T0.AddSeconds(30)), (failed.State, failed.ExitCode!.Value, failed.EndedAt!.Value));
        Assert.True(failed.IsFinished);

        _clock.Advance(TimeSpan.FromSeconds(99));
        Assert.True(_store.UpdateClusterState("c-c-10", ClusterState.Completed, exitCode: 0));
        Assert.Equal(T0.AddSeconds(99), _store.GetCluster("c-c-10")!.EndedAt);

        Assert.True(_store.UpdateClusterState("c-c-10", ClusterState.Running, exitCode: 5));
        var running = _store.GetCluster("c-c-10")!;
        Assert.Equal((ClusterState.Running, (int?)null, (DateTimeOffset?)null), (running.State, running.ExitCode, running.EndedAt));
        Assert.False(_store.UpdateClusterState("nope", ClusterState.Stopped));
    }

    [Fact]
    public void Supervisor_can_be_recorded_after_creation()
    {
        Create("s-s-10", supervisorPid: null, startTime: null);
        Assert.Null(_store.GetCluster("s-s-10")!.SupervisorPid);
        Assert.True(_store.SetSupervisor("s-s-10", 99, 123456, "/tmp/s.sock"));
        var read = _store.GetCluster("s-s-10")!;
        Assert.Equal((99, 123456L, "/tmp/s.sock"), (read.SupervisorPid!.Value, read.SupervisorStartTime!.Value, read.SocketPath!));
    }

    [Fact]
    public void Agent_lifecycle_across_two_iterations()
    {
        Create("l-l-10");
        Assert.True(_store.SetClusterIteration("l-l-10", 1));
        Assert.True(_store.MarkAgentStarted("l-l-10", "worker", 1, pid: 500, pidStartTime: 9000, at: T0.AddSeconds(1)));
        var worker = _store.GetCluster("l-l-10")!.FindAgent("worker")!;
        Assert.Equal((AgentState.Running, 500, 9000L, 1, T0.AddSeconds(1)), (worker.State, worker.Pid!.Value, worker.PidStartTime!.Value, worker.Iteration, worker.StartedAt!.Value));

        Assert.True(_store.MarkAgentEnded("l-l-10", "worker", AgentState.Completed, 0, T0.AddSeconds(10)));
        _store.MarkAgentStarted("l-l-10", "tests", 1, 501, 9100, T0.AddSeconds(11));
        _store.MarkAgentEnded("l-l-10", "tests", AgentState.Failed, 1, T0.AddSeconds(20));
        var cluster = _store.GetCluster("l-l-10")!;
        Assert.Equal((AgentState.Completed, 0, T0.AddSeconds(10)), (cluster.Agents[0].State, cluster.Agents[0].ExitCode!.Value, cluster.Agents[0].EndedAt!.Value));
        Assert.Equal((AgentState.Failed, 1), (cluster.Agents[1].State, cluster.Agents[1].ExitCode!.Value));
        Assert.Equal(1, cluster.Iteration);

        // Iteration 2: everyone waits again; starting clears the old exit code and end time, the pid stays as history.
        Assert.True(_store.SetClusterIteration("l-l-10", 2));
        cluster = _store.GetCluster("l-l-10")!;
        Assert.Equal(2, cluster.Iteration);
        Assert.All(cluster.Agents, a => Assert.Equal(AgentState.Waiting, a.State));
        Assert.Equal(1, cluster.Agents[1].ExitCode);
        _store.MarkAgentStarted("l-l-10", "worker", 2, 600, 9900, T0.AddSeconds(30));
        worker = _store.GetCluster("l-l-10")!.FindAgent("worker")!;
        Assert.Equal((AgentState.Running, 2, (int?)null, (DateTimeOffset?)null), (worker.State, worker.Iteration, worker.ExitCode, worker.EndedAt));

        Assert.True(_store.SetAgentState("l-l-10", "tests", AgentState.Stopped));
        Assert.Equal(AgentState.Stopped, _store.GetCluster("l-l-10")!.FindAgent("tests")!.State);
        Assert.False(_store.SetAgentState("l-l-10", "ghost", AgentState.Stopped));
        Assert.False(_store.MarkAgentStarted("nope", "worker", 1, 1, 1));
    }

    [Fact]
    public void Iteration_change_leaves_running_agents_alone_when_asked()
    {
        Create("i-i-10");
        _store.MarkAgentStarted("i-i-10", "worker", 1, 1, 1);
        _store.SetClusterIteration("i-i-10", 2);
        Assert.Equal(AgentState.Running, _store.GetCluster("i-i-10")!.Agents[0].State);
        _store.MarkAgentEnded("i-i-10", "worker", AgentState.Completed, 0);
        _store.SetClusterIteration("i-i-10", 3, resetAgents: false);
        Assert.Equal(AgentState.Completed, _store.GetCluster("i-i-10")!.Agents[0].State);
    }

    [Fact]
    public void Last_output_is_written_at_most_once_per_resolution()
    {
        Create("o-o-10");
        _store.TouchLastOutput("o-o-10", "worker");
        Assert.Equal(T0, _store.GetCluster("o-o-10")!.Agents[0].LastOutputAt);

        _clock.Advance(TimeSpan.FromMilliseconds(400));
        _store.TouchLastOutput("o-o-10", "worker");
        Assert.Equal(T0, _store.GetCluster("o-o-10")!.Agents[0].LastOutputAt); // skipped: within the resolution

        _clock.Advance(StateStore.LastOutputResolution);
        _store.TouchLastOutput("o-o-10", "worker");
        Assert.Equal(_clock.Now, _store.GetCluster("o-o-10")!.Agents[0].LastOutputAt);

        // Another agent has its own throttle; a restart clears the value and the throttle.
        _store.TouchLastOutput("o-o-10", "tests");
        Assert.Equal(_clock.Now, _store.GetCluster("o-o-10")!.Agents[1].LastOutputAt);
        _store.MarkAgentStarted("o-o-10", "tests", 2, 1, 1);
        Assert.Null(_store.GetCluster("o-o-10")!.Agents[1].LastOutputAt);
        _store.TouchLastOutput("o-o-10", "tests");
        Assert.Equal(_clock.Now, _store.GetCluster("o-o-10")!.Agents[1].LastOutputAt);
    }

    [Fact]
    public void Resolve_id_exact_prefix_ambiguous_unknown()
    {
        Create("cosmic-meteor-87");
        Create("cosmic-meteor-870");
        Create("cosmic-nebula-12");
        Create("witty_otter-10");
        Create("wittyxotter-11");

        Assert.Equal("cosmic-meteor-87", _store.ResolveId("cosmic-meteor-87")); // exact wins although it prefixes another id
        Assert.Equal("cosmic-meteor-870", _store.ResolveId("cosmic-meteor-870"));
        Assert.Equal("cosmic-nebula-12", _store.ResolveId("cosmic-n"));
        Assert.Equal("witty_otter-10", _store.ResolveId("witty_")); // '_' is not a wildcard

        var ambiguous = Assert.Throws<UserErrorException>(() => _store.ResolveId("cosmic"));
        Assert.Equal("'cosmic' is ambiguous; it matches cosmic-meteor-87, cosmic-meteor-870, cosmic-nebula-12; type more of the id", ambiguous.Message);
        Assert.Equal(ExitCodes.Failure, ambiguous.ExitCode);

        var unknown = Assert.Throws<UserErrorException>(() => _store.ResolveId("zesty"));
        Assert.Equal("no such cluster or task: zesty", unknown.Message);
        Assert.Equal(ExitCodes.Failure, unknown.ExitCode);
        Assert.Throws<UserErrorException>(() => _store.ResolveId("%"));
        Assert.Throws<UserErrorException>(() => _store.ResolveId(""));
    }

    [Fact]
    public void Ambiguity_lists_at_most_ten_candidates()
    {
        for (var i = 10; i < 25; i++)
            Create($"many-ids-{i}");
        var error = Assert.Throws<UserErrorException>(() => _store.ResolveId("many"));
        Assert.EndsWith("many-ids-19, …; type more of the id", error.Message);
    }

    [Fact]
    public void Reconcile_marks_clusters_of_dead_supervisors_crashed()
    {
        Create("alive-one-10", supervisorPid: 100, startTime: 1000);
        Create("dead-one-10", supervisorPid: 200, startTime: 2000);
        Create("reused-pid-10", supervisorPid: 100, startTime: 1); // same pid, different start time: another process now
        Create("done-one-10", supervisorPid: 300, startTime: 3000);
        _store.UpdateClusterState("done-one-10", ClusterState.Completed, 0);
        _store.MarkAgentStarted("dead-one-10", "worker", 1, 201, 2100);

        var asked = new List<(int, long)>();
        bool IsAlive(int pid, long start)
        {
            asked.Add((pid, start));
            return (pid, start) == (100, 1000);
        }

        _clock.Advance(TimeSpan.FromMinutes(1));
        var crashed = _store.ReconcileCrashed(IsAlive);
        Assert.Equal(["dead-one-10", "reused-pid-10"], crashed.Order());
        Assert.Equal([(100, 1), (100, 1000), (200, 2000)], asked.Order()); // finished clusters are not probed

        var dead = _store.GetCluster("dead-one-10")!;
        Assert.Equal((ClusterState.Crashed, _clock.Now), (dead.State, dead.EndedAt!.Value));
        Assert.Null(dead.ExitCode);
        // The running worker did not finish and nobody stopped it: failed. The waiting validator never will run: stopped.
        Assert.Equal((AgentState.Failed, (int?)null, _clock.Now), (dead.Agents[0].State, dead.Agents[0].ExitCode, dead.Agents[0].EndedAt!.Value));
        Assert.Equal(AgentState.Stopped, dead.Agents[1].State);

        Assert.Equal(ClusterState.Running, _store.GetCluster("alive-one-10")!.State);
        Assert.Equal(ClusterState.Completed, _store.GetCluster("done-one-10")!.State);
        Assert.Empty(_store.ReconcileCrashed(IsAlive)); // idempotent
    }

    [Fact]
    public void Reconcile_gives_an_unclaimed_cluster_a_grace_period()
    {
        Create("unclaimed-one-10", supervisorPid: null, startTime: null);
        Assert.Empty(_store.ReconcileCrashed((_, _) => throw new InvalidOperationException("no pid to probe")));
        _clock.Advance(StateStore.UnclaimedGrace + TimeSpan.FromSeconds(1));
        Assert.Equal(["unclaimed-one-10"], _store.ReconcileCrashed((_, _) => true));
        Assert.Equal(ClusterState.Crashed, _store.GetCluster("unclaimed-one-10")!.State);
    }

    [Fact]
    public void Reconcile_does_not_overwrite_a_supervisor_that_claimed_the_cluster_meanwhile()
    {
        Create("raced-one-10", supervisorPid: 100, startTime: 1);
        // The probe says dead, but before the write a new supervisor records itself (simulated inside the probe).
        var crashed = _store.ReconcileCrashed((_, _) =>
        {
            using var other = StateStore.Open(DbPath);
            other.SetSupervisor("raced-one-10", 555, 5, null);
            return false;
        });
        Assert.Empty(crashed);
        Assert.Equal(ClusterState.Running, _store.GetCluster("raced-one-10")!.State);
    }

    [Fact]
    public void Delete_removes_cluster_and_agents()
    {
        Create("del-one-10");
        Create("keep-one-10");
        Assert.True(_store.DeleteCluster("del-one-10"));
        Assert.False(_store.DeleteCluster("del-one-10"));
        Assert.Null(_store.GetCluster("del-one-10"));
        using var raw = Raw();
        Assert.Equal(0L, Scalar(raw, "SELECT count(*) FROM agents WHERE cluster_id = 'del-one-10'"));
        Assert.Equal(2L, Scalar(raw, "SELECT count(*) FROM agents"));
    }

    [Fact]
    public void Data_survives_reopening()
    {
        Create("persist-one-10");
        _store.UpdateClusterState("persist-one-10", ClusterState.Stopped, 130, T0.AddHours(1));
        _store.Dispose();
        using var reopened = StateStore.Open(DbPath);
        var read = reopened.GetCluster("persist-one-10")!;
        Assert.Equal((ClusterState.Stopped, 130, T0.AddHours(1)), (read.State, read.ExitCode!.Value, read.EndedAt!.Value));
    }

    [Fact]
    public void A_newer_schema_is_refused_with_advice()
    {
        _store.Dispose();
        using (var raw = Raw())
            Scalar(raw, "PRAGMA user_version = 7");
        var error = Assert.Throws<UserErrorException>(() => StateStore.Open(DbPath));
        Assert.Equal($"the state database {DbPath} has schema version 7, newer than this zeroshot understands ({StateStore.SchemaVersion}); upgrade zeroshot", error.Message);
    }

    [Fact]
    public void A_version_1_database_is_migrated_and_keeps_its_clusters()
    {
        // A database written before token accounting existed: drop the usage columns and go back to version 1.
        var config = ClusterTemplates.Task("migrate me", "sim");
        _store.CreateCluster(ClusterRecord.New("old-one-1", config, DateTimeOffset.UnixEpoch));
        _store.Dispose();
        using (var raw = Raw())
        {
            foreach (var column in new[] { "tokens_input", "tokens_output", "tokens_cache_read", "tokens_cache_creation", "cost_usd", "cost_estimated", "seen_model", "verdict_json", "last_error" })
                Scalar(raw, $"ALTER TABLE agents DROP COLUMN {column}");
            DropLiveColumns(raw);
            Scalar(raw, "PRAGMA user_version = 1");
        }
        using var reopened = StateStore.Open(DbPath);
        var cluster = reopened.GetCluster("old-one-1")!;
        Assert.Equal(0, cluster.Agents[0].Usage.Tokens.Total);
        var usage = new Zeroshot.Agents.Output.UsageTotals(new Zeroshot.Agents.Output.TokenCounts(1, 2, 3, 4), 0.5m, true);
        Assert.True(reopened.SetAgentUsage("old-one-1", cluster.Agents[0].AgentId, usage));
        Assert.Equal(usage, reopened.GetCluster("old-one-1")!.Agents[0].Usage);
    }

    [Fact]
    public void A_version_2_database_is_migrated_and_records_verdicts()
    {
        var config = ClusterTemplates.Task("migrate me", "sim");
        _store.CreateCluster(ClusterRecord.New("old-two-2", config, DateTimeOffset.UnixEpoch));
        _store.Dispose();
        using (var raw = Raw())
        {
            foreach (var column in new[] { "seen_model", "verdict_json", "last_error" })
                Scalar(raw, $"ALTER TABLE agents DROP COLUMN {column}");
            DropLiveColumns(raw);
            Scalar(raw, "PRAGMA user_version = 2");
        }
        using var reopened = StateStore.Open(DbPath);
        var agent = reopened.GetCluster("old-two-2")!.Agents[0];
        Assert.Null(agent.Verdict);
        var verdict = new Zeroshot.Agents.Output.Verdict(false, "two problems", ["a", "b"]);
        Assert.True(reopened.SetAgentOutcome("old-two-2", agent.AgentId, verdict, 2, "529 overloaded"));
        Assert.True(reopened.SetAgentModel("old-two-2", agent.AgentId, "gpt-5.5"));
        var read = reopened.GetCluster("old-two-2")!.Agents[0];
        Assert.False(read.Verdict!.Value.Verdict.Approved);
        Assert.Equal("two problems", read.Verdict!.Value.Verdict.Summary);
        Assert.Equal(["a", "b"], read.Verdict!.Value.Verdict.Issues);
        Assert.Equal(2, read.Verdict!.Value.Iteration);
        Assert.Equal("529 overloaded", read.LastError);
        Assert.Equal("gpt-5.5", read.SeenModel);
    }

    [Fact]
    public void A_version_3_database_is_migrated_and_records_events()
    {
        var config = ClusterTemplates.Task("migrate me", "sim");
        _store.CreateCluster(ClusterRecord.New("old-three-3", config, DateTimeOffset.UnixEpoch));
        _store.Dispose();
        using (var raw = Raw())
        {
            Scalar(raw, "DROP TABLE events");
            DropLiveColumns(raw);
            Scalar(raw, "PRAGMA user_version = 3");
        }
        using var reopened = StateStore.Open(DbPath);
        using (var raw = Raw())
            Assert.Equal((long)StateStore.SchemaVersion, Scalar(raw, "PRAGMA user_version"));
        Assert.Equal("old-three-3", reopened.GetCluster("old-three-3")!.Id);
        Assert.Empty(reopened.ReadEvents("old-three-3"));
        reopened.AppendEvents([
            ClusterEventRows.ToRow("old-three-3", new IterationStartedEvent(T0, 1, 3, AfterRejection: false)),
            ClusterEventRows.ToRow("old-three-3", new VerdictEvent(T0.AddSeconds(5), "agent", false, "no tests", ["add tests"])),
            ClusterEventRows.ToRow("old-three-3", new ClusterEndedEvent(T0.AddSeconds(9), ClusterState.Failed)),
        ]);
        var events = reopened.ReadEvents("old-three-3");
        Assert.Equal(["iteration-started", "verdict", "cluster-ended"], events.Select(e => e.Kind));
        Assert.Equal((T0.AddSeconds(5), "agent"), (events[1].Time, events[1].AgentId!));
        // Stored events read back as the typed records and print as the printer printed them live.
        var verdict = Assert.IsType<VerdictEvent>(ClusterEventRows.FromRow(events[1]));
        Assert.Equal(["add tests"], verdict.Issues);
        Assert.EndsWith(" iteration 1/3", ClusterEventRows.Line(events[0]), StringComparison.Ordinal);
        Assert.EndsWith(" agent:   issue: add tests", ClusterEventRows.Line(events[1]), StringComparison.Ordinal);
        Assert.EndsWith(" cluster failed", ClusterEventRows.Line(events[2]), StringComparison.Ordinal);
        Assert.Equal(["cluster-ended"], reopened.ReadEvents("old-three-3", last: 1).Select(e => e.Kind));
        // Deleting the cluster deletes its events.
        Assert.True(reopened.DeleteCluster("old-three-3"));
        Assert.Empty(reopened.ReadEvents("old-three-3"));
    }

    [Fact]
    public void A_version_1_database_is_migrated_through_every_version()
    {
        _store.Dispose();
        using (var raw = Raw())
        {
            foreach (var column in new[] { "tokens_input", "tokens_output", "tokens_cache_read", "tokens_cache_creation", "cost_usd", "cost_estimated", "seen_model", "verdict_json", "last_error" })
                Scalar(raw, $"ALTER TABLE agents DROP COLUMN {column}");
            Scalar(raw, "DROP TABLE events");
            DropLiveColumns(raw);
            Scalar(raw, "PRAGMA user_version = 1");
        }
        using var reopened = StateStore.Open(DbPath);
        reopened.CreateCluster(ClusterRecord.New("new-one-1", Example, T0));
        reopened.AppendEvents([ClusterEventRows.ToRow("new-one-1", new StoppingEvent(T0))]);
        Assert.EndsWith(" stopping: SIGTERM to every agent", ClusterEventRows.Line(Assert.Single(reopened.ReadEvents("new-one-1"))), StringComparison.Ordinal);
        Assert.Equal("ok", reopened.IntegrityCheck());
    }

    /// <summary>A database of version 5 or older has none of version 6's columns.</summary>
    private static void DropLiveColumns(SqliteConnection raw)
    {
        foreach (var column in new[] { "live_at", "live_activity", "live_detail", "live_health", "live_health_since" })
            Scalar(raw, $"ALTER TABLE agents DROP COLUMN {column}");
    }

    [Fact]
    public void A_version_5_database_is_migrated_and_records_what_agents_do()
    {
        Create("old-five-5");
        _store.MarkAgentStarted("old-five-5", "worker", 1, 500, 9000);
        _store.Dispose();
        using (var raw = Raw())
        {
            DropLiveColumns(raw);
            Scalar(raw, "PRAGMA user_version = 5");
        }
        using var reopened = StateStore.Open(DbPath);
        using (var raw = Raw())
            Assert.Equal((long)StateStore.SchemaVersion, Scalar(raw, "PRAGMA user_version"));
        var worker = reopened.GetCluster("old-five-5")!.Agents[0];
        Assert.Equal(AgentState.Running, worker.State);
        Assert.Null(worker.Live); // never written: list asks the supervisor
        Assert.True(reopened.SetAgentLive("old-five-5", "worker", new AgentLive(AgentActivity.Model, null, null, null), T0));
        Assert.Equal(AgentActivity.Model, reopened.GetCluster("old-five-5")!.Agents[0].Live!.Activity);
    }

    [Fact]
    public void What_a_running_agent_does_is_stored_shown_while_it_runs_and_forgotten_when_it_starts_again()
    {
        Create("live-one-10");
        _store.MarkAgentStarted("live-one-10", "worker", 1, 500, 9000, T0);
        _store.MarkAgentStarted("live-one-10", "tests", 1, 501, 9001, T0);
        Assert.All(_store.GetCluster("live-one-10")!.Agents, a => Assert.Null(a.Live));

        var stuckSince = T0.AddMinutes(3);
        Assert.True(_store.SetAgentLive("live-one-10", "worker", new AgentLive(AgentActivity.Tool, "Bash", HealthVerdict.Stuck, stuckSince), T0.AddMinutes(4)));
        Assert.True(_store.SetAgentLive("live-one-10", "tests", new AgentLive(null, null, null, null), T0.AddMinutes(4)));
        Assert.False(_store.SetAgentLive("live-one-10", "nobody", new AgentLive(null, null, null, null), T0));
        var record = _store.ListClusters().Single(c => c.Id == "live-one-10");
        Assert.Equal(new AgentLive(AgentActivity.Tool, "Bash", HealthVerdict.Stuck, stuckSince), record.Agents[0].Live);
        Assert.Equal(new AgentLive(null, null, null, null), record.Agents[1].Live); // written: a command agent has no activity

        // The views built from the record show what the supervisor last wrote, the unhealthy verdict first.
        var view = ClusterSnapshot.FromRecord(record);
        Assert.Equal((AgentActivity?)AgentActivity.Tool, view.Agents[0].Activity);
        Assert.Equal("Bash", view.Agents[0].ActivityDetail);
        Assert.Equal((HealthVerdict.Stuck, stuckSince), (view.Agents[0].Health!.Verdict, view.Agents[0].Health!.Since));
        Assert.Equal("stuck", view.Agents[0].ActivityText());
        Assert.Equal("quiet", view.Agents[1].ActivityText());

        // A run that ended shows its state, not the last activity of the run.
        _store.MarkAgentEnded("live-one-10", "tests", AgentState.Completed, 0);
        var ended = ClusterSnapshot.FromRecord(_store.GetCluster("live-one-10")!).Agents[1];
        Assert.Equal((null, null, "completed"), (ended.Activity, ended.Health, ended.ActivityText()));

        // A new run of the worker starts without the old run's activity.
        _store.MarkAgentStarted("live-one-10", "worker", 2, 600, 9900, T0.AddMinutes(5));
        Assert.Null(_store.GetCluster("live-one-10")!.Agents[0].Live);

        // A cluster that is no longer running shows none either.
        Assert.True(_store.SetAgentLive("live-one-10", "worker", new AgentLive(AgentActivity.Model, null, null, null), T0.AddMinutes(6)));
        _store.UpdateClusterState("live-one-10", ClusterState.Crashed, null);
        Assert.Null(ClusterSnapshot.FromRecord(_store.GetCluster("live-one-10")!).Agents[0].Activity);
    }

    [Fact]
    public void An_unknown_activity_in_the_database_is_malformed_data()
    {
        Create("bad-one-10");
        _store.MarkAgentStarted("bad-one-10", "worker", 1, 500, 9000);
        using (var raw = Raw())
            Scalar(raw, "UPDATE agents SET live_at = 1, live_activity = 'dancing' WHERE agent_id = 'worker'");
        Assert.Throws<InvalidDataException>(() => _store.GetCluster("bad-one-10"));
    }

    [Fact]
    public void A_file_that_is_not_a_database_is_a_user_error()
    {
        var path = _dir.File("garbage.db");
        File.WriteAllText(path, new string('x', 4096));
        var error = Assert.Throws<UserErrorException>(() => StateStore.Open(path));
        Assert.StartsWith($"the state database {path} is damaged (file is not a database); move it aside (mv {path} ", error.Message);
        Assert.Equal(ExitCodes.Failure, error.ExitCode);
    }

    [Fact]
    public void A_missing_directory_is_a_user_error()
    {
        var path = _dir.File("no/such/dir/state.db");
        var error = Assert.Throws<UserErrorException>(() => StateStore.Open(path));
        Assert.Equal($"cannot open the state database {path}: the directory {_dir.File("no/such/dir")} does not exist", error.Message);
    }
}
