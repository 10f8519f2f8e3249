using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Zeroshot.Cli.Tests;

/// <summary>End to end: real clusters of sim and command agents run by the real zeroshot executable.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class SupervisorTests : IDisposable
{
    private readonly string _home = Path.Combine(Path.GetTempPath(), "zs-home-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly string _work;

    public SupervisorTests()
    {
        Directory.CreateDirectory(_home);
        // Private, as zeroshot would make it (a home others can read is tightened with a notice on stderr).
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(_home, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        _work = Path.Combine(_home, "work");
        Directory.CreateDirectory(_work);
    }

    public void Dispose()
    {
        try { Directory.Delete(_home, recursive: true); }
        catch (IOException) { /* a temp dir */ }
    }

    private string ClusterFile(string json)
    {
        var path = Path.Combine(_work, $"cluster-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }

    private ZeroshotProcess.Result Z(params string[] args) => ZeroshotProcess.RunIn(_home, args);

    private JsonDocument Status(string id)
    {
        var r = Z("status", id, "--json");
        Assert.True(r.ExitCode == 0, r.Error);
        return JsonDocument.Parse(r.Out);
    }

    private static string Bash(string script) => JsonSerializer.Serialize(new[] { "bash", "-c", script });

    [Fact]
    public void A_foreground_cluster_runs_agents_in_order_prefixes_their_lines_and_exits_0()
    {
        var order = Path.Combine(_work, "order.txt");
        var file = ClusterFile($$"""
            { "name": "order", "prompt": "do it", "maxIterations": 1, "agents": [
              { "id": "worker", "role": "worker", "command": {{Bash($"echo worker-start >> {order}; echo hello from the worker; echo \"prompt=$ZEROSHOT_PROMPT\"")}} },
              { "id": "check", "role": "validator", "after": ["worker"], "command": {{Bash($"echo check-start >> {order}; echo checked")}} } ] }
            """);
        var r = Z("run", file);

        Assert.True(r.ExitCode == 0, r.Out + r.Error);
        Assert.Equal(["worker-start", "check-start"], File.ReadAllLines(order));
        Assert.Matches(@"(?m)^worker +│ hello from the worker$", r.Out);
        Assert.Matches(@"worker +│ prompt=do it", r.Out);
        Assert.Matches(@"(?m)^check +│ checked$", r.Out);
        Assert.Contains("cluster completed", r.Out);
        Assert.DoesNotContain("\u001b[", r.Out); // not a terminal: no escape codes
    }

    [Fact]
    public void A_rejecting_validator_starts_a_second_iteration_and_maxIterations_fails_the_cluster()
    {
        // The validator accepts from iteration 2 on.
        var file = ClusterFile($$"""
            { "name": "retry", "maxIterations": 3, "agents": [
              { "id": "worker", "role": "worker", "command": {{Bash("echo work $ZEROSHOT_ITERATION")}} },
              { "id": "judge", "role": "validator", "after": ["worker"], "command": {{Bash("[ \"$ZEROSHOT_ITERATION\" -ge 2 ]")}} } ] }
            """);
        var r = Z("run", file);
        Assert.True(r.ExitCode == 0, r.Out + r.Error);
        Assert.Matches(@"(?m)^worker +│ work 1$", r.Out);
        Assert.Matches(@"(?m)^worker +│ work 2$", r.Out);
        Assert.DoesNotContain("work 3", r.Out);
        var list = JsonDocument.Parse(Z("list", "--json").Out).RootElement;
        Assert.Equal("completed", list[0].GetProperty("state").GetString());
        using var status = Status(list[0].GetProperty("id").GetString()!);
        Assert.Equal(2, status.RootElement.GetProperty("iteration").GetInt32());

        var never = ClusterFile($$"""
            { "name": "never", "maxIterations": 2, "agents": [
              { "id": "worker", "role": "worker", "command": ["true"] },
              { "id": "judge", "role": "validator", "after": ["worker"], "command": ["false"] } ] }
            """);
        var failed = Z("run", never);
        Assert.Equal(1, failed.ExitCode);
        Assert.Contains("rejected in all 2 iterations", failed.Out);
    }

    [Fact]
    public void Run_of_an_endless_file_is_a_one_line_usage_error_and_creates_nothing()
    {
        var r = Z("run", "/dev/zero");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("zeroshot: /dev/zero: too large for a cluster file (the limit is 4 MiB)\n", r.Error);
        Assert.Equal("no clusters yet: try 'zeroshot run --demo'\n", Z("list").Out);
    }

    [Fact]
    public void Status_and_list_text_show_tokens_cost_activity_and_verdicts()
    {
        var file = ClusterFile("""
            { "name": "texty", "prompt": "Do it.", "maxIterations": 2, "agents": [
              { "id": "worker", "role": "worker", "provider": "sim", "options": { "durationSeconds": 1, "seed": 1, "cpu": 0 } },
              { "id": "judge", "role": "validator", "provider": "sim", "after": ["worker"],
                "options": { "durationSeconds": 1, "seed": 2, "cpu": 0, "rejectIterations": [1] } } ] }
            """);
        var run = Z("run", file);
        Assert.True(run.ExitCode == 0, run.Out + run.Error);
        var list = Z("list");
        var id = list.Out.Split('\n')[1].Split(' ')[0];
        using var json = Status(id);
        var judge = json.RootElement.GetProperty("agents")[1];

        var status = Z("status", id);
        Assert.True(status.ExitCode == 0, status.Error);
        var lines = status.Out.Split('\n');
        // The header carries the cluster's tokens and cost; each agent row its tokens, cost and activity or verdict.
        Assert.Matches(@"^\S+  cluster ""texty""  completed  iteration 2/2  started .*  tokens \d+(\.\d)?K  cost \$\d+\.\d\d$", lines[0]);
        Assert.Matches(@"^  AGENT +ROLE +PROVIDER/MODEL +STATE +ACTIVITY +TOKENS +COST +METRICS$", lines[1]);
        Assert.Matches(@"^  worker +worker +sim/claude-sonnet-4-5-20250929 +completed +completed +\d+(\.\d)?K +\$\d+\.\d\d$", lines[2]);
        Assert.Matches(@"^  judge +validator +sim/claude-sonnet-4-5-20250929 +completed +approved +\d+(\.\d)?K +\$\d+\.\d\d$", lines[3]);
        Assert.Equal($"      verdict (iteration 2): approved · {judge.GetProperty("verdict").GetProperty("summary").GetString()}", lines[4]);
        // list: the cluster's tokens, cost, and each agent's last word.
        Assert.Matches(@"^\S+ +cluster +completed +2/2 +\d+(\.\d)?K +\$\d+\.\d\d  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  texty +worker completed, judge approved$", list.Out.Split('\n')[1]);
    }

    [Fact]
    public void The_demo_cluster_runs_sim_agents_with_a_rejection_and_completes()
    {
        var r = ZeroshotProcess.RunIn(_home, TimeSpan.FromSeconds(180), "run", "--demo");
        Assert.True(r.ExitCode == 0, r.Out + r.Error);
        // The tester gives a verdict (it exits 0, as real CLIs do): a rejection with its issues...
        Assert.Contains("tester: rejected (2 issues): The change is incomplete", r.Out);
        Assert.Contains("tester:   issue: tests/test_module0.py::test_edge_cases fails: empty input is not rejected", r.Out);
        Assert.Contains("iteration 2/3", r.Out);
        // ...which the worker's second iteration is given and addresses.
        Assert.Matches(@"(?m)^worker +│ The validators rejected the previous attempt\. I'll address each issue:", r.Out);
        Assert.Matches(@"(?m)^worker +│ - tests/test_module0\.py::test_edge_cases fails: empty input is not rejected", r.Out);
        Assert.Contains("tester: approved: The change does what the task asks", r.Out);
        // The demo shows only what a real agent would: no burn plumbing in displayed commands.
        Assert.DoesNotContain("ZEROSHOT_SIM_BURN", r.Out);
        Assert.Matches(@"(?m)^tester +│ ✓ done in ", r.Out);    // stream-json rendered for people
        Assert.DoesNotContain("\"type\":\"assistant\"", r.Out);
        Assert.Contains("cluster completed", r.Out);
    }

    [Fact]
    public void A_detached_cluster_returns_at_once_reports_live_metrics_and_survives_its_terminal()
    {
        var file = ClusterFile($$"""
            { "name": "detached", "maxIterations": 1, "agents": [
              { "id": "worker", "role": "worker", "provider": "sim", "options": { "durationSeconds": 6, "seed": 7 } } ] }
            """);
        var clock = Stopwatch.StartNew();
        var r = Z("run", file, "--detach");
        Assert.True(r.ExitCode == 0, r.Error);
        string id = r.Out.Trim();
        Assert.Matches("^[a-z]+-[a-z]+-[0-9]+$", id);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(6), "--detach returned only when the cluster ended");

        // Live metrics come from the supervisor through its control socket once a sample is taken.
        JsonElement worker = default;
        Wait.Until(() =>
        {
            using var s = Status(id);
            worker = s.RootElement.GetProperty("agents")[0].Clone();
            return worker.GetProperty("metrics").ValueKind == JsonValueKind.Object || s.RootElement.GetProperty("state").GetString() != "running";
        }, "live metrics");
        Assert.Equal("running", worker.GetProperty("state").GetString());
        Assert.True(worker.GetProperty("pid").GetInt32() > 0);
        var metrics = worker.GetProperty("metrics");
        Assert.True(metrics.GetProperty("exists").GetBoolean());
        Assert.True(metrics.GetProperty("memoryMB").GetDouble() > 0);
        Assert.Equal(worker.GetProperty("pid").GetInt32(), metrics.GetProperty("pid").GetInt32());
        var withHistory = Z("status", id, "--json", "--history");
        using (var h = JsonDocument.Parse(withHistory.Out))
        {
            var samples = h.RootElement.GetProperty("agents")[0].GetProperty("history");
            Assert.InRange(samples.GetArrayLength(), 1, 60);
            Assert.All(samples.EnumerateArray(), sample => Assert.True(sample.TryGetProperty("cpuPercent", out _)));
        }

        Wait.Until(() => { using var s = Status(id); return s.RootElement.GetProperty("state").GetString() != "running"; }, "the cluster to end");
        using var done = Status(id);
        Assert.Equal("completed", done.RootElement.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, done.RootElement.GetProperty("agents")[0].GetProperty("metrics").ValueKind);
        Assert.Contains("✓ done in", Z("logs", id).Out);
        Assert.Contains("\"type\":\"result\"", Z("logs", id, "--raw").Out);
    }

    [Theory]
    [InlineData("stop")]
    [InlineData("kill")]
    public void Stop_and_kill_end_every_agent_process_and_leave_no_orphan(string how)
    {
        // The agent ignores SIGTERM and leaves a background child: stop must still end the whole session.
        var file = ClusterFile($$"""
            { "name": "stubborn", "agents": [
              { "id": "worker", "role": "worker", "command": {{Bash("trap '' TERM; sleep 1000 & echo ready; wait")}} },
              { "id": "side", "role": "worker", "command": {{Bash("echo ready; sleep 1000")}} } ] }
            """);
        var r = Z("run", file, "--detach");
        Assert.True(r.ExitCode == 0, r.Error);
        string id = r.Out.Trim();
        int[] sessions = [];
        Wait.Until(() =>
        {
            using var s = Status(id);
            sessions = s.RootElement.GetProperty("agents").EnumerateArray()
                .Where(a => a.GetProperty("pid").ValueKind == JsonValueKind.Number).Select(a => a.GetProperty("pid").GetInt32()).ToArray();
            return sessions.Length == 2 && sessions.All(p => ProcessesInSession(p).Count >= 2 || ProcessesInSession(p).Count >= 1);
        }, "both agents running");
        Wait.Until(() => ProcessesInSession(sessions[0]).Count >= 2, "the worker's background child");

        var stop = Z(how, id);
        Assert.True(stop.ExitCode == 0, stop.Error);
        Assert.Contains($"{id} stopped", stop.Out);
        foreach (int session in sessions) Assert.Empty(ProcessesInSession(session));
        using var status = Status(id);
        Assert.Equal("stopped", status.RootElement.GetProperty("state").GetString());
    }

    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public void Ctrl_C_or_SIGTERM_stops_a_foreground_cluster_and_exits_130(string signal)
    {
        var file = ClusterFile($$"""
            { "name": "interrupted", "agents": [ { "id": "worker", "role": "worker", "command": {{Bash("echo ready; sleep 1000")}} } ] }
            """);
        using var run = ZeroshotProcess.Start(_home, "run", file);
        Wait.Until(() => run.OutSoFar.Contains("ready", StringComparison.Ordinal), "the agent to start");
        string id = JsonDocument.Parse(Z("list", "--json").Out).RootElement[0].GetProperty("id").GetString()!;
        int agent;
        using (var s = Status(id)) agent = s.RootElement.GetProperty("agents")[0].GetProperty("pid").GetInt32();

        using (var kill = Process.Start("kill", [$"-{signal}", run.Process.Id.ToString(CultureInfo.InvariantCulture)])) kill.WaitForExit();
        var r = run.Wait(TimeSpan.FromSeconds(60));

        Assert.Equal(130, r.ExitCode);
        Assert.Contains("cluster stopped", r.Out);
        Assert.Empty(ProcessesInSession(agent));
        using var after = Status(id);
        Assert.Equal("stopped", after.RootElement.GetProperty("state").GetString());
    }

    [Fact]
    public void A_supervisor_killed_with_SIGKILL_shows_crashed_and_the_database_is_intact()
    {
        var file = ClusterFile($$"""
            { "name": "doomed", "agents": [ { "id": "worker", "role": "worker", "command": {{Bash("sleep 1000")}} } ] }
            """);
        string id = Z("run", file, "--detach").Out.Trim();
        int supervisor = 0;
        Wait.Until(() =>
        {
            using var db = new SqliteConnection($"Data Source={Path.Combine(_home, "state.db")};Mode=ReadOnly");
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "SELECT supervisor_pid FROM clusters WHERE id = $id";
            cmd.Parameters.AddWithValue("$id", id);
            supervisor = cmd.ExecuteScalar() is long pid ? (int)pid : 0;
            return supervisor > 0;
        }, "the supervisor to register");
        Wait.Until(() => { using var s = Status(id); return s.RootElement.GetProperty("agents")[0].GetProperty("pid").ValueKind == JsonValueKind.Number; }, "the agent");
        int agent;
        using (var s = Status(id)) agent = s.RootElement.GetProperty("agents")[0].GetProperty("pid").GetInt32();

        Process.GetProcessById(supervisor).Kill();
        Wait.Until(() => !Directory.Exists($"/proc/{supervisor}"), "the supervisor to die");

        using var after = Status(id);
        Assert.Equal("crashed", after.RootElement.GetProperty("state").GetString());
        var list = Z("list");
        Assert.Matches($@"{id} +cluster +crashed", list.Out);
        // Its agents lost their terminal (SIGHUP): none is left running.
        Wait.Until(() => ProcessesInSession(agent).Count == 0, "the orphaned agent to end");
        using var check = new SqliteConnection($"Data Source={Path.Combine(_home, "state.db")}");
        check.Open();
        using var integrity = check.CreateCommand();
        integrity.CommandText = "PRAGMA integrity_check";
        Assert.Equal("ok", integrity.ExecuteScalar());
    }

    [Fact]
    public void The_log_of_an_agent_writing_50MB_fast_is_byte_exact()
    {
        var payload = Path.Combine(_work, "payload.bin");
        var bytes = RandomNumberGenerator.GetBytes(50 * 1024 * 1024);
        File.WriteAllBytes(payload, bytes);
        // -opost: the terminal passes bytes through untouched (no \n → \r\n), so the log must equal the file.
        var file = ClusterFile($$"""
            { "name": "firehose", "agents": [ { "id": "worker", "role": "worker", "command": {{Bash($"stty -opost; cat {payload}")}} } ] }
            """);
        var r = ZeroshotProcess.RunIn(_home, TimeSpan.FromSeconds(180), "run", file);
        Assert.True(r.ExitCode == 0, r.Error);
        string id = JsonDocument.Parse(Z("list", "--json").Out).RootElement[0].GetProperty("id").GetString()!;
        var log = File.ReadAllBytes(Path.Combine(_home, "logs", id, "worker.log"));
        Assert.Equal(bytes.Length, log.Length);
        Assert.True(bytes.AsSpan().SequenceEqual(log), "the log differs from what the agent wrote");
    }

    [Fact]
    public void Two_clusters_run_at_once_each_with_its_own_supervisor()
    {
        // The workers end when the test says so (a file appears), not after a time a loaded machine may need to start both.
        var go = Path.Combine(_work, "go");
        var file = ClusterFile($$"""
            { "name": "pair", "agents": [ { "id": "worker", "role": "worker", "command": {{Bash($"echo ready; while [ ! -e {go} ]; do sleep 0.1; done; echo done")}} } ] }
            """);
        string a = Z("run", file, "--detach").Out.Trim();
        string b = Z("run", file, "--detach").Out.Trim();
        Assert.NotEqual(a, b);
        var running = JsonDocument.Parse(Z("list", "--json").Out).RootElement.EnumerateArray().Select(c => c.GetProperty("state").GetString()).ToList();
        Assert.Equal(["running", "running"], running);
        File.WriteAllText(go, "");
        Wait.Until(() => JsonDocument.Parse(Z("list", "--json").Out).RootElement.EnumerateArray().All(c => c.GetProperty("state").GetString() == "completed"), "both to complete");
        Assert.Contains("done", Z("logs", a).Out);
        Assert.Contains("done", Z("logs", b[..^2]).Out); // a unique prefix is accepted
    }

    [Fact]
    public void Bad_input_gets_one_line_and_a_documented_exit_code()
    {
        var unknown = Z("status", "no-such-cluster");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Equal("zeroshot: no such cluster or task: no-such-cluster\n", unknown.Error);

        var bad = ClusterFile("""{ "name": "x", "agents": [ { "id": "w", "role": "worker", "command": ["true"] }, { "id": "v", "role": "validator", "command": ["true"], "after": ["wroker"] } ] }""");
        var invalid = Z("run", bad);
        Assert.Equal(2, invalid.ExitCode);
        Assert.Contains(Path.GetFileName(bad), invalid.Error);
        Assert.Contains("agents[1].after[0]", invalid.Error);
        Assert.Single(invalid.Error.TrimEnd('\n').Split('\n'));

        var missing = ZeroshotProcess.RunIn(_home, "run", "fix the bug", "--provider", "claude");
        if (FindOnPath("claude") is null)
        {
            Assert.Equal(1, missing.ExitCode);
            Assert.Contains("'claude'", missing.Error);
            Assert.Contains("--provider", missing.Error);
        }
        foreach (var r in new[] { unknown, invalid, missing }) Assert.DoesNotContain("   at ", r.Error);
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    /// <summary>Live processes whose session id is <paramref name="session"/> (an agent is its session's leader).</summary>
    private static List<int> ProcessesInSession(int session)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            string stat;
            try { stat = File.ReadAllText(Path.Combine(dir, "stat")); }
            catch (IOException) { continue; }
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // fields[0] = state (3), [3] = session (6)
            if (fields[0] != "Z" && int.Parse(fields[3], CultureInfo.InvariantCulture) == session) found.Add(pid);
        }
        return found;
    }
}

/// <summary>End-to-end clusters run one at a time: they share two cores with the rest of the suite.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EndToEndCollection
{
    public const string Name = "end to end";
}

/// <summary>`task run` with the claude provider, against a stand-in `claude` executable on PATH.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class TaskRunTests : IDisposable
{
    private readonly string _home = Path.Combine(Path.GetTempPath(), "zs-task-" + Guid.NewGuid().ToString("N")[..12]);

    public TaskRunTests() => Directory.CreateDirectory(_home);

    public void Dispose()
    {
        try { Directory.Delete(_home, recursive: true); }
        catch (IOException) { /* a temp dir */ }
    }

    [Fact]
    public void A_task_runs_one_claude_agent_with_the_prompt_model_and_cwd_and_counts_its_result()
    {
        var bin = Directory.CreateDirectory(Path.Combine(_home, "bin")).FullName;
        var work = Directory.CreateDirectory(Path.Combine(_home, "project")).FullName;
        var claude = Path.Combine(bin, "claude");
        // Records its argv and working directory, then speaks stream-json like Claude Code.
        File.WriteAllText(claude, """
            #!/bin/bash
            printf '%s\n' "$@" > "$ZEROSHOT_HOME/argv.txt"
            cat > "$ZEROSHOT_HOME/stdin.txt"
            pwd > "$ZEROSHOT_HOME/cwd.txt"
            echo '{"type":"system","subtype":"init","session_id":"s","model":"claude-sonnet-4-5"}'
            echo '{"type":"assistant","message":{"id":"m1","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Fixed it."}],"usage":{"input_tokens":5,"output_tokens":6,"cache_read_input_tokens":0,"cache_creation_input_tokens":0}}}'
            echo '{"type":"result","subtype":"success","is_error":false,"duration_ms":2100,"num_turns":1,"result":"Fixed it.","session_id":"s","total_cost_usd":0.5,"usage":{"input_tokens":5,"output_tokens":6,"cache_read_input_tokens":0,"cache_creation_input_tokens":0}}'
            """.Replace("\r", ""));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(claude, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        using var run = ZeroshotProcess.Start(_home, new Dictionary<string, string> { ["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH") },
            "task", "run", "fix the login bug", "--provider", "claude", "--model", "sonnet", "--cwd", work);
        var r = run.Wait(TimeSpan.FromSeconds(60));

        Assert.True(r.ExitCode == 0, r.Out + r.Error);
        // The prompt arrives on standard input, not in argv (which every local user can read).
        Assert.Equal(["-p", "--output-format", "stream-json", "--verbose", "--include-partial-messages", "--permission-mode", "bypassPermissions", "--model", "sonnet"],
            File.ReadAllLines(Path.Combine(_home, "argv.txt")));
        Assert.Equal("fix the login bug", File.ReadAllText(Path.Combine(_home, "stdin.txt")));
        Assert.Equal(work, File.ReadAllText(Path.Combine(_home, "cwd.txt")).Trim());
        Assert.Matches(@"(?m)│ Fixed it\.$", r.Out);
        Assert.Matches(@"(?m)│ ✓ done in 2\.1s", r.Out);

        var list = JsonDocument.Parse(ZeroshotProcess.RunIn(_home, "list", "--json").Out).RootElement[0];
        Assert.Equal("task", list.GetProperty("kind").GetString());
        Assert.Equal("completed", list.GetProperty("state").GetString());
        Assert.Equal(11, list.GetProperty("tokens").GetProperty("total").GetInt64());
        Assert.Equal(0.5m, list.GetProperty("costUsd").GetDecimal());
        Assert.False(list.GetProperty("costEstimated").GetBoolean());
    }
}
