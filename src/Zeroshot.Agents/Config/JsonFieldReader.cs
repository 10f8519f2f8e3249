using System.Text.Json;

namespace Zeroshot.Agents.Config;

/// <summary>
/// Shared plumbing of the hand-written JSON readers (cluster files, settings.json): parse with line/column errors,
/// strict field sets (a typo must not pass silently), typed getters, and errors of the form
/// <c>&lt;source&gt;: &lt;json path&gt;: &lt;what is wrong&gt;</c> as <see cref="UserErrorException"/> with exit code 2.
/// Hand-written rather than a JsonSerializerContext because the errors must name the JSON path and unknown fields.
/// </summary>
internal sealed class JsonFieldReader(string source)
{
    // Hand-edited files: comments and trailing commas are harmless, so accept them.
    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        MaxDepth = 64,
    };

    public string Source { get; } = source;

    public JsonDocument Parse(string json)
    {
        if (string.IsNullOrWhiteSpace(json))
            throw new UserErrorException($"{Source}: the file is empty (expected a JSON object)", ExitCodes.Usage);
        try
        {
            return JsonDocument.Parse(json, DocumentOptions);
        }
        catch (JsonException e)
        {
            // JsonException carries 0-based LineNumber/BytePositionInLine; its Message repeats them in a suffix
            // ("... LineNumber: 2 | BytePositionInLine: 4."), which we cut to keep one readable line.
            var message = e.Message;
            var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
            if (cut > 0)
                message = message[..cut];
            // The reader's wording for a truncated document is opaque; say what it means.
            if (message.StartsWith("Expected depth to be zero", StringComparison.Ordinal))
                message = "unexpected end of the file: an object or array is not closed";
            var where = e.LineNumber is { } line
                ? $"line {line + 1}, column {(e.BytePositionInLine ?? 0) + 1}"
                : "unknown position";
            throw new UserErrorException(Terminal.Format.Escaped($"{Source}: invalid JSON at {where}: {message.TrimEnd('.')}"), ExitCodes.Usage);
        }
    }

    /// <summary>
    /// The error for <paramref name="path"/>; the file's own text in it (a field name, an id) may hold controls, so
    /// they are escaped (<see cref="Terminal.Format.Escaped"/>): an error message never sends a file's ESC to the terminal.
    /// </summary>
    public UserErrorException Error(string path, string message) =>
        new(Terminal.Format.Escaped(path.Length == 0 ? $"{Source}: {message}" : $"{Source}: {path}: {message}"), ExitCodes.Usage);

    public static string Child(string path, string field) => path.Length == 0 ? field : $"{path}.{field}";

    public static string Index(string path, int index) => $"{path}[{index}]";

    /// <summary>Checks that <paramref name="element"/> is an object whose fields are all known and unique.</summary>
    public void RequireObject(JsonElement element, string path, ReadOnlySpan<string> knownFields)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw Error(path, path.Length == 0 ? "expected a JSON object at the top level" : "expected an object");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            if (!knownFields.Contains(property.Name))
            {
                var hint = Suggest(property.Name, knownFields);
                throw Error(Child(path, property.Name),
                    $"unknown field '{property.Name}'" + (hint is null ? $" (known: {string.Join(", ", knownFields.ToArray())})" : $"; did you mean '{hint}'?"));
            }
            if (!seen.Add(property.Name))
                throw Error(Child(path, property.Name), "field appears twice");
        }
    }

    public JsonElement? Optional(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public JsonElement Required(JsonElement obj, string path, string name) =>
        Optional(obj, name) ?? throw Error(Child(path, name), "required field is missing");

    public string String(JsonElement value, string path, bool allowEmpty = false)
    {
        if (value.ValueKind != JsonValueKind.String)
            throw Error(path, "expected a string");
        var text = value.GetString()!;
        if (!allowEmpty && text.Length == 0)
            throw Error(path, "must not be empty");
        return text;
    }

    public string? OptionalString(JsonElement obj, string path, string name, bool allowEmpty = false) =>
        Optional(obj, name) is { } value ? String(value, Child(path, name), allowEmpty) : null;

    public int Integer(JsonElement value, string path, int min, int max)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var number))
            throw Error(path, "expected a whole number");
        if (number < min || number > max)
            throw Error(path, $"must be between {min} and {max}, not {number}");
        return number;
    }

    public double Number(JsonElement value, string path)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number) || !double.IsFinite(number))
            throw Error(path, "expected a number");
        if (number < 0)
            throw Error(path, "must not be negative");
        return number;
    }

    /// <summary>An array of strings; each element non-empty unless <paramref name="allowEmptyElements"/>.</summary>
    public List<string> StringArray(JsonElement value, string path, bool allowEmptyArray, bool allowEmptyElements = false)
    {
        if (value.ValueKind != JsonValueKind.Array)
            throw Error(path, "expected an array of strings");
        var list = new List<string>(value.GetArrayLength());
        var i = 0;
        foreach (var item in value.EnumerateArray())
            list.Add(String(item, Index(path, i++), allowEmptyElements));
        if (list.Count == 0 && !allowEmptyArray)
            throw Error(path, "must not be empty");
        return list;
    }

    /// <summary>The known name closest to a typo (edit distance ≤ 2, case-insensitive), or null.</summary>
    internal static string? Suggest(string name, ReadOnlySpan<string> known)
    {
        string? best = null;
        var bestDistance = 3;
        foreach (var candidate in known)
        {
            var d = EditDistance(name.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (d < bestDistance)
                (best, bestDistance) = (candidate, d);
        }
        return best;
    }

    // Classic two-row Levenshtein distance; the strings are field names, a few dozen characters at most.
    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
            previous[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
