using System.Text.Json;
using Zeroshot.Agents.Health;

namespace Zeroshot.Agents.Config;

/// <summary>How to start one provider's CLI. See <see cref="ProviderCatalog"/> for the placeholders.</summary>
/// <param name="Command">argv template, e.g. <c>["claude","-p","{prompt}","--output-format","stream-json","--verbose"]</c>.</param>
/// <param name="ModelArgs">Inserted where the element <c>{modelArgs}</c> stands (else appended) when the agent has a model.</param>
/// <param name="VerdictArgs">For validators: the CLI's structured-output option, inserted where <c>{verdictArgs}</c>
/// stands (else appended); <c>{verdictSchema}</c> is the verdict's JSON schema, <c>{verdictSchemaFile}</c> a file holding it.</param>
/// <param name="Stdin">What the CLI reads on standard input (a template, normally <c>{prompt}</c>), or null to leave the
/// terminal there: a prompt in argv is visible to every local user in <c>ps</c>, one on stdin is not.</param>
internal sealed record ProviderSpec(IReadOnlyList<string> Command, IReadOnlyList<string> ModelArgs, IReadOnlyList<string>? VerdictArgs = null,
    string? Stdin = null)
{
    /// <summary>The verdict arguments, never null.</summary>
    public IReadOnlyList<string> VerdictArgsOrEmpty => VerdictArgs ?? [];
}

/// <summary>USD per million tokens of one model (Anthropic's price-list units).</summary>
internal sealed record ModelPrice(double Input, double Output, double CacheRead, double CacheWrite);

/// <summary>
/// How the person is called when an agent needs them (<c>notifications</c> in settings.json; see
/// <see cref="Notify.Notifier"/>). Each channel can be turned off; the <c>--on-event</c> hook runs whenever it is given.
/// </summary>
/// <param name="Bell">Ring the terminal's bell (BEL) in <c>run</c>, <c>attach</c> and <c>watch</c>.</param>
/// <param name="Osc">Also send a terminal notification (OSC 9 or OSC 777) where the terminal is known to show one.</param>
/// <param name="Desktop">Run <c>notify-send</c> when it is on PATH and a display is set.</param>
/// <param name="MinIntervalSeconds">Least time between two notifications of the same kind for the same agent (0 = no limit).</param>
/// <param name="MaxPerMinute">Most notifications in any 60 seconds, all agents and kinds together.</param>
/// <param name="HookTimeoutSeconds">An <c>--on-event</c> command still running after this long is killed.</param>
/// <param name="TmuxPassthrough">Inside tmux, wrap the OSC in tmux's passthrough envelope (needs <c>set -g allow-passthrough on</c>);
/// off: the bell alone inside tmux.</param>
internal sealed record NotificationSettings(
    bool Bell = true, bool Osc = true, bool Desktop = true, int MinIntervalSeconds = 30, int MaxPerMinute = 6,
    int HookTimeoutSeconds = 10, bool TmuxPassthrough = false)
{
    /// <summary>All defaults.</summary>
    public static NotificationSettings Default { get; } = new();

    /// <summary><see cref="MinIntervalSeconds"/> as a span.</summary>
    public TimeSpan MinInterval => TimeSpan.FromSeconds(MinIntervalSeconds);

    /// <summary><see cref="HookTimeoutSeconds"/> as a span.</summary>
    public TimeSpan HookTimeout => TimeSpan.FromSeconds(HookTimeoutSeconds);
}

/// <summary>
/// settings.json under the zeroshot home: provider command-line overrides and the model price table.
/// <code>
/// { "providers": { "claude": { "command": ["claude","-p","{prompt}"], "modelArgs": ["--model","{model}"] } },
///   "prices": { "sonnet": { "input": 3, "output": 15, "cacheRead": 0.3, "cacheWrite": 3.75 } },
///   "maxAgents": 256, "keys": { "prefix": "C-b" }, "scrollback": 2000,
///   "notifications": { "bell": true, "osc": true, "desktop": true, "minIntervalSeconds": 30, "maxPerMinute": 6,
///                      "hookTimeoutSeconds": 10, "tmuxPassthrough": false },
///   "health": { "stalledAfterSeconds": 120, "stuckAfterSeconds": 300, "busyIdleAfterSeconds": 300, "actions": { "stuck": "kill" } },
///   "budget": { "cluster": { "maxCostUsd": 20 }, "agent": { "maxTokens": 5000000 }, "action": "stop" } }
/// </code>
/// Entries override the built-in defaults key by key; a missing file means all defaults.
/// </summary>
internal sealed class ZeroshotSettings
{
    /// <summary>The price key used when no other key matches a model.</summary>
    public const string DefaultPriceKey = "default";

    /// <summary>
    /// Built-in prices, USD per million tokens (input, output, cache read, cache write), from the public
    /// Anthropic, OpenAI and Google price lists (Claude 4.5 generation, cache write = 5-minute TTL; GPT-5 family;
    /// Gemini 2.5/3), covering the models the three CLIs use by default. Keys match a model name exactly or as the
    /// longest substring ("claude-sonnet-4-5" → sonnet, "gpt-5.5-codex" → gpt-5, "gemini-2.5-flash-lite" → itself).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, ModelPrice> DefaultPrices = new Dictionary<string, ModelPrice>(StringComparer.OrdinalIgnoreCase)
    {
        ["opus"] = new(5.00, 25.00, 0.50, 6.25),
        ["sonnet"] = new(3.00, 15.00, 0.30, 3.75),
        ["haiku"] = new(1.00, 5.00, 0.10, 1.25),
        ["gpt-5"] = new(1.25, 10.00, 0.125, 0.00),
        ["gpt-5-mini"] = new(0.25, 2.00, 0.025, 0.00),
        ["gpt-5-nano"] = new(0.05, 0.40, 0.005, 0.00),
        ["codex-mini"] = new(0.25, 2.00, 0.025, 0.00),
        ["o4-mini"] = new(1.10, 4.40, 0.275, 0.00),
        ["o3"] = new(2.00, 8.00, 0.50, 0.00),
        // Gemini (prompts up to 200K tokens; cache storage is not billed per token and not counted).
        ["gemini"] = new(1.25, 10.00, 0.125, 0.00),
        ["gemini-2.5-pro"] = new(1.25, 10.00, 0.125, 0.00),
        ["gemini-2.5-flash"] = new(0.30, 2.50, 0.03, 0.00),
        ["gemini-2.5-flash-lite"] = new(0.10, 0.40, 0.01, 0.00),
        ["gemini-3-pro"] = new(2.00, 12.00, 0.20, 0.00),
        ["gemini-3-flash"] = new(0.50, 3.00, 0.05, 0.00),
        // Newer Gemini releases by family: "gemini-3.8-flash" is priced as a flash model, not as "gemini" (pro).
        ["-flash"] = new(0.50, 3.00, 0.05, 0.00),
        ["-flash-lite"] = new(0.10, 0.40, 0.01, 0.00),
        ["sim"] = new(0, 0, 0, 0),
        [DefaultPriceKey] = new(3.00, 15.00, 0.30, 3.75),
    };

    private static readonly string[] RootFields = ["providers", "prices", "maxAgents", "keys", "scrollback", "notifications", "health", "budget"];
    private static readonly string[] BudgetFields = ["cluster", "agent", "action"];
    private static readonly string[] BudgetLimitFields = ["maxCostUsd", "maxTokens"];
    private static readonly string[] NotificationFields =
        ["bell", "osc", "desktop", "minIntervalSeconds", "maxPerMinute", "hookTimeoutSeconds", "tmuxPassthrough"];
    private static readonly string[] KeysFields = ["prefix"];
    private static readonly string[] ProviderFields = ["command", "modelArgs", "verdictArgs", "stdin"];
    private static readonly string[] PriceFields = ["input", "output", "cacheRead", "cacheWrite"];

    public ZeroshotSettings(IReadOnlyDictionary<string, ProviderSpec> providers, IReadOnlyDictionary<string, ModelPrice> prices,
        int maxAgents = ClusterConfigLoader.DefaultMaxAgents)
    {
        Providers = providers;
        Prices = prices;
        MaxAgents = maxAgents;
    }

    /// <summary>The most agents a cluster file may list (<c>maxAgents</c>; default <see cref="ClusterConfigLoader.DefaultMaxAgents"/>).</summary>
    public int MaxAgents { get; }

    /// <summary>The attach prefix key as written (<c>keys.prefix</c>, e.g. "C-a"); null for the default (C-b).</summary>
    public string? PrefixKey { get; init; }

    /// <summary>Lines of scrollback each agent's screen model keeps for attach (<c>scrollback</c>, 0–100000; default 2000).</summary>
    public int Scrollback { get; init; } = 2000;

    /// <summary>How the person is called when an agent needs them (<c>notifications</c>; default all channels on).</summary>
    public NotificationSettings Notifications { get; init; } = NotificationSettings.Default;

    /// <summary>Health thresholds and actions for every cluster (<c>health</c>; see <see cref="HealthSettings"/>).</summary>
    public HealthSettings Health { get; init; } = Zeroshot.Agents.Health.HealthSettings.None;

    /// <summary>Every cluster's budget unless its file sets one (<c>budget.cluster</c>: <c>maxCostUsd</c>, <c>maxTokens</c>).</summary>
    public Budget? ClusterBudget { get; init; }

    /// <summary>Every agent's budget unless its cluster file sets one (<c>budget.agent</c>).</summary>
    public Budget? AgentBudget { get; init; }

    /// <summary>What a budget that ran out does (<c>budget.action</c>: <c>stop</c>, the default, or <c>warn</c>).</summary>
    public BudgetActionKind BudgetAction { get; init; } = Zeroshot.Agents.Health.BudgetActionKind.Stop;

    /// <summary>All built-in defaults.</summary>
    public static ZeroshotSettings Default { get; } = new(ProviderCatalog.DefaultProviders, DefaultPrices);

    /// <summary>Provider name → command template (always holds every known provider).</summary>
    public IReadOnlyDictionary<string, ProviderSpec> Providers { get; }

    /// <summary>Price key → price (always holds <see cref="DefaultPriceKey"/>).</summary>
    public IReadOnlyDictionary<string, ModelPrice> Prices { get; }

    /// <summary>
    /// The price of <paramref name="model"/>: the key equal to it (case-insensitive), else the longest key it
    /// contains (of keys of equal length, the one found later in the name: "gemini-3.8-flash" is a "-flash"
    /// before it is a "gemini"), else <see cref="DefaultPriceKey"/>.
    /// </summary>
    public ModelPrice PriceFor(string? model)
    {
        if (string.IsNullOrEmpty(model))
            return Prices[DefaultPriceKey];
        if (Prices.TryGetValue(model, out var exact))
            return exact;
        ModelPrice? best = null;
        int bestLength = 0, bestAt = -1;
        foreach (var (key, price) in Prices)
        {
            if (key == DefaultPriceKey || key.Length < bestLength)
                continue;
            int at = model.LastIndexOf(key, StringComparison.OrdinalIgnoreCase);
            if (at >= 0 && (key.Length > bestLength || at > bestAt))
                (best, bestLength, bestAt) = (price, key.Length, at);
        }
        return best ?? Prices[DefaultPriceKey];
    }

    /// <summary>Reads settings.json; a missing file yields <see cref="Default"/>. Invalid content → exit 2 naming the file.</summary>
    public static ZeroshotSettings Load(string path)
    {
        if (!File.Exists(path) && !Directory.Exists(path))
            return Default;
        return Parse(ConfigFile.ReadText(path, 1024 * 1024, "settings file"), path);
    }

    /// <summary>Parses settings JSON; <paramref name="sourceName"/> prefixes error messages.</summary>
    public static ZeroshotSettings Parse(string json, string sourceName)
    {
        var reader = new JsonFieldReader(sourceName);
        using var document = reader.Parse(json);
        var root = document.RootElement;
        reader.RequireObject(root, "", RootFields);

        var providers = new Dictionary<string, ProviderSpec>(ProviderCatalog.DefaultProviders, StringComparer.Ordinal);
        if (reader.Optional(root, "providers") is { } providersElement)
        {
            reader.RequireObject(providersElement, "providers", ProviderCatalog.KnownProviders);
            foreach (var property in providersElement.EnumerateObject())
                providers[property.Name] = ReadProvider(reader, property.Value, $"providers.{property.Name}", providers[property.Name]);
        }

        var prices = new Dictionary<string, ModelPrice>(DefaultPrices, StringComparer.OrdinalIgnoreCase);
        if (reader.Optional(root, "prices") is { } pricesElement)
        {
            if (pricesElement.ValueKind != JsonValueKind.Object)
                throw reader.Error("prices", "expected an object of model name → prices");
            foreach (var property in pricesElement.EnumerateObject())
            {
                var path = $"prices.{property.Name}";
                if (property.Name.Length == 0)
                    throw reader.Error(path, "model name must not be empty");
                reader.RequireObject(property.Value, path, PriceFields);
                double Field(string name, bool required) => reader.Optional(property.Value, name) is { } value
                    ? reader.Number(value, $"{path}.{name}")
                    : required ? throw reader.Error($"{path}.{name}", "required field is missing") : 0;
                prices[property.Name] = new ModelPrice(Field("input", true), Field("output", true), Field("cacheRead", false), Field("cacheWrite", false));
            }
        }
        var maxAgents = reader.Optional(root, "maxAgents") is { } ma
            ? reader.Integer(ma, "maxAgents", 1, ClusterConfigLoader.MaxAgentsLimit)
            : ClusterConfigLoader.DefaultMaxAgents;
        string? prefix = null;
        if (reader.Optional(root, "keys") is { } keys)
        {
            reader.RequireObject(keys, "keys", KeysFields);
            prefix = reader.OptionalString(keys, "keys", "prefix");
        }
        int scrollback = reader.Optional(root, "scrollback") is { } sb ? reader.Integer(sb, "scrollback", 0, 100_000) : 2000;
        var notifications = reader.Optional(root, "notifications") is { } n ? ReadNotifications(reader, n) : NotificationSettings.Default;
        var health = reader.Optional(root, "health") is { } h ? HealthSettings.Read(reader, h, "health") : HealthSettings.None;
        Budget? clusterBudget = null, agentBudget = null;
        BudgetActionKind budgetAction = BudgetActionKind.Stop;
        if (reader.Optional(root, "budget") is { } budget)
        {
            reader.RequireObject(budget, "budget", BudgetFields);
            if (reader.Optional(budget, "cluster") is { } c)
            {
                reader.RequireObject(c, "budget.cluster", BudgetLimitFields);
                clusterBudget = Budget.Read(reader, c, "budget.cluster");
            }
            if (reader.Optional(budget, "agent") is { } a)
            {
                reader.RequireObject(a, "budget.agent", BudgetLimitFields);
                agentBudget = Budget.Read(reader, a, "budget.agent");
            }
            if (reader.Optional(budget, "action") is { } action)
                budgetAction = Budget.ParseAction(reader, action, "budget.action");
        }
        return new ZeroshotSettings(providers, prices, maxAgents)
        {
            PrefixKey = prefix,
            Scrollback = scrollback,
            Notifications = notifications,
            Health = health,
            ClusterBudget = clusterBudget,
            AgentBudget = agentBudget,
            BudgetAction = budgetAction,
        };
    }

    private static NotificationSettings ReadNotifications(JsonFieldReader reader, JsonElement element)
    {
        const string path = "notifications";
        reader.RequireObject(element, path, NotificationFields);
        var d = NotificationSettings.Default;
        bool Flag(string name, bool fallback) => reader.Optional(element, name) is { } value
            ? value.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw reader.Error($"{path}.{name}", "expected true or false"),
            }
            : fallback;
        int Whole(string name, int min, int max, int fallback) =>
            reader.Optional(element, name) is { } value ? reader.Integer(value, $"{path}.{name}", min, max) : fallback;
        return new NotificationSettings(
            Bell: Flag("bell", d.Bell),
            Osc: Flag("osc", d.Osc),
            Desktop: Flag("desktop", d.Desktop),
            MinIntervalSeconds: Whole("minIntervalSeconds", 0, 3600, d.MinIntervalSeconds),
            MaxPerMinute: Whole("maxPerMinute", 1, 600, d.MaxPerMinute),
            HookTimeoutSeconds: Whole("hookTimeoutSeconds", 1, 300, d.HookTimeoutSeconds),
            TmuxPassthrough: Flag("tmuxPassthrough", d.TmuxPassthrough));
    }

    private static ProviderSpec ReadProvider(JsonFieldReader reader, JsonElement element, string path, ProviderSpec defaults)
    {
        reader.RequireObject(element, path, ProviderFields);
        var command = reader.Optional(element, "command") is { } c
            ? reader.StringArray(c, $"{path}.command", allowEmptyArray: false, allowEmptyElements: true)
            : defaults.Command;
        var modelArgs = reader.Optional(element, "modelArgs") is { } m
            ? reader.StringArray(m, $"{path}.modelArgs", allowEmptyArray: true, allowEmptyElements: true)
            : defaults.ModelArgs;
        if (command[0].Length == 0)
            throw reader.Error($"{path}.command[0]", "the executable must not be empty");
        CheckPlaceholders(reader, command, $"{path}.command", wholeElementAllowed: true);
        var verdictArgs = reader.Optional(element, "verdictArgs") is { } v
            ? reader.StringArray(v, $"{path}.verdictArgs", allowEmptyArray: true, allowEmptyElements: true)
            : defaults.VerdictArgsOrEmpty;
        CheckPlaceholders(reader, modelArgs, $"{path}.modelArgs", wholeElementAllowed: false);
        CheckPlaceholders(reader, verdictArgs, $"{path}.verdictArgs", wholeElementAllowed: false);
        // A command of one's own (say with "{prompt}" in it) does not silently keep the default's standard input.
        var stdin = reader.Optional(element, "stdin") is not null
            ? reader.OptionalString(element, path, "stdin", allowEmpty: true)
            : reader.Optional(element, "command") is null ? defaults.Stdin : null;
        if (stdin is not null)
            CheckPlaceholders(reader, [stdin], $"{path}.stdin", wholeElementAllowed: false);
        return new ProviderSpec(command, modelArgs, verdictArgs, stdin);
    }

    private static void CheckPlaceholders(JsonFieldReader reader, IReadOnlyList<string> template, string path, bool wholeElementAllowed)
    {
        for (var i = 0; i < template.Count; i++)
        {
            var element = template[i];
            if (wholeElementAllowed && ProviderCatalog.WholeElementPlaceholders.Contains(element))
                continue;
            foreach (var name in ProviderCatalog.PlaceholderNames(element))
                if (!ProviderCatalog.InlinePlaceholders.Contains(name))
                    throw reader.Error($"{path}[{i}]", ProviderCatalog.WholeElementPlaceholders.Contains("{" + name + "}")
                        ? $"'{{{name}}}' must be a whole element" + (wholeElementAllowed ? "" : " of \"command\"")
                        : $"unknown placeholder '{{{name}}}' (known: {{prompt}}, {{model}}, {{agent}}, {{options}}, {{verdictSchema}}, {{verdictSchemaFile}}, and as whole elements of \"command\": {{self}}, {{modelArgs}}, {{verdictArgs}})");
        }
    }
}
