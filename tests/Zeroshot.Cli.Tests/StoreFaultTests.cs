using System.Diagnostics;
using Microsoft.Data.Sqlite;

namespace Zeroshot.Cli.Tests;

/// <summary>
/// The state database and the supervisor's start when something is wrong, through the real executable: damaged and
/// emptied database files, a read-only home, a supervisor that cannot start, a second supervisor, a kill.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class StoreFaultTests : IDisposable
{
    private readonly string _home = Path.Combine(Path.GetTempPath(), "zs-home-" + Guid.NewGuid().ToString("N")[..12]);

    // Private from the start, as zeroshot makes it: a 0755 home would add its one-line tightening notice to stderr.
    public StoreFaultTests()
    {
        Directory.CreateDirectory(_home);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(_home, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public void Dispose()
    {
        try { Directory.Delete(_home, recursive: true); }
        catch (IOException) { /* a temp dir */ }
        catch (UnauthorizedAccessException) { /* a temp dir */ }
    }

    private ZeroshotProcess.Result Z(params string[] args) => ZeroshotProcess.RunIn(_home, args);

    private string Db => Path.Combine(_home, "state.db");

    private string QuickCluster()
    {
        var file = Path.Combine(_home, "quick.json");
        File.WriteAllText(file, """
            { "name": "quick", "maxIterations": 1, "agents": [ { "id": "worker", "role": "worker", "command": ["bash", "-c", "echo done"] } ] }
            """);
        return file;
    }

    private string SleeperCluster()
    {
        var file = Path.Combine(_home, "sleeper.json");
        File.WriteAllText(file, """
            { "name": "sleeper", "maxIterations": 1, "agents": [ { "id": "sleeper", "role": "worker", "command": ["sleep", "600"] } ] }
            """);
        return file;
    }

    private object? Scalar(string sql, string id)
    {
        using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Db, Pooling = false }.ToString());
        db.Open();
        using var command = db.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$id", id);
        return command.ExecuteScalar();
    }

    private string StartDetachedSleeper()
    {
        var run = Z("run", SleeperCluster(), "--detach");
        Assert.True(run.ExitCode == 0, run.Error);
        string id = run.Out.Trim();
        Wait.Until(() => Scalar("SELECT state FROM agents WHERE cluster_id = $id", id) as string == "running", "the sleeper to run");
        return id;
    }

    [Fact]
    public void A_damaged_database_is_named_with_advice_and_run_moves_it_aside_and_starts_a_fresh_one()
    {
        for (int i = 0; i < 3; i++) Assert.Equal(0, Z("run", QuickCluster(), "--no-metrics").ExitCode);
        Assert.False(File.Exists(Db + "-wal") && new FileInfo(Db + "-wal").Length > 0, "the log was checkpointed at exit");
        // Damage every page after the first (the header stays readable, the tables do not).
        var bytes = File.ReadAllBytes(Db);
        for (int i = 4096; i < bytes.Length; i += 7) bytes[i] = 0xAB;
        File.WriteAllBytes(Db, bytes);

        var list = Z("list");
        Assert.Equal(1, list.ExitCode);
        Assert.StartsWith($"zeroshot: the state database {Db} is damaged (", list.Error);
        Assert.Contains($"mv {Db} ", list.Error);
        Assert.DoesNotContain("internal error", list.Error);
        Assert.Single(list.Error.Trim().Split('\n'));

        var run = Z("run", QuickCluster(), "--no-metrics");
        Assert.True(run.ExitCode == 0, run.Error);
        var notice = Assert.Single(run.Error.Trim().Split('\n'));
        Assert.StartsWith($"zeroshot: the state database {Db} was damaged (", notice);
        var moved = Assert.Single(Directory.GetFiles(_home, "state.db.corrupt-*"));
        Assert.Contains($"moved it to {moved} and started a fresh one", notice);
        Assert.Equal(bytes, File.ReadAllBytes(moved));

        // The fresh database works and knows only the new cluster; the notice was said once.
        var after = Z("list");
        Assert.True(after.ExitCode == 0, after.Error);
        Assert.Equal("", after.Error);
        Assert.Equal(2, after.Out.Trim().Split('\n').Length); // header and one cluster
        var again = Z("run", QuickCluster(), "--no-metrics");
        Assert.Equal(0, again.ExitCode);
        Assert.Equal("", again.Error);
    }

    [Fact]
    public void An_emptied_database_is_kept_beside_the_new_one_and_said()
    {
        Assert.Equal(0, Z("run", QuickCluster(), "--no-metrics").ExitCode);
        File.WriteAllBytes(Db, []);
        File.SetLastWriteTimeUtc(Db, DateTime.UtcNow.AddHours(-1)); // truncated an hour ago, not being created now

        var list = Z("list");
        Assert.True(list.ExitCode == 0, list.Error);
        var kept = Assert.Single(Directory.GetFiles(_home, "state.db.truncated-*"));
        Assert.Equal($"zeroshot: the state database {Db} was empty (truncated?): kept it as {kept} and started a fresh one; " +
            "the clusters it recorded are gone unless you restore it from a backup", list.Error.Trim());
        Assert.Equal(0, new FileInfo(kept).Length);
        Assert.Equal("", Z("list").Error);
    }

    [Fact]
    public async Task A_read_only_home_names_the_read_only_directory()
    {
        // As root, permission bits do not stop us: act as nobody (setpriv) on a home nobody owns but cannot write.
        bool root = Environment.UserName == "root";
        var parent = Path.Combine(_home, "ro");
        var home = Path.Combine(parent, "home");
        Directory.CreateDirectory(home);
        if (root)
        {
            Run("chmod", "755", _home, parent); // nobody may pass
            Run("chown", "65534:65534", home);
        }
        Run("chmod", "500", home); // read-only, and private (a 0555 home would first be tightened, with a notice)
        try
        {
            var info = new ProcessStartInfo(root ? "setpriv" : ZeroshotProcess.Argv[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            if (root)
                foreach (var a in new[] { "--reuid=65534", "--regid=65534", "--clear-groups", ZeroshotProcess.Argv[0] }) info.ArgumentList.Add(a);
            foreach (var a in ZeroshotProcess.Argv[1..]) info.ArgumentList.Add(a);
            info.ArgumentList.Add("list");
            info.Environment["ZEROSHOT_HOME"] = home;
            info.Environment["HOME"] = parent;
            using var p = Process.Start(info)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var error = await p.StandardError.ReadToEndAsync();
            Assert.True(p.WaitForExit(60_000));
            Assert.True(p.ExitCode == 1, await stdout + error);
            Assert.StartsWith($"zeroshot: cannot open the state database {Path.Combine(home, "state.db")}: the directory {home} is read-only", error);
            Assert.DoesNotContain("unable to open database file", error);
        }
        finally
        {
            Run("chmod", "700", home);
        }
    }

    private static void Run(string file, params string[] args)
    {
        using var p = Process.Start(file, args);
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
    }

    [Fact]
    public void A_detached_supervisor_that_cannot_start_says_why()
    {
        // A runtime directory too deep for a Unix socket path: the supervisor (a process of its own) cannot serve its socket.
        var deep = Path.Combine(_home, new string('d', 100));
        Directory.CreateDirectory(deep);
        using var run = ZeroshotProcess.Start(_home, new Dictionary<string, string> { ["XDG_RUNTIME_DIR"] = deep }, "run", QuickCluster(), "--detach");
        var r = run.Wait(TimeSpan.FromSeconds(60));
        Assert.Equal(1, r.ExitCode);
        var line = Assert.Single(r.Error.Trim().Split('\n'));
        Assert.Matches(@"^zeroshot: the supervisor of \S+ did not start: control socket path is too long \(", line);
        Assert.EndsWith("supervisor.log)", line);
    }

    [Fact]
    public void A_refused_second_supervisor_leaves_the_running_cluster_untouched()
    {
        string id = StartDetachedSleeper();
        var second = Z("__supervise", id);
        Assert.Equal(1, second.ExitCode);
        Assert.Contains($"cluster {id} already has a running supervisor", second.Error);
        // Nothing written: the cluster still runs, no end recorded, its agent untouched.
        Assert.Equal("running", Scalar("SELECT state FROM clusters WHERE id = $id", id));
        Assert.IsType<DBNull>(Scalar("SELECT ended_at FROM clusters WHERE id = $id", id));
        Assert.Equal(0L, Scalar("SELECT count(*) FROM events WHERE cluster_id = $id AND kind IN ('cluster-ended', 'error')", id));
        Assert.Equal("running", Scalar("SELECT state FROM agents WHERE cluster_id = $id", id));

        var stop = Z("stop", id);
        Assert.True(stop.ExitCode == 0, stop.Error);
        Assert.Equal($"{id} stopped", stop.Out.Trim());
        // A finished cluster is refused too, and stays as it ended.
        var late = Z("__supervise", id);
        Assert.Equal(1, late.ExitCode);
        Assert.Contains($"cluster {id} is already stopped", late.Error);
        Assert.Equal("stopped", Scalar("SELECT state FROM clusters WHERE id = $id", id));
    }

    [Fact]
    public void Kill_is_recorded_as_a_typed_event()
    {
        string id = StartDetachedSleeper();
        var kill = Z("kill", id);
        Assert.True(kill.ExitCode == 0, kill.Error);
        Wait.Until(() => Scalar("SELECT state FROM clusters WHERE id = $id", id) as string != "running", "the end to be recorded");
        Assert.Equal(1L, Scalar("SELECT count(*) FROM events WHERE cluster_id = $id AND kind = 'killing' AND agent_id IS NULL", id));
        Assert.Equal(0L, Scalar("SELECT count(*) FROM events WHERE cluster_id = $id AND kind = 'stopping'", id));
        // In order: the kill before the agent's end.
        Assert.True((long)Scalar("SELECT min(seq) FROM events WHERE cluster_id = $id AND kind = 'killing'", id)!
            < (long)Scalar("SELECT min(seq) FROM events WHERE cluster_id = $id AND kind = 'agent-exited'", id)!);
        Assert.Matches(@"(?m)^\d\d:\d\d:\d\d killing: SIGKILL to every agent$", Z("logs", id).Out);
    }
}
