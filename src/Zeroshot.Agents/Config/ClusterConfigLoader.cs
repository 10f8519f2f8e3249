using System.Text.Json;

namespace Zeroshot.Agents.Config;

/// <summary>
/// Reads and validates cluster files. Every problem is a <see cref="UserErrorException"/> (exit code 2) whose
/// message names the file, the JSON path and what is wrong, e.g.
/// <c>fix.json: agents[1].after[0]: unknown agent 'wroker'; did you mean 'worker'?</c>
/// (the CLI prefixes "zeroshot: ").
/// </summary>
internal static class ClusterConfigLoader
{
    /// <summary>Agents a cluster may have unless settings.json says otherwise (<c>maxAgents</c>).</summary>
    public const int DefaultMaxAgents = 256;

    /// <summary>
    /// The highest <c>maxAgents</c> settings.json may set: each agent holds a PTY (the kernel's default
    /// <c>/proc/sys/kernel/pty/max</c> is 4096, shared by the whole machine), a pump thread and a few descriptors.
    /// </summary>
    public const int MaxAgentsLimit = 4096;

    public const int MaxIterationsLimit = 100;

    /// <summary>Largest cluster file read (a cluster of hundreds of agents is a few hundred KB).</summary>
    public const int MaxFileBytes = 4 * 1024 * 1024;

    /// <summary>
    /// Longest prompt an agent can be given, in UTF-8 bytes: Linux caps every single argument and environment string
    /// at MAX_ARG_STRLEN (32 pages, 131 072 bytes with its NUL), and the prompt of a <c>command</c> or <c>sim</c> agent
    /// travels in ZEROSHOT_PROMPT. Checked before anything is created, instead of posix_spawn failing with E2BIG
    /// ("Argument list too long") after the cluster was recorded. The CLI providers read their prompt on standard input,
    /// which has no such limit (an argv template of settings.json is checked by <see cref="ProviderCatalog.Resolve"/>).
    /// </summary>
    public const int MaxPromptBytes = 131_072 - 1 - 16;

    public const int MaxValidatorRetries = 10;

    private static readonly string[] ClusterFields =
        ["name", "prompt", "maxIterations", "validatorRetries", "kind", "agents", "onEvent", "health", "maxCostUsd", "maxTokens", "budgetAction"];

    private static readonly string[] AgentFields =
        ["id", "role", "provider", "command", "model", "prompt", "cwd", "env", "after", "options", "interactive", "args", "health", "maxCostUsd", "maxTokens"];

    /// <summary>Reads <paramref name="path"/>; relative agent <c>cwd</c>s become absolute against the file's directory.</summary>
    /// <param name="path">The cluster file.</param>
    /// <param name="maxAgents">The most agents allowed (settings.json <c>maxAgents</c>).</param>
    public static ClusterConfig Load(string path, int maxAgents = DefaultMaxAgents)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path))
            throw new UserErrorException($"{path}: is a directory, not a cluster file", ExitCodes.Usage);
        var text = ConfigFile.ReadText(path, MaxFileBytes, "cluster file");
        return LoadFromJson(text, path, Path.GetDirectoryName(Path.GetFullPath(path)), maxAgents);
    }

    /// <summary>
    /// Parses and validates cluster JSON. <paramref name="sourceName"/> prefixes error messages;
    /// <paramref name="baseDirectory"/>, when given, anchors relative <c>cwd</c>s. A missing <c>name</c>
    /// defaults to the source's file name without extension. At most <paramref name="maxAgents"/> agents.
    /// </summary>
    public static ClusterConfig LoadFromJson(string json, string sourceName, string? baseDirectory = null, int maxAgents = DefaultMaxAgents)
    {
        var reader = new JsonFieldReader(sourceName);
        using var document = reader.Parse(json);
        var root = document.RootElement;
        reader.RequireObject(root, "", ClusterFields);

        var name = reader.OptionalString(root, "", "name") ?? DefaultName(sourceName);
        var prompt = reader.OptionalString(root, "", "prompt", allowEmpty: true);
        var maxIterations = reader.Optional(root, "maxIterations") is { } mi
            ? reader.Integer(mi, "maxIterations", 1, MaxIterationsLimit)
            : ClusterConfig.DefaultMaxIterations;
        var validatorRetries = reader.Optional(root, "validatorRetries") is { } vr
            ? reader.Integer(vr, "validatorRetries", 0, MaxValidatorRetries)
            : 0;
        var kind = reader.OptionalString(root, "", "kind") switch
        {
            null or "cluster" => ClusterKind.Cluster,
            "task" => ClusterKind.Task,
            var other => throw reader.Error("kind", $"unknown kind '{other}' (expected cluster or task)"),
        };

        var agentsElement = reader.Required(root, "", "agents");
        if (agentsElement.ValueKind != JsonValueKind.Array)
            throw reader.Error("agents", "expected an array of agents");
        var count = agentsElement.GetArrayLength();
        if (count == 0)
            throw reader.Error("agents", "at least one agent is required");
        if (count > maxAgents)
            throw reader.Error("agents", $"{count} agents, more than the limit of {maxAgents} (\"maxAgents\" in settings.json raises it, up to {MaxAgentsLimit})");
        if (kind == ClusterKind.Task && count != 1)
            throw reader.Error("agents", $"a task has exactly one agent, not {count}");

        var agents = new List<AgentConfig>(count);
        var index = 0;
        foreach (var element in agentsElement.EnumerateArray())
            agents.Add(ReadAgent(reader, element, JsonFieldReader.Index("agents", index++), baseDirectory));

        CheckIdsAndDependencies(reader, agents);
        for (int i = 0; i < agents.Count; i++)
        {
            if (agents[i].Provider is { } provider && provider != ProviderCatalog.Sim) continue;
            var bytes = System.Text.Encoding.UTF8.GetByteCount(ProviderCatalog.AgentPrompt(agents[i], prompt));
            // ZEROSHOT_PROMPT= is 16 bytes of the same environment string.
            if (bytes > MaxPromptBytes)
                throw reader.Error(JsonFieldReader.Index("agents", i),
                    $"the prompt of agent '{agents[i].Id}' (cluster prompt and its own) is {bytes} bytes; at most {MaxPromptBytes} fit in one argument on Linux (MAX_ARG_STRLEN): put the details in a file in the agent's cwd and point the prompt at it");
        }
        var onEvent = reader.Optional(root, "onEvent") is { } onEventElement
            ? reader.StringArray(onEventElement, "onEvent", allowEmptyArray: false)
            : null;
        return new ClusterConfig(name, prompt, maxIterations, agents, kind)
        {
            ValidatorRetries = validatorRetries,
            OnEvent = onEvent,
            Health = reader.Optional(root, "health") is { } health ? Health.HealthSettings.Read(reader, health, "health") : null,
            Budget = Health.Budget.Read(reader, root, ""),
            BudgetAction = Health.Budget.ReadAction(reader, root, ""),
        };
    }

    private static AgentConfig ReadAgent(JsonFieldReader reader, JsonElement element, string path, string? baseDirectory)
    {
        reader.RequireObject(element, path, AgentFields);
        var idPath = JsonFieldReader.Child(path, "id");
        var id = reader.String(reader.Required(element, path, "id"), idPath);
        if (!IsValidId(id))
            throw reader.Error(idPath, $"'{id}' is not a valid id (use 1-64 letters, digits, '-', '_' or '.', not starting with '.')");

        var rolePath = JsonFieldReader.Child(path, "role");
        var role = reader.String(reader.Required(element, path, "role"), rolePath) switch
        {
            "worker" => AgentRole.Worker,
            "validator" => AgentRole.Validator,
            var other => throw reader.Error(rolePath, $"unknown role '{other}' (expected worker or validator)"),
        };

        var provider = reader.OptionalString(element, path, "provider");
        var commandElement = reader.Optional(element, "command");
        if (provider is not null && commandElement is not null)
            throw reader.Error(path, "has both \"provider\" and \"command\"; give exactly one");
        if (provider is null && commandElement is null)
            throw reader.Error(path, $"needs either \"provider\" ({string.Join(", ", ProviderCatalog.KnownProviders)}) or \"command\" (an argv array)");
        if (provider is not null && !ProviderCatalog.IsKnownProvider(provider))
            throw reader.Error(JsonFieldReader.Child(path, "provider"),
                $"unknown provider '{provider}' (expected {string.Join(", ", ProviderCatalog.KnownProviders)})");
        var command = commandElement is { } c
            ? reader.StringArray(c, JsonFieldReader.Child(path, "command"), allowEmptyArray: false)
            : null;

        var model = reader.OptionalString(element, path, "model");
        if (model is not null && provider is null)
            throw reader.Error(JsonFieldReader.Child(path, "model"), "\"model\" applies only to provider agents, not to a \"command\"");
        var prompt = reader.OptionalString(element, path, "prompt", allowEmpty: true);
        var cwd = reader.OptionalString(element, path, "cwd");
        if (cwd is not null && baseDirectory is not null)
            cwd = Path.GetFullPath(cwd, baseDirectory);

        Dictionary<string, string>? env = null;
        if (reader.Optional(element, "env") is { } envElement)
        {
            var envPath = JsonFieldReader.Child(path, "env");
            if (envElement.ValueKind != JsonValueKind.Object)
                throw reader.Error(envPath, "expected an object of strings");
            env = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var variable in envElement.EnumerateObject())
            {
                var variablePath = JsonFieldReader.Child(envPath, variable.Name);
                if (variable.Name.Length == 0 || variable.Name.Contains('=') || variable.Name.Contains('\0'))
                    throw reader.Error(variablePath, "not a valid environment variable name");
                if (!env.TryAdd(variable.Name, reader.String(variable.Value, variablePath, allowEmpty: true)))
                    throw reader.Error(variablePath, "field appears twice");
            }
        }

        var after = reader.Optional(element, "after") is { } afterElement
            ? reader.StringArray(afterElement, JsonFieldReader.Child(path, "after"), allowEmptyArray: true)
            : null;

        Dictionary<string, JsonElement>? options = null;
        if (reader.Optional(element, "options") is { } optionsElement)
        {
            var optionsPath = JsonFieldReader.Child(path, "options");
            if (provider != ProviderCatalog.Sim)
                throw reader.Error(optionsPath, "\"options\" apply only to the sim provider");
            if (optionsElement.ValueKind != JsonValueKind.Object)
                throw reader.Error(optionsPath, "expected an object");
            options = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            // Clone: the values must outlive the JsonDocument disposed at the end of LoadFromJson.
            foreach (var option in optionsElement.EnumerateObject())
                if (!options.TryAdd(option.Name, option.Value.Clone()))
                    throw reader.Error(JsonFieldReader.Child(optionsPath, option.Name), "field appears twice");
            // Wrong option types are the file's error, found now (exit 2), not when the agent starts.
            try
            {
                _ = Sim.SimAgentOptions.Parse(optionsElement);
            }
            catch (UserErrorException e)
            {
                throw reader.Error(optionsPath, e.Message);
            }
        }

        bool interactive = false;
        if (reader.Optional(element, "interactive") is { } interactiveElement)
        {
            var interactivePath = JsonFieldReader.Child(path, "interactive");
            if (interactiveElement.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                throw reader.Error(interactivePath, "expected true or false");
            interactive = interactiveElement.ValueKind == JsonValueKind.True;
            // A provider validator's verdict is read from its JSON output, which a TUI does not write.
            if (interactive && role == AgentRole.Validator && provider is not null)
                throw reader.Error(interactivePath, "a provider validator cannot be interactive: its verdict is read from the CLI's JSON output, which its TUI does not write");
            if (interactive && provider == ProviderCatalog.Sim)
                throw reader.Error(interactivePath, "the sim provider has no interactive mode");
        }
        var args = reader.Optional(element, "args") is { } argsElement
            ? reader.StringArray(argsElement, JsonFieldReader.Child(path, "args"), allowEmptyArray: true)
            : null;
        if (args is not null && (provider is null || !interactive))
            throw reader.Error(JsonFieldReader.Child(path, "args"), "\"args\" apply only to interactive provider agents (a \"command\" lists its own)");

        return new AgentConfig(id, role, provider, command, model, prompt, cwd, env, after, options)
        {
            Interactive = interactive,
            Args = args,
            Health = reader.Optional(element, "health") is { } health ? Health.HealthSettings.Read(reader, health, JsonFieldReader.Child(path, "health")) : null,
            Budget = Health.Budget.Read(reader, element, path),
        };
    }

    private static void CheckIdsAndDependencies(JsonFieldReader reader, List<AgentConfig> agents)
    {
        var indexById = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < agents.Count; i++)
            if (!indexById.TryAdd(agents[i].Id, i))
                throw reader.Error($"agents[{i}].id", $"duplicate id '{agents[i].Id}' (also agents[{indexById[agents[i].Id]}])");

        var ids = agents.Select(a => a.Id).ToArray();
        for (var i = 0; i < agents.Count; i++)
        {
            var after = agents[i].AfterOrEmpty;
            for (var j = 0; j < after.Count; j++)
            {
                var path = $"agents[{i}].after[{j}]";
                if (after[j] == agents[i].Id)
                    throw reader.Error(path, $"agent '{after[j]}' cannot wait for itself");
                if (!indexById.ContainsKey(after[j]))
                {
                    var hint = JsonFieldReader.Suggest(after[j], ids);
                    throw reader.Error(path, $"unknown agent '{after[j]}'" + (hint is null ? "" : $"; did you mean '{hint}'?"));
                }
                if (after.Take(j).Contains(after[j]))
                    throw reader.Error(path, $"'{after[j]}' is listed twice");
            }
        }

        if (!agents.Any(a => a.Role == AgentRole.Worker))
            throw reader.Error("agents", "at least one agent needs role 'worker'");

        FindCycle(reader, agents, indexById);
    }

    // Depth-first search with three colours (CLRS 22.3): reaching a grey node again closes a cycle.
    private static void FindCycle(JsonFieldReader reader, List<AgentConfig> agents, Dictionary<string, int> indexById)
    {
        var colour = new byte[agents.Count]; // 0 white, 1 grey (on the stack), 2 black (done)
        var stack = new List<int>();
        for (var start = 0; start < agents.Count; start++)
            Visit(start);

        void Visit(int node)
        {
            if (colour[node] == 2)
                return;
            colour[node] = 1;
            stack.Add(node);
            var after = agents[node].AfterOrEmpty;
            for (var j = 0; j < after.Count; j++)
            {
                var next = indexById[after[j]];
                if (colour[next] == 1)
                {
                    var cycle = stack.Skip(stack.IndexOf(next)).Select(k => agents[k].Id).Append(agents[next].Id);
                    throw reader.Error($"agents[{node}].after[{j}]", $"dependency cycle: {string.Join(" -> ", cycle)}");
                }
                Visit(next);
            }
            stack.RemoveAt(stack.Count - 1);
            colour[node] = 2;
        }
    }

    internal static bool IsValidId(string id)
    {
        if (id.Length is 0 or > 64 || id[0] == '.')
            return false;
        foreach (var ch in id)
            if (!(char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_' or '.'))
                return false;
        return true;
    }

    private static string DefaultName(string sourceName)
    {
        var name = Path.GetFileNameWithoutExtension(sourceName);
        return string.IsNullOrWhiteSpace(name) ? "cluster" : name;
    }
}
