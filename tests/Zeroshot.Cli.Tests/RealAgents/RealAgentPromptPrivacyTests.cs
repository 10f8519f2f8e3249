using Zeroshot.TestModelServer;

namespace Zeroshot.Cli.Tests.RealAgents;

/// <summary>
/// The real CLIs get their prompt on standard input: it is in no process's command line (/proc/&lt;pid&gt;/cmdline is
/// readable by every local user, which is what <c>ps</c> shows) while the agent runs, and it still reaches the model.
/// </summary>
[Collection(RealAgentCollection.Name)]
public sealed class RealAgentPromptPrivacyTests : IDisposable
{
    private static readonly TokenUsage Usage = new(Input: 1000, Output: 30, CacheRead: 0, CacheCreation: 0);
    private readonly string _home = Directory.CreateTempSubdirectory("zeroshot-prompt-").FullName;
    private readonly string _runtime = Directory.CreateTempSubdirectory("zsrt-").FullName;

    public void Dispose()
    {
        foreach (var dir in new[] { _home, _runtime })
        {
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { /* an agent's straggler still writes its log; the temp folder is left */ }
        }
    }

    /// <summary>Every command line on the machine that contains <paramref name="text"/>, as "pid: cmdline".</summary>
    private static List<string> CommandLinesContaining(string text)
    {
        var found = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _)) continue;
            string cmdline;
            try { cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' '); }
            catch (IOException) { continue; } // exited meanwhile
            catch (UnauthorizedAccessException) { continue; }
            if (cmdline.Contains(text, StringComparison.Ordinal)) found.Add($"{Path.GetFileName(dir)}: {cmdline}");
        }
        return found;
    }

    private static ModelProtocol ProtocolOf(AgentCli cli) => cli switch
    {
        AgentCli.Claude => ModelProtocol.Anthropic,
        AgentCli.Codex => ModelProtocol.OpenAIResponses,
        _ => ModelProtocol.Gemini,
    };

    [Theory]
    [InlineData(AgentCli.Claude, "claude", 0)]
    [InlineData(AgentCli.Codex, "codex", 0)]
    [InlineData(AgentCli.Gemini, "gemini", 0)]
    // Beyond MAX_ARG_STRLEN (128 KiB), which no argument could carry.
    [InlineData(AgentCli.Claude, "claude", 200_000)]
    public async Task The_prompt_is_in_no_command_line_while_the_agent_runs_and_reaches_the_model(AgentCli cli, string provider, int padding)
    {
        var marker = "secret-marker-" + Guid.NewGuid().ToString("N");
        // A tool call the CLI really runs, long enough to look at every process while the agent is at work.
        var toolMarker = "sleep 2." + Random.Shared.Next(100, 999);
        await using var server = new ModelServer();
        server.Default.Then(ScriptedTurn.Shell(toolMarker, Usage), ScriptedTurn.Text("Done.", Usage));
        using var sandbox = RealAgentClis.Sandbox(cli, server);
        var prompt = $"Run the command. {marker}" + (padding > 0 ? "\n" + new string('x', padding) : "");

        // A cluster file, so that not even zeroshot's own command line holds the prompt.
        var file = Path.Combine(_home, "task.json");
        File.WriteAllText(file, System.Text.Json.JsonSerializer.Serialize(new
        {
            kind = "task",
            prompt,
            agents = new object[] { new { id = "worker", role = "worker", provider, cwd = sandbox.WorkDir, env = sandbox.Environment } },
        }));
        var env = new Dictionary<string, string>(sandbox.Environment) { ["XDG_RUNTIME_DIR"] = _runtime };
        using var running = ZeroshotProcess.Start(_home, env, "run", file);
        bool sawTool = false;
        var leaks = new List<string>();
        while (!running.Process.HasExited)
        {
            leaks.AddRange(CommandLinesContaining(marker));
            sawTool |= CommandLinesContaining(toolMarker).Count > 0;
            using var pause = new ManualResetEventSlim();
            pause.Wait(20);
        }
        var r = running.Wait(TimeSpan.FromSeconds(120));

        Assert.True(r.ExitCode == 0, r.Out + r.Error);
        Assert.True(sawTool, "the agent's tool ran while the command lines were watched");
        Assert.Empty(leaks);
        // The model got the whole prompt.
        var first = server.ModelRequests.First(q => q.Kind == RequestKind.Scripted && q.Protocol == ProtocolOf(cli));
        Assert.Contains(marker, first.Body, StringComparison.Ordinal);
        if (padding > 0) Assert.Contains(new string('x', padding), first.Body, StringComparison.Ordinal);
    }
}
