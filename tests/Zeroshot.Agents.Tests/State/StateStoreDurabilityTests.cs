using Microsoft.Data.Sqlite;
using Zeroshot.Agents.Config;
using Zeroshot.Agents.State;

namespace Zeroshot.Agents.Tests.State;

/// <summary>
/// Several processes share the database: the supervisor writes while CLI commands read, and a supervisor can be
/// SIGKILLed at any moment. A killed process's memory is gone but everything it wrote(2) stays in the files, so
/// copying db + -wal + -shm while a transaction is open reproduces on disk exactly what a SIGKILL would leave.
/// </summary>
public sealed class StateStoreDurabilityTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private readonly StoreTempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string DbPath => _dir.File("state.db");

    private static ClusterRecord NewCluster(string id) => ClusterRecord.New(id, ClusterTemplates.Demo(), DateTimeOffset.UnixEpoch, 1, 1, null);

    private static SqliteConnection Raw(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private static object? Scalar(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command.ExecuteScalar();
    }

    // What a SIGKILLed process leaves: the three files as they are right now.
    private string CopyFilesAsLeftByAKill(string name, long? walLength = null)
    {
        var target = Directory.CreateDirectory(_dir.File(name)).FullName;
        var copy = Path.Combine(target, "state.db");
        File.Copy(DbPath, copy);
        if (File.Exists(DbPath + "-shm"))
            File.Copy(DbPath + "-shm", copy + "-shm");
        using (var source = new FileStream(DbPath + "-wal", FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        using (var destination = File.Create(copy + "-wal"))
        {
            source.CopyTo(destination);
            if (walLength is { } length)
                destination.SetLength(length);
        }
        return copy;
    }

    [Fact]
    public async Task A_reader_and_a_writer_work_at_once_and_the_reader_sees_consistent_snapshots()
    {
        using var writerStore = StateStore.Open(DbPath);
        using var readerStore = StateStore.Open(DbPath);
        writerStore.CreateCluster(NewCluster("busy-one-10"));
        const int iterations = 200;

        var writer = Task.Run(() =>
        {
            for (var i = 1; i <= iterations; i++)
            {
                writerStore.SetClusterIteration("busy-one-10", i);
                writerStore.MarkAgentStarted("busy-one-10", "worker", i, 1000 + i, i);
                writerStore.TouchLastOutput("busy-one-10", "worker", DateTimeOffset.UnixEpoch.AddSeconds(i * 2));
                writerStore.MarkAgentEnded("busy-one-10", "worker", AgentState.Completed, 0);
            }
        });

        var reads = 0;
        var lastIteration = 0;
        // Keep reading until the writer is done (and at least 50 times, so the two really overlap).
        while (!writer.IsCompleted || reads < 50)
        {
            var snapshot = readerStore.GetCluster("busy-one-10")!;
            var worker = snapshot.FindAgent("worker")!;
            // One read transaction per GetCluster: the cluster row and its agents belong to the same commit.
            Assert.InRange(snapshot.Iteration, lastIteration, iterations);
            Assert.InRange(worker.Iteration, Math.Max(0, snapshot.Iteration - 1), snapshot.Iteration);
            Assert.Equal(3, snapshot.Agents.Count);
            lastIteration = snapshot.Iteration;
            Assert.NotEmpty(readerStore.ListClusters());
            reads++;
        }
        await writer.WaitAsync(Deadline); // TimeoutException if the writer got stuck
        Assert.Equal(iterations, readerStore.GetCluster("busy-one-10")!.Iteration);
    }

    [Fact]
    public async Task Two_writers_in_different_connections_both_succeed()
    {
        using var a = StateStore.Open(DbPath);
        using var b = StateStore.Open(DbPath);
        var ta = Task.Run(() => { for (var i = 0; i < 60; i++) a.CreateCluster(NewCluster($"a-writer-{i}")); });
        var tb = Task.Run(() => { for (var i = 0; i < 60; i++) b.CreateCluster(NewCluster($"b-writer-{i}")); });
        await Task.WhenAll(ta, tb).WaitAsync(Deadline);
        Assert.Equal(120, a.ListClusters().Count);
        Assert.Equal("ok", b.IntegrityCheck());
    }

    [Fact]
    public void An_open_read_transaction_does_not_block_the_writer()
    {
        using var store = StateStore.Open(DbPath);
        store.CreateCluster(NewCluster("wal-one-10"));
        using var reader = Raw(DbPath);
        using (var read = reader.BeginTransaction(deferred: true))
        {
            Assert.Equal(0L, Scalar(reader, "SELECT iteration FROM clusters WHERE id = 'wal-one-10'", read));
            // In rollback-journal mode this write would wait for the reader and fail after busy_timeout; WAL lets it commit.
            Assert.True(store.SetClusterIteration("wal-one-10", 5));
            Assert.Equal(0L, Scalar(reader, "SELECT iteration FROM clusters WHERE id = 'wal-one-10'", read)); // the reader's snapshot
            read.Commit();
        }
        Assert.Equal(5L, Scalar(reader, "SELECT iteration FROM clusters WHERE id = 'wal-one-10'"));
    }

    [Fact]
    public void A_writer_killed_mid_transaction_leaves_a_sound_database_without_its_changes()
    {
        using (var store = StateStore.Open(DbPath))
            store.CreateCluster(NewCluster("committed-one-10"));
        using var writer = Raw(DbPath);
        Scalar(writer, "PRAGMA cache_size = 8"); // tiny page cache: the open transaction spills pages into the WAL
        var walAfterCommit = new FileInfo(DbPath + "-wal").Length;
        string copy;
        using (var transaction = writer.BeginTransaction())
        {
            var filler = new string('x', 2000);
            for (var i = 0; i < 400; i++)
                Scalar(writer, $"INSERT INTO agents (cluster_id, agent_id, ordinal, role, provider, state) VALUES ('committed-one-10', 'bulk-{i}', {100 + i}, 'worker', '{filler}', 'waiting')", transaction);
            Scalar(writer, "UPDATE clusters SET state = 'failed' WHERE id = 'committed-one-10'", transaction);
            Assert.True(new FileInfo(DbPath + "-wal").Length > walAfterCommit, "the uncommitted transaction should have reached the WAL file");
            copy = CopyFilesAsLeftByAKill("killed");
            // The transaction is never committed; the copy is what the dead process left behind.
        }

        using var reopened = StateStore.Open(copy);
        Assert.Equal("ok", reopened.IntegrityCheck());
        var cluster = Assert.Single(reopened.ListClusters());
        Assert.Equal(ClusterState.Running, cluster.State);
        Assert.Equal(3, cluster.Agents.Count);
        reopened.UpdateClusterState("committed-one-10", ClusterState.Crashed); // and it is writable again
    }

    [Fact]
    public void A_commit_torn_by_a_kill_is_either_absent_or_complete_never_corrupt()
    {
        long walAfterFirst, walAfterSecond;
        using (var store = StateStore.Open(DbPath))
        {
            store.CreateCluster(NewCluster("first-one-10"));
            walAfterFirst = new FileInfo(DbPath + "-wal").Length;
            var big = ClusterRecord.New("second-one-10", ClusterTemplates.Demo() with { Prompt = new string('p', 50_000) }, DateTimeOffset.UnixEpoch);
            store.CreateCluster(big);
            walAfterSecond = new FileInfo(DbPath + "-wal").Length;
            Assert.True(walAfterSecond > walAfterFirst + 8192, "the second commit should span several WAL frames");

            // Cut the WAL in the middle of the second commit, as if the process died while writing it.
            var copy = CopyFilesAsLeftByAKill("torn", walAfterFirst + (walAfterSecond - walAfterFirst) / 2);
            using var reopened = StateStore.Open(copy);
            Assert.Equal("ok", reopened.IntegrityCheck());
            Assert.Equal(["first-one-10"], reopened.ListClusters().Select(c => c.Id));
        }
    }
}
