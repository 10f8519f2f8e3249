using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;
using Zeroshot.Agents.Config;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;
using Zeroshot.Metrics;

namespace Zeroshot.Agents.Supervision;

/// <summary>
/// The source-generated JSON of the live model (no reflection: AOT-clean). camelCase names, every field present
/// (null when unknown) unless marked otherwise, enums as their lower-case words, times as ISO 8601 UTC with
/// milliseconds, metrics as in <c>zeroshot metrics --json</c>. The documents of <c>status --json</c>,
/// <c>list --json</c> and the control socket's <c>status</c> and <c>snapshots</c>.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    Converters =
    [
        typeof(IsoTimeConverter), typeof(TreeSampleConverter), typeof(ClusterStateConverter), typeof(AgentStateConverter),
        typeof(ClusterKindConverter), typeof(AgentRoleConverter), typeof(AgentActivityConverter), typeof(AgentSnapshotConverter),
        typeof(HealthVerdictConverter),
    ])]
[JsonSerializable(typeof(ClusterSnapshot))]
[JsonSerializable(typeof(List<ClusterSnapshot>))]
[JsonSerializable(typeof(List<ClusterListEntry>))]
[JsonSerializable(typeof(LiveMessage))]
[JsonSerializable(typeof(ClusterEvent))]
internal sealed partial class LiveJson : JsonSerializerContext
{
    /// <summary>The UTF-8 JSON of <paramref name="snapshot"/>.</summary>
    public static byte[] ToUtf8(ClusterSnapshot snapshot) => JsonSerializer.SerializeToUtf8Bytes(snapshot, Default.ClusterSnapshot);

    /// <summary>Reads a snapshot (a <c>status</c> answer); <see cref="JsonException"/> when it is not one.</summary>
    public static ClusterSnapshot ReadSnapshot(JsonElement element) =>
        element.Deserialize(Default.ClusterSnapshot) ?? throw new JsonException("null status document");

    /// <summary>Reads one frame of the <c>snapshots</c> stream; <see cref="JsonException"/> when it is not one.</summary>
    public static LiveMessage ReadMessage(ReadOnlySpan<byte> utf8) =>
        JsonSerializer.Deserialize(utf8, Default.LiveMessage) ?? throw new JsonException("null stream message");

    /// <summary>
    /// Whether a <c>snapshots</c> stream frame is a snapshot (<c>{"snapshot": …}</c>) rather than an event, from its first
    /// member's name alone (a reader that keeps the frame to parse later need not parse it now);
    /// <see cref="JsonException"/> when it does not start as a stream message.
    /// </summary>
    public static bool IsSnapshotMessage(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) throw new JsonException("a stream message is an object");
        // Each message has exactly one of the two members (LiveMessage writes the other only when it is not null).
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("snapshot"u8)) return true;
            if (reader.ValueTextEquals("event"u8)) return false;
            reader.Skip();
        }
        return false;
    }
}

/// <summary>
/// The generated JSON of one <see cref="AgentSnapshot"/>, field by field (the options of <see cref="LiveJson"/> without
/// <see cref="AgentSnapshotConverter"/>, which calls it).
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    Converters =
    [
        typeof(IsoTimeConverter), typeof(TreeSampleConverter), typeof(AgentStateConverter), typeof(AgentRoleConverter),
        typeof(AgentActivityConverter), typeof(HealthVerdictConverter),
    ])]
[JsonSerializable(typeof(AgentSnapshot))]
internal sealed partial class AgentSnapshotJson : JsonSerializerContext;

/// <summary>
/// An agent's JSON with only what changed written again. A running agent gets a new snapshot every tick because its
/// metrics sample is new, while the rest of it (id, state, usage, verdict…) usually is not: the builder hands every
/// snapshot of one agent the same <see cref="AgentJsonCache"/>, which keeps the JSON of everything before
/// <c>metrics</c> for as long as those fields are equal, so a tick writes the metrics object and copies the rest. The
/// fields and their order are those of <see cref="AgentSnapshotJson"/>, which writes any agent without a cache or with
/// a history.
/// </summary>
internal sealed class AgentSnapshotConverter : JsonConverter<AgentSnapshot>
{
    // "metrics":null} ends the generated document of an agent without metrics, history or cgroup.
    private static ReadOnlySpan<byte> NullMetricsEnd => "null}"u8;

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_scratch;
    [ThreadStatic] private static Utf8JsonWriter? t_metricsWriter;

    /// <inheritdoc/>
    public override AgentSnapshot? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        JsonSerializer.Deserialize(ref reader, AgentSnapshotJson.Default.AgentSnapshot);

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, AgentSnapshot value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        if (value.JsonCache is not { IsNone: false } cache || value.History is not null)
        {
            JsonSerializer.Serialize(writer, value, AgentSnapshotJson.Default.AgentSnapshot);
            return;
        }
        byte[] prefix = cache.PrefixFor(value);
        var scratch = t_scratch ??= new ArrayBufferWriter<byte>(4096);
        scratch.ResetWrittenCount();
        scratch.Write(prefix);
        var json = t_metricsWriter ??= new Utf8JsonWriter(scratch, new JsonWriterOptions { SkipValidation = true });
        if (value.Metrics is { } metrics)
        {
            json.Reset(scratch);
            TreeSampleJson.Write(json, metrics);
            json.Flush();
        }
        else
        {
            scratch.Write("null"u8);
        }
        // The fields after metrics (history is never written from here), as the generated code writes them.
        if (value.Cgroup is { } cgroup)
        {
            scratch.Write(",\"cgroup\":"u8);
            json.Reset(scratch);
            JsonSerializer.Serialize(json, cgroup, AgentSnapshotJson.Default.CgroupSample);
            json.Flush();
        }
        if (value.Attached != 0)
        {
            scratch.Write(",\"attached\":"u8);
            json.Reset(scratch);
            json.WriteNumberValue(value.Attached);
            json.Flush();
        }
        if (value.LastLine is { } lastLine)
        {
            scratch.Write(",\"lastLine\":"u8);
            json.Reset(scratch);
            json.WriteStringValue(lastLine);
            json.Flush();
        }
        if (value.Interactive) scratch.Write(",\"interactive\":true"u8);
        if (value.ActivityInferred) scratch.Write(",\"activityInferred\":true"u8);
        if (value.Health is { } health)
        {
            scratch.Write(",\"health\":"u8);
            json.Reset(scratch);
            JsonSerializer.Serialize(json, health, AgentSnapshotJson.Default.HealthSnapshot);
            json.Flush();
        }
        if (value.Totals is { } totals)
        {
            scratch.Write(",\"totals\":"u8);
            json.Reset(scratch);
            JsonSerializer.Serialize(json, totals, AgentSnapshotJson.Default.AgentTotals);
            json.Flush();
        }
        scratch.Write("}"u8);
        writer.WriteRawValue(scratch.WrittenSpan, skipInputValidation: true);
    }

    /// <summary>The JSON of <paramref name="agent"/> up to and including <c>"metrics":</c>.</summary>
    internal static byte[] Prefix(AgentSnapshot agent)
    {
        byte[] whole = JsonSerializer.SerializeToUtf8Bytes(agent with { Metrics = null, History = null, Cgroup = null, Attached = 0, LastLine = null, Interactive = false, ActivityInferred = false, Health = null, Totals = null, JsonCache = AgentJsonCache.None },
            AgentSnapshotJson.Default.AgentSnapshot);
        if (!whole.AsSpan().EndsWith("\"metrics\":null}"u8))
            throw new InvalidOperationException("an agent's JSON must end with its metrics");
        return whole[..^NullMetricsEnd.Length];
    }
}

/// <summary>
/// The JSON of one agent's fields before <c>metrics</c>, shared by that agent's successive snapshots (see
/// <see cref="AgentSnapshotConverter"/>). Kept while those fields stay equal to the snapshot it was written for;
/// safe to share between threads (an entry is replaced whole). Not part of the snapshot's value: every cache equals
/// every other, so records compare as before.
/// </summary>
internal sealed class AgentJsonCache : IEquatable<AgentJsonCache>
{
    private sealed record Entry(AgentSnapshot Source, byte[] Prefix);

    private volatile Entry? _entry;

    /// <summary>No cache: the snapshot is written whole.</summary>
    public static AgentJsonCache None { get; } = new();

    /// <summary>True for <see cref="None"/>.</summary>
    public bool IsNone => ReferenceEquals(this, None);

    /// <summary>The JSON before <c>metrics</c> of <paramref name="agent"/>, written again only when it differs.</summary>
    public byte[] PrefixFor(AgentSnapshot agent)
    {
        var entry = _entry;
        if (entry is not null && SameBeforeMetrics(entry.Source, agent)) return entry.Prefix;
        var prefix = AgentSnapshotConverter.Prefix(agent);
        _entry = new Entry(agent, prefix);
        return prefix;
    }

    // Every field the JSON writes before metrics (LiveModel.cs: AgentSnapshot's parameters in order).
    private static bool SameBeforeMetrics(AgentSnapshot a, AgentSnapshot b) =>
        ReferenceEquals(a, b)
        || (a.Id == b.Id && a.Role == b.Role && a.Provider == b.Provider && a.Model == b.Model && a.State == b.State
            && a.Pid == b.Pid && a.Iteration == b.Iteration && a.ExitCode == b.ExitCode && a.LastOutputAt == b.LastOutputAt
            && a.Activity == b.Activity && a.ActivityDetail == b.ActivityDetail && a.Tokens == b.Tokens && a.CostUsd == b.CostUsd
            && a.CostEstimated == b.CostEstimated && Equals(a.Verdict, b.Verdict) && a.LastError == b.LastError);

    /// <inheritdoc/>
    public bool Equals(AgentJsonCache? other) => other is not null;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is AgentJsonCache;

    /// <inheritdoc/>
    public override int GetHashCode() => 0;
}

/// <summary>ISO 8601 UTC with milliseconds (<c>2026-12-02T08:15:20.123Z</c>), as everywhere in Zeroshot's JSON.</summary>
internal sealed class IsoTimeConverter : JsonConverter<DateTimeOffset>
{
    /// <inheritdoc/>
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TryGetDateTimeOffset(out var value) ? value : throw new JsonException("expected an ISO 8601 time");

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        Span<byte> text = stackalloc byte[TreeSampleJson.IsoLength];
        writer.WriteStringValue(TreeSampleJson.FormatIso(value, text));
    }
}

/// <summary>A <see cref="TreeSample"/> as the object of <c>zeroshot metrics --json</c> (<see cref="TreeSampleJson"/>).</summary>
internal sealed class TreeSampleConverter : JsonConverter<TreeSample>
{
    /// <inheritdoc/>
    public override TreeSample Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject) throw new JsonException("expected a metrics object");
        DateTimeOffset timestamp = default;
        int pid = 0;
        bool exists = false;
        char? state = null;
        double? cpu = null, memory = null, ioRead = null, ioWrite = null, readChars = null, writeChars = null, rx = null, tx = null;
        NetworkState? network = null;
        int? children = null, threads = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            if (reader.TokenType != JsonTokenType.PropertyName) throw new JsonException("expected a property");
            string name = reader.GetString()!;
            reader.Read();
            bool isNull = reader.TokenType == JsonTokenType.Null;
            switch (name)
            {
                case "timestamp": timestamp = isNull ? default : reader.GetDateTimeOffset(); break;
                case "pid": pid = reader.GetInt32(); break;
                case "exists": exists = reader.GetBoolean(); break;
                case "state": state = isNull ? null : reader.GetString() is { Length: > 0 } s ? s[0] : null; break;
                case "cpuPercent": cpu = Double(ref reader); break;
                case "memoryMB": memory = Double(ref reader); break;
                case "ioReadBytesPerSec": ioRead = Double(ref reader); break;
                case "ioWriteBytesPerSec": ioWrite = Double(ref reader); break;
                case "readCharsPerSec": readChars = Double(ref reader); break;
                case "writeCharsPerSec": writeChars = Double(ref reader); break;
                case "netRxBytesPerSec": rx = Double(ref reader); break;
                case "netTxBytesPerSec": tx = Double(ref reader); break;
                case "childCount": children = isNull ? null : reader.GetInt32(); break;
                case "threads": threads = isNull ? null : reader.GetInt32(); break;
                case "networkState":
                    network = isNull ? null : ReadNetwork(ref reader);
                    break;
                default: reader.Skip(); break;
            }
        }
        return new TreeSample
        {
            Timestamp = timestamp, Pid = pid, Exists = exists, State = state, CpuPercent = cpu, MemoryMB = memory,
            IoReadBytesPerSec = ioRead, IoWriteBytesPerSec = ioWrite, ReadCharsPerSec = readChars, WriteCharsPerSec = writeChars,
            NetRxBytesPerSec = rx, NetTxBytesPerSec = tx, NetworkState = network, ChildCount = children, Threads = threads,
        };
    }

    private static double? Double(ref Utf8JsonReader reader) => reader.TokenType == JsonTokenType.Null ? null : reader.GetDouble();

    private static NetworkState ReadNetwork(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject) throw new JsonException("expected a networkState object");
        int established = 0, connecting = 0;
        long send = 0, receive = 0;
        long? lastReceive = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            string name = reader.GetString()!;
            reader.Read();
            switch (name)
            {
                case "established": established = reader.GetInt32(); break;
                case "sendQueueBytes": send = reader.GetInt64(); break;
                case "recvQueueBytes": receive = reader.GetInt64(); break;
                case "connecting": connecting = reader.GetInt32(); break;
                case "lastReceiveMs": lastReceive = reader.TokenType == JsonTokenType.Null ? null : reader.GetInt64(); break;
                default: reader.Skip(); break;
            }
        }
        return new NetworkState(established, send, receive) { Connecting = connecting, LastReceiveMs = lastReceive };
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, TreeSample value, JsonSerializerOptions options) => TreeSampleJson.Write(writer, value);
}

/// <summary>An enum as its lower-case word (the names of the state database and the CLI).</summary>
/// <typeparam name="T">The enum.</typeparam>
internal abstract class WordEnumConverter<T> : JsonConverter<T>
    where T : struct, Enum
{
    // The words, encoded once (small enums: indexed by value).
    private readonly JsonEncodedText[] _encoded;

    /// <summary>Encodes every value's word once.</summary>
    protected WordEnumConverter(Func<T, string> word)
    {
        ArgumentNullException.ThrowIfNull(word);
        var values = Enum.GetValues<T>();
        _encoded = new JsonEncodedText[values.Max(v => Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture)) + 1];
        foreach (var value in values) _encoded[Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture)] = JsonEncodedText.Encode(word(value));
    }

    /// <summary>The value of <paramref name="word"/>; throws <see cref="InvalidDataException"/> for an unknown one.</summary>
    protected abstract T Parse(string word);

    /// <inheritdoc/>
    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String) throw new JsonException($"expected a {typeof(T).Name} word");
        try
        {
            return Parse(reader.GetString()!);
        }
        catch (InvalidDataException e)
        {
            throw new JsonException(e.Message, e);
        }
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(_encoded[System.Runtime.CompilerServices.Unsafe.As<T, int>(ref value)]);
    }
}

/// <summary>running, completed, failed, stopped, crashed.</summary>
internal sealed class ClusterStateConverter : WordEnumConverter<ClusterState>
{
    /// <summary>The converter.</summary>
    public ClusterStateConverter()
        : base(value => StateNames.Text(value))
    {
    }

    /// <inheritdoc/>
    protected override ClusterState Parse(string word) => StateNames.ParseClusterState(word);
}

/// <summary>waiting, running, completed, failed, stopped.</summary>
internal sealed class AgentStateConverter : WordEnumConverter<AgentState>
{
    /// <summary>The converter.</summary>
    public AgentStateConverter()
        : base(value => StateNames.Text(value))
    {
    }

    /// <inheritdoc/>
    protected override AgentState Parse(string word) => StateNames.ParseAgentState(word);
}

/// <summary>cluster, task.</summary>
internal sealed class ClusterKindConverter : WordEnumConverter<ClusterKind>
{
    /// <summary>The converter.</summary>
    public ClusterKindConverter()
        : base(value => StateNames.Text(value))
    {
    }

    /// <inheritdoc/>
    protected override ClusterKind Parse(string word) => StateNames.ParseKind(word);
}

/// <summary>worker, validator.</summary>
internal sealed class AgentRoleConverter : WordEnumConverter<AgentRole>
{
    /// <summary>The converter.</summary>
    public AgentRoleConverter()
        : base(value => StateNames.Text(value))
    {
    }

    /// <inheritdoc/>
    protected override AgentRole Parse(string word) => StateNames.ParseRole(word);
}

/// <summary>Health verdicts as their words (<c>waiting-on-model</c>, <c>busy-idle</c>).</summary>
internal sealed class HealthVerdictConverter : WordEnumConverter<Health.HealthVerdict>
{
    /// <summary>The converter.</summary>
    public HealthVerdictConverter()
        : base(value => Health.HealthVerdictNames.ToJsonName(value))
    {
    }

    /// <inheritdoc/>
    protected override Health.HealthVerdict Parse(string word) =>
        Health.HealthVerdictNames.Parse(word) ?? throw new InvalidDataException($"unknown health verdict '{word}'");
}

/// <summary>quiet, output, model, tool, retrying, needs-input, idle, error.</summary>
internal sealed class AgentActivityConverter : WordEnumConverter<AgentActivity>
{
    /// <summary>The converter.</summary>
    public AgentActivityConverter()
        : base(value => value.ToJsonName())
    {
    }

    /// <inheritdoc/>
    protected override AgentActivity Parse(string word) =>
        AgentActivityNames.Parse(word) ?? throw new InvalidDataException($"unknown activity '{word}'");
}

/// <summary>Serializes live messages into one reused buffer (one writer thread at a time: callers lock).</summary>
internal sealed class LiveMessageWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new(16 * 1024);
    private readonly Utf8JsonWriter _writer;

    /// <summary>A writer with an empty buffer.</summary>
    // The serializer writes well-formed JSON by construction: the writer need not check each token again.
    public LiveMessageWriter() => _writer = new Utf8JsonWriter(_buffer, new JsonWriterOptions { SkipValidation = true });

    /// <summary>The UTF-8 JSON of <paramref name="message"/>, valid until the next call.</summary>
    public ReadOnlySpan<byte> Write(LiveMessage message)
    {
        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        JsonSerializer.Serialize(_writer, message, LiveJson.Default.LiveMessage);
        _writer.Flush();
        return _buffer.WrittenSpan;
    }

    /// <summary>The UTF-8 JSON of <paramref name="snapshot"/>, valid until the next call.</summary>
    public ReadOnlySpan<byte> Write(ClusterSnapshot snapshot)
    {
        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        JsonSerializer.Serialize(_writer, snapshot, LiveJson.Default.ClusterSnapshot);
        _writer.Flush();
        return _buffer.WrittenSpan;
    }
}
