using Zeroshot.Agents.Health;
using Zeroshot.Agents.State;

namespace Zeroshot.Agents.Supervision;

/// <summary>
/// Decides which of a cluster's per-tick snapshots become history points in the state database: every running agent at
/// every tick for the cluster's first hour, then one point per <see cref="Interval"/> (10 s), doubled each time an
/// agent's points reach <see cref="MaxPointsPerAgent"/> (its stored points after the first hour are then thinned to
/// half), so a run of any length keeps a bounded history: under 10 000 points per agent. An agent that is not running
/// gets a point only when its state or iteration changed (its bands end where it ended). A point whose values (all but its
/// time) equal the last one written is held back instead of written, and written just before the next point that differs
/// (or by <see cref="ReleaseHeld"/> at the end): a flat stretch is stored as its two ends, so every chart and band drawn
/// from the points is the same, while an idle agent costs the database nothing a tick. Pure: snapshots in, writes out.
/// </summary>
internal sealed class HistoryRecorder(string clusterId, DateTimeOffset startedAt)
{
    private readonly Lock _gate = new();

    /// <summary>The full-resolution span at the start of a cluster.</summary>
    public static readonly TimeSpan FullResolution = TimeSpan.FromHours(1);

    /// <summary>The spacing of points after <see cref="FullResolution"/>.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    /// <summary>Points per agent at which its older points are thinned and its spacing doubled.</summary>
    public const int MaxPointsPerAgent = 10_000;

    private sealed class AgentTrack
    {
        public DateTimeOffset? Last;
        public AgentState? State;
        public int Iteration;
        public int Count;
        public TimeSpan Spacing = Interval;
        public HistoryPoint? Written;
        public HistoryPoint? Held;
    }

    private readonly Dictionary<string, AgentTrack> _tracks = [];

    /// <summary>The writes for <paramref name="snapshot"/> taken at <paramref name="now"/> (none when nothing is due).</summary>
    public IReadOnlyList<StoreWrite> Record(ClusterSnapshot snapshot, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        lock (_gate) return RecordLocked(snapshot, now);
    }

    private List<StoreWrite> RecordLocked(ClusterSnapshot snapshot, DateTimeOffset now)
    {
        List<(string, HistoryPoint)>? points = null;
        List<StoreWrite>? writes = null;
        bool fullResolution = now - startedAt < FullResolution;
        foreach (var a in snapshot.Agents)
        {
            if (!_tracks.TryGetValue(a.Id, out var track)) _tracks[a.Id] = track = new AgentTrack();
            bool changed = track.State != a.State || track.Iteration != a.Iteration;
            bool running = a.State == AgentState.Running;
            bool due = running && (fullResolution || track.Last is not { } last || now - last >= track.Spacing);
            if (!changed && !due) continue;
            if (track.Last is { } previous && now <= previous) continue;
            var m = running ? a.Metrics : null;
            var point = new HistoryPoint(now, a.Iteration, a.State, running ? a.ActivityText() : null,
                running ? a.Health?.Verdict.ToJsonName() : null,
                m?.CpuPercent, m?.MemoryMB, m?.NetRxBytesPerSec, m?.NetTxBytesPerSec, m?.IoReadBytesPerSec, m?.IoWriteBytesPerSec,
                a.Tokens.Total, (double)a.CostUsd);
            track.Last = now;
            track.State = a.State;
            track.Iteration = a.Iteration;
            if (!changed && track.Written is { } written && SameValues(written, point))
            {
                track.Held = point;
                continue;
            }
            if (track.Held is { } held)
            {
                (points ??= []).Add((a.Id, held));
                track.Held = null;
                Counted(track, a.Id, ref writes);
            }
            (points ??= []).Add((a.Id, point));
            track.Written = point;
            Counted(track, a.Id, ref writes);
        }
        if (points is null) return writes ?? [];
        (writes ??= []).Insert(0, new SamplesWrite(clusterId, points));
        return writes;
    }

    /// <summary>
    /// The points held back (each agent's last one, equal to the one written before it), so the stored history reaches
    /// the end of the run; none are held after this. Called when the run ends.
    /// </summary>
    public IReadOnlyList<StoreWrite> ReleaseHeld()
    {
        lock (_gate)
        {
            List<(string, HistoryPoint)>? points = null;
            foreach (var (agent, track) in _tracks)
            {
                if (track.Held is not { } held) continue;
                (points ??= []).Add((agent, held));
                track.Held = null;
            }
            return points is null ? [] : [new SamplesWrite(clusterId, points)];
        }
    }

    /// <summary>Every value but the time: a point that equals the last written adds nothing a chart would show.</summary>
    private static bool SameValues(HistoryPoint a, HistoryPoint b) =>
        a.Iteration == b.Iteration && a.State == b.State && a.Activity == b.Activity && a.Health == b.Health
        && a.CpuPercent == b.CpuPercent && a.MemoryMB == b.MemoryMB && a.NetRxBytesPerSec == b.NetRxBytesPerSec
        && a.NetTxBytesPerSec == b.NetTxBytesPerSec && a.DiskReadBytesPerSec == b.DiskReadBytesPerSec
        && a.DiskWriteBytesPerSec == b.DiskWriteBytesPerSec && a.Tokens == b.Tokens && a.CostUsd == b.CostUsd;

    /// <summary>Counts a written point; at <see cref="MaxPointsPerAgent"/> the agent's later points are thinned.</summary>
    private void Counted(AgentTrack track, string agentId, ref List<StoreWrite>? writes)
    {
        if (++track.Count < MaxPointsPerAgent) return;
        // Keep the first hour whole; halve the rest and space new points twice as far apart.
        (writes ??= []).Add(new ThinSamplesWrite(clusterId, agentId, startedAt + FullResolution));
        int firstHour = (int)Math.Min(track.Count, FullResolution.TotalSeconds);
        track.Count = firstHour + (track.Count - firstHour) / 2;
        track.Spacing *= 2;
    }
}
