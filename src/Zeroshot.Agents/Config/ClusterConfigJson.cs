using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Zeroshot.Agents.Config;

/// <summary>
/// Writes a <see cref="ClusterConfig"/> back to cluster-file JSON (the <c>config_json</c> column of the state
/// store). The output is a valid cluster file: <see cref="ClusterConfigLoader.LoadFromJson"/> reads it back.
/// Utf8JsonWriter rather than reflection serialisation keeps Native AOT clean.
/// </summary>
internal static class ClusterConfigJson
{
    public static string Serialize(ClusterConfig config, bool indented = false)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented }))
        {
            writer.WriteStartObject();
            writer.WriteString("name", config.Name);
            if (config.Prompt is not null)
                writer.WriteString("prompt", config.Prompt);
            writer.WriteNumber("maxIterations", config.MaxIterations);
            if (config.ValidatorRetries != 0)
                writer.WriteNumber("validatorRetries", config.ValidatorRetries);
            if (config.Kind == ClusterKind.Task)
                writer.WriteString("kind", "task");
            if (config.OnEvent is not null)
                WriteStrings(writer, "onEvent", config.OnEvent);
            if (config.Health is not null)
                WriteHealth(writer, config.Health);
            WriteBudget(writer, config.Budget);
            if (config.BudgetAction is { } action)
                writer.WriteString("budgetAction", action == Health.BudgetActionKind.Warn ? "warn" : "stop");
            writer.WriteStartArray("agents");
            foreach (var agent in config.Agents)
                WriteAgent(writer, agent);
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The agent's sim options as one compact JSON object (<c>{}</c> when none).</summary>
    public static string OptionsJson(AgentConfig agent)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer))
            WriteOptions(writer, agent.Options);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static string RoleName(AgentRole role) => role == AgentRole.Worker ? "worker" : "validator";

    private static void WriteAgent(Utf8JsonWriter writer, AgentConfig agent)
    {
        writer.WriteStartObject();
        writer.WriteString("id", agent.Id);
        writer.WriteString("role", RoleName(agent.Role));
        if (agent.Provider is not null)
            writer.WriteString("provider", agent.Provider);
        if (agent.Command is not null)
            WriteStrings(writer, "command", agent.Command);
        if (agent.Model is not null)
            writer.WriteString("model", agent.Model);
        if (agent.Prompt is not null)
            writer.WriteString("prompt", agent.Prompt);
        if (agent.Cwd is not null)
            writer.WriteString("cwd", agent.Cwd);
        if (agent.Env is not null)
        {
            writer.WriteStartObject("env");
            foreach (var (key, value) in agent.Env)
                writer.WriteString(key, value);
            writer.WriteEndObject();
        }
        if (agent.After is not null)
            WriteStrings(writer, "after", agent.After);
        if (agent.Options is not null)
        {
            writer.WritePropertyName("options");
            WriteOptions(writer, agent.Options);
        }
        if (agent.Interactive)
            writer.WriteBoolean("interactive", true);
        if (agent.Args is not null)
            WriteStrings(writer, "args", agent.Args);
        if (agent.Health is not null)
            WriteHealth(writer, agent.Health);
        WriteBudget(writer, agent.Budget);
        writer.WriteEndObject();
    }

    private static void WriteHealth(Utf8JsonWriter writer, Health.HealthSettings health)
    {
        writer.WriteStartObject("health");
        if (health.StalledAfterSeconds is { } stalled) writer.WriteNumber("stalledAfterSeconds", stalled);
        if (health.StuckAfterSeconds is { } stuck) writer.WriteNumber("stuckAfterSeconds", stuck);
        if (health.BusyIdleAfterSeconds is { } busy) writer.WriteNumber("busyIdleAfterSeconds", busy);
        if (health.BusyCpuPercent is { } cpu) writer.WriteNumber("busyCpuPercent", cpu);
        if (health.Actions is { } actions)
        {
            writer.WriteStartObject("actions");
            foreach (var (verdict, action) in actions)
            {
                writer.WriteStartObject(Health.HealthVerdictNames.ToJsonName(verdict));
                writer.WriteString("action", action.Word);
                writer.WriteNumber("after", action.After);
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        }
        writer.WriteEndObject();
    }

    private static void WriteBudget(Utf8JsonWriter writer, Health.Budget? budget)
    {
        if (budget?.MaxCostUsd is { } cost) writer.WriteNumber("maxCostUsd", cost);
        if (budget?.MaxTokens is { } tokens) writer.WriteNumber("maxTokens", tokens);
    }

    private static void WriteOptions(Utf8JsonWriter writer, IReadOnlyDictionary<string, JsonElement>? options)
    {
        writer.WriteStartObject();
        if (options is not null)
            foreach (var (key, value) in options)
            {
                writer.WritePropertyName(key);
                value.WriteTo(writer);
            }
        writer.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter writer, string name, IReadOnlyList<string> values)
    {
        writer.WriteStartArray(name);
        foreach (var value in values)
            writer.WriteStringValue(value);
        writer.WriteEndArray();
    }
}
