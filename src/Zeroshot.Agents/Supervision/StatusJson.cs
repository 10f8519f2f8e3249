using System.Globalization;
using System.Text.Json;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;
using Zeroshot.Metrics;

namespace Zeroshot.Agents.Supervision;

/// <summary>
/// The JSON documents of <c>status --json</c> and <c>list --json</c>. The supervisor answers the
/// control socket's <c>status</c> request with the same document, so a live cluster and one read
/// from the state database look alike (a live one carries metrics).
/// </summary>
internal static class StatusJson
{
    /// <summary>A snapshot of a cluster from its database record alone (no live metrics).</summary>
    public static ClusterSnapshot FromRecord(ClusterRecord record) =>
        new(record.Id, record.Kind, record.Name, record.State, record.Iteration, record.MaxIterations, record.StartedAt,
            record.Agents.Select(a => new AgentSnapshot(a.AgentId, a.Role, a.Provider, a.SeenModel ?? a.Model, a.State, a.Pid, a.Iteration,
                a.ExitCode, a.LastOutputAt, null, [], a.Usage, Verdict: a.Verdict?.Verdict, VerdictIteration: a.Verdict?.Iteration ?? 0,
                LastError: a.LastError)).ToList());

    /// <summary>
    /// <c>{id, kind, name, state, iteration, maxIterations, startedAt, agents: [{id, role, provider, model,
    /// state, pid, iteration, exitCode, lastOutputAt, metrics}]}</c>; <c>metrics</c> has the fields of
    /// <c>zeroshot metrics --json</c>, or is null when the agent is not running.
    /// </summary>
    public static void WriteStatus(Utf8JsonWriter w, ClusterSnapshot cluster, bool includeHistory = false)
    {
        w.WriteStartObject();
        w.WriteString("id", cluster.Id);
        w.WriteString("kind", StateNames.Text(cluster.Kind));
        w.WriteString("name", cluster.Name);
        w.WriteString("state", StateNames.Text(cluster.State));
        w.WriteNumber("iteration", cluster.Iteration);
        w.WriteNumber("maxIterations", cluster.MaxIterations);
        w.WriteString("startedAt", Iso(cluster.StartedAt));
        WriteUsage(w, cluster.Usage);
        w.WriteStartArray("agents");
        foreach (var a in cluster.Agents)
        {
            w.WriteStartObject();
            w.WriteString("id", a.Id);
            w.WriteString("role", StateNames.Text(a.Role));
            w.WriteString("provider", a.Provider);
            if (a.Model is null) w.WriteNull("model");
            else w.WriteString("model", a.Model);
            w.WriteString("state", StateNames.Text(a.State));
            WriteNumberOrNull(w, "pid", a.State == AgentState.Running ? a.Pid : null);
            w.WriteNumber("iteration", a.Iteration);
            WriteNumberOrNull(w, "exitCode", a.ExitCode);
            if (a.LastOutputAt is { } last) w.WriteString("lastOutputAt", Iso(last));
            else w.WriteNull("lastOutputAt");
            if (a.Activity is { } activity) w.WriteString("activity", activity.ToJsonName());
            else w.WriteNull("activity");
            if (a.ActivityDetail is { } detail) w.WriteString("activityDetail", detail);
            else w.WriteNull("activityDetail");
            WriteUsage(w, a.Usage);
            if (a.Verdict is { } verdict)
            {
                w.WritePropertyName("verdict");
                VerdictJson.Write(w, verdict, a.VerdictIteration);
            }
            else
            {
                w.WriteNull("verdict");
            }
            if (a.LastError is { } error) w.WriteString("lastError", error);
            else w.WriteNull("lastError");
            if (a.State == AgentState.Running && a.Metrics is { } m)
            {
                w.WritePropertyName("metrics");
                TreeSampleJson.Write(w, m);
            }
            else
            {
                w.WriteNull("metrics");
            }
            if (includeHistory)
            {
                w.WriteStartArray("history");
                foreach (var sample in a.History) TreeSampleJson.Write(w, sample);
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>One entry of <c>list --json</c>: <c>{id, kind, name, state, agents: [{id, role, state}], startedAt}</c>.</summary>
    public static void WriteListEntry(Utf8JsonWriter w, ClusterRecord record)
    {
        w.WriteStartObject();
        w.WriteString("id", record.Id);
        w.WriteString("kind", StateNames.Text(record.Kind));
        w.WriteString("name", record.Name);
        w.WriteString("state", StateNames.Text(record.State));
        w.WriteStartArray("agents");
        foreach (var a in record.Agents)
        {
            w.WriteStartObject();
            w.WriteString("id", a.AgentId);
            w.WriteString("role", StateNames.Text(a.Role));
            w.WriteString("state", StateNames.Text(a.State));
            if (a.Verdict is { } verdict)
            {
                w.WritePropertyName("verdict");
                VerdictJson.Write(w, verdict.Verdict, verdict.Iteration);
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteString("startedAt", Iso(record.StartedAt));
        var usage = UsageTotals.Sum(record.Agents.Select(a => a.Usage));
        w.WriteStartObject("tokens");
        w.WriteNumber("total", usage.Tokens.Total);
        w.WriteEndObject();
        w.WriteNumber("costUsd", usage.CostUsd);
        w.WriteBoolean("costEstimated", usage.CostEstimated);
        w.WriteEndObject();
    }

    /// <summary><c>tokens: {input, output, cacheRead, cacheCreation, total}, costUsd, costEstimated</c>.</summary>
    private static void WriteUsage(Utf8JsonWriter w, UsageTotals usage)
    {
        w.WriteStartObject("tokens");
        w.WriteNumber("input", usage.Tokens.Input);
        w.WriteNumber("output", usage.Tokens.Output);
        w.WriteNumber("cacheRead", usage.Tokens.CacheRead);
        w.WriteNumber("cacheCreation", usage.Tokens.CacheCreation);
        w.WriteNumber("total", usage.Tokens.Total);
        w.WriteEndObject();
        w.WriteNumber("costUsd", usage.CostUsd);
        w.WriteBoolean("costEstimated", usage.CostEstimated);
    }

    /// <summary>The <c>status --json</c> document of <paramref name="cluster"/>, for readers that render it.</summary>
    public static JsonDocument ToDocument(ClusterSnapshot cluster)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(2048);
        using (var w = new Utf8JsonWriter(buffer))
            WriteStatus(w, cluster);
        return JsonDocument.Parse(buffer.WrittenMemory);
    }

    /// <summary>ISO 8601 UTC with milliseconds, as everywhere in Zeroshot's JSON.</summary>
    public static string Iso(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static void WriteNumberOrNull(Utf8JsonWriter w, string name, int? value)
    {
        if (value is { } v) w.WriteNumber(name, v);
        else w.WriteNull(name);
    }
}
