using System.Diagnostics.Metrics;

namespace Zeroshot.Export;

/// <summary>
/// The <c>zeroshot.agent</c> meter: observable instruments after the OpenTelemetry semantic conventions for process
/// metrics (<c>process.cpu.time</c>, <c>process.memory.usage</c>, <c>process.disk.io</c>, <c>process.network.io</c>) and
/// GenAI usage (<c>gen_ai.client.token.usage</c>'s <c>type</c>), per agent, with the attributes <c>cluster</c>,
/// <c>agent</c>, <c>role</c>, <c>provider</c>, <c>model</c>. The names and units are chosen so that the Prometheus exporter's
/// default translation (unit suffix, <c>_total</c> on counters) renders exactly <c>zeroshot_agent_cpu_time_seconds_total</c>,
/// <c>zeroshot_agent_memory_usage_bytes</c>, <c>zeroshot_agent_disk_io_bytes_total</c>,
/// <c>zeroshot_agent_network_io_bytes_total</c>, <c>zeroshot_agent_tokens_total</c>, <c>zeroshot_agent_cost_usd_total</c>,
/// <c>zeroshot_agent_state</c> and <c>zeroshot_agent_health</c>. The callbacks only read <see cref="ClusterMetricsStore"/>.
/// </summary>
internal sealed class AgentInstruments : IDisposable
{
    /// <summary>The meter's name (and the prefix of every instrument's).</summary>
    public const string MeterName = "zeroshot.agent";

    private readonly ClusterMetricsStore _store;
    private readonly Meter _meter;

    /// <summary>Creates the meter and its instruments over <paramref name="store"/>.</summary>
    public AgentInstruments(ClusterMetricsStore store)
    {
        _store = store;
        _meter = new Meter(MeterName, typeof(AgentInstruments).Assembly.GetName().Version?.ToString());
        _meter.CreateObservableCounter("zeroshot.agent.cpu.time", CpuTime, "s", "CPU time of the agent's process trees over its whole life, user and system.");
        _meter.CreateObservableUpDownCounter("zeroshot.agent.memory.usage", Memory, "By", "Resident memory of the agent's process tree now.");
        _meter.CreateObservableCounter("zeroshot.agent.disk.io", DiskIo, "By", "Bytes the agent's process trees read from and wrote to storage over its whole life.");
        _meter.CreateObservableCounter("zeroshot.agent.network.io", NetworkIo, "By", "TCP payload bytes the agent's process trees received and sent over its whole life.");
        _meter.CreateObservableCounter("zeroshot.agent.tokens", Tokens, "{token}", "Tokens the agent's model used over its whole life, by type.");
        _meter.CreateObservableCounter("zeroshot.agent.cost", Cost, "usd", "Cost of the agent's model use over its whole life, in US dollars.");
        _meter.CreateObservableGauge("zeroshot.agent.state", State, null, "1 for the agent's current state, 0 for the others.");
        _meter.CreateObservableGauge("zeroshot.agent.health", Health, null, "1 for the agent's current health verdict, 0 for the others (all 0 without one).");
    }

    /// <summary>The labels every series of an agent carries.</summary>
    private static KeyValuePair<string, object?>[] Labels(AgentReading r, string? extraKey = null, string? extraValue = null)
    {
        var tags = new KeyValuePair<string, object?>[extraKey is null ? 5 : 6];
        tags[0] = new("cluster", r.Cluster);
        tags[1] = new("agent", r.Agent);
        tags[2] = new("role", r.Role);
        tags[3] = new("provider", r.Provider);
        tags[4] = new("model", r.Model);
        if (extraKey is not null) tags[5] = new(extraKey, extraValue);
        return tags;
    }

    private IEnumerable<Measurement<double>> CpuTime()
    {
        foreach (var r in _store.Readings()) yield return new(r.Counters.CpuSeconds, Labels(r));
    }

    private IEnumerable<Measurement<double>> Memory()
    {
        foreach (var r in _store.Readings())
        {
            // An agent with no process now holds no memory: 0, so its series does not keep the last run's figure.
            yield return new(r.MemoryBytes ?? 0, Labels(r));
        }
    }

    private IEnumerable<Measurement<double>> DiskIo()
    {
        foreach (var r in _store.Readings())
        {
            yield return new(r.Counters.DiskReadBytes, Labels(r, "direction", "read"));
            yield return new(r.Counters.DiskWriteBytes, Labels(r, "direction", "write"));
        }
    }

    private IEnumerable<Measurement<double>> NetworkIo()
    {
        foreach (var r in _store.Readings())
        {
            yield return new(r.Counters.NetRxBytes, Labels(r, "direction", "receive"));
            yield return new(r.Counters.NetTxBytes, Labels(r, "direction", "transmit"));
        }
    }

    private IEnumerable<Measurement<long>> Tokens()
    {
        foreach (var r in _store.Readings())
        {
            yield return new(r.Counters.InputTokens, Labels(r, "type", "input"));
            yield return new(r.Counters.OutputTokens, Labels(r, "type", "output"));
            yield return new(r.Counters.CacheReadTokens, Labels(r, "type", "cache_read"));
            yield return new(r.Counters.CacheCreationTokens, Labels(r, "type", "cache_creation"));
        }
    }

    private IEnumerable<Measurement<double>> Cost()
    {
        foreach (var r in _store.Readings()) yield return new(r.Counters.CostUsd, Labels(r));
    }

    private IEnumerable<Measurement<int>> State()
    {
        foreach (var r in _store.Readings())
            foreach (var word in AgentReading.StateWords)
                yield return new(word == r.State ? 1 : 0, Labels(r, "state", word));
    }

    private IEnumerable<Measurement<int>> Health()
    {
        foreach (var r in _store.Readings())
            foreach (var word in AgentReading.HealthWords)
                yield return new(word == r.Health ? 1 : 0, Labels(r, "verdict", word));
    }

    /// <summary>Removes the instruments from every listener.</summary>
    public void Dispose() => _meter.Dispose();
}
