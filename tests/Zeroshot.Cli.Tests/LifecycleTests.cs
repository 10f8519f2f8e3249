using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Zeroshot.Agents.Control;

namespace Zeroshot.Cli.Tests;

/// <summary>
/// A cluster's agents never outlive their cluster and are never run twice: a crashed supervisor's agents can still be
/// stopped, a deleted control socket comes back, a second supervisor is refused, hundreds of clients at once all get
/// an answer, and a double-forked grandchild does not survive <c>stop</c> (with and without cgroups).
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class LifecycleTests : IDisposable
{
    private readonly string _home = Path.Combine(Path.GetTempPath(), "zs-life-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly string _runtime = Path.Combine("/tmp", "zs-rt-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly Dictionary<string, string> _env;

    public LifecycleTests()
    {
        Directory.CreateDirectory(_home);
        Directory.CreateDirectory(_runtime);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(_runtime, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        // A runtime directory of our own (the tests delete parts of it) and no cgroups unless a test asks.
        _env = new() { ["XDG_RUNTIME_DIR"] = _runtime, ["ZEROSHOT_CGROUP_ROOT"] = "off" };
    }

    public void Dispose()
    {
        foreach (var dir in new[] { _home, _runtime })
        {
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { /* a temp dir */ }
        }
    }

    private ZeroshotProcess.Result Z(params string[] args)
    {
        using var running = ZeroshotProcess.Start(_home, _env, args);
        return running.Wait(TimeSpan.FromSeconds(120));
    }

    private string ClusterFile(string script)
    {
        var path = Path.Combine(_home, $"cluster-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, $$"""
            { "name": "lifecycle", "agents": [ { "id": "worker", "role": "worker", "command": {{JsonSerializer.Serialize(new[] { "bash", "-c", script })}} } ] }
            """);
        return path;
    }

    private string Detach(string script)
    {
        var r = Z("run", ClusterFile(script), "--detach");
        Assert.True(r.ExitCode == 0, r.Out + r.Error);
        return r.Out.Trim();
    }

    /// <summary>A sleep with a duration no other process uses, to find it in /proc by its command line.</summary>
    private static string UniqueSleep() => "7" + Random.Shared.Next(10_000_000, 99_999_999).ToString(CultureInfo.InvariantCulture);

    /// <summary>Live processes whose command line contains <paramref name="word"/> as an argument.</summary>
    private static List<int> ProcessesWith(string word)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                var args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                if (args.Contains(word) && stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z') found.Add(pid);
            }
            catch (IOException) { /* exited */ }
            catch (UnauthorizedAccessException) { /* not ours */ }
        }
        return found;
    }

    private (int Pid, long Start, string? Socket, string State) Supervisor(string id)
    {
        using var db = new SqliteConnection($"Data Source={Path.Combine(_home, "state.db")};Mode=ReadOnly");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT supervisor_pid, supervisor_start_time, socket_path, state FROM clusters WHERE id = $id";
        cmd.Parameters.AddWithValue("$id", id);
        using var reader = cmd.ExecuteReader();
        Assert.True(reader.Read());
        return (reader.IsDBNull(0) ? 0 : reader.GetInt32(0), reader.IsDBNull(1) ? 0 : reader.GetInt64(1),
            reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetString(3));
    }

    private void WaitForSocket(string id) =>
        Wait.Until(() => Supervisor(id) is { Pid: > 0, Socket: { } s } && File.Exists(s), "the supervisor's control socket");

    [Theory]
    [InlineData("stop")]
    [InlineData("kill")]
    public void Stop_or_kill_of_a_crashed_cluster_ends_the_agents_its_dead_supervisor_left_and_removes_its_socket(string how)
    {
        // The agent and its child ignore SIGHUP, so the death of their terminal's master does not end them.
        string sleep = UniqueSleep();
        string id = Detach($"trap '' HUP; sleep {sleep} & echo ready; wait");
        Wait.Until(() => ProcessesWith(sleep).Count == 1, "the agent's child");
        WaitForSocket(id);
        var (supervisor, _, socket, _) = Supervisor(id);

        Process.GetProcessById(supervisor).Kill();
        Wait.Until(() => !Directory.Exists($"/proc/{supervisor}"), "the supervisor to die");
        Assert.Single(ProcessesWith(sleep)); // orphaned, still running

        var status = Z("status", id);
        Assert.True(status.ExitCode == 0, status.Error);
        Assert.Contains($"{id}  cluster \"lifecycle\"  crashed", status.Out);
        Assert.Contains($"still running after their supervisor died: worker ('zeroshot stop {id}' ends them)", status.Out);
        Assert.False(File.Exists(socket), "the dead supervisor's socket file was left behind");
        using (var json = JsonDocument.Parse(Z("status", id, "--json").Out))
            Assert.Equal(["worker"], json.RootElement.GetProperty("stillRunning").EnumerateArray().Select(a => a.GetString()));

        var stop = Z(how, id);
        Assert.True(stop.ExitCode == 0, stop.Out + stop.Error);
        Assert.Equal($"{id} crashed: its supervisor is gone; {(how == "kill" ? "killed" : "stopped")} the agents it left running: worker\n", stop.Out);
        Assert.Empty(ProcessesWith(sleep));
        Assert.Equal($"{id} is already crashed\n", Z(how, id).Out);
        Assert.DoesNotContain("still running", Z("status", id).Out);
        Assert.DoesNotContain("stillRunning", Z("status", id, "--json").Out);
    }

    [Fact]
    public void A_deleted_control_socket_comes_back_and_a_second_supervisor_is_refused_without_running_agents_twice()
    {
        string sleep = UniqueSleep();
        string id = Detach($"echo ready; sleep {sleep}");
        Wait.Until(() => ProcessesWith(sleep).Count == 1, "the agent");
        WaitForSocket(id);
        var socket = Supervisor(id).Socket!;

        // As a logout does to $XDG_RUNTIME_DIR: the whole directory goes.
        Directory.Delete(Path.GetDirectoryName(socket)!, recursive: true);
        Wait.Until(() => File.Exists(socket), "the supervisor to re-create its socket");
        var live = Z("status", id);
        Assert.True(live.ExitCode == 0, live.Error);
        Assert.DoesNotContain("did not answer", live.Out);
        Assert.Matches(@"worker +worker +command +running .*CPU", live.Out);

        // A second supervisor for the same cluster, with its socket gone again: the lock refuses it.
        File.Delete(socket);
        var second = Z("__supervise", id);
        Assert.Equal(1, second.ExitCode);
        Assert.Contains($"cluster {id} already has a running supervisor (pid {Supervisor(id).Pid})", second.Error);
        Assert.Single(ProcessesWith(sleep));
        Assert.Equal("running", Supervisor(id).State);

        var stop = Z("stop", id);
        Assert.True(stop.ExitCode == 0, stop.Out + stop.Error);
        Assert.Contains($"{id} stopped", stop.Out);
        Assert.Empty(ProcessesWith(sleep));
    }

    [Theory]
    [InlineData("stop", "stopped")]
    [InlineData("kill", "stopped")]
    public void Stop_and_kill_signal_the_supervisor_when_its_socket_cannot_be_re_created(string how, string state)
    {
        string sleep = UniqueSleep();
        string id = Detach($"trap '' TERM; echo ready; sleep {sleep}");
        Wait.Until(() => ProcessesWith(sleep).Count == 1, "the agent");
        WaitForSocket(id);
        var dir = Path.GetDirectoryName(Supervisor(id).Socket!)!;
        // A file where the runtime directory was: the socket cannot come back.
        Directory.Delete(dir, recursive: true);
        File.WriteAllText(dir, "");

        var stop = Z(how, id);
        Assert.True(stop.ExitCode == 0, stop.Out + stop.Error);
        Assert.Contains($"zeroshot: the control socket of {id} does not answer", stop.Error);
        Assert.Contains($"{id} {state}", stop.Out);
        Assert.Empty(ProcessesWith(sleep));
    }

    [Fact]
    public async Task Six_hundred_simultaneous_clients_and_a_stop_all_get_their_answer_from_a_busy_supervisor()
    {
        // The agent ignores SIGTERM, so the cluster stops only at the SIGKILL 5 s after the stop: its supervisor serves
        // every client that got in meanwhile, whichever of them reaches it after the stop request.
        string id = Detach("trap '' TERM; echo ready; sleep 1000");
        WaitForSocket(id);
        var (supervisor, _, socket, _) = Supervisor(id);
        // Frozen, the supervisor accepts nothing: the listen backlog fills and further connects fail with EAGAIN.
        using (var stopSignal = Process.Start("kill", ["-STOP", supervisor.ToString(CultureInfo.InvariantCulture)])) stopSignal.WaitForExit();
        const int Clients = 600; // more than the listen backlog (512), so clients must retry
        var clients = Enumerable.Range(0, Clients).Select(_ => Task.Run(async () =>
        {
            var client = await ControlClient.ConnectAsync(socket!);
            await using (client)
            {
                var result = await client.RequestAsync(ControlProtocol.Status);
                return result.GetProperty("id").GetString();
            }
        })).ToList();
        using var stop = ZeroshotProcess.Start(_home, _env, "stop", id);
        using (var pause = new ManualResetEventSlim()) pause.Wait(500);
        using (var cont = Process.Start("kill", ["-CONT", supervisor.ToString(CultureInfo.InvariantCulture)])) cont.WaitForExit();

        var answers = await Task.WhenAll(clients).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.All(answers, answer => Assert.Equal(id, answer));
        var stopped = stop.Wait(TimeSpan.FromSeconds(60));
        Assert.True(stopped.ExitCode == 0, stopped.Out + stopped.Error);
        Assert.Equal($"{id} stopped\n", stopped.Out);
    }

    [Fact]
    public void A_double_forked_grandchild_does_not_survive_stop_without_cgroups()
    {
        // setsid -f: the grandchild leaves the agent's session and process group and is reparented to init.
        string sleep = UniqueSleep();
        string id = Detach($"setsid -f sleep {sleep}; echo ready; sleep 1000");
        Wait.Until(() => ProcessesWith(sleep).Count == 1, "the escaped grandchild");
        int grandchild = ProcessesWith(sleep)[0];
        Assert.NotEqual(AgentPid(id), Session(grandchild));

        var stop = Z("stop", id);
        Assert.True(stop.ExitCode == 0, stop.Out + stop.Error);
        Assert.Empty(ProcessesWith(sleep));
    }

    [CgroupFact]
    public void A_double_forked_grandchild_with_a_cleared_environment_does_not_survive_stop_in_a_cgroup()
    {
        var mount = Directory.CreateDirectory(Path.Combine("/tmp", "zs-cg-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        Assert.Equal(0, Run("mount", "-t", "cgroup2", "none", mount));
        string id = "";
        try
        {
            _env["ZEROSHOT_CGROUP_ROOT"] = mount;
            // env -i: not even the agent's marker follows it; only its cgroup does.
            string sleep = UniqueSleep();
            id = Detach($"setsid -f env -i sleep {sleep}; echo ready; sleep 1000");
            Wait.Until(() => ProcessesWith(sleep).Count == 1, "the escaped grandchild");
            int grandchild = ProcessesWith(sleep)[0];
            Assert.Matches(@"(?m)^0::/zeroshot-" + id + @"-\d+/agent-worker$", File.ReadAllText($"/proc/{grandchild}/cgroup"));
            // The kernel's account of the cgroup comes beside the tree sums, from the second tick on.
            JsonElement cgroup = default;
            Wait.Until(() =>
            {
                using var s = JsonDocument.Parse(Z("status", id, "--json").Out);
                return s.RootElement.GetProperty("agents")[0].TryGetProperty("cgroup", out var c)
                    && (cgroup = c.Clone()).GetProperty("cpuPercent").ValueKind == JsonValueKind.Number;
            }, "the cgroup's CPU figure");
            Assert.InRange(cgroup.GetProperty("cpuPercent").GetDouble(), 0, 400);
            // No memory controller in a hierarchy where memory is bound to v1 (as here): then null, never a guess.
            var memory = cgroup.GetProperty("memoryMB");
            Assert.True(memory.ValueKind == JsonValueKind.Null
                || (File.Exists(Path.Combine(Directory.EnumerateDirectories(mount, $"zeroshot-{id}-*").Single(), "agent-worker", "memory.current"))
                    && memory.GetDouble() > 0));

            var stop = Z("stop", id);
            Assert.True(stop.ExitCode == 0, stop.Out + stop.Error);
            Assert.Empty(ProcessesWith(sleep));
            // The supervisor removes the cluster's cgroups when it ends. (The hierarchy is the machine's one: other
            // clusters' cgroups may be there too.)
            Wait.Until(() => !Directory.EnumerateDirectories(mount, $"zeroshot-{id}-*").Any(), "the cgroups to be removed");
        }
        finally
        {
            foreach (var left in id.Length == 0 ? [] : Directory.EnumerateDirectories(mount, $"zeroshot-{id}-*"))
            {
                foreach (var agent in Directory.EnumerateDirectories(left)) KillAndRemove(agent);
                KillAndRemove(left);
            }
            Run("umount", mount);
            Directory.Delete(mount);
        }
    }

    private static void KillAndRemove(string cgroup)
    {
        try
        {
            File.WriteAllText(Path.Combine(cgroup, "cgroup.kill"), "1");
            Wait.Until(() => File.ReadAllText(Path.Combine(cgroup, "cgroup.events")).Contains("populated 0", StringComparison.Ordinal), "an emptied cgroup", 10_000);
            Directory.Delete(cgroup);
        }
        catch (IOException) { /* cleanup after a failure: best effort */ }
    }

    private int AgentPid(string id)
    {
        using var s = JsonDocument.Parse(Z("status", id, "--json").Out);
        return s.RootElement.GetProperty("agents")[0].GetProperty("pid").GetInt32();
    }

    private static int Session(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[3], CultureInfo.InvariantCulture);
    }

    internal static int Run(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode;
    }
}

/// <summary>
/// A fact that needs a cgroup2 hierarchy this process can mount and write (root, with cgroup2 in the kernel): it is
/// skipped, with the reason, where that is impossible; it never passes without running.
/// </summary>
public sealed class CgroupFactAttribute : FactAttribute
{
    public CgroupFactAttribute()
    {
        if (!OperatingSystem.IsLinux()) { Skip = "cgroups are Linux only"; return; }
        if (!File.ReadAllText("/proc/filesystems").Contains("cgroup2", StringComparison.Ordinal)) { Skip = "the kernel has no cgroup2"; return; }
        var probe = Directory.CreateDirectory(Path.Combine("/tmp", "zs-cgprobe-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        try
        {
            if (LifecycleTests.Run("mount", "-t", "cgroup2", "none", probe) != 0) { Skip = "cannot mount cgroup2 here (needs root)"; return; }
            // cgroup.kill exists in every cgroup but the root.
            var child = Directory.CreateDirectory(Path.Combine(probe, "probe")).FullName;
            bool kill = File.Exists(Path.Combine(child, "cgroup.kill"));
            Directory.Delete(child);
            LifecycleTests.Run("umount", probe);
            if (!kill) Skip = "this kernel's cgroup2 has no cgroup.kill (Linux < 5.14)";
        }
        catch (System.ComponentModel.Win32Exception) { Skip = "no mount(8)"; }
        finally { Directory.Delete(probe); }
    }
}
