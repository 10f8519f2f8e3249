using System.Text.Json;

namespace Zeroshot.Agents.Sim;

/// <summary>
/// Options of the built-in simulated agent (provider <c>sim</c>), read from the agent's <c>options</c>
/// object in the cluster file. Every field has a default, so <c>{}</c> is a valid configuration.
/// </summary>
internal sealed record SimAgentOptions
{
    /// <summary>The model the sim claims to be when no <c>model</c> option is given.</summary>
    public const string DefaultModel = "claude-sonnet-4-5-20250929";

    /// <summary>Target wall time of a whole run in seconds (the script's think/tool/pause phases are scaled to it).</summary>
    public double DurationSeconds { get; init; } = 12;

    /// <summary>Seed of the script: same seed → same stream-json apart from durations. Null → a random seed per run.</summary>
    public int? Seed { get; init; }

    /// <summary>Exit code of a run that is not a rejection (0..255).</summary>
    public int ExitCode { get; init; }

    /// <summary>Iterations (env ZEROSHOT_ITERATION, 1-based) in which the sim rejects like a validator and exits 1.</summary>
    public IReadOnlyList<int> RejectIterations { get; init; } = [];

    /// <summary>After the init line the sim goes silent and idle until cancelled (for stuck-agent detection).</summary>
    public bool Hang { get; init; }

    /// <summary>Model name printed in the stream and used to pick the price table.</summary>
    public string Model { get; init; } = DefaultModel;

    /// <summary>Fraction (0..1) of each tool step's wall time that the tool subprocess spends burning one core.</summary>
    public double Cpu { get; init; } = 0.5;

    /// <summary>Loopback download rate while "the model is thinking", in KiB/s (upload is a quarter of it); 0 disables the link.</summary>
    public double NetworkKBps { get; init; } = 100;

    /// <summary>Directory the tools work in; created if missing and left in place. Null → a temp dir deleted after the run.</summary>
    public string? Workdir { get; init; }

    /// <summary>
    /// After the init line the sim misbehaves as agent CLIs are seen to, until cancelled (for the health verdicts):
    /// <c>tool</c> sits in a long silent tool call (a Bash <c>sleep</c>), <c>burn</c> spins a core without a word,
    /// <c>read</c> waits on a model request to <see cref="ReadFrom"/>, reading whatever it sends. Null: a normal run.
    /// </summary>
    public string? Stall { get; init; }

    /// <summary>The <c>host:port</c> a <c>read</c> stall connects to (a test's slow or stalling "model server").</summary>
    public string? ReadFrom { get; init; }

    private static readonly string[] Known =
        ["durationSeconds", "seed", "exitCode", "rejectIterations", "hang", "model", "cpu", "networkKBps", "workdir", "stall", "readFrom"];
    private static readonly string[] Stalls = ["tool", "burn", "read"];

    /// <summary>
    /// Parses the options object. Null, empty or whitespace means all defaults.
    /// Any malformed JSON, unknown key, wrong type or out-of-range value is a <see cref="UserErrorException"/>
    /// with <see cref="ExitCodes.Usage"/> and a one-line message naming the option.
    /// </summary>
    public static SimAgentOptions Parse(string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) return new SimAgentOptions();
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw Error($"sim options are not valid JSON: {e.Message}");
        }
        using (doc) return Parse(doc.RootElement);
    }

    /// <summary>Reads the options from an already parsed element (e.g. the <c>options</c> of a cluster file agent).</summary>
    public static SimAgentOptions Parse(JsonElement options)
    {
        if (options.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return new SimAgentOptions();
        if (options.ValueKind != JsonValueKind.Object)
            throw Error($"sim options must be a JSON object, not {options.ValueKind}");
        var o = new SimAgentOptions();
        foreach (var p in options.EnumerateObject())
        {
            var v = p.Value;
            o = p.Name switch
            {
                "durationSeconds" => o with { DurationSeconds = Number(p.Name, v, 0.05, 86_400) },
                "seed" => o with { Seed = Int(p.Name, v, int.MinValue, int.MaxValue) },
                "exitCode" => o with { ExitCode = Int(p.Name, v, 0, 255) },
                "rejectIterations" => o with { RejectIterations = IntArray(p.Name, v) },
                "hang" => o with { Hang = Bool(p.Name, v) },
                "model" => o with { Model = NonEmptyString(p.Name, v) },
                "cpu" => o with { Cpu = Number(p.Name, v, 0, 1) },
                "networkKBps" => o with { NetworkKBps = Number(p.Name, v, 0, 1_000_000) },
                "workdir" => o with { Workdir = NonEmptyString(p.Name, v) },
                "stall" => o with { Stall = NonEmptyString(p.Name, v) is var s && Stalls.Contains(s) ? s : throw Error($"sim option 'stall' must be one of {string.Join(", ", Stalls)}") },
                "readFrom" => o with { ReadFrom = NonEmptyString(p.Name, v) },
                _ => throw Error($"unknown sim option '{p.Name}' (known: {string.Join(", ", Known)})"),
            };
        }
        if (o.Stall == "read" && o.ReadFrom is null) throw Error("sim option 'stall': \"read\" needs 'readFrom' (host:port)");
        return o;
    }

    private static UserErrorException Error(string message) => new(message, ExitCodes.Usage);

    private static double Number(string name, JsonElement v, double min, double max)
    {
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out var d) || !double.IsFinite(d))
            throw Error($"sim option '{name}' must be a number");
        if (d < min || d > max) throw Error($"sim option '{name}' must be between {min} and {max}, got {d}");
        return d;
    }

    private static int Int(string name, JsonElement v, int min, int max)
    {
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var i))
            throw Error($"sim option '{name}' must be an integer");
        if (i < min || i > max) throw Error($"sim option '{name}' must be between {min} and {max}, got {i}");
        return i;
    }

    private static int[] IntArray(string name, JsonElement v)
    {
        if (v.ValueKind != JsonValueKind.Array) throw Error($"sim option '{name}' must be an array of iteration numbers");
        var list = new List<int>();
        foreach (var e in v.EnumerateArray()) list.Add(Int(name, e, 1, int.MaxValue));
        return [.. list];
    }

    private static bool Bool(string name, JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Error($"sim option '{name}' must be true or false"),
    };

    private static string NonEmptyString(string name, JsonElement v)
    {
        if (v.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(v.GetString()))
            throw Error($"sim option '{name}' must be a non-empty string");
        return v.GetString()!;
    }
}
