using System.Text.Json;

namespace Zeroshot.Cli.Tests;

/// <summary>Live and final token accounting seen through `status --json` of a real running cluster.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class AccountingTests : IDisposable
{
    private readonly string _home = Path.Combine(Path.GetTempPath(), "zs-acct-" + Guid.NewGuid().ToString("N")[..12]);

    public AccountingTests()
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

    [Fact]
    public void Status_shows_exact_live_totals_before_the_result_line_and_exact_final_totals_after_it()
    {
        // msg_1 is repeated as its content grows (last value wins: output 25, not 5 or 30); msg_2 once.
        File.WriteAllLines(Path.Combine(_home, "live.jsonl"),
        [
            """{"type":"system","subtype":"init","session_id":"s1","model":"claude-sonnet-4-5"}""",
            """{"type":"assistant","message":{"id":"msg_1","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Looking."}],"usage":{"input_tokens":10,"output_tokens":5,"cache_read_input_tokens":100,"cache_creation_input_tokens":50}}}""",
            """{"type":"assistant","message":{"id":"msg_1","model":"claude-sonnet-4-5","content":[{"type":"tool_use","id":"toolu_1","name":"Bash","input":{"command":"npm test"}}],"usage":{"input_tokens":10,"output_tokens":25,"cache_read_input_tokens":100,"cache_creation_input_tokens":50}}}""",
            """{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_1","type":"tool_result","content":"ok","is_error":false}]}}""",
            """{"type":"assistant","message":{"id":"msg_2","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Done."}],"usage":{"input_tokens":3,"output_tokens":7,"cache_read_input_tokens":0,"cache_creation_input_tokens":0}}}""",
        ]);
        File.WriteAllLines(Path.Combine(_home, "final.jsonl"),
        [
            """{"type":"result","subtype":"success","is_error":false,"duration_ms":1200,"num_turns":2,"result":"Done.","session_id":"s1","total_cost_usd":0.0123,"usage":{"input_tokens":20,"output_tokens":40,"cache_read_input_tokens":100,"cache_creation_input_tokens":50}}""",
        ]);
        string script = $"cd '{_home}'; cat live.jsonl; while [ ! -e go ]; do sleep 0.05; done; cat final.jsonl; while [ ! -e done ]; do sleep 0.05; done";
        var file = Path.Combine(_home, "cluster.json");
        File.WriteAllText(file, $$"""{ "name": "tokens", "agents": [ { "id": "worker", "role": "worker", "command": {{JsonSerializer.Serialize(new[] { "bash", "-c", script })}} } ] }""");
        string id = ZeroshotProcess.RunIn(_home, "run", file, "--detach").Out.Trim();

        JsonElement Agent()
        {
            var r = ZeroshotProcess.RunIn(_home, "status", id, "--json");
            using var doc = JsonDocument.Parse(r.Out);
            return doc.RootElement.GetProperty("agents")[0].Clone();
        }
        static (long, long, long, long, long) Tokens(JsonElement a)
        {
            var t = a.GetProperty("tokens");
            return (t.GetProperty("input").GetInt64(), t.GetProperty("output").GetInt64(), t.GetProperty("cacheRead").GetInt64(),
                t.GetProperty("cacheCreation").GetInt64(), t.GetProperty("total").GetInt64());
        }

        JsonElement live = default;
        Wait.Until(() => Tokens(live = Agent()).Item5 == 195, "the live totals");
        Assert.Equal((13L, 32L, 100L, 50L, 195L), Tokens(live));
        Assert.True(live.GetProperty("costEstimated").GetBoolean());
        Assert.True(live.GetProperty("costUsd").GetDecimal() > 0);
        Assert.Equal("running", live.GetProperty("state").GetString());
        // The last assistant line answered the tool result: no request or tool is open any more.
        Assert.Contains(live.GetProperty("activity").GetString(), new[] { "output", "quiet" });
        Assert.Equal(JsonValueKind.String, live.GetProperty("lastOutputAt").ValueKind);

        File.WriteAllText(Path.Combine(_home, "go"), "");
        JsonElement final = default;
        Wait.Until(() => !(final = Agent()).GetProperty("costEstimated").GetBoolean(), "the result line");
        Assert.Equal((20L, 40L, 100L, 50L, 210L), Tokens(final));
        Assert.Equal(0.0123m, final.GetProperty("costUsd").GetDecimal());

        File.WriteAllText(Path.Combine(_home, "done"), "");
        Wait.Until(() => Agent().GetProperty("state").GetString() == "completed", "the agent to finish");
        var list = JsonDocument.Parse(ZeroshotProcess.RunIn(_home, "list", "--json").Out).RootElement[0];
        Assert.Equal(210, list.GetProperty("tokens").GetProperty("total").GetInt64());
        Assert.Equal(0.0123m, list.GetProperty("costUsd").GetDecimal());
    }
}
