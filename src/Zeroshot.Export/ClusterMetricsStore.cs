using System.Collections.Concurrent;
using System.Text.Json;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;

namespace Zeroshot.Export;

/// <summary>
/// The latest snapshot of each cluster the exporter publishes. Writers (the in-process supervisor's observer, the
/// <c>snapshots</c> subscriptions of <c>serve-metrics</c>) only swap a reference each tick; the readings are computed when a
/// reader (a scrape, an OTLP export) asks, at most once per <see cref="ReadingsReuse"/>. A snapshot that came over a
/// control socket is kept as its message and parsed only then, the latest of each cluster. A cluster that ended stays
/// (with its last counters) for <see cref="Retention"/>, so a scrape after its end still sees its final values; then it is
/// dropped. Thread-safe.
/// </summary>
internal sealed class ClusterMetricsStore
{
    /// <summary>How long a cluster that ended keeps being published (four scrapes at Prometheus' default minute).</summary>
    public static readonly TimeSpan DefaultRetention = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The instruments' callbacks run one after another in one collection (eight of them): within this long they share
    /// one computation of the readings.
    /// </summary>
    private static readonly TimeSpan ReadingsReuse = TimeSpan.FromMilliseconds(500);

    private readonly ConcurrentDictionary<string, Entry> _clusters = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    // Each (cluster, agent)'s counters as last published: what it publishes next is at least this (counters never go down).
    private readonly Dictionary<(string Cluster, string Agent), AgentCounters> _floors = [];
    private readonly Lock _readGate = new();
    private long _version;
    private long _readVersion = -1;
    private long _readAt;
    private IReadOnlyList<AgentReading> _readings = [];

    /// <summary>A store on <paramref name="time"/>'s clock, keeping ended clusters for <paramref name="retention"/>.</summary>
    public ClusterMetricsStore(TimeProvider? time = null, TimeSpan? retention = null)
    {
        _time = time ?? TimeProvider.System;
        Retention = retention ?? DefaultRetention;
    }

    /// <summary>How long an ended cluster stays.</summary>
    public TimeSpan Retention { get; }

    /// <summary>The clusters held now (running, or ended within <see cref="Retention"/>).</summary>
    public int Count => _clusters.Count;

    private sealed class Entry(ClusterSnapshot? latest)
    {
        /// <summary>The last snapshot parsed; null until the first message is.</summary>
        public ClusterSnapshot? Latest = latest;
        /// <summary>A newer snapshot message than <see cref="Latest"/>, not parsed yet.</summary>
        public ReadOnlyMemory<byte>? Message;
        /// <summary>When it was seen ended (its state, or its supervisor gone); null while it runs.</summary>
        public DateTimeOffset? EndedAt;
    }

    /// <summary>The cluster's snapshot now: a reference swap (no copy, no computation).</summary>
    public void Update(ClusterSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var entry = _clusters.GetOrAdd(snapshot.Id, static (_, s) => new Entry(s), snapshot);
        lock (entry)
        {
            entry.Latest = snapshot;
            entry.Message = null;
            if (snapshot.State != ClusterState.Running) entry.EndedAt ??= _time.GetUtcNow();
        }
        Interlocked.Increment(ref _version);
    }

    /// <summary>
    /// <paramref name="cluster"/>'s snapshot as its supervisor sent it (a <c>snapshots</c> stream message, UTF-8 JSON, not
    /// reused by the caller): kept, and parsed when a reader asks. Supervisors send one every few seconds and a scrape
    /// comes every 15 s or minute: only the latest is parsed (measured here, parsing each as it came was about a tenth
    /// of <c>serve-metrics</c>' CPU). A message that does not parse is skipped then (the cluster's previous snapshot stays).
    /// </summary>
    public void Update(string cluster, ReadOnlyMemory<byte> message)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var entry = _clusters.GetOrAdd(cluster, static _ => new Entry(null));
        lock (entry) entry.Message = message;
        Interlocked.Increment(ref _version);
    }

    /// <summary>The cluster ended, or its supervisor is gone: its last values stay for <see cref="Retention"/>.</summary>
    public void Ended(string cluster)
    {
        if (_clusters.TryGetValue(cluster, out var entry))
        {
            lock (entry) entry.EndedAt ??= _time.GetUtcNow();
        }
        Interlocked.Increment(ref _version);
    }

    /// <summary>Whether <paramref name="cluster"/> is held (running, or ended within the retention).</summary>
    public bool Contains(string cluster) => _clusters.ContainsKey(cluster);

    /// <summary>
    /// Every agent's reading, counters raised to what was published before; clusters past their retention are dropped
    /// first. Computed at most once per <see cref="ReadingsReuse"/> unless a snapshot arrived since.
    /// </summary>
    public IReadOnlyList<AgentReading> Readings()
    {
        lock (_readGate)
        {
            long version = Volatile.Read(ref _version);
            if (version == _readVersion && _time.GetElapsedTime(_readAt) < ReadingsReuse) return _readings;
            var now = _time.GetUtcNow();
            var readings = new List<AgentReading>();
            foreach (var (id, entry) in _clusters)
            {
                if (Ended(entry) is { } ended && now - ended > Retention)
                {
                    _clusters.TryRemove(id, out _);
                    foreach (var key in _floors.Keys.Where(k => k.Cluster == id).ToList()) _floors.Remove(key);
                    continue;
                }
                if (Latest(entry, now) is not { } cluster) continue;
                foreach (var agent in cluster.Agents)
                {
                    var reading = AgentReading.From(cluster, agent);
                    var key = (cluster.Id, agent.Id);
                    if (_floors.TryGetValue(key, out var floor)) reading = reading with { Counters = reading.Counters.AtLeast(floor) };
                    _floors[key] = reading.Counters;
                    readings.Add(reading);
                }
            }
            _readings = readings;
            _readVersion = version;
            _readAt = _time.GetTimestamp();
            return readings;
        }
    }

    private static DateTimeOffset? Ended(Entry entry)
    {
        lock (entry) return entry.EndedAt;
    }

    /// <summary>The entry's newest snapshot, its pending message parsed first (on the reading thread, outside the writers' way).</summary>
    private static ClusterSnapshot? Latest(Entry entry, DateTimeOffset now)
    {
        ReadOnlyMemory<byte>? message;
        lock (entry)
        {
            message = entry.Message;
            entry.Message = null;
        }
        if (message is { } utf8)
        {
            ClusterSnapshot? parsed = null;
            try
            {
                parsed = LiveJson.ReadMessage(utf8.Span).Snapshot;
            }
            catch (JsonException)
            {
                // A message the supervisor should not have sent: the previous snapshot stays.
            }
            if (parsed is not null)
            {
                lock (entry)
                {
                    entry.Latest = parsed;
                    if (parsed.State != ClusterState.Running) entry.EndedAt ??= now;
                }
            }
        }
        lock (entry) return entry.Latest;
    }
}
