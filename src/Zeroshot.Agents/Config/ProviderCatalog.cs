namespace Zeroshot.Agents.Config;

/// <summary>The command line, environment additions and working directory of one agent, ready to spawn.</summary>
/// <param name="Executable">Absolute path of <c>Argv[0]</c> found on PATH (or the given path, checked).</param>
/// <param name="Argv">Full argv; <c>Argv[0]</c> as configured (what <c>ps</c> will show).</param>
/// <param name="Environment">Variables to add to the inherited environment (agent <c>env</c> last, so it wins).</param>
/// <param name="WorkingDirectory">The agent's <c>cwd</c>, or null for the supervisor's.</param>
/// <param name="StandardInput">What the agent reads on standard input (its prompt), or null for the terminal.</param>
internal sealed record ResolvedCommand(
    string Executable,
    IReadOnlyList<string> Argv,
    IReadOnlyDictionary<string, string> Environment,
    string? WorkingDirectory,
    string? StandardInput = null);

/// <summary>
/// The ONE place that knows how each provider's CLI is invoked. Templates (overridable in settings.json) use
/// placeholders: inside any element <c>{prompt}</c>, <c>{model}</c>, <c>{agent}</c> (agent id), <c>{options}</c>
/// (sim options as JSON); as a whole element of <c>command</c>, <c>{self}</c> (the zeroshot executable's own
/// argv prefix, e.g. <c>dotnet zeroshot.dll</c>) and <c>{modelArgs}</c> (where the model arguments go; appended
/// at the end when absent). Values are substituted in one pass, so a prompt containing "{model}" stays literal.
/// A provider's <c>stdin</c> template (the defaults: <c>{prompt}</c>) is what its CLI reads on standard input.
/// Every agent also gets ZEROSHOT_PROMPT (the only way a <c>command</c> agent receives its prompt; a provider agent
/// whose prompt is too long for one environment string gets it on standard input only), ZEROSHOT_AGENT_ID,
/// ZEROSHOT_AGENT_ROLE, ZEROSHOT_ITERATION (1-based; the sim agent rejects by it) and, when known, ZEROSHOT_CLUSTER_ID.
/// </summary>
internal sealed class ProviderCatalog
{
    public const string Claude = "claude";
    public const string Codex = "codex";
    public const string Gemini = "gemini";
    public const string Sim = "sim";

    /// <summary>The providers a cluster file may name.</summary>
    public static readonly string[] KnownProviders = [Claude, Codex, Gemini, Sim];

    /// <summary>
    /// The model Codex uses when neither the agent nor <c>$CODEX_HOME/config.toml</c> names one (Codex's own
    /// default; used for pricing and display only, since <c>codex exec --json</c> never prints its model).
    /// </summary>
    public const string CodexDefaultModel = "gpt-5.5";

    internal static readonly string[] InlinePlaceholders = ["prompt", "model", "agent", "options", "verdictSchema", "verdictSchemaFile"];
    internal static readonly string[] WholeElementPlaceholders = ["{self}", "{modelArgs}", "{verdictArgs}"];

    /// <summary>
    /// Defaults: each CLI in its non-interactive JSON mode, allowed to edit files and run commands in the agent's
    /// working directory without asking (nobody is there to answer; the README says what each mode permits).
    /// claude: print mode with streamed JSON events (<c>--output-format stream-json</c> requires <c>--verbose</c>),
    /// <c>--include-partial-messages</c> so live output tokens grow as the model writes (otherwise every message
    /// reads 1 output token until it ends), and <c>--permission-mode bypassPermissions</c> (its default mode blocks
    /// Bash output redirection and still exits 0). codex: <c>exec --json</c> with the <c>workspace-write</c> sandbox
    /// (its default is read-only) and <c>--skip-git-repo-check</c> (outside a git repository it exits 1 otherwise);
    /// options precede the positional prompt. gemini: <c>--output-format stream-json</c> with
    /// <c>--approval-mode yolo</c>, <c>--skip-trust</c> (in a folder it was never told to trust, Gemini CLI 0.61 overrides
    /// yolo to "default" and exits 55 when run headless). sim: our own hidden <c>sim-agent</c> subcommand.
    /// The prompt goes to standard input, never into argv, where every local user reads it (<c>ps</c>,
    /// /proc/&lt;pid&gt;/cmdline is world-readable, proc(5)); each CLI reads it there: Claude Code's <c>-p</c> without a
    /// prompt argument reads stdin, Codex's <c>exec -</c> reads stdin, Gemini CLI reads a stdin that is not a terminal
    /// (up to 8 MiB) and then runs headless without <c>-p</c>. Stdin also has no MAX_ARG_STRLEN (128 KiB) limit.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, ProviderSpec> DefaultProviders = new Dictionary<string, ProviderSpec>(StringComparer.Ordinal)
    {
        [Claude] = new(["claude", "-p", "--output-format", "stream-json", "--verbose", "--include-partial-messages",
            "--permission-mode", "bypassPermissions"], ["--model", "{model}"], ["--json-schema", "{verdictSchema}"], Stdin: "{prompt}"),
        [Codex] = new(["codex", "exec", "--json", "--skip-git-repo-check", "--sandbox", "workspace-write", "{modelArgs}", "{verdictArgs}", "-"],
            ["-m", "{model}"], ["--output-schema", "{verdictSchemaFile}"], Stdin: "{prompt}"),
        [Gemini] = new(["gemini", "--output-format", "stream-json", "--approval-mode", "yolo", "--skip-trust", "{modelArgs}"], ["-m", "{model}"],
            Stdin: "{prompt}"),
        [Sim] = new(["{self}", "sim-agent", "--agent", "{agent}", "--options", "{options}"], []),
    };

    /// <summary>
    /// Interactive agents (<c>"interactive": true</c>): each provider's TUI, with the prompt as its first message and the
    /// session wired to Zeroshot: Claude Code gets the session id Zeroshot chose (so its transcript is known) and, for
    /// this session only, hooks that call <c>zeroshot hook</c> (<c>--settings</c> with inline JSON: the user's own
    /// settings files are never edited); Codex runs without its app-server daemon (<c>--no-daemon</c>: otherwise a
    /// daemon survives <c>/exit</c>), calls <c>zeroshot hook</c> as its <c>notify</c> program at each turn's end and writes
    /// its notifications (approvals) to its terminal as OSC 9, where the screen model reads them (<c>-c</c> overrides this
    /// run only); Gemini CLI gets <c>-i</c> (interactive with a first prompt) and no <c>--session-id</c>: when it restarts
    /// itself (after the person trusts the folder, say) it runs again with the same arguments, and an id that exists by then
    /// ends it ("Session ID … already exists", Gemini CLI 0.61), so its chat file is found by its project and start time. Each in its own
    /// default permission mode: the person is there to answer (<c>"args"</c> may say otherwise). The prompt is an
    /// argument here, as a TUI reads its terminal rather than standard input: other local users can read it in
    /// <c>ps</c>. <c>{args}</c> is the agent's <c>"args"</c>; <c>--</c> keeps a prompt starting with '-' a prompt.
    /// </summary>
    internal static readonly IReadOnlyDictionary<string, ProviderSpec> InteractiveProviders = new Dictionary<string, ProviderSpec>(StringComparer.Ordinal)
    {
        [Claude] = new(["claude", "--session-id", "{sessionId}", "--settings", "{hookSettings}", "{modelArgs}", "{args}", "--", "{prompt}"], ["--model", "{model}"]),
        [Codex] = new(["codex", "--no-daemon", "-c", "{codexNotify}", "-c", "tui.notifications=true", "-c", "tui.notification_method=\"osc9\"",
            "{modelArgs}", "{args}", "--", "{prompt}"], ["-m", "{model}"]),
        [Gemini] = new(["gemini", "{modelArgs}", "{args}", "-i", "{prompt}"], ["-m", "{model}"]),
    };

    /// <summary>The Claude Code hook events an interactive agent registers (each calls <c>zeroshot hook --from claude</c>).</summary>
    internal static readonly string[] ClaudeHookEvents =
        ["SessionStart", "UserPromptSubmit", "PreToolUse", "PermissionRequest", "PostToolUse", "PostToolUseFailure", "Notification", "Stop", "StopFailure"];

    private readonly ZeroshotSettings _settings;
    private readonly IReadOnlyList<string> _selfCommand;
    private readonly string? _pathVariable;

    /// <param name="settings">Provider templates (see <see cref="ZeroshotSettings.Load"/>).</param>
    /// <param name="selfCommand">How to run this zeroshot: <c>[published binary]</c> or <c>[dotnet, zeroshot.dll]</c>.</param>
    /// <param name="pathVariable">The PATH to search; null means this process's $PATH.</param>
    public ProviderCatalog(ZeroshotSettings settings, IReadOnlyList<string> selfCommand, string? pathVariable = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(selfCommand);
        if (selfCommand.Count == 0)
            throw new ArgumentException("the self command needs at least the executable", nameof(selfCommand));
        _settings = settings;
        _selfCommand = selfCommand;
        _pathVariable = pathVariable ?? Environment.GetEnvironmentVariable("PATH");
    }

    public static bool IsKnownProvider(string name) => KnownProviders.Contains(name, StringComparer.Ordinal);

    /// <summary>The prompt an agent works on: the cluster prompt, then the agent's own prompt, blank-line separated.</summary>
    public static string AgentPrompt(AgentConfig agent, string? clusterPrompt)
    {
        var cluster = clusterPrompt?.Trim() ?? "";
        var own = agent.Prompt?.Trim() ?? "";
        return cluster.Length == 0 ? own : own.Length == 0 ? cluster : cluster + "\n\n" + own;
    }

    /// <summary>
    /// Builds the agent's argv and environment. <paramref name="clusterPrompt"/> is the cluster's prompt (the
    /// supervisor may pass an extended one, e.g. with validator feedback for a later iteration).
    /// Throws <see cref="UserErrorException"/> (exit 1) when the executable is not found, (exit 2) when a
    /// provider that needs a prompt has none.
    /// </summary>
    /// <param name="agent">The agent.</param>
    /// <param name="clusterPrompt">The cluster's prompt, possibly extended (feedback of a rejection).</param>
    /// <param name="iteration">1-based iteration (ZEROSHOT_ITERATION).</param>
    /// <param name="clusterId">The cluster id (ZEROSHOT_CLUSTER_ID), when known.</param>
    /// <param name="verdictSchemaFile">For a provider validator: a file holding <see cref="Output.Verdict.JsonSchema"/>; the
    /// provider's verdict arguments (its structured-output option) are then added. Null for other agents.</param>
    /// <param name="sessionId">For an interactive Claude Code agent: its session id (<c>--session-id</c>, a UUID; a fresh one when null).</param>
    public ResolvedCommand Resolve(AgentConfig agent, string? clusterPrompt, int iteration = 1, string? clusterId = null, string? verdictSchemaFile = null,
        string? sessionId = null)
    {
        ArgumentNullException.ThrowIfNull(agent);
        var prompt = AgentPrompt(agent, clusterPrompt);
        List<string> argv;
        string? stdin = null;
        if (agent.Command is { } command)
        {
            argv = [.. command];
        }
        else if (agent.Interactive)
        {
            var provider = agent.Provider!;
            if (!InteractiveProviders.TryGetValue(provider, out var spec))
                throw new UserErrorException($"agent '{agent.Id}': the {provider} provider has no interactive mode", ExitCodes.Usage);
            argv = ExpandInteractive(spec, agent, prompt, sessionId ?? Guid.NewGuid().ToString());
        }
        else
        {
            var provider = agent.Provider ?? throw new ArgumentException($"agent '{agent.Id}' has neither provider nor command", nameof(agent));
            if (!_settings.Providers.TryGetValue(provider, out var spec))
                throw new UserErrorException($"agent '{agent.Id}': unknown provider '{provider}' (expected {string.Join(", ", KnownProviders)})", ExitCodes.Usage);
            if (prompt.Length == 0 && spec.Command.Concat(spec.ModelArgs).Append(spec.Stdin ?? "").Any(e => PlaceholderNames(e).Contains("prompt")))
                throw new UserErrorException($"agent '{agent.Id}' has no prompt: give the cluster or the agent a \"prompt\"", ExitCodes.Usage);
            argv = Expand(spec, agent, prompt, verdictSchemaFile);
            if (spec.Stdin is { } stdinTemplate)
                stdin = Substitute(stdinTemplate, name => Lookup(agent, prompt, verdictSchemaFile, name));
            // Linux caps each argument at MAX_ARG_STRLEN: say so before anything starts, not as posix_spawn's E2BIG.
            foreach (var element in argv)
                if (System.Text.Encoding.UTF8.GetByteCount(element) > MaxArgumentBytes)
                    throw new UserErrorException(
                        $"agent '{agent.Id}': an argument of its command line is {System.Text.Encoding.UTF8.GetByteCount(element)} bytes; at most {MaxArgumentBytes} " +
                        "fit in one argument on Linux (MAX_ARG_STRLEN): shorten the prompt, or give the provider its prompt on standard input (\"stdin\": \"{prompt}\" in settings.json)",
                        ExitCodes.Usage);
        }

        var executable = FindExecutable(argv[0], agent.Cwd, _pathVariable) ?? throw NotFound(agent, argv[0]);

        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["ZEROSHOT_AGENT_ID"] = agent.Id,
            ["ZEROSHOT_AGENT_ROLE"] = ClusterConfigJson.RoleName(agent.Role),
            ["ZEROSHOT_ITERATION"] = iteration.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        // The environment of a process is readable by its own user only (/proc/<pid>/environ is 0400, proc(5)), so this
        // is private; but it shares the argument limit, and a provider agent with a longer prompt has it on stdin anyway.
        if (stdin is null || System.Text.Encoding.UTF8.GetByteCount(prompt) <= ClusterConfigLoader.MaxPromptBytes)
            env["ZEROSHOT_PROMPT"] = prompt;
        if (clusterId is not null)
            env["ZEROSHOT_CLUSTER_ID"] = clusterId;
        if (agent.Env is not null)
            foreach (var (key, value) in agent.Env)
                env[key] = value;
        return new ResolvedCommand(executable, argv, env, agent.Cwd, stdin);
    }

    /// <summary>The longest single argument or environment string Linux accepts, without its NUL (MAX_ARG_STRLEN - 1).</summary>
    internal const int MaxArgumentBytes = 131_072 - 1;

    private static string? Lookup(AgentConfig agent, string prompt, string? verdictSchemaFile, string name) => name switch
    {
        "prompt" => prompt,
        "model" => agent.Model ?? "",
        "agent" => agent.Id,
        "options" => ClusterConfigJson.OptionsJson(agent),
        "verdictSchema" => Output.Verdict.JsonSchema,
        "verdictSchemaFile" => verdictSchemaFile ?? "",
        _ => null,
    };

    private List<string> Expand(ProviderSpec spec, AgentConfig agent, string prompt, string? verdictSchemaFile)
    {
        var options = ClusterConfigJson.OptionsJson(agent);
        string? Lookup(string name) => name == "options" ? options : ProviderCatalog.Lookup(agent, prompt, verdictSchemaFile, name);

        var modelArgs = agent.Model is null ? [] : spec.ModelArgs.Select(a => Substitute(a, Lookup)).ToList();
        var verdictArgs = verdictSchemaFile is null ? [] : spec.VerdictArgsOrEmpty.Select(a => Substitute(a, Lookup)).ToList();
        var argv = new List<string>(spec.Command.Count + modelArgs.Count + verdictArgs.Count + _selfCommand.Count);
        bool placedModelArgs = false, placedVerdictArgs = false;
        foreach (var element in spec.Command)
        {
            if (element == "{self}")
                argv.AddRange(_selfCommand);
            else if (element == "{modelArgs}")
            {
                argv.AddRange(modelArgs);
                placedModelArgs = true;
            }
            else if (element == "{verdictArgs}")
            {
                argv.AddRange(verdictArgs);
                placedVerdictArgs = true;
            }
            else
                argv.Add(Substitute(element, Lookup));
        }
        if (!placedModelArgs)
            argv.AddRange(modelArgs);
        if (!placedVerdictArgs)
            argv.AddRange(verdictArgs);
        return argv;
    }

    private List<string> ExpandInteractive(ProviderSpec spec, AgentConfig agent, string prompt, string sessionId)
    {
        var hook = _selfCommand.Append("hook").Append("--from");
        string? Lookup(string name) => name switch
        {
            "prompt" => prompt,
            "model" => agent.Model ?? "",
            "sessionId" => sessionId,
            "hookSettings" => ClaudeHookSettings(hook.Append(Claude)),
            "codexNotify" => "notify=" + TomlStringArray(hook.Append(Codex)),
            _ => null,
        };
        var argv = new List<string>(spec.Command.Count + 8);
        for (int i = 0; i < spec.Command.Count; i++)
        {
            string element = spec.Command[i];
            if (element == "{modelArgs}")
            {
                if (agent.Model is not null) argv.AddRange(spec.ModelArgs.Select(a => Substitute(a, Lookup)));
            }
            else if (element == "{args}")
                argv.AddRange(agent.Args ?? []);
            else if (prompt.Length == 0 && i + 1 < spec.Command.Count && spec.Command[i + 1] == "{prompt}")
                continue; // no first message: neither the prompt nor the option or "--" that introduces it
            else if (prompt.Length == 0 && element == "{prompt}")
                continue;
            else
                argv.Add(Substitute(element, Lookup));
        }
        return argv;
    }

    /// <summary>
    /// Claude Code's <c>--settings</c> JSON registering <paramref name="command"/> for every event of
    /// <see cref="ClaudeHookEvents"/>. Claude runs a hook's command through a shell: each element is single-quoted.
    /// A hook that outputs nothing and exits 0 changes nothing in Claude's behaviour (https://code.claude.com/docs/en/hooks).
    /// </summary>
    internal static string ClaudeHookSettings(IEnumerable<string> command)
    {
        string line = string.Join(' ', command.Select(ShellQuote));
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        using (var writer = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("hooks");
            foreach (var name in ClaudeHookEvents)
            {
                writer.WriteStartArray(name);
                writer.WriteStartObject();
                writer.WriteStartArray("hooks");
                writer.WriteStartObject();
                writer.WriteString("type", "command");
                writer.WriteString("command", line);
                // Seconds; the hook answers in milliseconds, and one that cannot reach the supervisor gives up sooner.
                writer.WriteNumber("timeout", 10);
                writer.WriteEndObject();
                writer.WriteEndArray();
                writer.WriteEndObject();
                writer.WriteEndArray();
            }
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>A TOML array of basic strings (JSON string escapes are valid TOML: https://toml.io/en/v1.0.0#string).</summary>
    internal static string TomlStringArray(IEnumerable<string> values)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var value in values) writer.WriteStringValue(value);
            writer.WriteEndArray();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>POSIX shell single quoting.</summary>
    internal static string ShellQuote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>Replaces <c>{name}</c> occurrences for which <paramref name="lookup"/> has a value, in one left-to-right pass.</summary>
    internal static string Substitute(string template, Func<string, string?> lookup)
    {
        if (!template.Contains('{'))
            return template;
        var builder = new System.Text.StringBuilder(template.Length + 64);
        var i = 0;
        while (i < template.Length)
        {
            if (template[i] == '{' && TryReadName(template, i, out var name, out var end) && lookup(name) is { } value)
            {
                builder.Append(value);
                i = end;
            }
            else
                builder.Append(template[i++]);
        }
        return builder.ToString();
    }

    /// <summary>The names of all <c>{letters}</c> placeholders in <paramref name="template"/>.</summary>
    internal static IEnumerable<string> PlaceholderNames(string template)
    {
        for (var i = 0; i < template.Length; i++)
            if (template[i] == '{' && TryReadName(template, i, out var name, out _))
                yield return name;
    }

    // A placeholder is '{' + one or more ASCII letters + '}'; anything else (JSON text, "{}") is literal.
    private static bool TryReadName(string text, int open, out string name, out int end)
    {
        var j = open + 1;
        while (j < text.Length && char.IsAsciiLetter(text[j]))
            j++;
        if (j > open + 1 && j < text.Length && text[j] == '}')
        {
            name = text[(open + 1)..j];
            end = j + 1;
            return true;
        }
        (name, end) = ("", open);
        return false;
    }

    /// <summary>
    /// execvp(3)-style lookup: a name containing '/' is taken as a path (relative to <paramref name="workingDirectory"/>
    /// or the current directory); otherwise each PATH entry is tried in order. Only regular files with an execute bit count.
    /// </summary>
    public static string? FindExecutable(string name, string? workingDirectory, string? pathVariable)
    {
        if (name.Length == 0)
            return null;
        if (name.Contains('/'))
        {
            var full = Path.GetFullPath(name, workingDirectory ?? Directory.GetCurrentDirectory());
            return IsExecutableFile(full) ? full : null;
        }
        foreach (var directory in (pathVariable ?? "").Split(':'))
        {
            // An empty PATH entry means the current directory to execvp; we skip it on purpose so an agent never
            // picks up a stray 'claude' script from the repository it works in.
            if (directory.Length == 0)
                continue;
            var candidate = Path.Combine(directory, name);
            if (IsExecutableFile(candidate))
                return Path.GetFullPath(candidate);
        }
        return null;
    }

    private static bool IsExecutableFile(string path)
    {
        const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        try
        {
            if (!File.Exists(path))
                return false;
            // Windows has no execute bits; zeroshot targets Linux and macOS, this only keeps the analyzer honest.
            return OperatingSystem.IsWindows() || (File.GetUnixFileMode(path) & anyExecute) != 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static UserErrorException NotFound(AgentConfig agent, string executable)
    {
        var where = executable.Contains('/') ? "which does not exist or is not executable" : "which is not on PATH";
        return agent.Provider is { } provider
            ? new UserErrorException(
                $"provider '{provider}' needs the executable '{executable}', {where}; install it, or choose another provider " +
                $"with --provider ({string.Join(", ", KnownProviders)}) or a \"command\" in the cluster file", ExitCodes.Failure)
            : new UserErrorException($"agent '{agent.Id}' runs '{executable}', {where}", ExitCodes.Failure);
    }
}
