using System.Text;
using System.Text.Json;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;
using Zeroshot.Cli.Commands;

namespace Zeroshot.Cli.Tests.Hardening;

/// <summary>
/// Clusters of 200 agents run; the cap (256 by default, <c>maxAgents</c> in settings.json) is named precisely; error
/// messages and stored events never pass a control byte of their input to the terminal.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ClusterFileTests : IDisposable
{
    private readonly string _home = Path.Combine(Path.GetTempPath(), "zs-cf-" + Guid.NewGuid().ToString("N")[..12]);

    public ClusterFileTests() => Directory.CreateDirectory(_home);

    public void Dispose()
    {
        try { Directory.Delete(_home, recursive: true); }
        catch (IOException) { /* a temp dir */ }
    }

    private string Write(string name, string json)
    {
        var path = Path.Combine(_home, name);
        File.WriteAllText(path, json);
        return path;
    }

    private static string Agents(int count, string role = "worker") => string.Join(", ", Enumerable.Range(1, count).Select(i =>
        $$"""{ "id": "a{{i}}", "role": "{{role}}", "command": ["sh", "-c", "echo done-$ZEROSHOT_AGENT_ID"] }"""));

    [Fact]
    public void Two_hundred_command_agents_in_one_cluster_all_run_and_complete()
    {
        // Before: "at most 32 agents are allowed, not 200".
        var file = Write("big.json", $$"""{ "name": "big", "maxIterations": 1, "agents": [ {{Agents(200)}} ] }""");
        var run = ZeroshotProcess.RunIn(_home, TimeSpan.FromSeconds(300), "run", file);
        Assert.True(run.ExitCode == 0, run.Error + run.Out[^Math.Min(2000, run.Out.Length)..]);
        for (int i = 1; i <= 200; i++)
            Assert.Contains($"│ done-a{i}\n", run.Out, StringComparison.Ordinal);

        var list = ZeroshotProcess.RunIn(_home, "list", "--json");
        using var doc = JsonDocument.Parse(list.Out);
        var agents = doc.RootElement[0].GetProperty("agents");
        Assert.Equal(200, agents.GetArrayLength());
        Assert.All(agents.EnumerateArray(), a => Assert.Equal("completed", a.GetProperty("state").GetString()));
    }

    [Fact]
    public void The_agent_cap_is_named_precisely_and_settings_json_raises_it()
    {
        var file = Write("huge.json", $$"""{ "name": "huge", "agents": [ {{Agents(300, "validator")}} ] }""");
        var refused = ZeroshotProcess.RunIn(_home, "run", file);
        Assert.Equal(2, refused.ExitCode);
        Assert.Equal($"zeroshot: {file}: agents: 300 agents, more than the limit of 256 (\"maxAgents\" in settings.json raises it, up to 4096)",
            refused.Error.Trim());

        // Raised: the count passes, and the next check speaks (all 300 are validators).
        File.WriteAllText(Path.Combine(_home, "settings.json"), """{ "maxAgents": 300 }""");
        var next = ZeroshotProcess.RunIn(_home, "run", file);
        Assert.Equal(2, next.ExitCode);
        Assert.Equal($"zeroshot: {file}: agents: at least one agent needs role 'worker'", next.Error.Trim());

        File.WriteAllText(Path.Combine(_home, "settings.json"), """{ "maxAgents": 5000 }""");
        var bad = ZeroshotProcess.RunIn(_home, "run", file);
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("maxAgents", bad.Error, StringComparison.Ordinal);
        Assert.Contains("4096", bad.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "agents": [ { "id": "a\u001b]0;PWNED\u0007", "role": "worker", "command": ["true"] } ] }""", @"'a\e]0;PWNED\x07' is not a valid id")]
    [InlineData("""{ "na\u001b[2Jme": "x", "agents": [] }""", @"unknown field 'na\e[2Jme'")]
    [InlineData("{ \"name\": \"x\",\u001b]0;PWNED\u0007 }", "invalid JSON at line 1")]
    [InlineData("{ \"name\": \"x\u009b6n\" \u009b6n }", "invalid JSON at line 1")]
    public void Error_messages_escape_the_control_bytes_of_a_cluster_file(string json, string expected)
    {
        var file = Write("evil.json", json);
        var result = ZeroshotProcess.RunIn(_home, "run", file);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.Error, StringComparison.Ordinal);
        var controls = result.Error.Where(c => c is not '\n' && (c < ' ' || c is >= '\u007f' and <= '\u009f')).ToList();
        Assert.True(controls.Count == 0, $"control characters in the message: {string.Join(' ', controls.Select(c => ((int)c).ToString("x2")))}: {result.Error}");
    }

    [Fact]
    public void Stored_events_with_an_agents_escape_sequences_are_printed_without_them()
    {
        var time = DateTimeOffset.UtcNow;
        var rows = new List<StoredEvent>
        {
            ClusterEventRows.ToRow("c", new ErrorEvent(time, "w", "API error \u001b]52;c;SGVsbG8=\u0007 \u001b]0;PWNED\u0007\u009b6n done")),
            ClusterEventRows.ToRow("c", new VerdictEvent(time, "w", false, "no", ["fix \u001b[?1049h this"])),
        };
        var output = new StringWriter();
        LogsCommand.WriteEvents(rows, ["w"], output);
        string text = output.ToString();
        Assert.Contains("API error", text, StringComparison.Ordinal);
        Assert.Contains("fix", text, StringComparison.Ordinal);
        TerminalChecks.AssertPlain(text);
        Assert.DoesNotContain("PWNED", text, StringComparison.Ordinal);
    }
}
