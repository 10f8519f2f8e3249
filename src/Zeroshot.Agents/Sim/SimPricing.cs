namespace Zeroshot.Agents.Sim;

/// <summary>Token counts in the shape of the Anthropic Messages API <c>usage</c> object.</summary>
internal readonly record struct SimUsage(long InputTokens, long CacheCreationInputTokens, long CacheReadInputTokens, long OutputTokens)
{
    public static SimUsage operator +(SimUsage a, SimUsage b) => new(
        a.InputTokens + b.InputTokens,
        a.CacheCreationInputTokens + b.CacheCreationInputTokens,
        a.CacheReadInputTokens + b.CacheReadInputTokens,
        a.OutputTokens + b.OutputTokens);
}

/// <summary>
/// USD per million tokens, the fixed table the sim prices its run with. Values are Anthropic's list
/// prices (https://docs.anthropic.com/en/docs/about-claude/pricing): 5-minute cache writes cost 1.25×
/// the input price and cache reads 0.1× the input price. Prices have at most two decimals, so with
/// <see cref="decimal"/> arithmetic the cost of a run is exact.
/// </summary>
internal readonly record struct SimPrice(decimal Input, decimal CacheWrite, decimal CacheRead, decimal Output)
{
    public static readonly SimPrice Opus45 = new(5m, 6.25m, 0.50m, 25m);
    public static readonly SimPrice Opus4 = new(15m, 18.75m, 1.50m, 75m);
    public static readonly SimPrice Sonnet = new(3m, 3.75m, 0.30m, 15m);
    public static readonly SimPrice Haiku45 = new(1m, 1.25m, 0.10m, 5m);
    public static readonly SimPrice Haiku35 = new(0.80m, 1m, 0.08m, 4m);

    /// <summary>
    /// Picks the table by model family: "opus-4-5"/"opus-4-6" → Opus 4.5, other "opus" → Opus 4/4.1,
    /// "haiku-4" → Haiku 4.5, other "haiku" → Haiku 3.5, anything else → Sonnet 4/4.5 (≤200K context).
    /// </summary>
    public static SimPrice ForModel(string model)
    {
        var m = model.ToLowerInvariant();
        if (m.Contains("opus", StringComparison.Ordinal))
            return m.Contains("opus-4-5", StringComparison.Ordinal) || m.Contains("opus-4-6", StringComparison.Ordinal) ? Opus45 : Opus4;
        if (m.Contains("haiku", StringComparison.Ordinal))
            return m.Contains("haiku-4", StringComparison.Ordinal) ? Haiku45 : Haiku35;
        return Sonnet;
    }

    /// <summary>Exact cost in USD of the given usage.</summary>
    public decimal Cost(SimUsage u) =>
        (u.InputTokens * Input + u.CacheCreationInputTokens * CacheWrite + u.CacheReadInputTokens * CacheRead + u.OutputTokens * Output)
        / 1_000_000m;
}
