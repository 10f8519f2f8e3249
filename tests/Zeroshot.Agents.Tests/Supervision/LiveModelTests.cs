using System.Text;
using System.Text.Json;
using Zeroshot.Agents.Config;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;
using Zeroshot.Metrics;

namespace Zeroshot.Agents.Tests.Supervision;

public sealed class LiveModelTests
{
    private static readonly DateTimeOffset T = new(2026, 12, 2, 8, 15, 20, 123, TimeSpan.Zero);

    internal static ClusterSnapshot Sample()
    {
        var metrics = new TreeSample
        {
            Timestamp = T.AddMilliseconds(456.7), Pid = 4242, Exists = true, State = 'S', CpuPercent = 23.46, MemoryMB = 67.04,
            IoReadBytesPerSec = 0, IoWriteBytesPerSec = 1024.4, ReadCharsPerSec = 80, WriteCharsPerSec = 1100,
            NetRxBytesPerSec = 4300.6, NetTxBytesPerSec = 1126.2, NetworkState = new NetworkState(2, 0, 0), ChildCount = 3, Threads = 14,
        };
        var worker = new AgentSnapshot("worker", AgentRole.Worker, "claude", "sonnet", AgentState.Running, 4242, 2, null, T.AddSeconds(-2),
            AgentActivity.Tool, "Bash", new TokenCounts(10, 3400, 0, 0), 0.12m, true, null, null, metrics);
        var tester = new AgentSnapshot("tester", AgentRole.Validator, "command", null, AgentState.Completed, null, 1, 1, null, null, null,
            default, 0m, false, new VerdictSnapshot(false, "two tests fail", ["login: 401", "signup: 500"], 1), null, null);
        return ClusterSnapshot.Create("cosmic-meteor-87", ClusterKind.Cluster, "fix-login", ClusterState.Running, 2, 3, T, [worker, tester]);
    }

    [Fact]
    public void The_status_document_keeps_every_field_name_and_format()
    {
        string json = Encoding.UTF8.GetString(LiveJson.ToUtf8(Sample()));
        Assert.Equal(
            """"
            {"id":"cosmic-meteor-87","kind":"cluster","name":"fix-login","state":"running","iteration":2,"maxIterations":3,
            "startedAt":"2026-12-02T08:15:20.123Z","tokens":{"input":10,"output":3400,"cacheRead":0,"cacheCreation":0,"total":3410},"costUsd":0.12,
            "costEstimated":true,"agents":[{"id":"worker","role":"worker","provider":"claude","model":"sonnet","state":"running","pid":4242,
            "iteration":2,"exitCode":null,"lastOutputAt":"2026-12-02T08:15:18.123Z","activity":"tool","activityDetail":"Bash","tokens":{"input":10,
            "output":3400,"cacheRead":0,"cacheCreation":0,"total":3410},"costUsd":0.12,"costEstimated":true,"verdict":null,"lastError":null,
            "metrics":{"timestamp":"2026-12-02T08:15:20.579Z","pid":4242,"exists":true,"state":"S","cpuPercent":23.5,"memoryMB":67,
            "ioReadBytesPerSec":0,"ioWriteBytesPerSec":1024,"readCharsPerSec":80,"writeCharsPerSec":1100,"netRxBytesPerSec":4301,
            "netTxBytesPerSec":1126,"networkState":{"established":2,"sendQueueBytes":0,"recvQueueBytes":0,"connecting":0,"lastReceiveMs":null},"childCount":3,"threads":14}},{"id":"tester",
            "role":"validator","provider":"command","model":null,"state":"completed","pid":null,"iteration":1,"exitCode":1,"lastOutputAt":null,
            "activity":null,"activityDetail":null,"tokens":{"input":0,"output":0,"cacheRead":0,"cacheCreation":0,"total":0},"costUsd":0,
            "costEstimated":false,"verdict":{"approved":false,"summary":"two tests fail","issues":["login: 401","signup: 500"],"iteration":1},
            "lastError":null,"metrics":null}],"logBytesLost":0,"logWriteError":null}
            """".Replace("\n", "", StringComparison.Ordinal),
            json);
    }

    [Fact]
    public void Metrics_and_times_are_written_exactly_as_the_rounded_doubles_and_the_iso_format_they_always_were()
    {
        var random = new Random(7);
        var fast = new System.Buffers.ArrayBufferWriter<byte>();
        var reference = new System.Buffers.ArrayBufferWriter<byte>();
        for (int i = 0; i < 20_000; i++)
        {
            double magnitude = Math.Pow(10, random.Next(-4, 16));
            double value = i % 50 == 0 ? 0 : i % 97 == 0 ? -random.NextDouble() : random.NextDouble() * magnitude;
            if (i % 3 == 0) value = Math.Round(value, random.Next(0, 3));
            var time = DateTimeOffset.FromUnixTimeMilliseconds(random.NextInt64(0, 253_402_300_799_999)).AddTicks(random.Next(0, 10_000));
            var sample = new TreeSample
            {
                Timestamp = time, Pid = i, Exists = true, State = 'R', CpuPercent = value, MemoryMB = value / 3, IoReadBytesPerSec = value,
                IoWriteBytesPerSec = value * 7, ReadCharsPerSec = value / 7, WriteCharsPerSec = value, NetRxBytesPerSec = value + 0.5, NetTxBytesPerSec = -value,
            };
            fast.ResetWrittenCount();
            reference.ResetWrittenCount();
            using (var w = new Utf8JsonWriter(fast)) TreeSampleJson.Write(w, sample);
            using (var w = new Utf8JsonWriter(reference))
            {
                void N(string name, double? v, int d)
                {
                    if (v is { } x && double.IsFinite(x)) w.WriteNumber(name, Math.Round(x, d));
                    else w.WriteNull(name);
                }
                w.WriteStartObject();
                w.WriteString("timestamp", sample.Timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
                w.WriteNumber("pid", sample.Pid);
                w.WriteBoolean("exists", true);
                w.WriteString("state", "R");
                N("cpuPercent", sample.CpuPercent, 1);
                N("memoryMB", sample.MemoryMB, 1);
                N("ioReadBytesPerSec", sample.IoReadBytesPerSec, 0);
                N("ioWriteBytesPerSec", sample.IoWriteBytesPerSec, 0);
                N("readCharsPerSec", sample.ReadCharsPerSec, 0);
                N("writeCharsPerSec", sample.WriteCharsPerSec, 0);
                N("netRxBytesPerSec", sample.NetRxBytesPerSec, 0);
                N("netTxBytesPerSec", sample.NetTxBytesPerSec, 0);
                w.WriteNull("networkState");
                w.WriteNull("childCount");
                w.WriteNull("threads");
                w.WriteEndObject();
            }
            Assert.Equal(Encoding.UTF8.GetString(reference.WrittenSpan), Encoding.UTF8.GetString(fast.WrittenSpan));
        }
    }

    [Fact]
    public void A_document_reads_back_into_the_same_records()
    {
        var original = Sample();
        byte[] json = LiveJson.ToUtf8(original);
        using var document = JsonDocument.Parse(json);
        var read = LiveJson.ReadSnapshot(document.RootElement);
        Assert.Equal(json, LiveJson.ToUtf8(read));
        Assert.Equal(AgentActivity.Tool, read.Agents[0].Activity);
        Assert.Equal(23.5, read.Agents[0].Metrics!.CpuPercent);
        Assert.Equal(["login: 401", "signup: 500"], read.Agents[1].Verdict!.Issues);
        Assert.Equal(original.Usage, read.Usage);
    }

    [Fact]
    public void An_agent_whose_json_before_metrics_is_reused_is_written_exactly_as_one_written_whole()
    {
        // One agent's successive snapshots share a cache (as the builder's do); each must serialize byte for byte as the
        // same snapshot without one, whichever field changed since the last, including a copy made with `with`.
        var worker = Sample().Agents[0];
        var cache = new AgentJsonCache();
        var steps = new List<Func<AgentSnapshot, AgentSnapshot>>
        {
            a => a,
            a => a with { Metrics = a.Metrics! with { CpuPercent = 99.94 } },
            a => a with { Metrics = null },
            a => a with { Cgroup = new Zeroshot.Agents.Pty.CgroupSample(12.5, null) },
            a => a with { Metrics = a.Metrics ?? worker.Metrics },
            a => a with { State = AgentState.Completed, Pid = null, ExitCode = 0 },
            a => a with { Tokens = a.Tokens + new TokenCounts(1, 2, 3, 4), CostUsd = a.CostUsd + 0.004m },
            a => a with { Activity = AgentActivity.Retrying, ActivityDetail = "529 3/10 in 4s", LastError = "overloaded" },
            a => a with { Verdict = new VerdictSnapshot(true, "fine", [], 2), Model = "opus" },
            a => a with { LastOutputAt = a.LastOutputAt!.Value.AddSeconds(1), Iteration = 3 },
            a => a with { Id = "worker-2", Provider = "codex", Role = AgentRole.Validator, CostEstimated = false },
            a => a with { History = [TreeSample.Gone(1, T)] },
            a => a with { History = null },
        };
        var current = worker;
        foreach (var step in steps)
        {
            current = step(current);
            var cached = current with { JsonCache = cache };
            var whole = current with { JsonCache = AgentJsonCache.None };
            var expected = LiveJson.ToUtf8(ClusterSnapshot.Create("c", ClusterKind.Cluster, "n", ClusterState.Running, 1, 3, T, [whole]));
            for (int twice = 0; twice < 2; twice++)
                Assert.Equal(Encoding.UTF8.GetString(expected),
                    Encoding.UTF8.GetString(LiveJson.ToUtf8(ClusterSnapshot.Create("c", ClusterKind.Cluster, "n", ClusterState.Running, 1, 3, T, [cached]))));
        }
        Assert.Equal(worker with { JsonCache = cache }, worker);
    }

    [Fact]
    public void History_is_written_only_for_a_reader_that_asked()
    {
        var snapshot = Sample();
        Assert.DoesNotContain("history", Encoding.UTF8.GetString(LiveJson.ToUtf8(snapshot)), StringComparison.Ordinal);
        var withHistory = snapshot with { Agents = snapshot.Agents.Select(a => a with { History = [TreeSample.Gone(1, T)] }).ToList() };
        using var document = JsonDocument.Parse(LiveJson.ToUtf8(withHistory));
        Assert.Equal(1, document.RootElement.GetProperty("agents")[0].GetProperty("history").GetArrayLength());
    }

    [Fact]
    public void The_database_view_maps_to_the_same_records_and_list_entries_keep_their_shape()
    {
        var config = new ClusterConfig("demo", "p", 3, [new AgentConfig("worker", AgentRole.Worker, "sim"), new AgentConfig("tester", AgentRole.Validator, "sim")]);
        var record = ClusterRecord.New("early-reef-84", config, T);
        record = record with
        {
            State = ClusterState.Completed,
            Agents =
            [
                record.Agents[0] with { State = AgentState.Completed, Usage = new UsageTotals(new TokenCounts(1, 2, 3, 4), 0.5m, false), SeenModel = "m" },
                record.Agents[1] with { State = AgentState.Completed, Verdict = (new Verdict(true, "fine", []), 2) },
            ],
        };
        var snapshot = ClusterSnapshot.FromRecord(record);
        Assert.Equal(10, snapshot.Tokens.Total);
        Assert.Equal("m", snapshot.Agents[0].Model);
        Assert.Equal(2, snapshot.Agents[1].Verdict!.Iteration);
        string list = JsonSerializer.Serialize(new List<ClusterListEntry> { ClusterListEntry.From(snapshot) }, LiveJson.Default.ListClusterListEntry);
        Assert.Equal(
            """"
            [{"id":"early-reef-84","kind":"cluster","name":"demo","state":"completed","agents":[{"id":"worker","role":"worker","state":"completed"},
            {"id":"tester","role":"validator","state":"completed","verdict":{"approved":true,"summary":"fine","issues":[],"iteration":2}}],
            "startedAt":"2026-12-02T08:15:20.123Z","tokens":{"total":10},"costUsd":0.5,"costEstimated":false}]
            """".Replace("\n", "", StringComparison.Ordinal), list);
        using var withHistory = JsonDocument.Parse(LiveJson.ToUtf8(ClusterSnapshot.FromRecord(record, history: true)));
        Assert.Equal(0, withHistory.RootElement.GetProperty("agents")[0].GetProperty("history").GetArrayLength());
    }

    [Fact]
    public void Events_read_as_todays_lines()
    {
        string[] Lines(ClusterEvent e) => ClusterEventText.Lines(e).ToArray();
        Assert.Equal(["worker: started (pid 42)"], Lines(new AgentStartedEvent(T, "worker", 42)));
        Assert.Equal(["iteration 1/3"], Lines(new IterationStartedEvent(T, 1, 3, false)));
        Assert.Equal(["rejected: starting another iteration with the validators' issues", "iteration 2/3"], Lines(new IterationStartedEvent(T, 2, 3, true)));
        var rejected = new VerdictSnapshot(false, "two tests fail", ["login returns 500", "no test for signup"], 1);
        Assert.Equal(["tester: rejected (2 issues): two tests fail"],
            Lines(new AgentExitedEvent(T, "tester", AgentState.Completed, 0, null, rejected, null)));
        Assert.Equal(["tester:   issue: login returns 500", "tester:   issue: no test for signup"],
            Lines(new VerdictEvent(T, "tester", false, "two tests fail", rejected.Issues)));
        Assert.Equal(["reviewer: approved: looks good"],
            Lines(new AgentExitedEvent(T, "reviewer", AgentState.Completed, 0, null, new VerdictSnapshot(true, "looks good", [], 1), null)));
        Assert.Equal(["worker: completed: exit code 0"], Lines(new AgentExitedEvent(T, "worker", AgentState.Completed, 0, null, null, null)));
        Assert.Equal(["worker: failed: exit code 1 · 401 invalid key"], Lines(new AgentExitedEvent(T, "worker", AgentState.Failed, 1, null, null, "401 invalid key")));
        Assert.Equal(["worker: stopped: killed by signal 15"], Lines(new AgentExitedEvent(T, "worker", AgentState.Stopped, null, 15, null, null)));
        Assert.Equal(["validator reviewer failed: 401 invalid x-api-key"], Lines(new ValidatorFailedEvent(T, "reviewer", "401 invalid x-api-key")));
        Assert.Equal(["reviewer: failed (no verdict): running it again (1/2)"], Lines(new ValidatorRerunEvent(T, "reviewer", "no verdict", 1, 2)));
        Assert.Equal(["worker: retrying 529 3/10 in 4.0s"], Lines(new RetryingEvent(T, "worker", "529 3/10 in 4.0s")));
        Assert.Equal(["worker: could not start: no such file"], Lines(new ErrorEvent(T, "worker", "could not start: no such file")));
        Assert.Equal(["could not write /x: denied"], Lines(new ErrorEvent(T, null, "could not write /x: denied")));
        Assert.Equal(["stopping: SIGTERM to every agent"], Lines(new StoppingEvent(T)));
        Assert.Equal(["killing: SIGKILL to every agent"], Lines(new KillingEvent(T)));
        Assert.Equal(["cluster completed"], Lines(new ClusterEndedEvent(T, ClusterState.Completed)));
        Assert.Equal(["rejected in all 3 iterations", "cluster failed"], Lines(new ClusterEndedEvent(T, ClusterState.Failed, "rejected in all 3 iterations")));
    }

    [Fact]
    public void Events_travel_as_typed_json()
    {
        ClusterEvent[] events =
        [
            new AgentStartedEvent(T, "worker", 42),
            new AgentExitedEvent(T, "tester", AgentState.Completed, 0, null, new VerdictSnapshot(false, "no", ["a"], 1), null),
            new VerdictEvent(T, "tester", false, "no", ["a"]),
            new RetryingEvent(T, "worker", "529 1/10 in 1.0s"),
            new KillingEvent(T),
            new ClusterEndedEvent(T, ClusterState.Completed),
        ];
        foreach (var e in events)
        {
            byte[] json = JsonSerializer.SerializeToUtf8Bytes(new LiveMessage(null, e), LiveJson.Default.LiveMessage);
            var read = LiveJson.ReadMessage(json).Event!;
            Assert.Equal(e.GetType(), read.GetType());
            Assert.Equal(ClusterEventText.Lines(e), ClusterEventText.Lines(read));
        }
        string started = Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(new LiveMessage(null, events[0]), LiveJson.Default.LiveMessage));
        Assert.Equal("""{"event":{"type":"agent-started","time":"2026-12-02T08:15:20.123Z","agentId":"worker","pid":42}}""", started);
    }
}
