using Zeroshot.Agents.Config;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;
using Zeroshot.Metrics;

namespace Zeroshot.Bench;

/// <summary>
/// The history store's cost per sample tick (issue 14: under 1 ms for 50 agents), in its two halves: the supervisor's
/// (<see cref="HistoryRecorder"/> turning the tick's snapshot into points, on the sampling thread) and the store
/// writer's (one transaction of 50 prepared inserts into a real SQLite file in WAL mode, synchronous=NORMAL, as
/// the supervisor's database). CPU time of this thread and wall time per tick, with the target.
/// Usage: history [--agents 50] [--ticks 3000]
/// </summary>
internal static class HistoryBenchmark
{
    public static int Run(string[] args)
    {
        int agentCount = TreeSamplingBenchmark.Arg(args, "--agents", 50);
        int ticks = TreeSamplingBenchmark.Arg(args, "--ticks", 3000);
        var start = DateTimeOffset.UtcNow;
        var configs = Enumerable.Range(0, agentCount).Select(i => new AgentConfig($"agent-{i:000}", AgentRole.Worker, Command: ["true"])).ToList();
        var config = new ClusterConfig("bench", null, 3, configs);
        ClusterSnapshot Snapshot(int tick)
        {
            var at = start.AddSeconds(tick);
            var agents = configs.Select((c, i) => new AgentSnapshot(c.Id, AgentRole.Worker, "claude", "sonnet", AgentState.Running, 1000 + i, 1, null, at,
                AgentActivity.Tool, "Bash", new TokenCounts(1000 + tick, 300, 9000, 1200), 0.01m * tick, false, null, null,
                new TreeSample { Timestamp = at, Pid = 1000 + i, Exists = true, CpuPercent = 12.5 + i % 9, MemoryMB = 45 + i, NetRxBytesPerSec = 4300, NetTxBytesPerSec = 1100, IoReadBytesPerSec = 0, IoWriteBytesPerSec = 1024 })).ToList();
            return ClusterSnapshot.Create("bench-1", ClusterKind.Cluster, "bench", ClusterState.Running, 1, 3, start, agents);
        }
        var snapshots = Enumerable.Range(0, ticks).Select(Snapshot).ToArray();

        string dir = Directory.CreateTempSubdirectory("zs-history-bench-").FullName;
        try
        {
            using var store = StateStore.Open(Path.Combine(dir, "state.db"));
            store.CreateCluster(ClusterRecord.New("bench-1", config, start));
            var recorder = new HistoryRecorder("bench-1", start);
            // Warm-up on a second cluster's recorder (same code paths, the measured cluster's table left empty).
            var warm = new HistoryRecorder("bench-1", start.AddDays(-1));
            for (int t = 0; t < 300; t++) warm.Record(snapshots[t], start.AddDays(-1).AddSeconds(t));

            var recordCpu = new double[ticks];
            var writeCpu = new double[ticks];
            var writeWall = new double[ticks];
            long allocated = GC.GetAllocatedBytesForCurrentThread();
            for (int t = 0; t < ticks; t++)
            {
                var c0 = CpuClock.ThreadCpu();
                var writes = recorder.Record(snapshots[t], snapshots[t].Agents[0].Metrics!.Timestamp);
                var c1 = CpuClock.ThreadCpu();
                var w0 = System.Diagnostics.Stopwatch.GetTimestamp();
                foreach (var write in writes) write.Apply(store);
                var c2 = CpuClock.ThreadCpu();
                writeWall[t] = System.Diagnostics.Stopwatch.GetElapsedTime(w0).TotalMilliseconds;
                recordCpu[t] = (c1 - c0).TotalMilliseconds;
                writeCpu[t] = (c2 - c1).TotalMilliseconds;
            }
            long bytes = GC.GetAllocatedBytesForCurrentThread() - allocated;
            int stored = store.ReadSamples("bench-1").Values.Sum(p => p.Count);
            static string Stats(double[] v)
            {
                var sorted = v.Order().ToArray();
                return $"mean {v.Average():0.000} ms, p50 {sorted[sorted.Length / 2]:0.000} ms, p99 {sorted[(int)(sorted.Length * 0.99)]:0.000} ms";
            }
            Console.WriteLine($"history store, {agentCount} agents, {ticks} ticks ({stored} points stored), {Environment.ProcessorCount} CPUs, {(System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported ? "JIT" : "Native AOT")}");
            Console.WriteLine($"  supervisor side (HistoryRecorder, thread CPU per tick): {Stats(recordCpu)}");
            Console.WriteLine($"  writer side (SQLite transaction of {agentCount} inserts, thread CPU per tick): {Stats(writeCpu)}; wall {Stats(writeWall)}");
            double total = recordCpu.Average() + writeCpu.Average();
            Console.WriteLine($"  together: {total:0.000} ms of CPU per tick (target < 1 ms: {(total < 1 ? "met" : "NOT met")}); {bytes / ticks} bytes allocated per tick");
            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
