using System.Text.Json;

namespace Zeroshot.Agents.Output;

/// <summary>Lenient field access for agent output: a missing or mistyped field is null, never an exception.</summary>
internal static class JsonFields
{
    public static JsonElement? Get(this JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public static string? Str(this JsonElement e, string name) =>
        e.Get(name) is { ValueKind: JsonValueKind.String } v ? v.GetString() : null;

    public static long? Long(this JsonElement e, string name)
    {
        if (e.Get(name) is not { ValueKind: JsonValueKind.Number } v)
            return null;
        if (v.TryGetInt64(out var l))
            return l;
        return v.TryGetDouble(out var d) && d is >= long.MinValue and <= long.MaxValue ? (long)d : null;
    }

    public static decimal? Decimal(this JsonElement e, string name) =>
        e.Get(name) is { ValueKind: JsonValueKind.Number } v && v.TryGetDecimal(out var d) ? d : null;

    public static bool Bool(this JsonElement e, string name) =>
        e.Get(name) is { ValueKind: JsonValueKind.True };

    public static JsonElement? Obj(this JsonElement e, string name) =>
        e.Get(name) is { ValueKind: JsonValueKind.Object } v ? v : null;

    public static JsonElement? Arr(this JsonElement e, string name) =>
        e.Get(name) is { ValueKind: JsonValueKind.Array } v ? v : null;

    /// <summary>An Anthropic <c>usage</c> object; null when it carries none of the four counts.</summary>
    public static TokenCounts? ClaudeUsage(JsonElement? usage)
    {
        if (usage is not { ValueKind: JsonValueKind.Object } u)
            return null;
        long? input = u.Long("input_tokens"), output = u.Long("output_tokens");
        long? read = u.Long("cache_read_input_tokens"), write = u.Long("cache_creation_input_tokens");
        if (input is null && output is null && read is null && write is null)
            return null;
        return new TokenCounts(input ?? 0, output ?? 0, read ?? 0, write ?? 0);
    }

    /// <summary>A Codex <c>usage</c> object {input_tokens, cached_input_tokens, output_tokens}.</summary>
    public static TokenCounts? CodexUsage(JsonElement? usage)
    {
        if (usage is not { ValueKind: JsonValueKind.Object } u)
            return null;
        long? input = u.Long("input_tokens"), cached = u.Long("cached_input_tokens"), output = u.Long("output_tokens");
        if (input is null && cached is null && output is null)
            return null;
        return TokenCounts.FromCodex(input ?? 0, cached ?? 0, output ?? 0);
    }

    /// <summary>
    /// Gemini CLI <c>result.stats</c> {input_tokens, output_tokens, cached, input, total_tokens}: like OpenAI, Gemini counts
    /// cached prompt tokens inside the prompt count (<c>cachedContentTokenCount</c> ⊂ <c>promptTokenCount</c>), so the
    /// uncached input is the difference.
    /// </summary>
    public static TokenCounts? GeminiUsage(JsonElement? stats)
    {
        if (stats is not { ValueKind: JsonValueKind.Object } s)
            return null;
        long? input = s.Long("input_tokens"), output = s.Long("output_tokens"), total = s.Long("total_tokens");
        long? cached = s.Long("cached") ?? s.Long("cached_tokens");
        if (input is null && output is null && cached is null)
            return null;
        // output_tokens counts candidates only; thoughts (and tool-use prompt tokens) are in total_tokens, and
        // thoughts are billed as output: what the total holds beyond the prompt is output.
        long billedOutput = Math.Max(output ?? 0, (total ?? 0) - (input ?? 0));
        return TokenCounts.FromCodex(input ?? 0, cached ?? 0, billedOutput);
    }
}
