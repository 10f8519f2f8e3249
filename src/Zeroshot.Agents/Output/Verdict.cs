using System.Text.Json;

namespace Zeroshot.Agents.Output;

/// <summary>
/// A validator's judgement of one iteration: <c>{"approved": bool, "summary": "…", "issues": ["…"]}</c>.
/// Read from the validator's final result (structured output where the CLI has it, else a JSON object in its
/// last message); a <c>command</c> validator's verdict is its exit code.
/// </summary>
/// <param name="Approved">True when the validator accepts the work.</param>
/// <param name="Summary">One or two sentences (may be empty).</param>
/// <param name="Issues">What must change, one entry each (empty when approved).</param>
internal sealed record Verdict(bool Approved, string Summary, IReadOnlyList<string> Issues)
{
    /// <summary>Longest summary kept (the log has the whole message).</summary>
    public const int MaxSummaryChars = 2000;

    /// <summary>Most issues kept.</summary>
    public const int MaxIssues = 50;

    /// <summary>The JSON schema a validator's answer must follow (passed to CLIs that take a schema).</summary>
    public const string JsonSchema =
        """{"type":"object","properties":{"approved":{"type":"boolean"},"summary":{"type":"string"},"issues":{"type":"array","items":{"type":"string"}}},"required":["approved","summary","issues"],"additionalProperties":false}""";

    /// <summary>What the validator's prompt asks for (appended to it by the supervisor).</summary>
    public const string Instructions =
        "When you have finished reviewing, give your verdict as the very last thing in your final message: a JSON " +
        "object in a ```json fenced block, exactly of the form {\"approved\": true or false, \"summary\": \"one or two " +
        "sentences\", \"issues\": [\"each problem that must be fixed, concretely\"]}. Approve only if the task is fully " +
        "and correctly done; when you reject, list every issue.";

    /// <summary>"approved" or "rejected".</summary>
    public string Word => Approved ? "approved" : "rejected";

    /// <summary>Reads a verdict object; null when <paramref name="element"/> is not one.</summary>
    public static Verdict? FromJson(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
            return null;
        if (!element.TryGetProperty("approved", out var approved) || approved.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            return null;
        var summary = element.Str("summary") ?? "";
        var issues = new List<string>();
        if (element.Arr("issues") is { } list)
            foreach (var issue in list.EnumerateArray())
                if (issue.ValueKind == JsonValueKind.String && issue.GetString() is { Length: > 0 } text && issues.Count < MaxIssues)
                    issues.Add(StreamJsonRenderer.Cut(text.Trim(), MaxSummaryChars));
        return new Verdict(approved.ValueKind == JsonValueKind.True, StreamJsonRenderer.Cut(summary.Trim(), MaxSummaryChars), issues);
    }

    /// <summary>
    /// Finds the verdict in a validator's final message: the last ```json fenced block that is a verdict, else
    /// the last balanced <c>{…}</c> object holding an <c>approved</c> boolean, else the whole text as JSON.
    /// Null when there is none (a validator that gives no verdict has failed, it has not rejected).
    /// </summary>
    public static Verdict? FromText(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
            return null;
        // Fenced blocks, last first: models often quote an example before their answer.
        var fences = new List<string>();
        int at = 0;
        while ((at = text.IndexOf("```", at, StringComparison.Ordinal)) >= 0)
        {
            int bodyStart = text.IndexOf('\n', at);
            if (bodyStart < 0)
                break;
            int end = text.IndexOf("```", bodyStart, StringComparison.Ordinal);
            if (end < 0)
                break;
            fences.Add(text[(bodyStart + 1)..end]);
            at = end + 3;
        }
        for (int i = fences.Count - 1; i >= 0; i--)
            if (TryParse(fences[i]) is { } fenced)
                return fenced;

        // Balanced objects, scanning from the last '{' backwards so the final answer wins.
        for (int open = text.LastIndexOf('{'); open >= 0; open = open == 0 ? -1 : text.LastIndexOf('{', open - 1))
        {
            if (ObjectEnd(text, open) is { } close && TryParse(text[open..(close + 1)]) is { } found)
                return found;
        }
        return null;
    }

    private static Verdict? TryParse(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16, AllowTrailingCommas = true });
            return FromJson(document.RootElement);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The index of the '}' closing the object opened at <paramref name="open"/>, honouring strings.</summary>
    private static int? ObjectEnd(string text, int open)
    {
        int depth = 0;
        bool inString = false;
        for (int i = open; i < text.Length; i++)
        {
            char c = text[i];
            if (inString)
            {
                if (c == '\\') i++;
                else if (c == '"') inString = false;
                continue;
            }
            if (c == '"') inString = true;
            else if (c == '{') depth++;
            else if (c == '}' && --depth == 0) return i;
        }
        return null;
    }
}
