using System.Diagnostics;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Zeroshot.Cli.Tests;

/// <summary>
/// Another process holding the state database's write lock for 15 s delays the supervisor's writes, never the
/// cluster: agents run and end, <c>status</c> answers from the supervisor's memory, and everything reaches the
/// database once the lock is gone.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class LockedDatabaseTests : IDisposable
{
    private readonly string _home = Path.Combine(Path.GetTempPath(), "zs-home-" + Guid.NewGuid().ToString("N")[..12]);

    public LockedDatabaseTests()
    {
        Directory.CreateDirectory(_home);
        // Private, as zeroshot would make it (a home others can read is tightened with a notice on stderr).
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(_home, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public void Dispose()
    {
        try { Directory.Delete(_home, recursive: true); }
        catch (IOException) { /* a temp dir */ }
    }

    private ZeroshotProcess.Result Z(params string[] args) => ZeroshotProcess.RunIn(_home, args);

    private string Db => Path.Combine(_home, "state.db");

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Db, Pooling = false, DefaultTimeout = 30 }.ToString());
        connection.Open();
        return connection;
    }

    private static object? Scalar(SqliteConnection db, string sql, string id)
    {
        using var command = db.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$id", id);
        return command.ExecuteScalar();
    }

    [Fact]
    public async Task A_database_locked_for_15s_delays_writes_but_not_status_or_agents_and_every_state_lands_afterwards()
    {
        var file = Path.Combine(_home, "cluster.json");
        File.WriteAllText(file, """
            { "name": "locked", "maxIterations": 1, "agents": [
              { "id": "worker", "role": "worker", "provider": "sim", "options": { "durationSeconds": 6, "seed": 3 } },
              { "id": "check", "role": "validator", "after": ["worker"], "command": ["bash", "-c", "echo checked"] } ] }
            """);
        var run = Z("run", file, "--detach");
        Assert.True(run.ExitCode == 0, run.Error);
        string id = run.Out.Trim();
        Wait.Until(() => StatusJson(id).GetProperty("agents")[0].GetProperty("state").GetString() == "running", "the worker to run");

        using var holder = Open();
        using (var begin = holder.CreateCommand())
        {
            begin.CommandText = "PRAGMA busy_timeout = 30000; BEGIN IMMEDIATE; UPDATE clusters SET name = name;";
            begin.ExecuteNonQuery();
        }
        var locked = Stopwatch.StartNew();
        var seen = new List<(string Cluster, string Worker, string Check, long Tokens)>();
        var slowest = TimeSpan.Zero;
        // A person watching `status` once a second: the pace is a clock, not a sleep after each answer.
        using var pace = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (locked.Elapsed < TimeSpan.FromSeconds(15) && await pace.WaitForNextTickAsync())
        {
            var asked = Stopwatch.StartNew();
            var status = StatusJson(id);
            slowest = asked.Elapsed > slowest ? asked.Elapsed : slowest;
            var agents = status.GetProperty("agents");
            seen.Add((status.GetProperty("state").GetString()!, agents[0].GetProperty("state").GetString()!, agents[1].GetProperty("state").GetString()!,
                status.GetProperty("tokens").GetProperty("total").GetInt64()));
        }
        // During the lock the database still says what it said before it: the cluster is running, nothing recorded its end.
        Assert.Equal("running", Scalar(holder, "SELECT state FROM clusters WHERE id = $id", id));
        var released = DateTimeOffset.UtcNow;
        using (var commit = holder.CreateCommand())
        {
            commit.CommandText = "COMMIT;";
            commit.ExecuteNonQuery();
        }

        // Status kept answering (from the supervisor's memory, not the database: a process start plus one request)...
        Assert.True(slowest < TimeSpan.FromSeconds(4), $"the slowest status took {slowest}");
        Assert.True(seen.Count >= 8, $"only {seen.Count} status answers in 15 s");
        // ...and kept changing: live tokens grew, the worker ended, the validator ran and the cluster completed, all
        // during the lock. Nothing was killed.
        Assert.Contains(seen, s => s.Worker == "running");
        Assert.Contains(seen, s => s.Cluster == "completed" && s.Worker == "completed" && s.Check == "completed");
        Assert.True(seen.Select(s => s.Tokens).Distinct().Count() >= 2, "the tokens never changed during the lock");
        Assert.DoesNotContain(seen, s => s.Cluster is "failed" or "stopped" || s.Worker is "failed" or "stopped");
        long finalTokens = seen[^1].Tokens;

        // Once the lock is gone, the supervisor's queued writes land: final states, usage, events.
        // Asked of the database itself: status answers from the supervisor's memory while it runs, and the native binary
        // asks it before the store writer's next retry after the lock has come.
        using var db = Open();
        Wait.Until(() => Scalar(db, "SELECT state FROM clusters WHERE id = $id", id) as string != "running", "the final state in the database", 60_000);
        Assert.Equal("completed", Scalar(db, "SELECT state FROM clusters WHERE id = $id", id));
        Assert.Equal(0L, Scalar(db, "SELECT exit_code FROM clusters WHERE id = $id", id));
        Assert.Equal(2L, Scalar(db, "SELECT count(*) FROM agents WHERE cluster_id = $id AND state = 'completed' AND exit_code = 0", id));
        long stored = (long)Scalar(db, "SELECT tokens_input + tokens_output + tokens_cache_read + tokens_cache_creation FROM agents WHERE cluster_id = $id AND agent_id = 'worker'", id)!;
        Assert.True(stored > 0);
        Assert.Equal(finalTokens, stored);
        // The end was recorded as it happened (during the lock), not when it could be written.
        long endedAt = (long)Scalar(db, "SELECT ended_at FROM clusters WHERE id = $id", id)!;
        Assert.True(endedAt < released.ToUnixTimeMilliseconds(), "ended_at is the time of writing, not of the end");

        var events = new List<(string? Agent, string Kind, JsonElement Fields, long Time)>();
        using (var command = db.CreateCommand())
        {
            command.CommandText = "SELECT agent_id, kind, fields_json, time FROM events WHERE cluster_id = $id ORDER BY seq";
            command.Parameters.AddWithValue("$id", id);
            using var reader = command.ExecuteReader();
            while (reader.Read())
                events.Add((reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetString(1), JsonDocument.Parse(reader.GetString(2)).RootElement.Clone(), reader.GetInt64(3)));
        }
        // The typed events the printer showed live, as their own JSON (the control socket's form).
        Assert.Equal([
            (null, "iteration-started"), ("worker", "agent-started"), ("worker", "agent-exited"), ("check", "agent-started"),
            ("check", "agent-exited"), ("check", "verdict"), (null, "cluster-ended"),
        ], events.Where(e => e.Kind is not ("retrying" or "error")).Select(e => (e.Agent, e.Kind)));
        events.RemoveAll(e => e.Kind is "retrying" or "error");
        Assert.Equal("completed", events[2].Fields.GetProperty("state").GetString());
        Assert.True(events[5].Fields.GetProperty("approved").GetBoolean());
        Assert.Equal("completed", events[^1].Fields.GetProperty("state").GetString());
        Assert.True(events[1].Fields.GetProperty("pid").GetInt32() > 0);

        // logs and status show them for people.
        var logs = Z("logs", id);
        Assert.Contains("── events ──", logs.Out);
        Assert.Matches(@"(?m)^\d\d:\d\d:\d\d check: approved", logs.Out);
        Assert.Matches(@"(?m)^\d\d:\d\d:\d\d cluster completed$", logs.Out);
        var text = Z("status", id);
        Assert.Contains("recent events:", text.Out);
        Assert.Contains("cluster completed", text.Out);
    }

    [Fact]
    public async Task A_database_locked_for_30s_while_agents_end_kills_nothing_and_every_row_lands_afterwards()
    {
        // A worker then a validator: during the lock the worker ends, the validator starts and ends, the
        // cluster completes. A second cluster is stopped during the lock, and a crashed cluster waits to be noticed.
        var file = Path.Combine(_home, "cluster.json");
        // The worker ends when the test says so (a file appears), once the lock is held.
        var go = Path.Combine(_home, "go");
        File.WriteAllText(file, $$"""
            { "name": "locked30", "maxIterations": 1, "agents": [
              { "id": "worker", "role": "worker", "command": ["bash", "-c", "while [ ! -e {{go}} ]; do sleep 0.1; done; echo worked"] },
              { "id": "check", "role": "validator", "after": ["worker"], "command": ["bash", "-c", "sleep 3; echo checked"] } ] }
            """);
        var longFile = Path.Combine(_home, "long.json");
        File.WriteAllText(longFile, """
            { "name": "long", "maxIterations": 1, "agents": [ { "id": "sleeper", "role": "worker", "command": ["sleep", "600"] } ] }
            """);
        var run = Z("run", file, "--detach");
        Assert.True(run.ExitCode == 0, run.Error);
        string id = run.Out.Trim();
        var other = Z("run", longFile, "--detach");
        Assert.True(other.ExitCode == 0, other.Error);
        string longId = other.Out.Trim();
        Wait.Until(() => StatusJson(id).GetProperty("agents")[0].GetProperty("state").GetString() == "running", "the worker to run");
        Wait.Until(() => StatusJson(longId).GetProperty("agents")[0].GetProperty("state").GetString() == "running", "the sleeper to run");

        using var holder = Open();
        using (var crashed = holder.CreateCommand())
        {
            // A cluster whose supervisor is long gone: list and status notice it, and would record it.
            crashed.CommandText = """
                INSERT INTO clusters (id, kind, name, state, iteration, max_iterations, started_at, supervisor_pid, supervisor_start_time, config_json)
                VALUES ('gone-cluster-1', 'cluster', 'gone', 'running', 1, 1, 1700000000000, 999999, 1, '{}')
                """;
            crashed.ExecuteNonQuery();
        }
        using (var begin = holder.CreateCommand())
        {
            begin.CommandText = "PRAGMA busy_timeout = 30000; BEGIN IMMEDIATE; UPDATE clusters SET name = name;";
            begin.ExecuteNonQuery();
        }
        var locked = Stopwatch.StartNew();

        // stop answers from the supervisor while the database cannot take the record of the end.
        var stop = Z("stop", longId);
        Assert.True(stop.ExitCode == 0, stop.Out + stop.Error);
        Assert.Contains($"{longId} stopped", stop.Out);
        // list answers too (the crashed cluster is noticed but not recorded: nobody waits on the lock to do so).
        var list = Z("list");
        Assert.True(list.ExitCode == 0, list.Error);
        Assert.Contains(id, list.Out);
        Assert.Contains(longId, list.Out);

        var seen = new List<(string Cluster, string Worker, string Check)>();
        using var pace = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (locked.Elapsed < TimeSpan.FromSeconds(30) && await pace.WaitForNextTickAsync())
        {
            var status = StatusJson(id);
            var agents = status.GetProperty("agents");
            seen.Add((status.GetProperty("state").GetString()!, agents[0].GetProperty("state").GetString()!, agents[1].GetProperty("state").GetString()!));
            if (!File.Exists(go)) File.WriteAllText(go, "");
        }
        Assert.Equal("running", Scalar(holder, "SELECT state FROM clusters WHERE id = $id", id));
        Assert.Equal("running", Scalar(holder, "SELECT state FROM clusters WHERE id = $id", longId));
        using (var commit = holder.CreateCommand())
        {
            commit.CommandText = "COMMIT;";
            commit.ExecuteNonQuery();
        }

        // The state machine went on during the lock: the worker ended, the validator ran after it, the cluster completed;
        // nothing was killed or failed.
        Assert.Contains(seen, s => s.Worker == "running");
        Assert.Contains(seen, s => s.Worker == "completed" && s.Check == "running");
        Assert.Contains(seen, s => s.Cluster == "completed" && s.Worker == "completed" && s.Check == "completed");
        Assert.DoesNotContain(seen, s => s.Cluster is "failed" or "stopped" or "crashed" || s.Worker is "failed" or "stopped" || s.Check is "failed" or "stopped");

        // Once released, every row lands: the final states of both clusters, no agent left running.
        using var db = Open();
        Wait.Until(() => Scalar(db, "SELECT state FROM clusters WHERE id = $id", id) as string == "completed"
            && Scalar(db, "SELECT state FROM clusters WHERE id = $id", longId) as string == "stopped", "the final states in the database", 60_000);
        Assert.Equal(0L, Scalar(db, "SELECT exit_code FROM clusters WHERE id = $id", id));
        Assert.Equal(2L, Scalar(db, "SELECT count(*) FROM agents WHERE cluster_id = $id AND state = 'completed' AND exit_code = 0", id));
        Assert.Equal("stopped", Scalar(db, "SELECT state FROM agents WHERE cluster_id = $id", longId));
        Assert.Equal(0L, Scalar(db, "SELECT count(*) FROM agents WHERE state = 'running' AND cluster_id <> 'gone-cluster-1' AND $id = $id", id));
        Assert.Equal(2L, Scalar(db, "SELECT count(*) FROM agents WHERE cluster_id = $id AND pid > 0", id));
        Assert.Equal(0L, Scalar(db, "SELECT count(*) FROM events WHERE cluster_id = $id AND kind = 'error'", id));
    }

    [Fact]
    public void Run_waits_for_a_database_locked_when_it_starts_and_then_runs()
    {
        // The database exists (an earlier run) and another process holds its write lock past the busy timeout.
        var file = Path.Combine(_home, "cluster.json");
        File.WriteAllText(file, """
            { "name": "late", "maxIterations": 1, "agents": [ { "id": "worker", "role": "worker", "command": ["bash", "-c", "echo done"] } ] }
            """);
        Assert.Equal(0, Z("run", file, "--no-metrics").ExitCode);
        using var holder = Open();
        using (var begin = holder.CreateCommand())
        {
            begin.CommandText = "BEGIN IMMEDIATE; UPDATE clusters SET name = name;";
            begin.ExecuteNonQuery();
        }
        using var run = ZeroshotProcess.Start(_home, "run", file, "--detach");
        // It says it waits (after one busy timeout) instead of failing, and has not exited.
        Wait.Until(() => run.ErrorSoFar.Contains("is locked by another process; waiting", StringComparison.Ordinal) || run.Process.HasExited,
            "run to say it waits for the lock");
        Assert.False(run.Process.HasExited, run.ErrorSoFar);
        using (var commit = holder.CreateCommand())
        {
            commit.CommandText = "COMMIT;";
            commit.ExecuteNonQuery();
        }
        var r = run.Wait(TimeSpan.FromSeconds(60));
        Assert.True(r.ExitCode == 0, r.Error);
        string id = r.Out.Trim();
        Wait.Until(() => StatusJson(id).GetProperty("state").GetString() == "completed", "the cluster to complete");
        Assert.Contains(Path.Combine(_home, "state.db"), r.Error);
    }

    [Fact]
    public void A_database_whose_readers_are_locked_out_gives_a_one_line_answer_naming_it()
    {
        Assert.Equal(0, Z("list").ExitCode); // creates the database
        using var holder = Open();
        using (var exclusive = holder.CreateCommand())
        {
            // Exclusive locking mode keeps every other connection out, readers included (https://sqlite.org/pragma.html#pragma_locking_mode).
            exclusive.CommandText = "PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; UPDATE clusters SET name = name; COMMIT;";
            exclusive.ExecuteNonQuery();
        }
        var list = Z("list");
        Assert.Equal(1, list.ExitCode);
        Assert.Equal($"zeroshot: the state database {Db} is locked by another process", list.Error.Split(" (waited")[0]);
        Assert.DoesNotContain("internal error", list.Error);
        Assert.Single(list.Error.Trim().Split('\n'));
    }

    [Fact]
    public void Status_of_a_live_cluster_answers_from_its_supervisor_without_the_database()
    {
        var file = Path.Combine(_home, "sleeper.json");
        File.WriteAllText(file, """
            { "name": "sleeper", "maxIterations": 1, "agents": [ { "id": "sleeper", "role": "worker", "command": ["sleep", "600"] } ] }
            """);
        var run = Z("run", file, "--detach");
        Assert.True(run.ExitCode == 0, run.Error);
        string id = run.Out.Trim();
        Wait.Until(() => StatusJson(id).GetProperty("agents")[0].GetProperty("state").GetString() == "running", "the sleeper to run");
        // Asked with a home whose database cannot be read at all (damaged): the answer comes from the supervisor.
        var elsewhere = Path.Combine(_home, "elsewhere");
        Directory.CreateDirectory(elsewhere);
        File.WriteAllText(Path.Combine(elsewhere, "state.db"), new string('x', 8192));
        var status = ZeroshotProcess.RunIn(elsewhere, "status", id);
        Assert.True(status.ExitCode == 0, status.Error);
        Assert.Matches($@"(?m)^{id}  cluster ""sleeper""  running", status.Out);
        Assert.Contains("  (recent events not shown: the state database ", status.Out);
        var json = ZeroshotProcess.RunIn(elsewhere, "status", id, "--json");
        Assert.True(json.ExitCode == 0, json.Error);
        Assert.Equal("running", JsonDocument.Parse(json.Out).RootElement.GetProperty("agents")[0].GetProperty("state").GetString());
        var stop = Z("stop", id);
        Assert.True(stop.ExitCode == 0, stop.Error);
    }

    private JsonElement StatusJson(string id)
    {
        var r = Z("status", id, "--json");
        Assert.True(r.ExitCode == 0, r.Error);
        return JsonDocument.Parse(r.Out).RootElement.Clone();
    }
}
