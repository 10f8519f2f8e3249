using System.Globalization;
using System.Text;
using Zeroshot.Agents.Config;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;
using Zeroshot.Metrics;

namespace Zeroshot.Bench;

/// <summary>
/// The supervisor's per-tick cost of the live model: building the <see cref="ClusterSnapshot"/> of a cluster whose
/// agents are all running (each with an output interpreter holding live usage and activity, and a fresh metrics sample
/// every tick), and serializing it once (source-generated JSON into a reused buffer, as the snapshots stream does).
/// CPU time of this thread and bytes allocated by it, per tick.
/// Usage: snapshot [--agents 200] [--ticks 5000]
/// </summary>
internal static class SnapshotBenchmark
{
    public static int Run(string[] args)
    {
        int agentCount = TreeSamplingBenchmark.Arg(args, "--agents", 200);
        int ticks = TreeSamplingBenchmark.Arg(args, "--ticks", 5000);

        var configs = Enumerable.Range(0, agentCount)
            .Select(i => new AgentConfig($"agent-{i:000}", i % 4 == 0 ? AgentRole.Validator : AgentRole.Worker, "claude", Model: "sonnet"))
            .ToList();
        var config = new ClusterConfig("bench", "p", 3, configs);
        var now = DateTimeOffset.UtcNow;
        var agents = configs.Select((c, i) =>
        {
            var interpreter = new AgentOutputInterpreter(_ => { }, new AgentOutputOptions
            {
                PriceFor = ZeroshotSettings.Default.PriceFor, Model = "sonnet", TimeProvider = TimeProvider.System, Provider = "claude",
            });
            interpreter.Feed(Encoding.UTF8.GetBytes(
                $$$$"""{"type":"assistant","message":{"id":"msg-{{{{i}}}}","model":"claude-sonnet-4-5-20250929","role":"assistant","content":[{"type":"tool_use","id":"tool-{{{{i}}}}","name":"Bash","input":{"command":"npm test"}}],"usage":{"input_tokens":{{{{10 + i}}}},"output_tokens":{{{{300 + i}}}},"cache_read_input_tokens":9000,"cache_creation_input_tokens":1200}}}""" + "\n"));
            var runtime = new AgentRuntime(c)
            {
                State = AgentState.Running, Iteration = 1, Pid = 10_000 + i, Interpreter = interpreter, LastOutputAt = now,
            };
            if (i % 4 == 0) { runtime.Verdict = new Verdict(false, "two tests fail", ["login returns 500", "no test for signup"]); runtime.VerdictIteration = 1; }
            return runtime;
        }).ToList();
        // Two sets of samples, alternated, so every tick carries new metrics objects (the sampler's, not counted here).
        var samples = new TreeSample[2][];
        for (int set = 0; set < 2; set++)
        {
            samples[set] = agents.Select((a, i) => new TreeSample
            {
                Timestamp = now, Pid = a.Pid!.Value, Exists = true, State = 'S', CpuPercent = 12.34 + set + i % 7, MemoryMB = 45.67 + i,
                IoReadBytesPerSec = 0, IoWriteBytesPerSec = 1024.5, ReadCharsPerSec = 80, WriteCharsPerSec = 1100, NetRxBytesPerSec = 4300.6,
                NetTxBytesPerSec = 1126.2, NetworkState = new NetworkState(2, 0, 0), ChildCount = 3, Threads = 14,
            }).ToArray();
        }

        var builder = new SnapshotBuilder(agentCount);
        var writer = new LiveMessageWriter();
        int jsonBytes = 0;
        void Tick(int tick, bool serialize)
        {
            var set = samples[tick & 1];
            for (int i = 0; i < agents.Count; i++) agents[i].Latest = set[i];
            List<ClusterEvent>? events = null;
            var snapshot = builder.Build("bench-cluster-1", config, ClusterState.Running, 1, now, agents, now, ref events);
            if (serialize) jsonBytes = writer.Write(new LiveMessage(snapshot, null)).Length;
        }

        Console.WriteLine($"fast path: snapshot {LiveJson.Default.ClusterSnapshot.SerializeHandler is not null}, agent {LiveJson.Default.AgentSnapshot.SerializeHandler is not null}, message {LiveJson.Default.LiveMessage.SerializeHandler is not null}, tokens {LiveJson.Default.TokenCounts.SerializeHandler is not null}");
        // Warm up for seconds, not ticks: tiered compilation promotes hot methods to optimized code in the background,
        // later on a loaded machine, and a supervisor runs for hours on the optimized code.
        var warm = System.Diagnostics.Stopwatch.StartNew();
        for (int t = 0; warm.Elapsed < TimeSpan.FromSeconds(3) || t < 500; t++) Tick(t, serialize: true);
        foreach (bool serialize in new[] { false, true })
        {
            var perTick = new double[ticks];
            long allocated = GC.GetAllocatedBytesForCurrentThread();
            var total = CpuClock.ThreadCpu();
            for (int t = 0; t < ticks; t++)
            {
                var cpu = CpuClock.ThreadCpu();
                Tick(t, serialize);
                perTick[t] = (CpuClock.ThreadCpu() - cpu).TotalMicroseconds;
            }
            double meanUs = (CpuClock.ThreadCpu() - total).TotalMicroseconds / ticks;
            allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
            Array.Sort(perTick);
            string what = serialize ? "build + serialize" : "build only       ";
            string json = serialize ? string.Create(CultureInfo.InvariantCulture, $", {jsonBytes / 1024.0:0.0} KB of JSON") : "";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{what} ({agentCount} running agents): {meanUs:0} µs CPU per tick (p50 {perTick[ticks / 2]:0}, p95 {perTick[ticks * 95 / 100]:0}), {allocated / (double)ticks / 1024:0.0} KB allocated per tick{json}"));
        }
        // The worst case: every agent changed more than its metrics since the last tick (new usage, activity, output
        // time…), so no agent's JSON before its metrics is reused (snapshots without the builder's cache).
        {
            List<ClusterEvent>? ev = null;
            var built = builder.Build("bench-cluster-1", config, ClusterState.Running, 1, now, agents, now, ref ev);
            var uncached = built with { Agents = built.Agents.Select(a => a with { JsonCache = AgentJsonCache.None }).ToList() };
            var message = new LiveMessage(uncached, null);
            var cpu = CpuClock.ThreadCpu();
            for (int t = 0; t < ticks; t++) writer.Write(message);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"serialize only, every agent changed: {(CpuClock.ThreadCpu() - cpu).TotalMicroseconds / ticks:0} µs CPU per tick"));
        }
        // Where serialization goes: the metrics objects alone (200 samples into one reused writer).
        {
            var buffer = new System.Buffers.ArrayBufferWriter<byte>(256 * 1024);
            using var json = new System.Text.Json.Utf8JsonWriter(buffer);
            var cpu = CpuClock.ThreadCpu();
            for (int t = 0; t < ticks; t++)
            {
                buffer.ResetWrittenCount();
                json.Reset(buffer);
                json.WriteStartArray();
                foreach (var sample in samples[t & 1]) TreeSampleJson.Write(json, sample);
                json.WriteEndArray();
                json.Flush();
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"of which the {agentCount} metrics objects: {(CpuClock.ThreadCpu() - cpu).TotalMicroseconds / ticks:0} µs CPU per tick"));
        }
        return 0;
    }
}
