using System.Text.Json;
using Zeroshot.TestModelServer;

namespace Zeroshot.Cli.Tests.RealAgents;

/// <summary>
/// The real Claude Code, Codex and Gemini CLIs (pinned, installed by .ci/install-agent-clis) run under the real
/// zeroshot executable against the scripted local model server: what the server served is known exactly, so
/// tokens, costs, verdicts and states can be checked to the unit.
/// </summary>
[Collection(RealAgentCollection.Name)]
public sealed class RealAgentRunTests : IDisposable
{
    private static readonly TokenUsage ToolTurn = new(Input: 1200, Output: 45, CacheRead: 300, CacheCreation: 70);
    private static readonly TokenUsage FinalTurn = new(Input: 1500, Output: 20, CacheRead: 900, CacheCreation: 11);
    private readonly string _home = Directory.CreateTempSubdirectory("zeroshot-real-").FullName;

    // The sandboxes' TMPDIR is deep under $HOME/.cache; a Unix socket path must fit in 107 bytes.
    private readonly string _runtime = Directory.CreateTempSubdirectory("zsrt-").FullName;

    public void Dispose()
    {
        foreach (var dir in new[] { _home, _runtime })
        {
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { /* an agent's straggler still writes its log; the temp folder is left */ }
        }
    }

    /// <summary>zeroshot with the sandbox's environment (the CLI on PATH, its HOME, its server), as a user would run it.</summary>
    private ZeroshotProcess.Result Zeroshot(AgentSandbox sandbox, TimeSpan timeout, params string[] args)
    {
        var env = new Dictionary<string, string>(sandbox.Environment) { ["XDG_RUNTIME_DIR"] = _runtime };
        using var running = ZeroshotProcess.Start(_home, env, args);
        return running.Wait(timeout);
    }

    private JsonDocument Status(string id)
    {
        using var running = ZeroshotProcess.Start(_home, new Dictionary<string, string> { ["XDG_RUNTIME_DIR"] = _runtime }, "status", id, "--json");
        var r = running.Wait(TimeSpan.FromSeconds(30));
        Assert.True(r.ExitCode == 0, r.Out + r.Error);
        return JsonDocument.Parse(r.Out);
    }

    private string OnlyClusterId()
    {
        var list = ZeroshotProcess.RunIn(_home, "list", "--json");
        using var doc = JsonDocument.Parse(list.Out);
        return doc.RootElement[0].GetProperty("id").GetString()!;
    }

    private static void AssertTokens(TokenUsage expected, JsonElement agentOrCluster)
    {
        var tokens = agentOrCluster.GetProperty("tokens");
        Assert.Equal(expected.Input, tokens.GetProperty("input").GetInt64());
        Assert.Equal(expected.Output, tokens.GetProperty("output").GetInt64());
        Assert.Equal(expected.CacheRead, tokens.GetProperty("cacheRead").GetInt64());
        Assert.Equal(expected.CacheCreation, tokens.GetProperty("cacheCreation").GetInt64());
    }

    /// <summary>The model the CLI asked the server for in its last scripted request (what it should report).</summary>
    private static string RequestedModel(ModelServer server, ModelProtocol protocol)
    {
        var request = server.ModelRequests.Last(q => q.Kind == RequestKind.Scripted && q.Protocol == protocol);
        if (protocol == ModelProtocol.Gemini)
        {
            // POST /v1beta/models/<model>:streamGenerateContent
            var path = request.Target.Split('?')[0];
            return path[(path.LastIndexOf('/') + 1)..].Split(':')[0];
        }
        return request.Json!.Value.GetProperty("model").GetString()!;
    }

    private static void AssertPlain(string output)
    {
        // Plain output (not a terminal): no escape sequence and no control byte but tab and newline survive,
        // in particular not the SI that Claude's ESC ( B left behind (issue #8, "worker │ B\x0f").
        Assert.DoesNotContain('\u001b', output);
        Assert.DoesNotContain(output, c => c < 0x20 && c != '\n' && c != '\t');
        Assert.DoesNotContain("B\u000f", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Task_run_with_claude_does_real_work_with_exact_tokens_reported_cost_and_the_model_from_the_stream()
    {
        await using var server = new ModelServer();
        server.Default.Then(
            ScriptedTurn.Shell("echo hi > out.txt; sleep 1", ToolTurn, preamble: "Writing the file."),
            ScriptedTurn.Text("Done: out.txt written.", FinalTurn));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Claude, server);

        var r = Zeroshot(sandbox, TimeSpan.FromSeconds(120), "task", "run", "--provider", "claude", "--cwd", sandbox.WorkDir, "Write hi into out.txt");

        Assert.True(r.ExitCode == 0, r.Out + r.Error);
        Assert.Equal("hi\n", File.ReadAllText(Path.Combine(sandbox.WorkDir, "out.txt")));   // the default permission mode lets it work
        Assert.Matches(@"(?m)^worker +│ ⚙ Bash: echo hi > out.txt; sleep 1$", r.Out);
        Assert.Matches(@"(?m)^worker +│ Done: out.txt written\.$", r.Out);
        AssertPlain(r.Out);
        using var status = Status(OnlyClusterId());
        var worker = status.RootElement.GetProperty("agents")[0];
        AssertTokens(ToolTurn + FinalTurn, worker);
        Assert.False(worker.GetProperty("costEstimated").GetBoolean());           // Claude's own total_cost_usd
        Assert.True(worker.GetProperty("costUsd").GetDecimal() > 0);
        Assert.Equal(RequestedModel(server, ModelProtocol.Anthropic), worker.GetProperty("model").GetString()); // from system/init
        Assert.Equal("completed", worker.GetProperty("state").GetString());
    }

    [Fact]
    public async Task Task_run_with_codex_writes_in_its_workspace_and_is_priced_at_its_configured_model()
    {
        await using var server = new ModelServer();
        server.Default.Then(
            ScriptedTurn.Shell("echo hi > out.txt", ToolTurn with { CacheCreation = 0 }),
            ScriptedTurn.Text("Done.", FinalTurn with { CacheCreation = 0 }));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Codex, server);

        var r = Zeroshot(sandbox, TimeSpan.FromSeconds(120), "task", "run", "--provider", "codex", "--cwd", sandbox.WorkDir, "Write hi into out.txt");

        Assert.True(r.ExitCode == 0, r.Out + r.Error);
        Assert.Equal("hi\n", File.ReadAllText(Path.Combine(sandbox.WorkDir, "out.txt")));   // workspace-write, no git repo needed
        AssertPlain(r.Out);
        using var status = Status(OnlyClusterId());
        var worker = status.RootElement.GetProperty("agents")[0];
        AssertTokens(new TokenUsage(ToolTurn.Input + FinalTurn.Input, ToolTurn.Output + FinalTurn.Output, ToolTurn.CacheRead + FinalTurn.CacheRead), worker);
        Assert.Equal("gpt-5.5", worker.GetProperty("model").GetString());       // from $CODEX_HOME/config.toml
        Assert.True(worker.GetProperty("costEstimated").GetBoolean());
        // Priced as gpt-5 (1.25 in, 10 out, 0.125 cached per million), not at the Sonnet default.
        decimal expected = ((ToolTurn.Input + FinalTurn.Input) * 1.25m + (ToolTurn.Output + FinalTurn.Output) * 10m
            + (ToolTurn.CacheRead + FinalTurn.CacheRead) * 0.125m) / 1_000_000m;
        Assert.Equal(expected, worker.GetProperty("costUsd").GetDecimal());
    }

    [Fact]
    public async Task Task_run_with_gemini_is_rendered_and_accounted()
    {
        await using var server = new ModelServer();
        server.Default.Then(
            ScriptedTurn.Shell("echo hi > out.txt", ToolTurn with { CacheCreation = 0 }),
            ScriptedTurn.Text("Done: out.txt written.", FinalTurn with { CacheCreation = 0 }));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Gemini, server);

        var r = Zeroshot(sandbox, TimeSpan.FromSeconds(120), "task", "run", "--provider", "gemini", "--cwd", sandbox.WorkDir, "Write hi into out.txt");

        Assert.True(r.ExitCode == 0, r.Out + r.Error);
        Assert.Equal("hi\n", File.ReadAllText(Path.Combine(sandbox.WorkDir, "out.txt")));
        Assert.Matches(@"(?m)^worker +│ ⚙ run_shell_command: echo hi > out.txt$", r.Out);
        Assert.Matches(@"(?m)^worker +│ Done: out.txt written\.$", r.Out);
        AssertPlain(r.Out);
        using var status = Status(OnlyClusterId());
        var worker = status.RootElement.GetProperty("agents")[0];
        var served = server.Served(protocol: ModelProtocol.Gemini);
        AssertTokens(new TokenUsage(served.Input, served.Output + served.Reasoning, served.CacheRead), worker);
        Assert.Equal(RequestedModel(server, ModelProtocol.Gemini), worker.GetProperty("model").GetString());
    }

    [Fact]
    public async Task A_codex_validator_rejects_once_with_issues_the_claude_worker_gets_them_and_the_second_iteration_is_approved()
    {
        await using var server = new ModelServer();
        var workerKey = RealAgentCluster.WorkerKey;
        var validatorKey = RealAgentCluster.ValidatorKey;
        server.Script(workerKey).Then(
            ScriptedTurn.Text("First attempt done.", FinalTurn),
            ScriptedTurn.Text("Second attempt: fixed the empty-input case.", ToolTurn));
        var noCache = FinalTurn with { CacheCreation = 0 };
        server.Script(validatorKey).Then(
            ScriptedTurn.Text("""{"approved": false, "summary": "Empty input is accepted.", "issues": ["reject empty input in signup()", "add a test for it"]}""", noCache),
            ScriptedTurn.Text("""{"approved": true, "summary": "All good now.", "issues": []}""", noCache));
        using var claude = RealAgentClis.Sandbox(AgentCli.Claude, server, new AgentSandboxOptions { ApiKey = workerKey });
        using var codex = RealAgentClis.Sandbox(AgentCli.Codex, server, new AgentSandboxOptions { ApiKey = validatorKey });
        var cluster = RealAgentCluster.Write(_home, "verdicts", "Add input validation to signup().", ("claude", claude), "checker", ("codex", codex));

        var r = Zeroshot(claude, TimeSpan.FromSeconds(240), "run", cluster);

        Assert.True(r.ExitCode == 0, r.Out + r.Error);
        Assert.Contains("checker: rejected (2 issues): Empty input is accepted.", r.Out);
        Assert.Contains("iteration 2/3", r.Out);
        Assert.Contains("checker: approved: All good now.", r.Out);
        Assert.Contains("cluster completed", r.Out);
        // The worker's second prompt carries the validator's summary and issues.
        var workerPrompts = server.ModelRequests.Where(q => q.Kind == RequestKind.Scripted && q.Route == workerKey).ToList();
        Assert.Equal(2, workerPrompts.Count);
        Assert.DoesNotContain("reject empty input in signup()", workerPrompts[0].Body, StringComparison.Ordinal);
        Assert.Contains("reject empty input in signup()", workerPrompts[1].Body, StringComparison.Ordinal);
        Assert.Contains("add a test for it", workerPrompts[1].Body, StringComparison.Ordinal);
        // Exact totals: everything the server served, in two iterations.
        using var status = Status(OnlyClusterId());
        var root = status.RootElement;
        Assert.Equal(2, root.GetProperty("iteration").GetInt32());
        var worker = root.GetProperty("agents")[0];
        var checker = root.GetProperty("agents")[1];
        AssertTokens(server.Served(route: workerKey), worker);
        var validatorServed = server.Served(route: validatorKey);
        AssertTokens(validatorServed, checker);
        Assert.True(checker.GetProperty("verdict").GetProperty("approved").GetBoolean());
        Assert.Equal(2, checker.GetProperty("verdict").GetProperty("iteration").GetInt32());
        var feedback = JsonDocument.Parse(File.ReadAllText(Path.Combine(_home, "logs", root.GetProperty("id").GetString()!, "feedback-1.json")));
        Assert.Equal(["reject empty input in signup()", "add a test for it"],
            feedback.RootElement.GetProperty("rejections")[0].GetProperty("issues").EnumerateArray().Select(i => i.GetString()));
    }

    [Fact]
    public async Task A_validator_that_hits_401_fails_the_cluster_with_its_error_and_the_worker_runs_once()
    {
        await using var server = new ModelServer();
        var workerKey = RealAgentCluster.WorkerKey;
        var validatorKey = RealAgentCluster.ValidatorKey;
        server.Script(workerKey).Then(ScriptedTurn.Text("Done.", FinalTurn));
        server.Script(validatorKey).Then(ScriptedTurn.Error(401), ScriptedTurn.Error(401), ScriptedTurn.Error(401));
        using var worker = RealAgentClis.Sandbox(AgentCli.Claude, server, new AgentSandboxOptions { ApiKey = workerKey });
        using var validator = RealAgentClis.Sandbox(AgentCli.Claude, server, new AgentSandboxOptions { ApiKey = validatorKey, MaxRetries = 1 });
        var cluster = RealAgentCluster.Write(_home, "unauthorized", "Do the thing.", ("claude", worker), "reviewer", ("claude", validator));

        var r = Zeroshot(worker, TimeSpan.FromSeconds(180), "run", cluster);

        Assert.Equal(1, r.ExitCode);
        Assert.Matches(@"validator reviewer failed: 401 ", r.Out);
        Assert.Contains("cluster failed", r.Out);
        Assert.DoesNotContain("iteration 2/3", r.Out);
        Assert.Single(server.ModelRequests, q => q.Kind == RequestKind.Scripted && q.Route == workerKey);   // no blind re-run
        using var status = Status(OnlyClusterId());
        var reviewer = status.RootElement.GetProperty("agents")[1];
        Assert.Equal("failed", reviewer.GetProperty("state").GetString());
        Assert.StartsWith("401 ", reviewer.GetProperty("lastError").GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, reviewer.GetProperty("verdict").ValueKind);
    }

    [Fact]
    public async Task Claude_refusing_to_bypass_permissions_as_root_is_explained_in_one_line()
    {
        if (!RealAgentClis.IsRoot)
            return; // the refusal only exists for root; CI runs as root, so this always runs there
        await using var server = new ModelServer();
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Claude, server, new AgentSandboxOptions
        {
            Environment = new Dictionary<string, string> { ["IS_SANDBOX"] = "" },
        });

        var r = Zeroshot(sandbox, TimeSpan.FromSeconds(60), "task", "run", "--cwd", sandbox.WorkDir, "Write hi into out.txt");

        Assert.Equal(1, r.ExitCode);
        Assert.Matches(@"(?m)^worker +│ ✗ Claude Code refuses --permission-mode bypassPermissions as root: .*IS_SANDBOX=1", r.Out);
        Assert.Empty(server.ModelRequests);
        using var status = Status(OnlyClusterId());
        Assert.StartsWith("Claude Code refuses", status.RootElement.GetProperty("agents")[0].GetProperty("lastError").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Claude_in_its_own_default_permission_mode_shows_the_denied_bash_and_the_worker_fails()
    {
        await using var server = new ModelServer();
        server.Default.Then(
            ScriptedTurn.Shell("echo hi > out.txt", ToolTurn),
            ScriptedTurn.Text("I could not write the file.", FinalTurn));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Claude, server);
        // A user who overrode the claude command without a permission mode (Claude Code's own default).
        File.WriteAllText(Path.Combine(_home, "settings.json"),
            """{"providers": {"claude": {"command": ["claude", "-p", "{prompt}", "--output-format", "stream-json", "--verbose"]}}}""");

        var r = Zeroshot(sandbox, TimeSpan.FromSeconds(120), "task", "run", "--cwd", sandbox.WorkDir, "Write hi into out.txt");

        Assert.Equal(1, r.ExitCode);
        Assert.False(File.Exists(Path.Combine(sandbox.WorkDir, "out.txt")));
        // The reason is Claude Code's own words, cut to one line (the log has them whole).
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(r.Out, @"(?m)^worker +│ ✗ Bash denied: Output redirection to '/"), r.Out);
        Assert.Contains("worker: failed: exit code 0 · all 1 tool calls were refused by the CLI's permission mode or sandbox", r.Out);
        AssertPlain(r.Out);
    }

    [Fact]
    public async Task Codex_in_its_read_only_sandbox_shows_the_failed_write_and_the_worker_fails()
    {
        await using var server = new ModelServer();
        server.Default.Then(
            ScriptedTurn.Shell("echo hi > out.txt", ToolTurn with { CacheCreation = 0 }),
            ScriptedTurn.Text("I could not write the file.", FinalTurn with { CacheCreation = 0 }));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Codex, server);
        // Codex's own default sandbox (read-only), as a user who overrode the command would get.
        File.WriteAllText(Path.Combine(_home, "settings.json"),
            """{"providers": {"codex": {"command": ["codex", "exec", "--json", "--skip-git-repo-check", "{modelArgs}", "{prompt}"]}}}""");

        var r = Zeroshot(sandbox, TimeSpan.FromSeconds(120), "task", "run", "--provider", "codex", "--cwd", sandbox.WorkDir, "Write hi into out.txt");

        Assert.False(File.Exists(Path.Combine(sandbox.WorkDir, "out.txt")));
        // Codex 0.171 reports the refused command as a command_execution item in only some runs (measured here: 6 of
        // 14; the model always gets the error). When it does, zeroshot must show it and fail the worker; when it does
        // not, nothing in its output says a tool ran, and the run reads as the model's own answer.
        var log = File.ReadAllText(Path.Combine(_home, "logs", OnlyClusterId(), "worker.log"));
        if (log.Contains("\"type\":\"command_execution\"", StringComparison.Ordinal))
        {
            Assert.Equal(1, r.ExitCode);
            Assert.Matches(@"(?m)^worker +│ ✗ shell failed: read-only file system$", r.Out);
            Assert.Contains("all 1 tool calls were refused", r.Out);
        }
        else
        {
            Assert.True(r.ExitCode == 0, r.Out + r.Error);
            Assert.Matches(@"(?m)^worker +│ I could not write the file\.$", r.Out);
        }
    }

    [Fact]
    public async Task Retries_show_as_retrying_with_status_attempt_and_delay_and_live_tokens_follow_the_server()
    {
        await using var server = new ModelServer();
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Claude, server, new AgentSandboxOptions { MaxRetries = 5 });
        // The tool call runs until the test has seen it (ToolGate: why).
        var gate = new ToolGate(sandbox.WorkDir);
        server.Default.Then(
            ScriptedTurn.Error(529), ScriptedTurn.Error(529), ScriptedTurn.Error(529),
            ScriptedTurn.Shell(gate.Command(), ToolTurn),
            ScriptedTurn.Text("Done.", FinalTurn));

        var detach = Zeroshot(sandbox, TimeSpan.FromSeconds(60), "task", "run", "--detach", "--cwd", sandbox.WorkDir, "Wait for the gate");
        Assert.True(detach.ExitCode == 0, detach.Out + detach.Error);
        var id = detach.Out.Trim();

        // While Claude retries: activity "retrying" with the HTTP status, attempt/max and delay, and the error kept.
        JsonElement retrying = default;
        Wait.Until(() =>
        {
            using var doc = Status(id);
            var a = doc.RootElement.GetProperty("agents")[0];
            if (a.GetProperty("activity").GetString() != "retrying") return false;
            retrying = a.Clone();
            return true;
        }, "the agent to read retrying", 60_000);
        Assert.Matches(@"^529 \d/5 in \d", retrying.GetProperty("activityDetail").GetString());
        Assert.Contains("529", retrying.GetProperty("lastError").GetString(), StringComparison.Ordinal);

        // During the tool call: live tokens equal what the server has sent so far (partial messages on).
        JsonElement inTool = default;
        Wait.Until(() =>
        {
            using var doc = Status(id);
            var a = doc.RootElement.GetProperty("agents")[0];
            if (a.GetProperty("activityDetail").GetString() != "Bash") return false;
            inTool = a.Clone();
            // The tool shows from its content block's start, the message's final usage a delta later: wait for both.
            return a.GetProperty("tokens").GetProperty("output").GetInt64() == ToolTurn.Output;
        }, "the Bash tool call with its message's usage", 60_000);
        AssertTokens(ToolTurn, inTool);
        Assert.Equal(JsonValueKind.Null, inTool.GetProperty("lastError").ValueKind);   // cleared by the success
        gate.Release();

        Wait.Until(() =>
        {
            using var doc = Status(id);
            return doc.RootElement.GetProperty("state").GetString() == "completed";
        }, "the task to complete", 60_000);
        using var final = Status(id);
        AssertTokens(ToolTurn + FinalTurn, final.RootElement.GetProperty("agents")[0]);
    }
}

/// <summary>Real-agent runs are heavy (a 250 MB Node or native CLI each): one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RealAgentCollection
{
    public const string Name = "real agents";
}
