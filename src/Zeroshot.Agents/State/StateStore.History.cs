using Microsoft.Data.Sqlite;

namespace Zeroshot.Agents.State;

/// <summary>One recorded sample of an agent: what the run report charts and <c>status --history</c> serves.</summary>
/// <param name="At">When.</param>
/// <param name="Iteration">The iteration it belonged to.</param>
/// <param name="State">Its state then.</param>
/// <param name="Activity">Its activity word while running (<c>tool:Bash</c>, <c>model</c>, <c>retrying 529 1/10</c>), else null.</param>
/// <param name="Health">Its health verdict word while running, else null.</param>
/// <param name="CpuPercent">CPU of its tree, percent of one core.</param>
/// <param name="MemoryMB">Resident memory of its tree.</param>
/// <param name="NetRxBytesPerSec">TCP bytes received per second.</param>
/// <param name="NetTxBytesPerSec">TCP bytes sent per second.</param>
/// <param name="DiskReadBytesPerSec">Storage bytes read per second.</param>
/// <param name="DiskWriteBytesPerSec">Storage bytes written per second.</param>
/// <param name="Tokens">Its tokens so far (every run).</param>
/// <param name="CostUsd">Its cost so far.</param>
internal readonly record struct HistoryPoint(
    DateTimeOffset At, int Iteration, AgentState State, string? Activity, string? Health,
    double? CpuPercent, double? MemoryMB, double? NetRxBytesPerSec, double? NetTxBytesPerSec,
    double? DiskReadBytesPerSec, double? DiskWriteBytesPerSec, long Tokens, double CostUsd);

/// <summary>The <c>samples</c> table: each agent's recorded points for the life of its cluster (schema version 5).</summary>
internal sealed partial class StateStore
{
    // Version 5: each agent's samples over the cluster's life (HistoryRecorder decides which, and thins old ones).
    private const string SamplesMigration = """
        CREATE TABLE IF NOT EXISTS samples (
            cluster_id TEXT    NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
            agent_id   TEXT    NOT NULL,
            time       INTEGER NOT NULL,
            iteration  INTEGER NOT NULL,
            state      TEXT    NOT NULL,
            activity   TEXT,
            health     TEXT,
            cpu        REAL,
            mem        REAL,
            rx         REAL,
            tx         REAL,
            rd         REAL,
            wr         REAL,
            tokens     INTEGER NOT NULL,
            cost       REAL    NOT NULL,
            PRIMARY KEY (cluster_id, agent_id, time)
        ) STRICT, WITHOUT ROWID;
        """;

    private SqliteCommand? _sampleInsert;

    /// <summary>Appends one tick's points (one per agent) in one transaction, with one prepared statement; a point at a
    /// time already recorded for its agent replaces it.</summary>
    public void AppendSamples(string clusterId, IReadOnlyList<(string AgentId, HistoryPoint Point)> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        if (points.Count == 0) return;
        lock (_gate)
        {
            using var transaction = _connection.BeginTransaction();
            var insert = _sampleInsert ??= PrepareSampleInsert();
            insert.Transaction = transaction;
            var p = insert.Parameters;
            p[0].Value = clusterId;
            foreach (var (agentId, point) in points)
            {
                p[1].Value = agentId;
                p[2].Value = point.At.ToUnixTimeMilliseconds();
                p[3].Value = point.Iteration;
                p[4].Value = StateNames.Text(point.State);
                p[5].Value = (object?)point.Activity ?? DBNull.Value;
                p[6].Value = (object?)point.Health ?? DBNull.Value;
                p[7].Value = Nullable(point.CpuPercent);
                p[8].Value = Nullable(point.MemoryMB);
                p[9].Value = Nullable(point.NetRxBytesPerSec);
                p[10].Value = Nullable(point.NetTxBytesPerSec);
                p[11].Value = Nullable(point.DiskReadBytesPerSec);
                p[12].Value = Nullable(point.DiskWriteBytesPerSec);
                p[13].Value = point.Tokens;
                p[14].Value = point.CostUsd;
                insert.ExecuteNonQuery();
            }
            transaction.Commit();
            insert.Transaction = null;
        }

        static object Nullable(double? value) => value is { } v && double.IsFinite(v) ? v : DBNull.Value;
    }

    private SqliteCommand PrepareSampleInsert()
    {
        var command = _connection.CreateCommand();
        command.CommandText = """
            INSERT OR REPLACE INTO samples (cluster_id, agent_id, time, iteration, state, activity, health, cpu, mem, rx, tx, rd, wr, tokens, cost)
            VALUES ($cluster, $agent, $time, $iteration, $state, $activity, $health, $cpu, $mem, $rx, $tx, $rd, $wr, $tokens, $cost)
            """;
        foreach (var name in new[] { "$cluster", "$agent", "$time", "$iteration", "$state", "$activity", "$health", "$cpu", "$mem", "$rx", "$tx", "$rd", "$wr", "$tokens", "$cost" })
            command.Parameters.Add(new SqliteParameter(name, null));
        command.Prepare();
        return command;
    }

    /// <summary>Deletes every other point of <paramref name="agentId"/> recorded after <paramref name="after"/>: the
    /// older part of a long run kept at half the resolution, so the table stays bounded.</summary>
    public void ThinSamples(string clusterId, string agentId, DateTimeOffset after)
    {
        lock (_gate)
        {
            Execute(_connection, """
                DELETE FROM samples WHERE cluster_id = $cluster AND agent_id = $agent AND time IN (
                    SELECT time FROM (
                        SELECT time, ROW_NUMBER() OVER (ORDER BY time) AS n FROM samples
                        WHERE cluster_id = $cluster AND agent_id = $agent AND time > $after)
                    WHERE n % 2 = 0)
                """, null, ("$cluster", clusterId), ("$agent", agentId), ("$after", after.ToUnixTimeMilliseconds()));
        }
    }

    /// <summary>Every recorded point of the cluster, per agent, in time order.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<HistoryPoint>> ReadSamples(string clusterId)
    {
        var byAgent = new Dictionary<string, List<HistoryPoint>>();
        lock (_gate)
        {
            using var command = Command(_connection, """
                SELECT agent_id, time, iteration, state, activity, health, cpu, mem, rx, tx, rd, wr, tokens, cost
                FROM samples WHERE cluster_id = $id ORDER BY agent_id, time
                """, null, ("$id", clusterId));
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                string agent = reader.GetString(0);
                if (!byAgent.TryGetValue(agent, out var list)) byAgent[agent] = list = [];
                double? D(int i) => reader.IsDBNull(i) ? null : reader.GetDouble(i);
                list.Add(new HistoryPoint(DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)), reader.GetInt32(2),
                    StateNames.ParseAgentState(reader.GetString(3)), reader.IsDBNull(4) ? null : reader.GetString(4),
                    reader.IsDBNull(5) ? null : reader.GetString(5), D(6), D(7), D(8), D(9), D(10), D(11), reader.GetInt64(12), reader.GetDouble(13)));
            }
        }
        return byAgent.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<HistoryPoint>)kv.Value);
    }
}
