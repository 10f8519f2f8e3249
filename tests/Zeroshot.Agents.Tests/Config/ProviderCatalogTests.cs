using System.Diagnostics;
using Zeroshot.Agents.Config;
using Zeroshot.Agents.Tests.State;

namespace Zeroshot.Agents.Tests.Config;

// Execute bits and /bin/sh scripts: Unix only, like zeroshot.
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ProviderCatalogTests : IDisposable
{
    private readonly StoreTempDir _dir = new();
    private readonly string _bin;

    public ProviderCatalogTests()
    {
        _bin = Directory.CreateDirectory(_dir.File("bin")).FullName;
    }

    public void Dispose() => _dir.Dispose();

    // A fake provider CLI: prints each argument on its own line, then the prompt from the environment.
    private string FakeExecutable(string name, string? directory = null)
    {
        var path = Path.Combine(directory ?? _bin, name);
        File.WriteAllText(path, "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]\\n' \"$a\"; done\nprintf 'env=[%s]\\n' \"$ZEROSHOT_PROMPT\"\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    private ProviderCatalog Catalog(ZeroshotSettings? settings = null, string? path = null) =>
        new(settings ?? ZeroshotSettings.Default, ["/usr/bin/env", "zeroshot.dll"], path ?? _bin);

    [Fact]
    public void Claude_default_command_line_with_and_without_model()
    {
        var claude = FakeExecutable("claude");
        var agent = new AgentConfig("worker", AgentRole.Worker, "claude");
        var resolved = Catalog().Resolve(agent, "Fix it");
        Assert.Equal(claude, resolved.Executable);
        // The prompt goes to standard input, never into argv (where every local user sees it in ps).
        Assert.Equal(["claude", "-p", "--output-format", "stream-json", "--verbose", "--include-partial-messages", "--permission-mode", "bypassPermissions"], resolved.Argv);
        Assert.Equal("Fix it", resolved.StandardInput);

        resolved = Catalog().Resolve(agent with { Model = "sonnet" }, "Fix it");
        Assert.Equal(["claude", "-p", "--output-format", "stream-json", "--verbose", "--include-partial-messages", "--permission-mode", "bypassPermissions", "--model", "sonnet"], resolved.Argv);
    }

    [Fact]
    public void Codex_puts_the_model_before_the_prompt()
    {
        FakeExecutable("codex");
        var agent = new AgentConfig("worker", AgentRole.Worker, "codex", Model: "gpt-5-codex", Prompt: "Be brief.");
        var resolved = Catalog().Resolve(agent, "Fix it");
        // "-": the prompt is read from standard input.
        Assert.Equal(["codex", "exec", "--json", "--skip-git-repo-check", "--sandbox", "workspace-write", "-m", "gpt-5-codex", "-"], resolved.Argv);
        Assert.Equal("Fix it\n\nBe brief.", resolved.StandardInput);
        Assert.Equal(["codex", "exec", "--json", "--skip-git-repo-check", "--sandbox", "workspace-write", "-"], Catalog().Resolve(new AgentConfig("w", AgentRole.Worker, "codex"), "Fix it").Argv);
    }

    [Fact]
    public void Validators_get_each_cli_s_structured_output_option_before_the_prompt()
    {
        FakeExecutable("codex");
        FakeExecutable("claude");
        FakeExecutable("gemini");
        var codex = Catalog().Resolve(new AgentConfig("v", AgentRole.Validator, "codex"), "Review", verdictSchemaFile: "/tmp/schema.json");
        Assert.Equal(["codex", "exec", "--json", "--skip-git-repo-check", "--sandbox", "workspace-write", "--output-schema", "/tmp/schema.json", "-"], codex.Argv);
        var claude = Catalog().Resolve(new AgentConfig("v", AgentRole.Validator, "claude"), "Review", verdictSchemaFile: "/tmp/schema.json");
        Assert.Equal(["--json-schema", Zeroshot.Agents.Output.Verdict.JsonSchema], claude.Argv.TakeLast(2));
        // Gemini has no structured-output option: the verdict is read from its last message.
        var gemini = Catalog().Resolve(new AgentConfig("v", AgentRole.Validator, "gemini"), "Review", verdictSchemaFile: "/tmp/schema.json");
        // Gemini CLI reads a standard input that is not a terminal as its prompt, and then runs headless without -p.
        Assert.Equal(["gemini", "--output-format", "stream-json", "--approval-mode", "yolo", "--skip-trust"], gemini.Argv);
        Assert.Equal("Review", gemini.StandardInput);
    }

    [Fact]
    public void Sim_runs_zeroshot_itself_with_the_options_as_json()
    {
        var config = ClusterTemplates.Demo();
        var tester = config.FindAgent("tester")!;
        var resolved = Catalog().Resolve(tester, config.Prompt);
        Assert.Equal("/usr/bin/env", resolved.Executable);
        Assert.Equal(["/usr/bin/env", "zeroshot.dll", "sim-agent", "--agent", "tester", "--options",
            """{"durationSeconds":8,"seed":3,"rejectIterations":[1]}"""], resolved.Argv);
        Assert.Equal(config.Prompt + "\n\nRun the tests and reject if any fail.", resolved.Environment["ZEROSHOT_PROMPT"]);
        Assert.Equal("tester", resolved.Environment["ZEROSHOT_AGENT_ID"]);
        Assert.Equal("validator", resolved.Environment["ZEROSHOT_AGENT_ROLE"]);

        var plain = Catalog().Resolve(new AgentConfig("s", AgentRole.Worker, "sim"), null);
        Assert.Equal("{}", plain.Argv[^1]);
        Assert.Equal("1", plain.Environment["ZEROSHOT_ITERATION"]);
        Assert.False(plain.Environment.ContainsKey("ZEROSHOT_CLUSTER_ID"));

        var second = Catalog().Resolve(tester, config.Prompt, iteration: 2, clusterId: "cosmic-meteor-87");
        Assert.Equal("2", second.Environment["ZEROSHOT_ITERATION"]);
        Assert.Equal("cosmic-meteor-87", second.Environment["ZEROSHOT_CLUSTER_ID"]);
    }

    [Fact]
    public void Command_agents_get_the_prompt_in_the_environment_and_their_own_env_wins()
    {
        var script = FakeExecutable("check.sh", _dir.Path);
        var agent = new AgentConfig("tests", AgentRole.Validator, Command: ["./check.sh", "--fast"], Cwd: _dir.Path,
            Env: new Dictionary<string, string> { ["ZEROSHOT_AGENT_ROLE"] = "custom", ["X"] = "1" });
        var resolved = Catalog().Resolve(agent, "Fix it");
        Assert.Equal(script, resolved.Executable);
        Assert.Equal(["./check.sh", "--fast"], resolved.Argv);
        Assert.Equal(_dir.Path, resolved.WorkingDirectory);
        Assert.Equal("Fix it", resolved.Environment["ZEROSHOT_PROMPT"]);
        Assert.Equal("custom", resolved.Environment["ZEROSHOT_AGENT_ROLE"]);
        Assert.Equal("1", resolved.Environment["X"]);
    }

    [Fact]
    public void The_resolved_command_really_runs_and_receives_the_prompt_verbatim()
    {
        var fake = FakeExecutable("claude");
        File.AppendAllText(fake, "printf 'stdin=[%s]\\n' \"$(cat)\"\n");
        const string prompt = "Fix \"it\" {model} $HOME\nsecond line";
        var resolved = Catalog().Resolve(new AgentConfig("w", AgentRole.Worker, "claude", Model: "haiku"), prompt);
        var start = new ProcessStartInfo(resolved.Executable) { RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var arg in resolved.Argv.Skip(1))
            start.ArgumentList.Add(arg);
        foreach (var (key, value) in resolved.Environment)
            start.Environment[key] = value;
        using var process = Process.Start(start)!;
        process.StandardInput.Write(resolved.StandardInput);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(20_000), "fake claude did not exit");
        Assert.Equal($"[-p]\n[--output-format]\n[stream-json]\n[--verbose]\n[--include-partial-messages]\n[--permission-mode]\n[bypassPermissions]\n[--model]\n[haiku]\nenv=[{prompt}]\nstdin=[{prompt}]\n", output);
    }

    [Fact]
    public void A_provider_prompt_beyond_the_argument_limit_goes_on_stdin_only_and_one_in_argv_is_refused_before_start()
    {
        FakeExecutable("claude");
        var big = new string('p', 200_000);
        var resolved = Catalog().Resolve(new AgentConfig("w", AgentRole.Worker, "claude"), big);
        Assert.Equal(big, resolved.StandardInput);
        Assert.False(resolved.Environment.ContainsKey("ZEROSHOT_PROMPT")); // no environment string can hold it either
        // A settings override that puts the prompt back into argv meets MAX_ARG_STRLEN: said before anything starts.
        var settings = ZeroshotSettings.Parse("""{"providers":{"claude":{"command":["claude","-p","{prompt}"]}}}""", "s.json");
        Assert.Null(settings.Providers["claude"].Stdin); // a command of one's own does not keep the default stdin
        var e = Assert.Throws<UserErrorException>(() => Catalog(settings).Resolve(new AgentConfig("w", AgentRole.Worker, "claude"), big));
        Assert.StartsWith("agent 'w': an argument of its command line is 200000 bytes; at most 131071 fit in one argument on Linux (MAX_ARG_STRLEN)", e.Message);
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
    }

    [Fact]
    public void Missing_provider_executable_explains_the_ways_out()
    {
        var error = Assert.Throws<UserErrorException>(() => Catalog().Resolve(new AgentConfig("w", AgentRole.Worker, "claude"), "x"));
        Assert.Equal("provider 'claude' needs the executable 'claude', which is not on PATH; install it, or choose another provider " +
            "with --provider (claude, codex, gemini, sim) or a \"command\" in the cluster file", error.Message);
        Assert.Equal(ExitCodes.Failure, error.ExitCode);
    }

    [Fact]
    public void Non_executable_files_and_empty_path_entries_do_not_count()
    {
        File.WriteAllText(Path.Combine(_bin, "claude"), "not executable");
        File.SetUnixFileMode(Path.Combine(_bin, "claude"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.Null(ProviderCatalog.FindExecutable("claude", null, _bin));
        var second = Directory.CreateDirectory(_dir.File("bin2")).FullName;
        var good = FakeExecutable("claude", second);
        Assert.Equal(good, ProviderCatalog.FindExecutable("claude", null, $"::{_bin}:{second}"));
        Assert.Null(ProviderCatalog.FindExecutable("claude", null, ""));
    }

    [Fact]
    public void Missing_command_executable_names_the_agent()
    {
        var error = Assert.Throws<UserErrorException>(() =>
            Catalog().Resolve(new AgentConfig("tests", AgentRole.Validator, Command: ["no-such-tool-xyz"]), "x"));
        Assert.Equal("agent 'tests' runs 'no-such-tool-xyz', which is not on PATH", error.Message);
        error = Assert.Throws<UserErrorException>(() =>
            Catalog().Resolve(new AgentConfig("tests", AgentRole.Validator, Command: ["./missing.sh"], Cwd: _dir.Path), "x"));
        Assert.Equal("agent 'tests' runs './missing.sh', which does not exist or is not executable", error.Message);
    }

    [Fact]
    public void A_provider_that_needs_a_prompt_refuses_an_empty_one()
    {
        FakeExecutable("claude");
        var error = Assert.Throws<UserErrorException>(() => Catalog().Resolve(new AgentConfig("w", AgentRole.Worker, "claude"), "  "));
        Assert.Equal("agent 'w' has no prompt: give the cluster or the agent a \"prompt\"", error.Message);
        Assert.Equal(ExitCodes.Usage, error.ExitCode);
    }

    [Fact]
    public void Settings_override_the_command_line_with_placeholders()
    {
        var wrapper = FakeExecutable("claude-wrapper", _dir.Path);
        var settings = ZeroshotSettings.Parse($$"""
            { "providers": { "claude": { "command": ["{{wrapper}}", "--agent={agent}", "{modelArgs}", "--", "{prompt}"],
                                         "modelArgs": ["--model={model}"] } } }
            """, "settings.json");
        var resolved = Catalog(settings, path: "").Resolve(new AgentConfig("w1", AgentRole.Worker, "claude", Model: "opus"), "Do {agent} things");
        Assert.Equal(wrapper, resolved.Executable);
        // One pass: the "{agent}" typed in the prompt stays literal.
        Assert.Equal([wrapper, "--agent=w1", "--model=opus", "--", "Do {agent} things"], resolved.Argv);

        var noModel = Catalog(settings, path: "").Resolve(new AgentConfig("w1", AgentRole.Worker, "claude"), "p");
        Assert.Equal([wrapper, "--agent=w1", "--", "p"], noModel.Argv);
    }

    [Theory]
    [InlineData("{prompt}", "P")]
    [InlineData("a{prompt}b{model}c", "aPbMc")]
    [InlineData("{unknown}{}{ prompt}{prompt", "{unknown}{}{ prompt}{prompt")]
    [InlineData("{\"json\":1}", "{\"json\":1}")]
    public void Substitution_is_single_pass_and_leaves_non_placeholders(string template, string expected) =>
        Assert.Equal(expected, ProviderCatalog.Substitute(template, n => n switch { "prompt" => "P", "model" => "M", _ => null }));
}
