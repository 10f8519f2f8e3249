using System.Net;
using System.Net.Sockets;
using Zeroshot.Agents.Config;
using Zeroshot.Agents.Health;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;
using Zeroshot.Export;
using Zeroshot.Metrics;

namespace Zeroshot.Cli.Tests.Export;

/// <summary>The pure mapping from snapshots to the exporter's readings, the store's rules, and the names the Prometheus exporter renders.</summary>
public sealed class ExportMappingTests
{
    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;

        public override long GetTimestamp() => Now.UtcTicks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    }

    private static readonly DateTimeOffset T0 = new(2026, 12, 3, 10, 0, 0, TimeSpan.Zero);

    private static AgentSnapshot Agent(string id, AgentState state = AgentState.Running, TokenCounts tokens = default, decimal cost = 0,
        AgentTotals? totals = null, double? memoryMB = null, HealthVerdict? health = null, string? model = "claude-sonnet-4-5", AgentRole role = AgentRole.Worker) =>
        new(id, role, "sim", model, state, state == AgentState.Running ? 4242 : null, 1, null, null, null, null, tokens, cost, false, null, null,
            memoryMB is null ? null : new TreeSample { Timestamp = T0, Pid = 4242, Exists = true, MemoryMB = memoryMB })
        {
            Totals = totals,
            Health = health is { } h ? new HealthSnapshot(h, T0, []) : null,
        };

    private static ClusterSnapshot Cluster(string id, ClusterState state, params AgentSnapshot[] agents) =>
        ClusterSnapshot.Create(id, ClusterKind.Cluster, "c", state, 1, 3, T0, agents);

    [Fact]
    public void A_reading_carries_the_labels_the_counters_memory_in_bytes_state_and_health()
    {
        var agent = Agent("worker", tokens: new TokenCounts(10, 20, 30, 40), cost: 1.25m, totals: new AgentTotals(3.5, 100, 200, 300, 400),
            memoryMB: 2.5, health: HealthVerdict.WaitingOnModel);
        var reading = AgentReading.From(Cluster("c1", ClusterState.Running, agent), agent);

        Assert.Equal(("c1", "worker", "worker", "sim", "claude-sonnet-4-5"), (reading.Cluster, reading.Agent, reading.Role, reading.Provider, reading.Model));
        Assert.Equal(new AgentCounters(3.5, 100, 200, 300, 400, 10, 20, 30, 40, 1.25), reading.Counters);
        Assert.Equal(2.5 * 1024 * 1024, reading.MemoryBytes);
        Assert.Equal("running", reading.State);
        Assert.Equal("waiting-on-model", reading.Health);
    }

    [Fact]
    public void An_agent_without_totals_sample_model_or_health_reads_zero_counters_no_memory_an_empty_model_and_no_verdict()
    {
        var agent = Agent("checker", AgentState.Waiting, model: null, role: AgentRole.Validator);
        var reading = AgentReading.From(Cluster("c1", ClusterState.Running, agent), agent);

        Assert.Equal(default, reading.Counters);
        Assert.Null(reading.MemoryBytes);
        Assert.Equal("", reading.Model);
        Assert.Equal("validator", reading.Role);
        Assert.Equal("waiting", reading.State);
        Assert.Null(reading.Health);
    }

    [Fact]
    public void The_state_and_verdict_words_are_the_json_ones()
    {
        Assert.Equal(["waiting", "running", "completed", "failed", "stopped"], AgentReading.StateWords);
        Assert.Equal(HealthVerdictNames.All.Select(v => v.ToJsonName()), AgentReading.HealthWords);
        Assert.Contains("busy-idle", AgentReading.HealthWords);
    }

    [Fact]
    public void Counters_never_go_down_when_a_later_snapshot_has_less_or_no_totals()
    {
        var clock = new ManualClock(T0);
        var store = new ClusterMetricsStore(clock);
        store.Update(Cluster("c1", ClusterState.Running, Agent("w", tokens: new TokenCounts(5, 5, 5, 5), cost: 2m, totals: new AgentTotals(10, 1, 2, 3, 4))));
        Assert.Equal(10, Assert.Single(store.Readings()).Counters.CpuSeconds);

        // Between runs the agent has no totals and (as read from a database) smaller figures: the published ones stay.
        store.Update(Cluster("c1", ClusterState.Running, Agent("w", AgentState.Waiting, tokens: new TokenCounts(1, 1, 1, 1), cost: 1m)));
        var reading = Assert.Single(store.Readings());
        Assert.Equal(new AgentCounters(10, 1, 2, 3, 4, 5, 5, 5, 5, 2), reading.Counters);
        Assert.Equal("waiting", reading.State);

        store.Update(Cluster("c1", ClusterState.Running, Agent("w", tokens: new TokenCounts(6, 5, 5, 5), cost: 2m, totals: new AgentTotals(11, 1, 2, 3, 4))));
        Assert.Equal(new AgentCounters(11, 1, 2, 3, 4, 6, 5, 5, 5, 2), Assert.Single(store.Readings()).Counters);
    }

    private static byte[] Wire(ClusterSnapshot snapshot) => new LiveMessageWriter().Write(new LiveMessage(snapshot, null)).ToArray();

    [Fact]
    public void A_snapshot_from_the_wire_is_parsed_when_read_the_latest_wins_and_a_malformed_one_keeps_the_one_before()
    {
        var clock = new ManualClock(T0);
        var store = new ClusterMetricsStore(clock, TimeSpan.FromMinutes(5));
        store.Update("c1", Wire(Cluster("c1", ClusterState.Running, Agent("w", totals: new AgentTotals(1, 0, 0, 0, 0)))));
        store.Update("c1", Wire(Cluster("c1", ClusterState.Running, Agent("w", totals: new AgentTotals(2, 0, 0, 0, 0)))));
        Assert.Equal(2, Assert.Single(store.Readings()).Counters.CpuSeconds);

        store.Update("c1", "{\"snapshot\":{\"id\":"u8.ToArray());
        clock.Now += TimeSpan.FromSeconds(1);
        Assert.Equal(2, Assert.Single(store.Readings()).Counters.CpuSeconds);

        // Its last snapshot says it ended: kept for the retention from then, as one handed over in process is.
        store.Update("c1", Wire(Cluster("c1", ClusterState.Completed, Agent("w", AgentState.Completed, totals: new AgentTotals(3, 0, 0, 0, 0)))));
        Assert.Equal(3, Assert.Single(store.Readings()).Counters.CpuSeconds);
        clock.Now += TimeSpan.FromMinutes(6);
        Assert.Empty(store.Readings());

        // A cluster whose messages never parsed is not published at all.
        store.Update("c2", "not json"u8.ToArray());
        clock.Now += TimeSpan.FromSeconds(1);
        Assert.Empty(store.Readings());
        Assert.Equal(1, store.Count);
    }

    [Fact]
    public void A_stream_message_is_told_a_snapshot_or_an_event_by_its_first_member()
    {
        var writer = new LiveMessageWriter();
        Assert.True(LiveJson.IsSnapshotMessage(writer.Write(new LiveMessage(Cluster("c1", ClusterState.Running), null))));
        Assert.False(LiveJson.IsSnapshotMessage(writer.Write(new LiveMessage(null, new ClusterEndedEvent(T0, ClusterState.Completed)))));
        Assert.True(LiveJson.IsSnapshotMessage("{\"later\":[1,{\"a\":2}],\"snapshot\":{}}"u8));
        Assert.False(LiveJson.IsSnapshotMessage("{}"u8));
        Assert.ThrowsAny<System.Text.Json.JsonException>(() => LiveJson.IsSnapshotMessage("[1]"u8));
        Assert.ThrowsAny<System.Text.Json.JsonException>(() => LiveJson.IsSnapshotMessage("{\"later\":"u8));
    }

    [Fact]
    public void An_ended_cluster_keeps_its_last_values_for_the_retention_then_is_dropped()
    {
        var clock = new ManualClock(T0);
        var store = new ClusterMetricsStore(clock, TimeSpan.FromMinutes(5));
        store.Update(Cluster("c1", ClusterState.Running, Agent("w", totals: new AgentTotals(10, 0, 0, 0, 0))));
        store.Update(Cluster("c2", ClusterState.Running, Agent("v")));
        store.Update(Cluster("c1", ClusterState.Completed, Agent("w", AgentState.Completed, totals: new AgentTotals(12, 0, 0, 0, 0))));
        store.Ended("c2"); // its supervisor is gone without a last snapshot

        clock.Now = T0 + TimeSpan.FromMinutes(4);
        Assert.Equal(2, store.Readings().Count);
        Assert.Equal(12, store.Readings().Single(r => r.Cluster == "c1").Counters.CpuSeconds);

        clock.Now = T0 + TimeSpan.FromMinutes(6);
        Assert.Empty(store.Readings());
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public void Listen_addresses_parse_host_and_port_and_anything_else_is_a_usage_error()
    {
        Assert.Equal(new ListenAddress("127.0.0.1", 9464), ListenAddress.Parse("127.0.0.1:9464", "--listen"));
        Assert.Equal(new ListenAddress("localhost", 1), ListenAddress.Parse("localhost:1", "--listen"));
        Assert.Equal(new ListenAddress("::1", 9464), ListenAddress.Parse("[::1]:9464", "--listen"));
        Assert.Equal("http://[::1]:9464/metrics", ListenAddress.Parse("[::1]:9464", "--listen").Url);
        foreach (var bad in new[] { "9464", ":9464", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:-1", "a b:80", "::1:80", "host:80x" })
        {
            var e = Assert.Throws<Agents.UserErrorException>(() => ListenAddress.Parse(bad, "--listen"));
            Assert.Equal(Agents.ExitCodes.Usage, e.ExitCode);
            Assert.Contains("--listen", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_port_in_use_is_a_one_line_user_error()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var e = Assert.Throws<Agents.UserErrorException>(() => MetricsExporter.Start(new ClusterMetricsStore(), new ListenAddress("127.0.0.1", port), null));
        Assert.Equal(Agents.ExitCodes.Failure, e.ExitCode);
        Assert.Contains("in use", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_endpoint_renders_exactly_the_required_names_and_labels()
    {
        var store = new ClusterMetricsStore();
        store.Update(Cluster("c1", ClusterState.Running,
            Agent("w", tokens: new TokenCounts(1, 2, 3, 4), cost: 0.5m, totals: new AgentTotals(1.5, 10, 20, 30, 40), memoryMB: 1, health: HealthVerdict.Stuck),
            Agent("v", AgentState.Waiting, role: AgentRole.Validator, model: null)));
        int port = FreePort();
        using var exporter = MetricsExporter.Start(store, new ListenAddress("127.0.0.1", port), null);
        using var http = new HttpClient();
        var samples = PrometheusText.Parse(await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics")));

        double Value(string name, string agent, string? key = null, string? value = null) => samples.Single(s =>
            s.Name == name && s.Label("agent") == agent && (key is null || s.Label(key) == value)).Value;

        Assert.Equal(1.5, Value("zeroshot_agent_cpu_time_seconds_total", "w"));
        Assert.Equal(1024 * 1024, Value("zeroshot_agent_memory_usage_bytes", "w"));
        Assert.Equal(0, Value("zeroshot_agent_memory_usage_bytes", "v"));
        Assert.Equal(10, Value("zeroshot_agent_disk_io_bytes_total", "w", "direction", "read"));
        Assert.Equal(20, Value("zeroshot_agent_disk_io_bytes_total", "w", "direction", "write"));
        Assert.Equal(30, Value("zeroshot_agent_network_io_bytes_total", "w", "direction", "receive"));
        Assert.Equal(40, Value("zeroshot_agent_network_io_bytes_total", "w", "direction", "transmit"));
        Assert.Equal(1, Value("zeroshot_agent_tokens_total", "w", "type", "input"));
        Assert.Equal(2, Value("zeroshot_agent_tokens_total", "w", "type", "output"));
        Assert.Equal(3, Value("zeroshot_agent_tokens_total", "w", "type", "cache_read"));
        Assert.Equal(4, Value("zeroshot_agent_tokens_total", "w", "type", "cache_creation"));
        Assert.Equal(0.5, Value("zeroshot_agent_cost_usd_total", "w"));
        Assert.Equal(1, Value("zeroshot_agent_state", "w", "state", "running"));
        Assert.Equal(0, Value("zeroshot_agent_state", "w", "state", "waiting"));
        Assert.Equal(1, Value("zeroshot_agent_state", "v", "state", "waiting"));
        Assert.Equal(1, Value("zeroshot_agent_health", "w", "verdict", "stuck"));
        Assert.Equal(8, samples.Count(s => s.Name == "zeroshot_agent_health" && s.Label("agent") == "w" && s.Value == 0));
        Assert.All(samples.Where(s => s.Name == "zeroshot_agent_health" && s.Label("agent") == "v"), s => Assert.Equal(0, s.Value));
        Assert.Equal(AgentReading.HealthWords.Length, samples.Count(s => s.Name == "zeroshot_agent_health" && s.Label("agent") == "v"));
        foreach (var s in samples.Where(s => s.Name.StartsWith("zeroshot_agent_", StringComparison.Ordinal)))
        {
            Assert.Equal("c1", s.Label("cluster"));
            Assert.Equal(s.Label("agent") == "w" ? "worker" : "validator", s.Label("role"));
            Assert.Equal("sim", s.Label("provider"));
            Assert.Equal(s.Label("agent") == "w" ? "claude-sonnet-4-5" : "", s.Label("model"));
        }
        Assert.Equal(ExportNames.Required.Order(StringComparer.Ordinal),
            samples.Select(s => s.Name).Where(n => n.StartsWith("zeroshot_", StringComparison.Ordinal)).Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_dropped_cluster_and_an_agents_old_model_label_leave_the_endpoint()
    {
        var clock = new ManualClock(T0);
        var store = new ClusterMetricsStore(clock, TimeSpan.FromMinutes(5));
        store.Update(Cluster("gone", ClusterState.Running, Agent("w", totals: new AgentTotals(1, 0, 0, 0, 0))));
        store.Update(Cluster("stays", ClusterState.Running, Agent("v", AgentState.Waiting, model: null, role: AgentRole.Validator)));
        int port = FreePort();
        using var exporter = MetricsExporter.Start(store, new ListenAddress("127.0.0.1", port), null);
        using var http = new HttpClient();
        var url = new Uri($"http://127.0.0.1:{port}/metrics");
        var before = PrometheusText.Parse(await http.GetStringAsync(url));
        Assert.Contains(before, s => s.Labels.GetValueOrDefault("cluster") == "gone");

        // The validator runs and its model becomes known; the other cluster ended long enough ago.
        store.Update(Cluster("stays", ClusterState.Running, Agent("v", model: "claude-haiku-4-5", role: AgentRole.Validator)));
        store.Ended("gone");
        clock.Now = T0 + TimeSpan.FromMinutes(6);
        await Task.Delay(400); // past the exporter's response cache
        var after = PrometheusText.Parse(await http.GetStringAsync(url));

        Assert.DoesNotContain(after, s => s.Labels.GetValueOrDefault("cluster") == "gone");
        var cpu = Assert.Single(after, s => s.Name == "zeroshot_agent_cpu_time_seconds_total");
        Assert.Equal("claude-haiku-4-5", cpu.Label("model"));
        Assert.Equal(4, after.Count(s => s.Name == "zeroshot_agent_tokens_total"));
    }

    internal static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}

/// <summary>The metric names the issue asks for, in Prometheus form.</summary>
internal static class ExportNames
{
    public static readonly string[] Required =
    [
        "zeroshot_agent_cpu_time_seconds_total",
        "zeroshot_agent_memory_usage_bytes",
        "zeroshot_agent_disk_io_bytes_total",
        "zeroshot_agent_network_io_bytes_total",
        "zeroshot_agent_tokens_total",
        "zeroshot_agent_cost_usd_total",
        "zeroshot_agent_state",
        "zeroshot_agent_health",
    ];

    /// <summary>The counters: cumulative, never lower in a later scrape.</summary>
    public static readonly string[] Counters = [.. Required.Where(n => n.EndsWith("_total", StringComparison.Ordinal))];
}
