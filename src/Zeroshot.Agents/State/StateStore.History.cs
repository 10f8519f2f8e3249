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
    // A rowid table indexed by (cluster, time): a tick's rows are appended to the end of the table and of the index,
    // a page or two per tick; keyed by (cluster, agent, time) they touched a page per agent per tick (bench: history).
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
            cost       REAL    NOT NULL
        ) STRICT;
        CREATE INDEX IF NOT EXISTS samples_by_cluster ON samples (cluster_id, time);
        """;

    private SqliteCommand? _sampleInsert;
    private readonly System.Buffers.ArrayBufferWriter<byte> _sampleJson = new(16 * 1024);
    private System.Text.Json.Utf8JsonWriter? _sampleWriter;

    /// <summary>
    /// Appends one tick's points (one per agent) with one statement: the points go in as one JSON array that SQLite
    /// unpacks itself (json_each), one bound parameter and one statement step per tick instead of fifteen bindings and
    /// a step per agent (bench: history). The recorder never writes two points of an agent at one time.
    /// </summary>
    public void AppendSamples(string clusterId, IReadOnlyList<(string AgentId, HistoryPoint Point)> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        if (points.Count == 0) return;
        lock (_gate)
        {
            _sampleJson.ResetWrittenCount();
            var json = _sampleWriter ??= new System.Text.Json.Utf8JsonWriter(_sampleJson);
            json.Reset(_sampleJson);
            json.WriteStartArray();
            foreach (var (agentId, point) in points)
            {
                json.WriteStartArray();
                json.WriteStringValue(agentId);
                json.WriteNumberValue(point.At.ToUnixTimeMilliseconds());
                json.WriteNumberValue(point.Iteration);
                json.WriteStringValue(StateNames.Text(point.State));
                if (point.Activity is { } activity) json.WriteStringValue(activity); else json.WriteNullValue();
                if (point.Health is { } health) json.WriteStringValue(health); else json.WriteNullValue();
                Number(json, point.CpuPercent);
                Number(json, point.MemoryMB);
                Number(json, point.NetRxBytesPerSec);
                Number(json, point.NetTxBytesPerSec);
                Number(json, point.DiskReadBytesPerSec);
                Number(json, point.DiskWriteBytesPerSec);
                json.WriteNumberValue(point.Tokens);
                json.WriteNumberValue(double.IsFinite(point.CostUsd) ? point.CostUsd : 0);
                json.WriteEndArray();
            }
            json.WriteEndArray();
            json.Flush();

            var insert = _sampleInsert ??= PrepareSampleInsert();
            insert.Parameters[0].Value = clusterId;
            insert.Parameters[1].Value = System.Text.Encoding.UTF8.GetString(_sampleJson.WrittenSpan);
            insert.ExecuteNonQuery();
        }

        static void Number(System.Text.Json.Utf8JsonWriter json, double? value)
        {
            if (value is { } v && double.IsFinite(v)) json.WriteNumberValue(Math.Round(v, 3));
            else json.WriteNullValue();
        }
    }

    private SqliteCommand PrepareSampleInsert()
    {
        var command = _connection.CreateCommand();
        // ->> gives each element its SQL type (integer, real, text, null): what the STRICT columns take.
        command.CommandText = """
            INSERT INTO samples (cluster_id, agent_id, time, iteration, state, activity, health, cpu, mem, rx, tx, rd, wr, tokens, cost)
            SELECT $cluster, p.value ->> 0, p.value ->> 1, p.value ->> 2, p.value ->> 3, p.value ->> 4, p.value ->> 5, p.value ->> 6,
                   p.value ->> 7, p.value ->> 8, p.value ->> 9, p.value ->> 10, p.value ->> 11, p.value ->> 12, p.value ->> 13
            FROM json_each($points) AS p
            """;
        command.Parameters.Add(new SqliteParameter("$cluster", null));
        command.Parameters.Add(new SqliteParameter("$points", null));
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
