namespace Zeroshot.Cli.Tests;

/// <summary>
/// <c>zeroshot send</c> and the hidden <c>zeroshot hook</c> through the real executable, against detached clusters of
/// <c>command</c> agents (the real CLIs' TUIs are in <c>RealInteractiveTests</c>).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class InteractiveCommandTests : IDisposable
{
    private readonly DetachedClusters _clusters = new("zs-send-");

    public void Dispose() => _clusters.Dispose();

    private string Log(string id, string agent) => _clusters.Z("logs", id, "--agent", agent, "--raw").Out;

    [Fact]
    public void Send_types_a_line_into_an_interactive_agent_as_a_paste_when_it_asked_for_them_and_refuses_the_others()
    {
        // "plain" reads lines as a shell would; "paste" turns bracketed paste on (as Claude Code and Codex do) and shows
        // what arrives, escapes made visible.
        var id = _clusters.Start("send",
            new { id = "plain", role = "worker", interactive = true, command = new[] { "sh", "-c", "stty -echo; read a; echo got:$a; read b; echo got:$b" } },
            new { id = "paste", role = "worker", interactive = true, command = new[] { "sh", "-c", "stty -echo raw; printf 'ready\\033[?2004h\\n'; head -c 28 | od -c | head -3" } },
            new { id = "batch", role = "worker", command = new[] { "sleep", "60" } });

        // Two interactive agents run (once both have printed, whatever the machine's load): the one to type to must be named.
        Wait.Until(() => Log(id, "paste").Contains("ready", StringComparison.Ordinal), "the paste agent's bracketed paste mode");
        Wait.Until(() => _clusters.Z("status", id).Out.Split('\n').Any(l => l.Contains("plain", StringComparison.Ordinal) && l.Contains("running", StringComparison.Ordinal)), "the plain agent running");
        var several = _clusters.Z("send", id, "hi");
        Assert.Equal(1, several.ExitCode);
        Assert.Equal($"zeroshot: several interactive agents of cluster {id} run (plain, paste): name one with --agent", several.Error.Trim());

        var sent = _clusters.Z("send", id, "--agent", "plain", "hello world");
        Assert.True(sent.ExitCode == 0, sent.Out + sent.Error);
        Assert.Contains($"sent to {id} plain", sent.Error, StringComparison.Ordinal);
        Wait.Until(() => Log(id, "plain").Contains("got:hello world", StringComparison.Ordinal), "the first line read");
        Assert.Equal(0, _clusters.Z("send", id, "--agent", "plain", "second").ExitCode);
        Wait.Until(() => Log(id, "plain").Contains("got:second", StringComparison.Ordinal), "the second line read");

        Assert.Equal(0, _clusters.Z("send", id, "--agent", "paste", "multi\nline text").ExitCode);
        // ESC [ 2 0 0 ~ text ESC [ 2 0 1 ~, then CR on its own: what a terminal sends for a paste and an Enter.
        Wait.Until(() => Log(id, "paste").Contains("033   [   2   0   1   ~  \\r", StringComparison.Ordinal), "the pasted text and Enter");
        var dump = Log(id, "paste");
        Assert.Contains("033   [   2   0   0   ~   m   u   l   t   i  \\n   l   i   n   e", dump, StringComparison.Ordinal);

        // Not interactive, no such agent, several interactive ones and none named: one clear line each, exit 1.
        var refused = _clusters.Z("send", id, "--agent", "batch", "hi");
        Assert.Equal(1, refused.ExitCode);
        Assert.Equal($"zeroshot: agent batch of cluster {id} is not interactive: it reads no prompts once started", refused.Error.Trim());
        refused = _clusters.Z("send", id, "--agent", "nobody", "hi");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("has no agent 'nobody'", refused.Error, StringComparison.Ordinal);
        // Both interactive agents have read what they wait for and ended.
        refused = _clusters.Z("send", id, "hi");
        Assert.Equal(1, refused.ExitCode);
        Assert.Equal($"zeroshot: no interactive agent of cluster {id} is running", refused.Error.Trim());
        Assert.Equal(2, _clusters.Z("send", id, "--agent", "plain", "").ExitCode);
    }

    [Fact]
    public void Send_to_a_cluster_that_ended_says_so()
    {
        var id = _clusters.Start("ended", new { id = "w", role = "worker", interactive = true, command = new[] { "true" } });
        Wait.Until(() => _clusters.Z("status", id).Out.Contains("completed", StringComparison.Ordinal), "the end");
        var r = _clusters.Z("send", id, "hi");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"zeroshot: {id} is completed: no agent of it reads prompts", r.Error.Trim());
    }

    [Fact]
    public void The_hook_relays_nothing_and_prints_nothing_on_stdout_outside_an_agent_or_for_an_agent_that_is_not_interactive()
    {
        // Started by hand: no supervisor to tell.
        var outside = ZeroshotProcess.RunIn(_clusters.Home, "hook", "--from", "claude", "{}");
        Assert.Equal(0, outside.ExitCode);
        Assert.Equal("", outside.Out);
        Assert.Contains("not started by a zeroshot agent", outside.Error, StringComparison.Ordinal);

        var id = _clusters.Start("hooked", new { id = "w", role = "worker", command = new[] { "sleep", "60" } });
        var env = new Dictionary<string, string>(_clusters.Env)
        {
            ["ZEROSHOT_CONTROL_SOCKET"] = Path.Combine(_clusters.Runtime, "zeroshot", id + ".sock"),
            ["ZEROSHOT_AGENT_ID"] = "w",
        };
        using var hook = ZeroshotProcess.Start(_clusters.Home, env, "hook", "--from", "claude", """{"hook_event_name":"Stop"}""");
        var r = hook.Wait(TimeSpan.FromSeconds(30));
        // The CLI goes on whatever happens here: exit 0, nothing on stdout (Claude would read it as a decision).
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("", r.Out);
        Assert.Contains("not relayed: agent w of cluster " + id + " is not a running interactive agent", r.Error, StringComparison.Ordinal);
        using var malformed = ZeroshotProcess.Start(_clusters.Home, env, "hook", "--from", "claude", "{not json");
        r = malformed.Wait(TimeSpan.FromSeconds(30));
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("not relayed", r.Error, StringComparison.Ordinal);
    }
}
