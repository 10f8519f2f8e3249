using System.CommandLine;
using System.Text.Json;
using Zeroshot.Agents;
using Zeroshot.Agents.Control;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;
using Zeroshot.Export;

namespace Zeroshot.Cli.Commands;

/// <summary>
/// <c>zeroshot serve-metrics [--listen host:port] [--otlp-endpoint url]</c>: every running cluster's agents as OpenTelemetry
/// metrics, for Prometheus to scrape and/or pushed by OTLP. It follows every supervisor's <c>snapshots</c> stream (as
/// <c>watch</c> does: nothing is sampled twice) and finds new clusters as they start; the exporter reads the latest
/// snapshot of each when asked.
/// </summary>
internal static class ServeMetricsCommand
{
    /// <summary>
    /// Seconds between a supervisor's snapshots by default. Prometheus scrapes every 15 s or 1 min: a snapshot a second
    /// from each supervisor woke this process ten times a second for ten clusters (about 1 % of a core on a 2-vCPU VM,
    /// nearly all of it thread wake-ups), for figures read every 15 s.
    /// </summary>
    private const int DefaultRefreshSeconds = 5;

    public static Command Create(CliContext context)
    {
        var listen = new Option<string>("--listen")
        {
            Description = $"host:port of the Prometheus endpoint (/metrics); loopback by default ({ListenAddress.Default}).",
            DefaultValueFactory = _ => ListenAddress.Default,
        };
        var otlp = OtlpEndpointOption();
        var refresh = new Option<int>("--refresh-interval")
        {
            Description = "Seconds between the snapshots each supervisor sends (1-3600): the figures served are at most this old. "
                + "A cluster's last figures come at its end either way.",
            DefaultValueFactory = _ => DefaultRefreshSeconds,
        };
        var command = new Command("serve-metrics",
            "Serve every running cluster's agents as Prometheus metrics (CPU, memory, disk, network, tokens, cost, state, health) until Ctrl+C; "
            + "--otlp-endpoint also pushes them by OTLP.")
        {
            listen, otlp, refresh,
        };
        command.SetAction(async (parse, cancel) =>
        {
            var address = ListenAddress.Parse(parse.GetValue(listen)!, "--listen");
            int every = parse.GetValue(refresh);
            if (every is < 1 or > 3600)
                throw new UserErrorException($"--refresh-interval: expected 1 to 3600 seconds, got {every}", ExitCodes.Usage);
            Uri? push = parse.GetValue(otlp) is { } url ? MetricsExporter.ParseOtlpEndpoint(url, "--otlp-endpoint") : null;
            using var env = new ClusterHost.HomeServices(context);
            var store = new ClusterMetricsStore(context.Time);
            using var exporter = MetricsExporter.Start(store, address, push);
            context.Error.WriteLine($"zeroshot: serving the metrics of every cluster at {address.Url}" +
                (exporter.Otlp is { } o ? $", pushing them to {o}" : "") + " (Ctrl+C stops)");
            var follower = new SupervisorFollower(env, store, context.Time, every);
            try
            {
                await follower.RunAsync(cancel).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                // Ctrl+C: the endpoint closes with the exporter.
            }
            finally
            {
                await follower.DisposeAsync().ConfigureAwait(false);
            }
            return ExitCodes.Interrupted;
        });
        return command;
    }

    /// <summary><c>--otlp-endpoint</c>, shared by <c>serve-metrics</c>, <c>run</c> and <c>task run</c>.</summary>
    internal static Option<string?> OtlpEndpointOption() => new("--otlp-endpoint")
    {
        Description = "Also push the agents' metrics by OTLP/HTTP (protobuf) to this collector URL (e.g. http://127.0.0.1:4318; /v1/metrics is appended); "
            + "every OTEL_METRIC_EXPORT_INTERVAL ms (default 60000).",
    };

    /// <summary>
    /// Follows the <c>snapshots</c> stream of every supervisor whose control socket appears in the runtime directory and
    /// whose cluster is in this home's database; each snapshot goes to the store (a reference swap).
    /// </summary>
    private sealed class SupervisorFollower(ClusterHost.HomeServices env, ClusterMetricsStore store, TimeProvider time, int everySeconds) : IAsyncDisposable
    {
        private readonly string _runtimeDirectory = RuntimeDirectory.DefaultPath();
        private readonly Dictionary<string, Task> _followed = new(StringComparer.Ordinal);
        private readonly Dictionary<string, DateTimeOffset> _foreign = new(StringComparer.Ordinal);
        private readonly CancellationTokenSource _stop = new();

        public async Task RunAsync(CancellationToken cancel)
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancel, _stop.Token);
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(everySeconds), time);
            do
            {
                Discover(linked.Token);
            }
            while (await timer.WaitForNextTickAsync(linked.Token).ConfigureAwait(false));
        }

        /// <summary>Starts following each control socket not yet followed (a socket of another home's cluster is looked at again a minute later).</summary>
        private void Discover(CancellationToken cancel)
        {
            var now = time.GetUtcNow();
            foreach (var (id, _) in _followed.Where(f => f.Value.IsCompleted).ToList())
            {
                // Its stream ended: a socket left behind by a supervisor that died is not knocked on every second.
                _followed.Remove(id);
                _foreign[id] = now + TimeSpan.FromMinutes(1);
            }
            string[] sockets;
            try
            {
                sockets = Directory.Exists(_runtimeDirectory) ? Directory.GetFiles(_runtimeDirectory, "*.sock") : [];
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return;
            }
            foreach (var socket in sockets)
            {
                string id = Path.GetFileNameWithoutExtension(socket);
                if (_followed.ContainsKey(id) || (_foreign.TryGetValue(id, out var retry) && retry > now)) continue;
                ClusterRecord? record;
                try
                {
                    record = env.Store.GetCluster(id);
                }
                catch (Microsoft.Data.Sqlite.SqliteException)
                {
                    return; // busy: the next look finds it
                }
                if (record is not { State: ClusterState.Running, SocketPath: { } path })
                {
                    _foreign[id] = now + TimeSpan.FromMinutes(1);
                    continue;
                }
                _foreign.Remove(id);
                _followed[id] = FollowAsync(id, path, cancel);
            }
        }

        /// <summary>Follows one supervisor's stream until it ends; the cluster's last values then stay for the store's retention.</summary>
        private async Task FollowAsync(string cluster, string socket, CancellationToken cancel)
        {
            try
            {
                var client = await ControlClient.ConnectAsync(socket, cancel).ConfigureAwait(false);
                await using (client.ConfigureAwait(false))
                {
                    if (client.ProtocolVersion < 2) return; // an older supervisor without the snapshots stream
                    // Inline: each snapshot is swapped in on the connection's read loop, without waking another thread. As its
                    // bytes: the store parses the latest when a scrape asks (each frame is a fresh array, ours to keep).
                    // An older supervisor ignores everySeconds and sends a snapshot a second: still right, only busier.
                    var subscription = await client.SubscribeAsync(ControlProtocol.SnapshotsStream, w =>
                    {
                        w.WriteStartObject();
                        w.WriteNumber("everySeconds", everySeconds);
                        w.WriteEndObject();
                    }, capacity: 64, cancellationToken: cancel, inline: true).ConfigureAwait(false);
                    await using (subscription.ConfigureAwait(false))
                    {
                        await foreach (var frame in subscription.ReadAllAsync(cancel).ConfigureAwait(false))
                        {
                            if (LiveJson.IsSnapshotMessage(frame.Span)) store.Update(cluster, frame);
                        }
                    }
                    // Off the read loop before the connection is disposed (which waits for that read loop to end).
                    await Task.Yield();
                }
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (ControlClient.IsUnavailable(e) || e is JsonException)
            {
                // Gone: the cluster ended or its supervisor died.
            }
            store.Ended(cluster);
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await Task.WhenAll(_followed.Values).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException || ControlClient.IsUnavailable(e))
            {
                // stopping
            }
            _stop.Dispose();
        }
    }
}
