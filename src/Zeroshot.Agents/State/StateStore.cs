using Microsoft.Data.Sqlite;

namespace Zeroshot.Agents.State;

/// <summary>
/// The SQLite database of clusters and agents (<see cref="ZeroshotHome.DatabasePath"/>). The supervisor writes,
/// <c>list</c>/<c>status</c>/<c>logs</c>/<c>stop</c>/<c>kill</c> read; both at once.
/// </summary>
/// <remarks>
/// Why it is safe: WAL journal mode (https://sqlite.org/wal.html) lets readers run while one writer writes, and
/// a commit is atomic — a process killed mid-transaction leaves uncommitted WAL frames that recovery ignores, so
/// the database never ends up half-written. synchronous=NORMAL in WAL mode is durable across application crashes
/// (only a power loss can drop the latest commits; https://sqlite.org/pragma.html#pragma_synchronous).
/// busy_timeout makes a writer that meets another writer wait instead of failing. Writes are short
/// <c>BEGIN IMMEDIATE</c> transactions (take the write lock up front: no deadlocking lock upgrades).
/// Times are unix milliseconds (UTC) in INTEGER columns. The schema is versioned with PRAGMA user_version.
/// One instance holds one connection and serialises its callers with a lock, so it is thread-safe.
/// </remarks>
internal sealed partial class StateStore : IDisposable
{
    /// <summary>The schema this code reads and writes (PRAGMA user_version).</summary>
    public const int SchemaVersion = 6;

    /// <summary>How long a statement waits for another process's write lock before failing.</summary>
    public const int BusyTimeoutMilliseconds = 10_000;

    /// <summary><see cref="TouchLastOutput"/> writes at most this often per agent; "last output" needs no finer grain.</summary>
    public static readonly TimeSpan LastOutputResolution = TimeSpan.FromSeconds(1);

    /// <summary>A running cluster that never recorded a supervisor pid is considered crashed after this long.</summary>
    public static readonly TimeSpan UnclaimedGrace = TimeSpan.FromMinutes(2);

    private const string Schema = """
        CREATE TABLE clusters (
            id                    TEXT    PRIMARY KEY,
            kind                  TEXT    NOT NULL CHECK (kind IN ('cluster', 'task')),
            name                  TEXT    NOT NULL,
            state                 TEXT    NOT NULL CHECK (state IN ('running', 'completed', 'failed', 'stopped', 'crashed')),
            iteration             INTEGER NOT NULL DEFAULT 0,
            max_iterations        INTEGER NOT NULL,
            started_at            INTEGER NOT NULL,
            ended_at              INTEGER,
            supervisor_pid        INTEGER,
            supervisor_start_time INTEGER,
            socket_path           TEXT,
            config_json           TEXT    NOT NULL,
            exit_code             INTEGER
        ) STRICT;
        CREATE INDEX clusters_by_start ON clusters (started_at);
        CREATE TABLE agents (
            cluster_id     TEXT    NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
            agent_id       TEXT    NOT NULL,
            ordinal        INTEGER NOT NULL,
            role           TEXT    NOT NULL CHECK (role IN ('worker', 'validator')),
            provider       TEXT    NOT NULL,
            model          TEXT,
            state          TEXT    NOT NULL CHECK (state IN ('waiting', 'running', 'completed', 'failed', 'stopped')),
            pid            INTEGER,
            pid_start_time INTEGER,
            iteration      INTEGER NOT NULL DEFAULT 0,
            exit_code      INTEGER,
            started_at     INTEGER,
            ended_at       INTEGER,
            last_output_at INTEGER,
            PRIMARY KEY (cluster_id, agent_id)
        ) STRICT;
        """;

    // Version 2: token and cost accounting per agent (sums over its runs; exact once every run printed its result).
    private const string UsageMigration = """
        ALTER TABLE agents ADD COLUMN tokens_input          INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE agents ADD COLUMN tokens_output         INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE agents ADD COLUMN tokens_cache_read     INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE agents ADD COLUMN tokens_cache_creation INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE agents ADD COLUMN cost_usd              TEXT    NOT NULL DEFAULT '0';
        ALTER TABLE agents ADD COLUMN cost_estimated        INTEGER NOT NULL DEFAULT 0;
        """;

    // Version 3: what the agent's CLI said of itself (its model), a validator's verdict, the last error.
    private const string VerdictMigration = """
        ALTER TABLE agents ADD COLUMN seen_model   TEXT;
        ALTER TABLE agents ADD COLUMN verdict_json TEXT;
        ALTER TABLE agents ADD COLUMN last_error   TEXT;
        """;

    // Version 4: what happened, in order (iterations, agents started and exited, verdicts, the end): the run's history.
    private const string EventsMigration = """
        CREATE TABLE IF NOT EXISTS events (
            seq         INTEGER PRIMARY KEY,
            time        INTEGER NOT NULL,
            cluster_id  TEXT    NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
            agent_id    TEXT,
            kind        TEXT    NOT NULL,
            fields_json TEXT    NOT NULL
        ) STRICT;
        CREATE INDEX IF NOT EXISTS events_by_cluster ON events (cluster_id, seq);
        """;

    // Version 6: what each running agent is doing, written by its supervisor when it changes (AgentLive), so that
    // `list` reads it here instead of asking every supervisor. live_at NULL: not written for this run.
    private const string LiveMigration = """
        ALTER TABLE agents ADD COLUMN live_at           INTEGER;
        ALTER TABLE agents ADD COLUMN live_activity     TEXT;
        ALTER TABLE agents ADD COLUMN live_detail       TEXT;
        ALTER TABLE agents ADD COLUMN live_health       TEXT;
        ALTER TABLE agents ADD COLUMN live_health_since INTEGER;
        """;

    private const string UsageColumns = "tokens_input, tokens_output, tokens_cache_read, tokens_cache_creation, cost_usd, cost_estimated, seen_model, verdict_json, last_error, " +
        "live_at, live_activity, live_detail, live_health, live_health_since";

    private const string ClusterColumns =
        "id, kind, name, state, iteration, max_iterations, started_at, ended_at, supervisor_pid, supervisor_start_time, socket_path, config_json, exit_code";

    private const string AgentColumns =
        "agent_id, role, provider, model, state, pid, pid_start_time, iteration, exit_code, started_at, ended_at, last_output_at";

    private readonly Lock _gate = new();
    private readonly SqliteConnection _connection;
    private readonly TimeProvider _time;
    private readonly int _busyMilliseconds;
    private readonly Dictionary<(string Cluster, string Agent), long> _lastOutputWritten = [];
    private SqliteCommand? _touchCommand;

    private StateStore(SqliteConnection connection, string path, TimeProvider time, int busyMilliseconds)
    {
        _busyMilliseconds = busyMilliseconds;
        _connection = connection;
        Path = path;
        _time = time;
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>A zero-byte database file older than this was truncated, not being created by another process.</summary>
    public static readonly TimeSpan EmptiedAfter = TimeSpan.FromSeconds(2);

    /// <summary>Creates the home (0700) if needed and opens its <see cref="ZeroshotHome.DatabasePath"/>.</summary>
    public static StateStore Open(ZeroshotHome home, TimeProvider? time = null) => Open(home, time, replaceDamaged: false, notice: null);

    /// <summary>
    /// Creates the home (0700) if needed and opens its database. A file emptied by a truncation (zero bytes, no WAL,
    /// older than <see cref="EmptiedAfter"/>: SQLite would silently treat it as a new, empty database) is kept beside
    /// the new one as <c>state.db.truncated-&lt;time&gt;</c>. With <paramref name="replaceDamaged"/> (what <c>run</c>
    /// does), a damaged file (<c>PRAGMA quick_check</c> fails, or SQLite calls it corrupt) is moved aside as
    /// <c>state.db.corrupt-&lt;time&gt;</c> and a fresh one started; without it, a damaged file is a
    /// <see cref="UserErrorException"/> that says how to move it aside. Each move is told to <paramref name="notice"/>.
    /// </summary>
    public static StateStore Open(ZeroshotHome home, TimeProvider? time, bool replaceDamaged, Action<string>? notice)
    {
        ArgumentNullException.ThrowIfNull(home);
        var path = home.EnsureCreated().DatabasePath;
        var now = (time ?? TimeProvider.System).GetUtcNow();
        if (WasEmptied(path, now))
        {
            var kept = MoveAside(path, "truncated", now);
            notice?.Invoke($"the state database {path} was empty (truncated?): kept it as {kept} and started a fresh one; " +
                "the clusters it recorded are gone unless you restore it from a backup");
        }
        if (!replaceDamaged)
            return Open(path, time);
        string? damage;
        try
        {
            var store = Open(path, time);
            damage = store.QuickCheck();
            if (damage is null) return store;
            store.Dispose();
        }
        catch (UserErrorException e) when (e.InnerException is SqliteException s && StoreErrors.IsDamaged(s))
        {
            damage = s.Message;
        }
        catch (SqliteException e) when (StoreErrors.IsDamaged(e))
        {
            damage = e.Message;
        }
        var moved = MoveAside(path, "corrupt", now);
        notice?.Invoke($"the state database {path} was damaged ({damage}): moved it to {moved} and started a fresh one; " +
            "the clusters it recorded are no longer listed");
        return Open(path, time);
    }

    /// <summary>Zero bytes and no write-ahead log to recover from, and not just created (see <see cref="EmptiedAfter"/>).</summary>
    private static bool WasEmptied(string path, DateTimeOffset now)
    {
        var file = new FileInfo(path);
        var wal = new FileInfo(path + "-wal");
        return file.Exists && file.Length == 0 && !(wal.Exists && wal.Length > 0) && now - file.LastWriteTimeUtc > EmptiedAfter;
    }

    /// <summary>
    /// Renames the database and its -wal and -shm files to <c>&lt;path&gt;.&lt;what&gt;-&lt;UTC time&gt;</c> (SQLite's own
    /// naming, so the moved file still opens with its log); returns the new name of the database.
    /// </summary>
    private static string MoveAside(string path, string what, DateTimeOffset now)
    {
        var moved = $"{path}.{what}-{now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture)}";
        try
        {
            foreach (var suffix in new[] { "-wal", "-shm", "" })
                if (File.Exists(path + suffix))
                    File.Move(path + suffix, moved + suffix);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserErrorException($"the state database {path} is damaged and could not be moved aside ({e.Message}); move it yourself: mv {path} {moved}");
        }
        return moved;
    }

    /// <summary>
    /// Opens (creating if needed) the database at <paramref name="databasePath"/>; its directory must exist
    /// (<see cref="ZeroshotHome.EnsureCreated"/>). An unreadable or foreign file → <see cref="UserErrorException"/>.
    /// </summary>
    public static StateStore Open(string databasePath, TimeProvider? time = null) => Open(databasePath, time, null);

    /// <summary>
    /// As <see cref="Open(string, TimeProvider?)"/> with another busy timeout (how long a statement waits for another
    /// process's write lock before failing with SQLITE_BUSY; default <see cref="BusyTimeoutMilliseconds"/>).
    /// </summary>
    public static StateStore Open(string databasePath, TimeProvider? time, TimeSpan? busyTimeout)
    {
        ArgumentException.ThrowIfNullOrEmpty(databasePath);
        int busyMs = busyTimeout is { } b ? (int)Math.Max(0, b.TotalMilliseconds) : BusyTimeoutMilliseconds;
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            // No pooling: Dispose really closes the file (tests delete temp dirs; short-lived CLI commands gain nothing).
            Pooling = false,
            DefaultTimeout = Math.Max(1, busyMs / 1000),
        };
        // SQLite creates the -wal and -shm files with the database file's mode (os_unix.c, findCreateFileMode): a
        // database created 0600 before SQLite opens it keeps all three private; older ones are tightened here.
        try
        {
            PrivateFiles.EnsureFile(databasePath);
            PrivateFiles.TightenIfExists(databasePath + "-wal");
            PrivateFiles.TightenIfExists(databasePath + "-shm");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserErrorException(StoreErrors.CannotCreate(e, databasePath), ExitCodes.Failure);
        }
        var connection = new SqliteConnection(builder.ToString());
        try
        {
            connection.Open();
            Execute(connection, $"PRAGMA busy_timeout = {busyMs};");
            var mode = Scalar(connection, "PRAGMA journal_mode = WAL;") as string;
            if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
                throw new UserErrorException($"cannot use the state database {databasePath}: its file system does not support WAL mode", ExitCodes.Failure);
            Execute(connection, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;");
            EnsureSchema(connection, databasePath);
            return new StateStore(connection, databasePath, time ?? TimeProvider.System, busyMs);
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw StoreErrors.Describe(e, databasePath);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private static void EnsureSchema(SqliteConnection connection, string databasePath)
    {
        var version = Convert.ToInt32(Scalar(connection, "PRAGMA user_version;"), System.Globalization.CultureInfo.InvariantCulture);
        if (version == SchemaVersion)
            return;
        // Two processes may open a fresh file at once: re-check under the write lock.
        using var transaction = connection.BeginTransaction();
        version = Convert.ToInt32(Scalar(connection, "PRAGMA user_version;", transaction), System.Globalization.CultureInfo.InvariantCulture);
        if (version == 0)
        {
            Execute(connection, Schema, transaction);
            Execute(connection, UsageMigration, transaction);
            Execute(connection, VerdictMigration, transaction);
            Execute(connection, EventsMigration, transaction);
            Execute(connection, SamplesMigration, transaction);
            Execute(connection, LiveMigration, transaction);
            Execute(connection, $"PRAGMA user_version = {SchemaVersion};", transaction);
        }
        else if (version is >= 1 and < SchemaVersion)
        {
            if (version == 1)
                Execute(connection, UsageMigration, transaction);
            if (version <= 2)
                Execute(connection, VerdictMigration, transaction);
            Execute(connection, EventsMigration, transaction);
            Execute(connection, SamplesMigration, transaction);
            Execute(connection, LiveMigration, transaction);
            Execute(connection, $"PRAGMA user_version = {SchemaVersion};", transaction);
        }
        else if (version > SchemaVersion)
        {
            throw new UserErrorException(
                $"the state database {databasePath} has schema version {version}, newer than this zeroshot understands ({SchemaVersion}); upgrade zeroshot",
                ExitCodes.Failure);
        }
        // Future migrations: "else if (version == 1) { ALTER ...; user_version = 2 }" inside this same transaction.
        transaction.Commit();
    }

    /// <summary>Inserts a cluster and its agents; throws <see cref="InvalidOperationException"/> if the id exists.</summary>
    public void CreateCluster(ClusterRecord record)
    {
        if (!TryCreateCluster(record))
            throw new InvalidOperationException($"a cluster with id '{record.Id}' already exists");
    }

    /// <summary>Inserts a cluster and its agents in one transaction; false (and no change) if the id exists.</summary>
    public bool TryCreateCluster(ClusterRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        lock (_gate)
        {
            using var transaction = _connection.BeginTransaction();
            if (Scalar(_connection, "SELECT 1 FROM clusters WHERE id = $id", transaction, ("$id", record.Id)) is not null)
                return false;
            Execute(_connection, $"""
                INSERT INTO clusters ({ClusterColumns})
                VALUES ($id, $kind, $name, $state, $iteration, $max, $started, $ended, $spid, $sstart, $socket, $config, $exit)
                """, transaction,
                ("$id", record.Id), ("$kind", StateNames.Text(record.Kind)), ("$name", record.Name),
                ("$state", StateNames.Text(record.State)), ("$iteration", record.Iteration), ("$max", record.MaxIterations),
                ("$started", Ms(record.StartedAt)), ("$ended", Ms(record.EndedAt)), ("$spid", record.SupervisorPid),
                ("$sstart", record.SupervisorStartTime), ("$socket", record.SocketPath), ("$config", record.ConfigJson),
                ("$exit", record.ExitCode));
            for (var i = 0; i < record.Agents.Count; i++)
            {
                var a = record.Agents[i];
                Execute(_connection, $"""
                    INSERT INTO agents (cluster_id, ordinal, {AgentColumns})
                    VALUES ($cluster, $ordinal, $agent, $role, $provider, $model, $state, $pid, $pstart, $iteration, $exit, $started, $ended, $output)
                    """, transaction,
                    ("$cluster", record.Id), ("$ordinal", i), ("$agent", a.AgentId), ("$role", StateNames.Text(a.Role)),
                    ("$provider", a.Provider), ("$model", a.Model), ("$state", StateNames.Text(a.State)), ("$pid", a.Pid),
                    ("$pstart", a.PidStartTime), ("$iteration", a.Iteration), ("$exit", a.ExitCode), ("$started", Ms(a.StartedAt)),
                    ("$ended", Ms(a.EndedAt)), ("$output", Ms(a.LastOutputAt)));
            }
            transaction.Commit();
            return true;
        }
    }

    /// <summary>Whether a cluster or task with exactly this id exists.</summary>
    public bool Exists(string id)
    {
        lock (_gate)
            return Scalar(_connection, "SELECT 1 FROM clusters WHERE id = $id", null, ("$id", id)) is not null;
    }

    /// <summary>Records the supervisor that owns the cluster (pid, /proc start time, control socket).</summary>
    public bool SetSupervisor(string clusterId, int pid, long startTime, string? socketPath) =>
        Write("UPDATE clusters SET supervisor_pid = $pid, supervisor_start_time = $start, socket_path = $socket WHERE id = $id",
            ("$id", clusterId), ("$pid", pid), ("$start", startTime), ("$socket", socketPath)) == 1;

    /// <summary>
    /// Sets the cluster state. A final state stamps <c>ended_at</c> (<paramref name="at"/> or now) and
    /// <paramref name="exitCode"/>; <see cref="ClusterState.Running"/> clears both. False if no such cluster.
    /// </summary>
    public bool UpdateClusterState(string clusterId, ClusterState state, int? exitCode = null, DateTimeOffset? at = null)
    {
        var running = state == ClusterState.Running;
        return Write("UPDATE clusters SET state = $state, exit_code = $exit, ended_at = $ended WHERE id = $id",
            ("$id", clusterId), ("$state", StateNames.Text(state)), ("$exit", running ? null : exitCode),
            ("$ended", running ? null : Ms(at ?? _time.GetUtcNow()))) == 1;
    }

    /// <summary>
    /// Starts iteration <paramref name="iteration"/>: sets the cluster's counter and, when
    /// <paramref name="resetAgents"/>, puts every agent that is not running back to waiting — one transaction.
    /// </summary>
    public bool SetClusterIteration(string clusterId, int iteration, bool resetAgents = true)
    {
        lock (_gate)
        {
            using var transaction = _connection.BeginTransaction();
            var changed = Execute(_connection, "UPDATE clusters SET iteration = $iteration WHERE id = $id", transaction,
                ("$id", clusterId), ("$iteration", iteration));
            if (resetAgents)
                Execute(_connection, "UPDATE agents SET state = 'waiting' WHERE cluster_id = $id AND state <> 'running'", transaction,
                    ("$id", clusterId));
            transaction.Commit();
            return changed == 1;
        }
    }

    /// <summary>
    /// The agent process started: state running, its pid and /proc start time, the iteration, <c>started_at</c>;
    /// clears the previous iteration's exit code, end and last-output times.
    /// </summary>
    public bool MarkAgentStarted(string clusterId, string agentId, int iteration, int pid, long pidStartTime, DateTimeOffset? at = null)
    {
        lock (_gate)
            _lastOutputWritten.Remove((clusterId, agentId));
        return Write("""
            UPDATE agents SET state = 'running', pid = $pid, pid_start_time = $pstart, iteration = $iteration,
                started_at = $at, exit_code = NULL, ended_at = NULL, last_output_at = NULL, live_at = NULL
            WHERE cluster_id = $cluster AND agent_id = $agent
            """, ("$cluster", clusterId), ("$agent", agentId), ("$pid", pid), ("$pstart", pidStartTime),
            ("$iteration", iteration), ("$at", Ms(at ?? _time.GetUtcNow()))) == 1;
    }

    /// <summary>The agent process ended (or was never started): its final state, exit code and <c>ended_at</c>. The pid stays for history.</summary>
    public bool MarkAgentEnded(string clusterId, string agentId, AgentState state, int? exitCode, DateTimeOffset? at = null) =>
        Write("UPDATE agents SET state = $state, exit_code = $exit, ended_at = $at WHERE cluster_id = $cluster AND agent_id = $agent",
            ("$cluster", clusterId), ("$agent", agentId), ("$state", StateNames.Text(state)), ("$exit", exitCode),
            ("$at", Ms(at ?? _time.GetUtcNow()))) == 1;

    /// <summary>Records an agent's token and cost totals (over all its runs so far).</summary>
    public bool SetAgentUsage(string clusterId, string agentId, Output.UsageTotals usage) =>
        Write("""
            UPDATE agents SET tokens_input = $in, tokens_output = $out, tokens_cache_read = $cr, tokens_cache_creation = $cc,
                cost_usd = $cost, cost_estimated = $est
            WHERE cluster_id = $cluster AND agent_id = $agent
            """,
            ("$cluster", clusterId), ("$agent", agentId), ("$in", usage.Tokens.Input), ("$out", usage.Tokens.Output),
            ("$cr", usage.Tokens.CacheRead), ("$cc", usage.Tokens.CacheCreation),
            ("$cost", usage.CostUsd.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("$est", usage.CostEstimated ? 1 : 0)) == 1;

    /// <summary>Records what the running agent is doing (<see cref="AgentLive"/>) as of <paramref name="at"/>.</summary>
    public bool SetAgentLive(string clusterId, string agentId, AgentLive live, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(live);
        return Write("""
            UPDATE agents SET live_at = $at, live_activity = $activity, live_detail = $detail, live_health = $health, live_health_since = $since
            WHERE cluster_id = $cluster AND agent_id = $agent
            """,
            ("$cluster", clusterId), ("$agent", agentId), ("$at", Ms(at)),
            ("$activity", live.Activity is { } activity ? Output.AgentActivityNames.ToJsonName(activity) : null), ("$detail", live.Detail),
            ("$health", live.Health is { } health ? Health.HealthVerdictNames.ToJsonName(health) : null), ("$since", Ms(live.HealthSince))) == 1;
    }

    /// <summary>Records the model the agent's CLI named (null leaves it unknown).</summary>
    public bool SetAgentModel(string clusterId, string agentId, string? model) =>
        Write("UPDATE agents SET seen_model = $model WHERE cluster_id = $cluster AND agent_id = $agent",
            ("$cluster", clusterId), ("$agent", agentId), ("$model", model)) == 1;

    /// <summary>Records a validator's verdict on <paramref name="iteration"/> (null clears it) and the agent's last error.</summary>
    public bool SetAgentOutcome(string clusterId, string agentId, Output.Verdict? verdict, int iteration, string? lastError) =>
        Write("UPDATE agents SET verdict_json = $verdict, last_error = $error WHERE cluster_id = $cluster AND agent_id = $agent",
            ("$cluster", clusterId), ("$agent", agentId), ("$verdict", verdict is null ? null : VerdictJson.Serialize(verdict, iteration)),
            ("$error", lastError)) == 1;

    /// <summary>Sets only the agent's state (e.g. back to waiting).</summary>
    public bool SetAgentState(string clusterId, string agentId, AgentState state) =>
        Write("UPDATE agents SET state = $state WHERE cluster_id = $cluster AND agent_id = $agent",
            ("$cluster", clusterId), ("$agent", agentId), ("$state", StateNames.Text(state))) == 1;

    /// <summary>
    /// Records that the agent printed something. Cheap enough for every PTY read: at most one write per agent per
    /// <see cref="LastOutputResolution"/>, a prepared single-row UPDATE otherwise skipped in memory.
    /// </summary>
    public void TouchLastOutput(string clusterId, string agentId, DateTimeOffset? at = null)
    {
        var now = Ms(at ?? _time.GetUtcNow())!.Value;
        lock (_gate)
        {
            var key = (clusterId, agentId);
            if (_lastOutputWritten.TryGetValue(key, out var last) && now - last < (long)LastOutputResolution.TotalMilliseconds && now >= last)
                return;
            _lastOutputWritten[key] = now;
            if (_touchCommand is null)
            {
                _touchCommand = _connection.CreateCommand();
                _touchCommand.CommandText = "UPDATE agents SET last_output_at = $at WHERE cluster_id = $cluster AND agent_id = $agent";
                _touchCommand.Parameters.Add("$at", SqliteType.Integer);
                _touchCommand.Parameters.Add("$cluster", SqliteType.Text);
                _touchCommand.Parameters.Add("$agent", SqliteType.Text);
                _touchCommand.Prepare();
            }
            _touchCommand.Parameters[0].Value = now;
            _touchCommand.Parameters[1].Value = clusterId;
            _touchCommand.Parameters[2].Value = agentId;
            _touchCommand.ExecuteNonQuery();
        }
    }

    /// <summary>Appends events (in the given order) in one transaction.</summary>
    public void AppendEvents(IReadOnlyList<StoredEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
            return;
        lock (_gate)
        {
            using var transaction = _connection.BeginTransaction();
            foreach (var e in events)
                Execute(_connection, """
                    INSERT INTO events (time, cluster_id, agent_id, kind, fields_json) VALUES ($time, $cluster, $agent, $kind, $fields)
                    """, transaction, ("$time", Ms(e.Time)), ("$cluster", e.ClusterId), ("$agent", e.AgentId), ("$kind", e.Kind),
                    ("$fields", e.FieldsJson));
            transaction.Commit();
        }
    }

    /// <summary>The cluster's events in the order they were recorded; with <paramref name="last"/>, only the last that many.</summary>
    public IReadOnlyList<StoredEvent> ReadEvents(string clusterId, int? last = null)
    {
        var events = new List<StoredEvent>();
        lock (_gate)
        {
            using var command = Command(_connection, """
                SELECT time, agent_id, kind, fields_json FROM
                    (SELECT seq, time, agent_id, kind, fields_json FROM events WHERE cluster_id = $id ORDER BY seq DESC LIMIT $limit)
                ORDER BY seq
                """, null, ("$id", clusterId), ("$limit", last ?? -1));
            using var reader = command.ExecuteReader();
            while (reader.Read())
                events.Add(new StoredEvent(DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(0)), clusterId,
                    reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetString(2), reader.GetString(3)));
        }
        return events;
    }

    /// <summary>The cluster with exactly this id, with its agents; null if there is none.</summary>
    public ClusterRecord? GetCluster(string id)
    {
        lock (_gate)
        {
            // One read transaction: cluster and agents come from the same snapshot.
            using var transaction = _connection.BeginTransaction(deferred: true);
            using var command = Command(_connection, $"SELECT {ClusterColumns} FROM clusters WHERE id = $id", transaction, ("$id", id));
            using var reader = command.ExecuteReader();
            if (!reader.Read())
                return null;
            var cluster = ReadCluster(reader, ReadAgents(id, transaction));
            transaction.Commit();
            return cluster;
        }
    }

    /// <summary>All clusters and tasks, newest first, each with its agents.</summary>
    public IReadOnlyList<ClusterRecord> ListClusters()
    {
        lock (_gate)
        {
            using var transaction = _connection.BeginTransaction(deferred: true);
            var agentsByCluster = new Dictionary<string, List<AgentRecord>>(StringComparer.Ordinal);
            using (var command = Command(_connection, $"SELECT cluster_id, {AgentColumns}, {UsageColumns} FROM agents ORDER BY cluster_id, ordinal", transaction))
            using (var reader = command.ExecuteReader())
                while (reader.Read())
                {
                    var clusterId = reader.GetString(0);
                    if (!agentsByCluster.TryGetValue(clusterId, out var list))
                        agentsByCluster[clusterId] = list = [];
                    list.Add(ReadAgent(reader, 1));
                }
            var clusters = new List<ClusterRecord>();
            using (var command = Command(_connection, $"SELECT {ClusterColumns} FROM clusters ORDER BY started_at DESC, id", transaction))
            using (var reader = command.ExecuteReader())
                while (reader.Read())
                    clusters.Add(ReadCluster(reader, agentsByCluster.GetValueOrDefault(reader.GetString(0)) ?? []));
            transaction.Commit();
            return clusters;
        }
    }

    /// <summary>
    /// Turns what the user typed into a cluster id: an exact id wins, else a unique prefix. None →
    /// "no such cluster or task: X"; several → a message listing them. Both <see cref="UserErrorException"/>, exit 1.
    /// </summary>
    public string ResolveId(string idOrPrefix)
    {
        ArgumentNullException.ThrowIfNull(idOrPrefix);
        if (idOrPrefix.Length == 0)
            throw new UserErrorException("no such cluster or task: '' (give an id or a unique prefix of one)", ExitCodes.Failure);
        const int shown = 10;
        var matches = new List<string>();
        lock (_gate)
        {
            if (Scalar(_connection, "SELECT id FROM clusters WHERE id = $id", null, ("$id", idOrPrefix)) is string exact)
                return exact;
            // substr() rather than LIKE: ids may contain '_', a LIKE wildcard.
            using var command = Command(_connection,
                "SELECT id FROM clusters WHERE substr(id, 1, length($prefix)) = $prefix ORDER BY id LIMIT $limit", null,
                ("$prefix", idOrPrefix), ("$limit", shown + 1));
            using var reader = command.ExecuteReader();
            while (reader.Read())
                matches.Add(reader.GetString(0));
        }
        return matches.Count switch
        {
            0 => throw new UserErrorException($"no such cluster or task: {idOrPrefix}", ExitCodes.Failure),
            1 => matches[0],
            _ => throw new UserErrorException(
                $"'{idOrPrefix}' is ambiguous; it matches {string.Join(", ", matches.Take(shown))}{(matches.Count > shown ? ", …" : "")}; type more of the id",
                ExitCodes.Failure),
        };
    }

    /// <summary>Deletes a cluster and its agents; false if there was none. Log files are the caller's.</summary>
    public bool DeleteCluster(string id)
    {
        lock (_gate)
        {
            using var transaction = _connection.BeginTransaction();
            Execute(_connection, "DELETE FROM events WHERE cluster_id = $id", transaction, ("$id", id));
            Execute(_connection, "DELETE FROM agents WHERE cluster_id = $id", transaction, ("$id", id));
            var deleted = Execute(_connection, "DELETE FROM clusters WHERE id = $id", transaction, ("$id", id));
            transaction.Commit();
            _lastOutputWritten.Clear();
            return deleted == 1;
        }
    }

    /// <summary>
    /// Marks running clusters whose supervisor is gone as <see cref="ClusterState.Crashed"/> and returns their ids.
    /// <paramref name="isAlive"/>(pid, startTime) must say whether that exact process still runs (startTime 0 =
    /// unknown, check the pid alone). A cluster with no recorded supervisor counts as crashed once it is older
    /// than <see cref="UnclaimedGrace"/> (its starter died before handing over).
    /// Agents of a crashed cluster: running → <see cref="AgentState.Failed"/> (they did not finish and nobody
    /// asked them to stop; exit code unknown, so null), waiting → <see cref="AgentState.Stopped"/> (they never
    /// will run). <c>ended_at</c> is the time of detection.
    /// </summary>
    public IReadOnlyList<string> ReconcileCrashed(Func<int, long, bool> isAlive)
    {
        ArgumentNullException.ThrowIfNull(isAlive);
        var candidates = new List<(string Id, int? Pid, long? Start, long StartedAt)>();
        lock (_gate)
        {
            using var command = Command(_connection,
                "SELECT id, supervisor_pid, supervisor_start_time, started_at FROM clusters WHERE state = 'running'", null);
            using var reader = command.ExecuteReader();
            while (reader.Read())
                candidates.Add((reader.GetString(0), NullableInt(reader, 1), NullableLong(reader, 2), reader.GetInt64(3)));
        }
        var now = _time.GetUtcNow();
        // The liveness probe reads /proc; run it outside the lock and outside any transaction.
        var dead = candidates.Where(c => c.Pid is { } pid
                ? !isAlive(pid, c.Start ?? 0)
                : now - DateTimeOffset.FromUnixTimeMilliseconds(c.StartedAt) > UnclaimedGrace)
            .ToList();
        if (dead.Count == 0)
            return [];

        var crashed = new List<string>();
        lock (_gate)
        {
            // Best effort: a reader (list, status) must not wait on another process's write lock to record what it
            // found; the next one records it. A short wait for this write only: SQLite's busy timeout, and
            // Microsoft.Data.Sqlite's own retry loop, bounded by the command timeout (whole seconds).
            Execute(_connection, "PRAGMA busy_timeout = 250;");
            int commandTimeout = _connection.DefaultTimeout;
            _connection.DefaultTimeout = 1;
            try
            {
                ReconcileLocked(dead, now, crashed);
            }
            catch (SqliteException e) when (StoreErrors.IsBusy(e))
            {
                crashed.Clear();
            }
            finally
            {
                _connection.DefaultTimeout = commandTimeout;
                Execute(_connection, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"PRAGMA busy_timeout = {_busyMilliseconds};"));
            }
        }
        return crashed;
    }

    /// <summary>Marks <paramref name="dead"/> crashed in one transaction (the caller holds the gate); fills <paramref name="crashed"/>.</summary>
    private void ReconcileLocked(List<(string Id, int? Pid, long? Start, long StartedAt)> dead, DateTimeOffset now, List<string> crashed)
    {
        using var transaction = _connection.BeginTransaction();
        foreach (var c in dead)
        {
            // Re-check under the write lock: the cluster may have ended, or been claimed by a supervisor, meanwhile.
            var changed = Execute(_connection, """
                UPDATE clusters SET state = 'crashed', ended_at = $now
                WHERE id = $id AND state = 'running' AND supervisor_pid IS $pid AND supervisor_start_time IS $start
                """, transaction, ("$id", c.Id), ("$now", Ms(now)), ("$pid", c.Pid), ("$start", c.Start));
            if (changed == 0)
                continue;
            Execute(_connection, """
                UPDATE agents SET state = CASE state WHEN 'running' THEN 'failed' ELSE 'stopped' END, ended_at = $now
                WHERE cluster_id = $id AND state IN ('running', 'waiting')
                """, transaction, ("$id", c.Id), ("$now", Ms(now)));
            crashed.Add(c.Id);
        }
        transaction.Commit();
    }

    /// <summary>
    /// Runs <c>PRAGMA quick_check</c> (https://sqlite.org/pragma.html#pragma_quick_check: every page read, O(N), no
    /// index cross-check): null when the file is sound, else the first problem found.
    /// </summary>
    public string? QuickCheck()
    {
        lock (_gate)
        {
            var result = Scalar(_connection, "PRAGMA quick_check(1);") as string;
            if (string.Equals(result, "ok", StringComparison.Ordinal)) return null;
            // "*** in database main ***\nTree 7 page 7: …": one line, without the banner.
            var lines = (result ?? "quick_check returned nothing").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return string.Join("; ", lines.Where(l => !l.StartsWith("***", StringComparison.Ordinal)));
        }
    }

    /// <summary>
    /// Runs <paramref name="write"/>, again while another process holds the database's write lock (each attempt waits
    /// the busy timeout), for at most <paramref name="limit"/>; <paramref name="onLocked"/> is called once, when the lock
    /// is first met. After the limit the SQLITE_BUSY error is thrown. For writes nothing can go on without.
    /// </summary>
    public T RetryWhileLocked<T>(Func<StateStore, T> write, TimeSpan limit, Action? onLocked = null)
    {
        ArgumentNullException.ThrowIfNull(write);
        var started = _time.GetTimestamp();
        bool told = false;
        while (true)
        {
            try
            {
                return write(this);
            }
            catch (SqliteException e) when (StoreErrors.IsBusy(e) && _time.GetElapsedTime(started) < limit)
            {
                if (!told) onLocked?.Invoke();
                told = true;
            }
        }
    }

    /// <summary>Runs <c>PRAGMA integrity_check</c>; "ok" when the file is sound.</summary>
    public string IntegrityCheck()
    {
        lock (_gate)
            return Scalar(_connection, "PRAGMA integrity_check;") as string ?? "";
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _touchCommand?.Dispose();
            _touchCommand = null;
            _sampleInsert?.Dispose();
            _sampleInsert = null;
            _connection.Dispose();
        }
    }

    private int Write(string sql, params (string Name, object? Value)[] parameters)
    {
        lock (_gate)
        {
            using var transaction = _connection.BeginTransaction();
            var changed = Execute(_connection, sql, transaction, parameters);
            transaction.Commit();
            return changed;
        }
    }

    private List<AgentRecord> ReadAgents(string clusterId, SqliteTransaction transaction)
    {
        var agents = new List<AgentRecord>();
        using var command = Command(_connection, $"SELECT {AgentColumns}, {UsageColumns} FROM agents WHERE cluster_id = $id ORDER BY ordinal", transaction, ("$id", clusterId));
        using var reader = command.ExecuteReader();
        while (reader.Read())
            agents.Add(ReadAgent(reader, 0));
        return agents;
    }

    private static ClusterRecord ReadCluster(SqliteDataReader r, IReadOnlyList<AgentRecord> agents) => new(
        r.GetString(0), StateNames.ParseKind(r.GetString(1)), r.GetString(2), StateNames.ParseClusterState(r.GetString(3)),
        r.GetInt32(4), r.GetInt32(5), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(6)), Time(r, 7), NullableInt(r, 8),
        NullableLong(r, 9), r.IsDBNull(10) ? null : r.GetString(10), r.GetString(11), NullableInt(r, 12), agents);

    private static AgentRecord ReadAgent(SqliteDataReader r, int o) => new(
        r.GetString(o), StateNames.ParseRole(r.GetString(o + 1)), r.GetString(o + 2), r.IsDBNull(o + 3) ? null : r.GetString(o + 3),
        StateNames.ParseAgentState(r.GetString(o + 4)), NullableInt(r, o + 5), NullableLong(r, o + 6), r.GetInt32(o + 7),
        NullableInt(r, o + 8), Time(r, o + 9), Time(r, o + 10), Time(r, o + 11),
        new Output.UsageTotals(new Output.TokenCounts(r.GetInt64(o + 12), r.GetInt64(o + 13), r.GetInt64(o + 14), r.GetInt64(o + 15)),
            decimal.Parse(r.GetString(o + 16), System.Globalization.CultureInfo.InvariantCulture), r.GetInt64(o + 17) != 0))
    {
        SeenModel = r.IsDBNull(o + 18) ? null : r.GetString(o + 18),
        Verdict = r.IsDBNull(o + 19) ? null : VerdictJson.Parse(r.GetString(o + 19)),
        LastError = r.IsDBNull(o + 20) ? null : r.GetString(o + 20),
        Live = r.IsDBNull(o + 21) ? null : new AgentLive(
            r.IsDBNull(o + 22) ? null : Output.AgentActivityNames.Parse(r.GetString(o + 22)) ?? throw new InvalidDataException($"unknown activity '{r.GetString(o + 22)}' in the state database"),
            r.IsDBNull(o + 23) ? null : r.GetString(o + 23),
            r.IsDBNull(o + 24) ? null : Health.HealthVerdictNames.Parse(r.GetString(o + 24)) ?? throw new InvalidDataException($"unknown health verdict '{r.GetString(o + 24)}' in the state database"),
            Time(r, o + 25)),
    };

    private static int? NullableInt(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetInt32(i);

    private static long? NullableLong(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetInt64(i);

    private static DateTimeOffset? Time(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(i));

    private static long? Ms(DateTimeOffset? time) => time?.ToUnixTimeMilliseconds();

    private static SqliteCommand Command(SqliteConnection connection, string sql, SqliteTransaction? transaction, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return command;
    }

    private static int Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(connection, sql, transaction, parameters);
        return command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, string sql, SqliteTransaction? transaction = null, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(connection, sql, transaction, parameters);
        var value = command.ExecuteScalar();
        return value is DBNull ? null : value;
    }
}
