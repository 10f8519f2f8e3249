using System.Text.Json;
using Zeroshot.Agents.Sim;

namespace Zeroshot.Agents.Tests.Sim;

/// <summary>What the tests read back from stream-json lines, parsed independently of the sim's writer.</summary>
internal static class StreamJsonFacts
{
    /// <summary>Parses every line; a line that is not one JSON object fails the test with the line shown.</summary>
    public static List<JsonElement> ParseLines(IEnumerable<string> lines)
    {
        var result = new List<JsonElement>();
        foreach (var line in lines)
        {
            try
            {
                using var doc = JsonDocument.Parse(line);
                Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
                result.Add(doc.RootElement.Clone());
            }
            catch (JsonException e)
            {
                Assert.Fail($"not JSON ({e.Message}): {line}");
            }
        }
        return result;
    }

    public static string Type(JsonElement e) => e.GetProperty("type").GetString()!;

    public static SimUsage Usage(JsonElement usage) => new(
        usage.GetProperty("input_tokens").GetInt64(),
        usage.GetProperty("cache_creation_input_tokens").GetInt64(),
        usage.GetProperty("cache_read_input_tokens").GetInt64(),
        usage.GetProperty("output_tokens").GetInt64());

    /// <summary>Assistant usage per message id in first-seen order, every line of each id in order.</summary>
    public static List<(string Id, List<SimUsage> Lines)> AssistantUsageById(IEnumerable<JsonElement> lines)
    {
        var byId = new List<(string Id, List<SimUsage> Lines)>();
        foreach (var e in lines.Where(l => Type(l) == "assistant"))
        {
            var message = e.GetProperty("message");
            var id = message.GetProperty("id").GetString()!;
            var usage = Usage(message.GetProperty("usage"));
            var entry = byId.FindIndex(x => x.Id == id);
            if (entry < 0) byId.Add((id, [usage]));
            else byId[entry].Lines.Add(usage);
        }
        return byId;
    }

    /// <summary>The accounting rule: each message id counts once, with its last value.</summary>
    public static SimUsage TotalsLastValueWins(IEnumerable<JsonElement> lines) =>
        AssistantUsageById(lines).Aggregate(default(SimUsage), (sum, m) => sum + m.Lines[^1]);

    /// <summary>(tool_use id, tool name, input) of every tool_use block, in order.</summary>
    public static List<(string Id, string Name, JsonElement Input)> ToolUses(IEnumerable<JsonElement> lines) =>
        [.. lines.Where(l => Type(l) == "assistant")
            .SelectMany(l => l.GetProperty("message").GetProperty("content").EnumerateArray())
            .Where(b => b.GetProperty("type").GetString() == "tool_use")
            .Select(b => (b.GetProperty("id").GetString()!, b.GetProperty("name").GetString()!, b.GetProperty("input")))];

    /// <summary>(tool_use_id, content, is_error) of every tool_result block, in order.</summary>
    public static List<(string Id, string Content, bool IsError)> ToolResults(IEnumerable<JsonElement> lines) =>
        [.. lines.Where(l => Type(l) == "user")
            .SelectMany(l => l.GetProperty("message").GetProperty("content").EnumerateArray())
            .Where(b => b.GetProperty("type").GetString() == "tool_result")
            .Select(b => (b.GetProperty("tool_use_id").GetString()!, b.GetProperty("content").GetString()!, b.GetProperty("is_error").GetBoolean()))];
}
