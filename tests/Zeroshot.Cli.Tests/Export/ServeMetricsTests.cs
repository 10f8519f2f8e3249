using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Zeroshot.Cli.Tests.Export;

/// <summary>
/// The real CLI: <c>serve-metrics</c> over a detached cluster of sim agents (scraped twice and against <c>status
/// --json</c>), <c>run --metrics-listen</c> in the foreground, <c>run --otlp-endpoint</c> against a loopback collector, and
/// the user errors.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ServeMetricsTests : IDisposable
{
    private readonly DetachedClusters _clusters = new("zsx");
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    public void Dispose()
    {
        _http.Dispose();
        _clusters.Dispose();
    }

    private List<PromSample> Scrape(int port) =>
        PrometheusText.Parse(_http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics")).GetAwaiter().GetResult());

    private List<PromSample>? TryScrape(int port)
    {
        try
        {
            return Scrape(port);
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    private JsonElement Status(string id)
    {
        var status = _clusters.Z("status", "--json", id);
        Assert.True(status.ExitCode == 0, status.Error);
        return JsonDocument.Parse(status.Out).RootElement.Clone();
    }

    /// <summary>The value of an agent's series of <paramref name="name"/> (with <paramref name="key"/>=<paramref name="value"/>): the highest if its
    /// model label changed (the model becomes known when the agent runs).</summary>
    private static double Value(List<PromSample> samples, string cluster, string name, string agent, string? key = null, string? value = null)
    {
        var matching = samples.Where(s => s.Name == name && s.Labels.GetValueOrDefault("cluster") == cluster && s.Label("agent") == agent
            && (key is null || s.Label(key) == value)).ToList();
        Assert.True(matching.Count > 0, $"no {name} of {agent} {key}={value}");
        return matching.Max(s => s.Value);
    }

    private static readonly (string Name, string? Key, string? Value)[] TokenSeries =
    [
        ("zeroshot_agent_tokens_total", "type", "input"),
        ("zeroshot_agent_tokens_total", "type", "output"),
        ("zeroshot_agent_tokens_total", "type", "cache_read"),
        ("zeroshot_agent_tokens_total", "type", "cache_creation"),
    ];

    private static long Tokens(JsonElement agent, string type) => agent.GetProperty("tokens").GetProperty(type switch
    {
        "input" => "input",
        "output" => "output",
        "cache_read" => "cacheRead",
        _ => "cacheCreation",
    }).GetInt64();

    [Fact]
    public void Serve_metrics_publishes_every_agent_of_a_detached_cluster_as_status_json_has_it_and_counters_only_grow()
    {
        var started = DateTime.UtcNow;
        var id = _clusters.Start("exported",
            new { id = "worker", role = "worker", provider = "sim", options = new { durationSeconds = 20, cpu = 0.3, networkKBps = 50, seed = 7 } },
            new { id = "checker", role = "validator", provider = "sim", options = new { durationSeconds = 2, cpu = 0.1, seed = 8 } });
        int port = ExportMappingTests.FreePort();
        // A snapshot a second (the default is one every 5 s): status --json, read between two scrapes, then lies between them.
        using var serve = ZeroshotProcess.Start(_clusters.Home, _clusters.Env, "serve-metrics", "--listen", $"127.0.0.1:{port}", "--refresh-interval", "1");
        Wait.Until(() => serve.ErrorSoFar.Contains($"http://127.0.0.1:{port}/metrics", StringComparison.Ordinal) || serve.Process.HasExited, "the URL on stderr");
        Assert.False(serve.Process.HasExited, serve.ErrorSoFar);

        // The worker has run long enough to have used CPU, memory and tokens.
        Wait.Until(() => TryScrape(port) is { } s && s.Any(x => x.Name == "zeroshot_agent_cpu_time_seconds_total" && x.Labels.GetValueOrDefault("cluster") == id
            && x.Label("agent") == "worker" && x.Value > 0) && s.Any(x => x.Name == "zeroshot_agent_tokens_total" && x.Labels.GetValueOrDefault("cluster") == id
            && x.Label("agent") == "worker" && x.Value > 0), "the worker's CPU and tokens in a scrape");

        var first = Scrape(port);
        var status = Status(id);
        Thread.Sleep(1500); // past the exporter's 300 ms response cache and a supervisor tick
        // The next scrape in which the running worker's counters moved: under load a supervisor's tick can come late, and
        // the sim worker sits idle between its bursts, so one fixed pause is not enough (CI saw 1.5 s with no change).
        var second = Scrape(port);
        Wait.Until(() => Grew(second = Scrape(port)), "a running worker's counters grow", 20_000);

        bool Grew(List<PromSample> later) =>
            Value(later, id, "zeroshot_agent_cpu_time_seconds_total", "worker") > Value(first, id, "zeroshot_agent_cpu_time_seconds_total", "worker")
            || Value(later, id, "zeroshot_agent_network_io_bytes_total", "worker", "direction", "receive") > Value(first, id, "zeroshot_agent_network_io_bytes_total", "worker", "direction", "receive");

        // Every name, for every agent, with the five labels.
        foreach (var agent in new[] { "worker", "checker" })
        {
            foreach (var name in ExportNames.Required)
            {
                var series = second.Where(s => s.Name == name && s.Labels.GetValueOrDefault("cluster") == id && s.Labels.GetValueOrDefault("agent") == agent).ToList();
                Assert.True(series.Count > 0, $"no {name} of {agent}");
                foreach (var s in series)
                {
                    Assert.Equal(agent == "worker" ? "worker" : "validator", s.Label("role"));
                    Assert.Equal("sim", s.Label("provider"));
                    Assert.True(s.Labels.ContainsKey("model"), $"{name} has no model label");
                }
            }
        }
        Assert.Equal(["cache_creation", "cache_read", "input", "output"],
            second.Where(s => s.Name == "zeroshot_agent_tokens_total" && s.Label("agent") == "worker").Select(s => s.Label("type")).Distinct().Order());
        Assert.Equal(["read", "write"], second.Where(s => s.Name == "zeroshot_agent_disk_io_bytes_total" && s.Label("agent") == "worker").Select(s => s.Label("direction")).Distinct().Order());
        Assert.Equal(["receive", "transmit"], second.Where(s => s.Name == "zeroshot_agent_network_io_bytes_total" && s.Label("agent") == "worker").Select(s => s.Label("direction")).Distinct().Order());

        // Counters never go down between scrapes.
        var before = first.Where(s => ExportNames.Counters.Contains(s.Name)).ToDictionary(s => s.Key, s => s.Value);
        foreach (var s in second.Where(s => ExportNames.Counters.Contains(s.Name)))
            if (before.TryGetValue(s.Key, out var earlier)) Assert.True(s.Value >= earlier, $"{s.Key} went down: {earlier} -> {s.Value}");

        // status --json was read between the two scrapes: its tokens, cost and CPU lie between theirs.
        foreach (var agent in status.GetProperty("agents").EnumerateArray())
        {
            string agentId = agent.GetProperty("id").GetString()!;
            foreach (var (name, key, value) in TokenSeries)
            {
                long tokens = Tokens(agent, value!);
                Assert.InRange(tokens, Value(first, id, name, agentId, key, value), Value(second, id, name, agentId, key, value));
            }
            double cost = agent.GetProperty("costUsd").GetDouble();
            Assert.InRange(cost, Value(first, id, "zeroshot_agent_cost_usd_total", agentId) - 1e-9, Value(second, id, "zeroshot_agent_cost_usd_total", agentId) + 1e-9);
            if (agent.TryGetProperty("totals", out var totals))
                Assert.InRange(totals.GetProperty("cpuSeconds").GetDouble(), Value(first, id, "zeroshot_agent_cpu_time_seconds_total", agentId) - 0.01,
                    Value(second, id, "zeroshot_agent_cpu_time_seconds_total", agentId) + 0.01);
            string state = agent.GetProperty("state").GetString()!;
            if (Value(first, id, "zeroshot_agent_state", agentId, "state", state) == 1 || Value(second, id, "zeroshot_agent_state", agentId, "state", state) == 1)
                continue; // the state status saw, in one of the scrapes around it
            Assert.Fail($"{agentId} is {state} in status --json but not in either scrape");
        }

        // CPU and memory plausibly: some, and no more than the machine could have given since the start.
        double cpu = Value(second, id, "zeroshot_agent_cpu_time_seconds_total", "worker");
        Assert.InRange(cpu, 0.01, (DateTime.UtcNow - started).TotalSeconds * Environment.ProcessorCount);
        var running = second.Single(s => s.Name == "zeroshot_agent_state" && s.Label("agent") == "worker" && s.Label("state") == "running").Value == 1;
        if (running) Assert.InRange(Value(second, id, "zeroshot_agent_memory_usage_bytes", "worker"), 1024 * 1024, 64L * 1024 * 1024 * 1024);
        foreach (var s in second.Where(s => s.Name == "zeroshot_agent_state" && s.Label("cluster") == id).GroupBy(s => s.Label("agent") + s.Label("model")))
            Assert.True(s.Sum(x => x.Value) <= 1, "one state at a time");

        // After the end: the last values stay, and tokens and cost are exactly what the database says.
        Wait.Until(() => Status(id).GetProperty("state").GetString() != "running", "the cluster to end", 120_000);
        var final = Status(id);
        Assert.Equal("completed", final.GetProperty("state").GetString());
        List<PromSample>? last = null;
        Wait.Until(() => (last = Scrape(port)).Any(s => s.Name == "zeroshot_agent_state" && s.Label("cluster") == id && s.Label("agent") == "checker"
            && s.Label("state") == "completed" && s.Value == 1), "the final state in a scrape");
        foreach (var agent in final.GetProperty("agents").EnumerateArray())
        {
            string agentId = agent.GetProperty("id").GetString()!;
            string model = agent.GetProperty("model").GetString() ?? "";
            foreach (var (name, key, value) in TokenSeries)
            {
                var series = last!.Single(s => s.Name == name && s.Label("cluster") == id && s.Label("agent") == agentId && s.Label(key!) == value && s.Label("model") == model);
                Assert.Equal(Tokens(agent, value!), (long)series.Value);
            }
            Assert.Equal(agent.GetProperty("costUsd").GetDouble(), Value(last!, id, "zeroshot_agent_cost_usd_total", agentId), 9);
            Assert.Equal(1, Value(last!, id, "zeroshot_agent_state", agentId, "state", agent.GetProperty("state").GetString()));
        }
        var beforeEnd = second.Where(s => ExportNames.Counters.Contains(s.Name)).ToDictionary(s => s.Key, s => s.Value);
        foreach (var s in last!.Where(s => ExportNames.Counters.Contains(s.Name)))
            if (beforeEnd.TryGetValue(s.Key, out var earlier)) Assert.True(s.Value >= earlier, $"{s.Key} went down: {earlier} -> {s.Value}");
    }

    /// <summary>A command agent that burns a core for <paramref name="burnSeconds"/> (bash's clock: no forks), then sleeps.</summary>
    private string BurnCluster(string name, int sleepSeconds, int burnSeconds = 3)
    {
        var file = Path.Combine(_clusters.Root, name + ".json");
        File.WriteAllText(file, JsonSerializer.Serialize(new
        {
            name,
            agents = new object[]
            {
                new { id = "burner", role = "worker", command = new[] { "bash", "-c", $"end=$((SECONDS+{burnSeconds})); while [ $SECONDS -lt $end ]; do :; done; sleep {sleepSeconds}" } },
            },
        }));
        return file;
    }

    [Fact]
    public void Run_metrics_listen_serves_the_foreground_runs_agents_while_it_runs()
    {
        int port = ExportMappingTests.FreePort();
        using var run = ZeroshotProcess.Start(_clusters.Home, _clusters.Env, "run", "--no-metrics", "--metrics-listen", $"127.0.0.1:{port}", BurnCluster("fg", 4, burnSeconds: 5));
        Wait.Until(() => run.ErrorSoFar.Contains($"serving this run's metrics at http://127.0.0.1:{port}/metrics", StringComparison.Ordinal) || run.Process.HasExited, "the URL on stderr");
        Assert.False(run.Process.HasExited, run.ErrorSoFar);

        List<PromSample>? samples = null;
        Wait.Until(() => (samples = TryScrape(port)) is { } s && s.Any(x => x.Name == "zeroshot_agent_cpu_time_seconds_total" && x.Value > 0), "the burner's CPU", 30_000);
        var cpu = samples!.Single(s => s.Name == "zeroshot_agent_cpu_time_seconds_total");
        Assert.Equal("burner", cpu.Label("agent"));
        Assert.Equal("worker", cpu.Label("role"));
        Assert.Equal("command", cpu.Label("provider"));
        Assert.Equal("", cpu.Label("model"));
        var listed = JsonDocument.Parse(_clusters.Z("list", "--json").Out).RootElement;
        Assert.Equal(listed[0].GetProperty("id").GetString(), cpu.Label("cluster"));
        foreach (var name in ExportNames.Required) Assert.Contains(samples!, s => s.Name == name);
        Assert.Equal(0, samples!.Single(s => s.Name == "zeroshot_agent_tokens_total" && s.Label("type") == "input").Value);

        var result = run.Wait(TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Null(TryScrape(port)); // the endpoint ends with the run
    }

    [Fact]
    public async Task Run_otlp_endpoint_pushes_the_instruments_to_a_collector()
    {
        int port = ExportMappingTests.FreePort();
        using var collector = new HttpListener();
        collector.Prefixes.Add($"http://127.0.0.1:{port}/");
        collector.Start();
        var bodies = new List<(string Path, string? Type, byte[] Body)>();
        var receiving = Task.Run(async () =>
        {
            while (collector.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await collector.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }
                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                lock (bodies) bodies.Add((context.Request.Url!.AbsolutePath, context.Request.ContentType, body.ToArray()));
                context.Response.StatusCode = 200;
                context.Response.Close();
            }
        });
        var env = new Dictionary<string, string>(_clusters.Env) { ["OTEL_METRIC_EXPORT_INTERVAL"] = "500" };
        using var run = ZeroshotProcess.Start(_clusters.Home, env, "run", "--no-metrics", "--otlp-endpoint", $"http://127.0.0.1:{port}", BurnCluster("otlp", 2));
        var result = run.Wait(TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains($"pushing this run's metrics to http://127.0.0.1:{port}/v1/metrics", result.Error, StringComparison.Ordinal);
        collector.Stop();
        await receiving.WaitAsync(TimeSpan.FromSeconds(10));

        lock (bodies)
        {
            Assert.NotEmpty(bodies);
            Assert.All(bodies, b => Assert.Equal("/v1/metrics", b.Path));
            Assert.All(bodies, b => Assert.Equal("application/x-protobuf", b.Type));
            var all = bodies.SelectMany(b => b.Body).ToArray();
            foreach (var name in new[] { "zeroshot.agent.cpu.time", "zeroshot.agent.memory.usage", "zeroshot.agent.tokens", "zeroshot.agent.cost", "zeroshot.agent.state", "zeroshot.agent.health", "burner" })
                Assert.True(all.AsSpan().IndexOf(Encoding.UTF8.GetBytes(name)) >= 0, $"{name} is not in what the collector got");
        }
    }

    [Fact]
    public void A_bad_listen_address_refresh_interval_or_a_port_in_use_is_a_one_line_error_and_no_cluster_starts()
    {
        var bad = _clusters.Z("serve-metrics", "--listen", "nowhere");
        Assert.Equal(2, bad.ExitCode);
        Assert.Equal("zeroshot: --listen: expected host:port with a port of 1..65535 (e.g. 127.0.0.1:9464), got 'nowhere'", bad.Error.Trim());

        var refresh = _clusters.Z("serve-metrics", "--refresh-interval", "0");
        Assert.Equal(2, refresh.ExitCode);
        Assert.Equal("zeroshot: --refresh-interval: expected 1 to 3600 seconds, got 0", refresh.Error.Trim());

        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var busy = _clusters.Z("serve-metrics", "--listen", $"127.0.0.1:{port}");
        Assert.Equal(1, busy.ExitCode);
        Assert.Equal($"zeroshot: cannot serve metrics on 127.0.0.1:{port}: the port is in use", busy.Error.Trim());

        var run = _clusters.Z("run", "--no-metrics", "--metrics-listen", $"127.0.0.1:{port}", BurnCluster("busy", 0, burnSeconds: 0));
        Assert.Equal(1, run.ExitCode);
        Assert.Equal($"zeroshot: cannot serve metrics on 127.0.0.1:{port}: the port is in use", run.Error.Trim().Split('\n')[^1]);
        Assert.Equal("[]", _clusters.Z("list", "--json").Out.Trim());

        var detached = _clusters.Z("run", "--detach", "--metrics-listen", "127.0.0.1:9464", BurnCluster("detached", 0, burnSeconds: 0));
        Assert.Equal(2, detached.ExitCode);
        Assert.Contains("serve-metrics", detached.Error, StringComparison.Ordinal);
    }
}
