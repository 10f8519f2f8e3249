using System.Text;
using System.Text.Json;
using Zeroshot.Agents.Output;

namespace Zeroshot.Agents.State;

/// <summary>A verdict as stored in the state database: <c>{"approved", "summary", "issues", "iteration"}</c>.</summary>
internal static class VerdictJson
{
    /// <summary>The stored form.</summary>
    public static string Serialize(Verdict verdict, int iteration)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
            Write(w, verdict, iteration);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Writes <c>{"approved", "summary", "issues", "iteration"}</c> (also the <c>verdict</c> of <c>status --json</c>).</summary>
    public static void Write(Utf8JsonWriter w, Verdict verdict, int iteration)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(verdict);
        w.WriteStartObject();
        w.WriteBoolean("approved", verdict.Approved);
        w.WriteString("summary", verdict.Summary);
        w.WriteStartArray("issues");
        foreach (var issue in verdict.Issues)
            w.WriteStringValue(issue);
        w.WriteEndArray();
        w.WriteNumber("iteration", iteration);
        w.WriteEndObject();
    }

    /// <summary>Reads the stored form; null when it is damaged (a verdict is information, not state to fail on).</summary>
    public static (Verdict Verdict, int Iteration)? Parse(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            if (Verdict.FromJson(document.RootElement) is not { } verdict)
                return null;
            return (verdict, (int)(document.RootElement.Long("iteration") ?? 0));
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
