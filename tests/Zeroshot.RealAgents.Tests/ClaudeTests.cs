using System.Text.Json;

namespace Zeroshot.RealAgents.Tests;

public sealed class ClaudeTests
{
    private static readonly TokenUsage ToolTurnUsage = new(Input: 1200, Output: 45, CacheRead: 300, CacheCreation: 70);
    private static readonly TokenUsage FinalTurnUsage = new(Input: 1500, Output: 20, CacheRead: 900, CacheCreation: 11);

    private static string[] Args(string prompt, bool bypass = true) =>
    [
        "-p", prompt, "--output-format", "stream-json", "--verbose", "--include-partial-messages",
        .. bypass ? new[] { "--permission-mode", "bypassPermissions" } : [],
    ];

    [Fact]
    public async Task Tool_call_runs_and_result_usage_equals_the_scripted_sums()
    {
        await using var server = new ModelServer();
        server.Default.Then(
            ScriptedTurn.Shell("echo hi > out.txt; sleep 2", ToolTurnUsage, preamble: "Writing the file."),
            ScriptedTurn.Text("Done: out.txt written.", FinalTurnUsage));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Claude, server);

        var run = await sandbox.RunAsync(Args("Write hi into out.txt"));
        Transcript.Save("claude-tool-call", run, server);
        foreach (var (r, i) in server.ModelRequests.Select((r, i) => (r, i)))
            Transcript.SaveRequest($"claude-tool-call-{i}", r);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("hi\n", File.ReadAllText(Path.Combine(sandbox.WorkDir, "out.txt")));
        Assert.Equal(0, server.Default.Remaining);
        Assert.DoesNotContain(server.Requests, r => r.Kind == RequestKind.Unscripted);
        var result = Assert.Single(run.OfType("result"));
        var usage = result.GetProperty("usage");
        var expected = ToolTurnUsage + FinalTurnUsage;
        Assert.Equal(expected, server.Served(protocol: ModelProtocol.Anthropic));
        Assert.Equal(expected.Input, usage.GetProperty("input_tokens").GetInt64());
        Assert.Equal(expected.Output, usage.GetProperty("output_tokens").GetInt64());
        Assert.Equal(expected.CacheRead, usage.GetProperty("cache_read_input_tokens").GetInt64());
        Assert.Equal(expected.CacheCreation, usage.GetProperty("cache_creation_input_tokens").GetInt64());
        Assert.NotEmpty(run.OfType("stream_event"));
        Assert.Single(run.OfType("system", "init"));
        // The second scripted request carries the tool's result.
        var second = server.ModelRequests.Where(r => r.Kind == RequestKind.Scripted).ElementAt(1);
        Assert.Contains("tool_result", second.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Default_permission_mode_denies_bash_redirection_and_still_exits_0()
    {
        await using var server = new ModelServer();
        server.Default.Then(
            ScriptedTurn.Shell("echo hi > denied.txt", ToolTurnUsage),
            ScriptedTurn.Text("I could not write the file.", FinalTurnUsage));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Claude, server);

        var run = await sandbox.RunAsync(Args("Write hi into denied.txt", bypass: false));
        Transcript.Save("claude-denied", run, server);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.False(File.Exists(Path.Combine(sandbox.WorkDir, "denied.txt")));
        var toolResult = run.OfType("user").SelectMany(u => u.GetProperty("message").GetProperty("content").EnumerateArray())
            .Single(b => b.GetProperty("type").GetString() == "tool_result");
        Assert.True(toolResult.GetProperty("is_error").GetBoolean(), toolResult.ToString());
        var result = Assert.Single(run.OfType("result"));
        Assert.True(result.TryGetProperty("permission_denials", out var denials) && denials.GetArrayLength() == 1, result.ToString());
        Assert.Equal(ToolTurnUsage + FinalTurnUsage, server.Served());
    }

    [Fact]
    public async Task Overloaded_529_is_retried_with_api_retry_lines_then_succeeds()
    {
        await using var server = new ModelServer();
        server.Default.Then(ScriptedTurn.Error(529), ScriptedTurn.Error(529), ScriptedTurn.Text("Recovered.", FinalTurnUsage));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Claude, server, new AgentSandboxOptions { MaxRetries = 3 });

        var run = await sandbox.RunAsync(Args("Say something"));
        Transcript.Save("claude-overloaded-retry", run, server);

        Assert.True(run.ExitCode == 0, run.ToString());
        var retries = run.OfType("system", "api_retry");
        Assert.Equal(2, retries.Count);
        Assert.All(retries, r => Assert.Equal(529, r.GetProperty("error_status").GetInt32()));
        var result = Assert.Single(run.OfType("result"));
        Assert.False(result.GetProperty("is_error").GetBoolean());
        Assert.Equal(FinalTurnUsage.Input, result.GetProperty("usage").GetProperty("input_tokens").GetInt64());
        Assert.Equal(FinalTurnUsage.Output, result.GetProperty("usage").GetProperty("output_tokens").GetInt64());
        Assert.Equal(3, server.ModelRequests.Count(r => r.Kind == RequestKind.Scripted));
    }

    [Fact]
    public async Task Unauthorized_401_ends_with_an_error_result()
    {
        await using var server = new ModelServer();
        server.Default.Then(ScriptedTurn.Error(401), ScriptedTurn.Error(401), ScriptedTurn.Error(401), ScriptedTurn.Error(401));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Claude, server, new AgentSandboxOptions { MaxRetries = 1 });

        var run = await sandbox.RunAsync(Args("Say something"));
        Transcript.Save("claude-unauthorized", run, server);

        // 401 is retried like any error (api_retry error "authentication_failed"), then a synthetic assistant
        // message ("Invalid API key · Fix external API key", model "<synthetic>") and an error result; exit 1.
        Assert.True(run.ExitCode == 1, run.ToString());
        var retry = Assert.Single(run.OfType("system", "api_retry"));
        Assert.Equal(401, retry.GetProperty("error_status").GetInt32());
        Assert.Equal("authentication_failed", retry.GetProperty("error").GetString());
        var result = Assert.Single(run.OfType("result"));
        Assert.True(result.GetProperty("is_error").GetBoolean());
        Assert.Equal(2, server.ModelRequests.Count(r => r.Kind == RequestKind.Scripted));
        Assert.Equal(TokenUsage.Zero, server.Served());
    }

    [Fact]
    public async Task Stalled_stream_is_abandoned_and_retried()
    {
        await using var server = new ModelServer();
        server.Default.Then(ScriptedTurn.Stall("Thinking about", FinalTurnUsage), ScriptedTurn.Text("Recovered after a stall.", FinalTurnUsage));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Claude, server, new AgentSandboxOptions
        {
            MaxRetries = 2,
            // Claude Code 2.1.332 abandons a stream that sends no byte for CLAUDE_BYTE_STREAM_IDLE_TIMEOUT_MS
            // (clamped to at least 10 s; the default is 5 minutes). API_TIMEOUT_MS does not cover a stream that started.
            Environment = new Dictionary<string, string> { ["CLAUDE_BYTE_STREAM_IDLE_TIMEOUT_MS"] = "10000" },
        });

        var run = await sandbox.RunAsync(Args("Say something"), timeout: TimeSpan.FromSeconds(55));
        Transcript.Save("claude-stall", run, server);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(2, server.ModelRequests.Count(r => r.Kind == RequestKind.Scripted));
        Assert.Equal(FinalTurnUsage, server.Served());
        // Claude closes the abandoned message itself (content_block_stop, message_stop, no message_delta) and retries
        // without streaming: no stream events for the retry, whose assistant line carries the final usage.
        var retry = server.ModelRequests[1].Json!.Value;
        Assert.False(retry.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True, "the retry streams");
        Assert.Single(run.OfType("stream_event"), e => e.GetProperty("event").GetProperty("type").GetString() == "message_start");
        Assert.Empty(run.OfType("system", "api_retry"));
        // The abandoned stream's message_start usage (input, cache, output 1) is counted in the result too.
        var expected = server.Served() + server.ServedPartially();
        Assert.Equal(new TokenUsage(3000, 21, 1800, 22), expected);
        var usage = Assert.Single(run.OfType("result")).GetProperty("usage");
        Assert.Equal(expected.Input, usage.GetProperty("input_tokens").GetInt64());
        Assert.Equal(expected.Output, usage.GetProperty("output_tokens").GetInt64());
        Assert.Equal(expected.CacheRead, usage.GetProperty("cache_read_input_tokens").GetInt64());
        Assert.Equal(expected.CacheCreation, usage.GetProperty("cache_creation_input_tokens").GetInt64());
    }

    [Fact]
    public async Task Trickled_text_arrives_as_separate_deltas_over_time()
    {
        await using var server = new ModelServer();
        string[] pieces = ["One ", "two ", "three ", "four."];
        server.Default.Then(ScriptedTurn.Trickle(pieces, TimeSpan.FromMilliseconds(800), FinalTurnUsage));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Claude, server);

        var run = await sandbox.RunAsync(Args("Count"));
        Transcript.Save("claude-trickle", run, server);

        Assert.True(run.ExitCode == 0, run.ToString());
        var deltas = run.Timeline.Where(l => l.Line.Contains("\"text_delta\"", StringComparison.Ordinal)).ToList();
        Assert.Equal(pieces.Length, deltas.Count);
        // Streamed live: the first and last delta reach stdout at least 3 x 800 ms apart (minus scheduling slack).
        Assert.True(deltas[^1].At - deltas[0].At >= TimeSpan.FromMilliseconds(2000), string.Join("\n", deltas.Select(d => d.At.ToString())));
        Assert.Equal("One two three four.", Assert.Single(run.OfType("result")).GetProperty("result").GetString());
    }

    [Fact]
    public async Task Prompt_can_come_on_stdin()
    {
        await using var server = new ModelServer();
        server.Default.Then(ScriptedTurn.Text("Read it.", FinalTurnUsage));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Claude, server);

        var run = await sandbox.RunAsync(["-p", "--output-format", "stream-json", "--verbose"], stdin: "PROMPT-ON-STDIN-4711");
        Transcript.Save("claude-stdin-prompt", run, server);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("PROMPT-ON-STDIN-4711", Assert.Single(server.ModelRequests, r => r.Kind == RequestKind.Scripted).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Json_schema_structured_output()
    {
        await using var server = new ModelServer();
        // Claude Code offers a StructuredOutput tool whose input_schema is the schema; the run ends as soon as the
        // model calls it (no further request), and the result line carries structured_output.
        server.Default.Then(ScriptedTurn.Tool("StructuredOutput", "{\"verdict\":\"approve\",\"issues\":[]}", ToolTurnUsage));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Claude, server);
        const string schema = "{\"type\":\"object\",\"properties\":{\"verdict\":{\"type\":\"string\",\"enum\":[\"approve\",\"reject\"]},\"issues\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}},\"required\":[\"verdict\",\"issues\"]}";

        var run = await sandbox.RunAsync([.. Args("Review"), "--json-schema", schema]);
        Transcript.Save("claude-json-schema", run, server);
        foreach (var (r, i) in server.ModelRequests.Select((r, i) => (r, i)))
            Transcript.SaveRequest($"claude-json-schema-{i}", r);

        Assert.True(run.ExitCode == 0, run.ToString());
        var result = Assert.Single(run.OfType("result"));
        Assert.True(result.TryGetProperty("structured_output", out var structured), result.ToString());
        Assert.Equal("approve", structured.GetProperty("verdict").GetString());
        Assert.Equal(0, server.Default.Remaining);
        Assert.Equal(ToolTurnUsage.Input, result.GetProperty("usage").GetProperty("input_tokens").GetInt64());
        var tools = Assert.Single(server.ModelRequests).Json!.Value.GetProperty("tools");
        Assert.Contains(tools.EnumerateArray(), t => t.GetProperty("name").GetString() == "StructuredOutput"
            && t.GetProperty("input_schema").GetProperty("required").GetArrayLength() == 2);
    }

    [Fact]
    public async Task Side_requests_do_not_consume_scripted_turns()
    {
        await using var server = new ModelServer();
        server.Default.Then(
            ScriptedTurn.Shell("echo hi > out.txt", ToolTurnUsage),
            ScriptedTurn.Text("Done.", FinalTurnUsage));
        // Without CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC Claude Code may make more requests (titles, topics...).
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Claude, server, new AgentSandboxOptions
        {
            Environment = new Dictionary<string, string> { ["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "" },
        });

        var run = await sandbox.RunAsync(Args("Write hi into out.txt"));
        Transcript.Save("claude-nonessential-traffic", run, server);
        foreach (var (r, i) in server.Requests.Select((r, i) => (r, i)))
            Transcript.SaveRequest($"claude-nonessential-{i}", r);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.True(File.Exists(Path.Combine(sandbox.WorkDir, "out.txt")));
        Assert.Equal(0, server.Default.Remaining);
        Assert.Equal(2, server.ModelRequests.Count(r => r.Kind == RequestKind.Scripted));
        var usage = Assert.Single(run.OfType("result")).GetProperty("usage");
        Assert.Equal((ToolTurnUsage + FinalTurnUsage).Input, usage.GetProperty("input_tokens").GetInt64());
        Assert.Equal((ToolTurnUsage + FinalTurnUsage).Output, usage.GetProperty("output_tokens").GetInt64());
    }

    [Fact]
    public async Task Rate_limit_429_honours_retry_after()
    {
        await using var server = new ModelServer();
        server.Default.Then(ScriptedTurn.Error(429, retryAfterSeconds: 2), ScriptedTurn.Text("Recovered.", FinalTurnUsage));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Claude, server, new AgentSandboxOptions { MaxRetries = 2 });

        var run = await sandbox.RunAsync(Args("Say something"));
        Transcript.Save("claude-rate-limit-retry", run, server);

        Assert.True(run.ExitCode == 0, run.ToString());
        var retry = Assert.Single(run.OfType("system", "api_retry"));
        Assert.Equal(429, retry.GetProperty("error_status").GetInt32());
        Assert.Equal("rate_limit", retry.GetProperty("error").GetString());
        // retry-after: 2 is honoured (plus jitter: 2222 and 2439 ms seen).
        Assert.InRange(retry.GetProperty("retry_delay_ms").GetInt32(), 2000, 3000);
        var requests = server.ModelRequests;
        Assert.True(requests[1].At - requests[0].At >= TimeSpan.FromMilliseconds(1900));
    }

    [Theory]
    [InlineData("sonnet", "claude-sonnet-5-5")]
    [InlineData("haiku", "claude-haiku-5-5")]
    [InlineData("claude-sonnet-4-5", "claude-sonnet-4-5")]
    public async Task Model_alias_is_resolved_before_the_request_and_named_in_init(string model, string expected)
    {
        await using var server = new ModelServer();
        server.Default.Then(ScriptedTurn.Text("Hi.", FinalTurnUsage));
        using var sandbox = RealAgentClis.Sandbox(AgentCli.Claude, server);

        var run = await sandbox.RunAsync([.. Args("Say hi"), "--model", model]);

        Assert.True(run.ExitCode == 0, run.ToString());
        var requested = Assert.Single(server.ModelRequests).Json!.Value.GetProperty("model").GetString();
        var init = Assert.Single(run.OfType("system", "init")).GetProperty("model").GetString();
        Assert.Equal(requested, init);
        Assert.Contains(requested, Assert.Single(run.OfType("result")).GetProperty("modelUsage").EnumerateObject().Select(p => p.Name));
        Assert.Equal(expected, requested);
    }
}
