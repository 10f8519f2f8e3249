using System.Text;
using System.Text.Json;

namespace Zeroshot.Agents.Transcripts;

/// <summary>
/// Small forward-only helpers over <see cref="Utf8JsonReader"/> shared by the transcript parsers: a transcript line
/// can be 100 KB (Claude writes whole request shapes into it), so the parsers walk it once without building a DOM and
/// only allocate the few strings they keep (message id, model). The reader validates as it goes, so malformed JSON
/// surfaces here as <see cref="InvalidDataException"/>.
/// </summary>
internal static class TranscriptJson
{
    /// <summary>A reader over one complete line (final block), with the default depth limit.</summary>
    public static Utf8JsonReader Reader(ReadOnlySpan<byte> line) =>
        new(line, isFinalBlock: true, state: default);

    /// <summary>Reads the next token; malformed JSON becomes <see cref="InvalidDataException"/>.</summary>
    public static bool Next(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.Read();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"malformed transcript line at byte {reader.BytesConsumed}: {e.Message}", e);
        }
    }

    /// <summary>Skips the value after a property name (a whole object or array included), validating it.</summary>
    public static void SkipValue(ref Utf8JsonReader reader)
    {
        try
        {
            reader.Skip();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"malformed transcript line at byte {reader.BytesConsumed}: {e.Message}", e);
        }
    }

    /// <summary>Moves to the first token and requires an object.</summary>
    public static void StartObject(ref Utf8JsonReader reader)
    {
        if (!Next(ref reader) || reader.TokenType != JsonTokenType.StartObject)
            throw new InvalidDataException("a transcript line must be one JSON object");
    }

    /// <summary>
    /// Moves to the next property name of the current object (the reader is then on the name); false at the
    /// object's end. Follow with <see cref="Is"/> or <see cref="SkipProperty"/>.
    /// </summary>
    public static bool NextName(ref Utf8JsonReader reader)
    {
        if (!Next(ref reader))
            throw new InvalidDataException("transcript line ends inside an object");
        if (reader.TokenType == JsonTokenType.EndObject)
            return false;
        if (reader.TokenType != JsonTokenType.PropertyName)
            throw new InvalidDataException($"unexpected {reader.TokenType} in an object");
        return true;
    }

    /// <summary>When the current property is <paramref name="name"/>, moves onto its value and returns true.</summary>
    public static bool Is(ref Utf8JsonReader reader, ReadOnlySpan<byte> name)
    {
        if (!reader.ValueTextEquals(name))
            return false;
        if (!Next(ref reader))
            throw new InvalidDataException("transcript line ends after a property name");
        return true;
    }

    /// <summary>Skips the current property's value (on a property name, <see cref="Utf8JsonReader.Skip"/> skips the value).</summary>
    public static void SkipProperty(ref Utf8JsonReader reader) => SkipValue(ref reader);

    /// <summary>Requires that nothing but whitespace follows the root value.</summary>
    public static void End(ref Utf8JsonReader reader)
    {
        if (Next(ref reader))
            throw new InvalidDataException("more than one JSON value on a transcript line");
    }

    /// <summary>The current value as a non-negative count (numbers only; null and other kinds are 0).</summary>
    public static long Count(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Number)
        {
            if (reader.TryGetInt64(out long v))
                return Math.Max(0, v);
            if (reader.TryGetDouble(out double d) && d > 0 && d < long.MaxValue)
                return (long)d;
            return 0;
        }
        if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            SkipValue(ref reader);
        return 0;
    }

    /// <summary>The current value as a string, or null when it is not one (objects and arrays are skipped).</summary>
    public static string? String(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.String)
            return reader.GetString();
        if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            SkipValue(ref reader);
        return null;
    }

    /// <summary>
    /// The current string value, reusing <paramref name="previous"/> when equal: the model name repeats on every
    /// message, so comparing in place avoids allocating it each time.
    /// </summary>
    public static string? StringReusing(ref Utf8JsonReader reader, string? previous)
    {
        if (reader.TokenType == JsonTokenType.String && previous is not null && reader.ValueTextEquals(previous))
            return previous;
        return String(ref reader);
    }

    /// <summary>The current value as a decimal, or null when it is not a number.</summary>
    public static decimal? Decimal(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetDecimal(out decimal d))
            return d;
        if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            SkipValue(ref reader);
        return null;
    }

    /// <summary>UTF-8 for error messages and tests.</summary>
    public static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);
}
