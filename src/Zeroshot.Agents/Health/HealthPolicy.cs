using System.Globalization;
using System.Text.Json;
using Zeroshot.Agents.Config;

namespace Zeroshot.Agents.Health;

/// <summary>What the supervisor does about an unhealthy verdict.</summary>
internal enum HealthActionKind
{
    /// <summary>An event, the footer, the status bar, the dashboard and the notification channels.</summary>
    Warn,
    /// <summary>SIGINT to the agent's foreground process group (its CLI's Ctrl-C: cancels the request or tool).</summary>
    Interrupt,
    /// <summary>Stop the agent (SIGTERM, then SIGKILL after the grace period); it ends as stopped, with the reason.</summary>
    Kill,
    /// <summary>Stop the agent and start it again in the same iteration.</summary>
    Restart,
}

/// <summary>An action and after how many consecutive samples of the verdict it is taken (once per episode).</summary>
/// <param name="Kind">The action.</param>
/// <param name="After">Consecutive samples (about one a second) with the verdict before acting; at least 1.</param>
internal sealed record HealthAction(HealthActionKind Kind, int After = 1)
{
    /// <summary>The action's word: warn, interrupt, kill, restart.</summary>
    public string Word => Kind.ToString().ToLowerInvariant();
}

/// <summary>
/// One layer of health settings as written (settings.json's <c>health</c>, a cluster file's, an agent's): every field
/// optional, a later layer overriding an earlier one field by field.
/// <code>
/// "health": { "stalledAfterSeconds": 120, "stuckAfterSeconds": 300, "busyIdleAfterSeconds": 300, "busyCpuPercent": 50,
///             "actions": { "stalled": "warn", "stuck": { "action": "restart", "after": 3 }, "busy-idle": "kill" } }
/// </code>
/// </summary>
internal sealed record HealthSettings(
    int? StalledAfterSeconds = null,
    int? StuckAfterSeconds = null,
    int? BusyIdleAfterSeconds = null,
    double? BusyCpuPercent = null,
    IReadOnlyDictionary<HealthVerdict, HealthAction>? Actions = null)
{
    /// <summary>No overrides.</summary>
    public static HealthSettings None { get; } = new();

    private static readonly string[] Fields = ["stalledAfterSeconds", "stuckAfterSeconds", "busyIdleAfterSeconds", "busyCpuPercent", "actions"];
    private static readonly string[] ActionFields = ["action", "after"];

    /// <summary>The verdicts an action may be set for: the unhealthy ones.</summary>
    public static readonly HealthVerdict[] Actionable = [HealthVerdict.Stalled, HealthVerdict.Stuck, HealthVerdict.BusyIdle];

    /// <summary><paramref name="over"/>'s fields where set, else this layer's.</summary>
    public HealthSettings Then(HealthSettings? over)
    {
        if (over is null) return this;
        Dictionary<HealthVerdict, HealthAction>? actions = null;
        if (Actions is not null || over.Actions is not null)
        {
            actions = new Dictionary<HealthVerdict, HealthAction>();
            foreach (var (k, v) in Actions ?? new Dictionary<HealthVerdict, HealthAction>()) actions[k] = v;
            foreach (var (k, v) in over.Actions ?? new Dictionary<HealthVerdict, HealthAction>()) actions[k] = v;
        }
        return new HealthSettings(
            over.StalledAfterSeconds ?? StalledAfterSeconds,
            over.StuckAfterSeconds ?? StuckAfterSeconds,
            over.BusyIdleAfterSeconds ?? BusyIdleAfterSeconds,
            over.BusyCpuPercent ?? BusyCpuPercent,
            actions);
    }

    /// <summary>The thresholds, defaults where unset.</summary>
    public HealthThresholds Thresholds
    {
        get
        {
            var d = HealthThresholds.Default;
            return d with
            {
                StalledAfter = StalledAfterSeconds is { } s ? TimeSpan.FromSeconds(s) : d.StalledAfter,
                StuckAfter = StuckAfterSeconds is { } t ? TimeSpan.FromSeconds(t) : d.StuckAfter,
                BusyIdleAfter = BusyIdleAfterSeconds is { } b ? TimeSpan.FromSeconds(b) : d.BusyIdleAfter,
                BusyCpuPercent = BusyCpuPercent ?? d.BusyCpuPercent,
            };
        }
    }

    /// <summary>The action for <paramref name="verdict"/>: as set, else warn after one sample for the unhealthy verdicts;
    /// null for the others.</summary>
    public HealthAction? ActionFor(HealthVerdict verdict) =>
        Actions?.GetValueOrDefault(verdict) ?? (verdict.IsUnhealthy() ? new HealthAction(HealthActionKind.Warn) : null);

    /// <summary>Reads a <c>health</c> object at <paramref name="path"/>; a one-line <see cref="UserErrorException"/> naming
    /// the field when it is wrong.</summary>
    public static HealthSettings Read(JsonFieldReader reader, JsonElement element, string path)
    {
        ArgumentNullException.ThrowIfNull(reader);
        reader.RequireObject(element, path, Fields);
        int? Seconds(string name) => reader.Optional(element, name) is { } v ? reader.Integer(v, JsonFieldReader.Child(path, name), 1, 86_400) : null;
        double? cpu = null;
        if (reader.Optional(element, "busyCpuPercent") is { } c)
        {
            var p = JsonFieldReader.Child(path, "busyCpuPercent");
            cpu = reader.Number(c, p);
            if (cpu is <= 0 or > 100_000) throw reader.Error(p, "expected a percentage of one core above 0");
        }
        Dictionary<HealthVerdict, HealthAction>? actions = null;
        if (reader.Optional(element, "actions") is { } a)
        {
            var actionsPath = JsonFieldReader.Child(path, "actions");
            if (a.ValueKind != JsonValueKind.Object) throw reader.Error(actionsPath, "expected an object of verdict → action");
            actions = [];
            foreach (var property in a.EnumerateObject())
            {
                var p = JsonFieldReader.Child(actionsPath, property.Name);
                if (HealthVerdictNames.Parse(property.Name) is not { } verdict || !Actionable.Contains(verdict))
                    throw reader.Error(p, $"unknown verdict (actions apply to: {string.Join(", ", Actionable.Select(v => v.ToJsonName()))})");
                actions[verdict] = ReadAction(reader, property.Value, p);
            }
        }
        return new HealthSettings(Seconds("stalledAfterSeconds"), Seconds("stuckAfterSeconds"), Seconds("busyIdleAfterSeconds"), cpu, actions);
    }

    private static HealthAction ReadAction(JsonFieldReader reader, JsonElement value, string path)
    {
        if (value.ValueKind == JsonValueKind.String) return new HealthAction(Kind(reader, value, path));
        reader.RequireObject(value, path, ActionFields);
        var kind = Kind(reader, reader.Required(value, path, "action"), JsonFieldReader.Child(path, "action"));
        int after = reader.Optional(value, "after") is { } n ? reader.Integer(n, JsonFieldReader.Child(path, "after"), 1, 86_400) : 1;
        return new HealthAction(kind, after);
    }

    private static HealthActionKind Kind(JsonFieldReader reader, JsonElement value, string path) =>
        (value.ValueKind == JsonValueKind.String ? value.GetString() : null) switch
        {
            "warn" => HealthActionKind.Warn,
            "interrupt" => HealthActionKind.Interrupt,
            "kill" => HealthActionKind.Kill,
            "restart" => HealthActionKind.Restart,
            _ => throw reader.Error(path, "expected warn, interrupt, kill or restart"),
        };
}

/// <summary>What happens when a budget runs out.</summary>
internal enum BudgetActionKind
{
    /// <summary>Stop the agent (an agent's budget) or the cluster (the cluster's).</summary>
    Stop,
    /// <summary>Only warn.</summary>
    Warn,
}

/// <summary>
/// Spending limits, checked each sample against the live figures (estimated cost included): a warning at 80 %, and at
/// 100 % the agent or the cluster is stopped (or only warned, with <c>"budgetAction": "warn"</c>).
/// </summary>
/// <param name="MaxCostUsd">Most dollars.</param>
/// <param name="MaxTokens">Most tokens (input, output and cache together).</param>
internal sealed record Budget(decimal? MaxCostUsd = null, long? MaxTokens = null)
{
    /// <summary>The share of the budget at which a warning is given.</summary>
    public const double WarnAt = 0.8;

    /// <summary>Whether any limit is set.</summary>
    public bool IsSet => MaxCostUsd is not null || MaxTokens is not null;

    /// <summary><paramref name="over"/>'s limits where set, else these.</summary>
    public Budget Then(Budget? over) => over is null ? this : new Budget(over.MaxCostUsd ?? MaxCostUsd, over.MaxTokens ?? MaxTokens);

    /// <summary>The fullest of the limits for what was used: (fraction used, what it is, used text, limit text); null
    /// without a limit.</summary>
    public (double Fraction, string What, string Used, string Limit)? Use(decimal costUsd, long tokens)
    {
        (double, string, string, string)? worst = null;
        if (MaxCostUsd is { } cost && cost > 0)
            worst = ((double)(costUsd / cost), "cost", Terminal.Format.Cost(costUsd, false), Terminal.Format.Cost(cost, false));
        if (MaxTokens is { } max && max > 0)
        {
            double f = (double)tokens / max;
            if (worst is null || f > worst.Value.Item1)
                worst = (f, "tokens", tokens.ToString("N0", CultureInfo.InvariantCulture), max.ToString("N0", CultureInfo.InvariantCulture));
        }
        return worst;
    }

    /// <summary>Reads <c>maxCostUsd</c> and <c>maxTokens</c> of <paramref name="element"/> (either may be absent).</summary>
    public static Budget? Read(JsonFieldReader reader, JsonElement element, string path)
    {
        ArgumentNullException.ThrowIfNull(reader);
        decimal? cost = null;
        long? tokens = null;
        if (reader.Optional(element, "maxCostUsd") is { } c)
        {
            var p = JsonFieldReader.Child(path, "maxCostUsd");
            if (c.ValueKind != JsonValueKind.Number || !c.TryGetDecimal(out var d) || d <= 0)
                throw reader.Error(p, "expected a number of dollars above 0");
            cost = d;
        }
        if (reader.Optional(element, "maxTokens") is { } t)
        {
            var p = JsonFieldReader.Child(path, "maxTokens");
            if (t.ValueKind != JsonValueKind.Number || !t.TryGetInt64(out var n) || n <= 0)
                throw reader.Error(p, "expected a whole number of tokens above 0");
            tokens = n;
        }
        return cost is null && tokens is null ? null : new Budget(cost, tokens);
    }

    /// <summary>Reads <c>budgetAction</c> of <paramref name="element"/>; null when absent.</summary>
    public static BudgetActionKind? ReadAction(JsonFieldReader reader, JsonElement element, string path)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return reader.Optional(element, "budgetAction") is { } a ? ParseAction(reader, a, JsonFieldReader.Child(path, "budgetAction")) : null;
    }

    /// <summary>A budget action's word at <paramref name="path"/>: <c>stop</c> or <c>warn</c>.</summary>
    public static BudgetActionKind ParseAction(JsonFieldReader reader, JsonElement value, string path)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return (value.ValueKind == JsonValueKind.String ? value.GetString() : null) switch
        {
            "stop" => BudgetActionKind.Stop,
            "warn" => BudgetActionKind.Warn,
            _ => throw reader.Error(path, "expected stop or warn"),
        };
    }
}
