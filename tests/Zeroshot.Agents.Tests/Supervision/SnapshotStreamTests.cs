using System.Collections.Concurrent;
using System.Runtime.Versioning;
using Zeroshot.Agents.Config;
using Zeroshot.Agents.Control;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;
using Zeroshot.Agents.Tests.Control;
using Zeroshot.Metrics;

namespace Zeroshot.Agents.Tests.Supervision;

/// <summary>The control socket's <c>snapshots</c> stream, served by a real supervisor running real agents.</summary>
[SupportedOSPlatform("linux")]
public sealed class SnapshotStreamTests : IDisposable
{
    private const int Agents = 16;
    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    private sealed class Received
    {
        public readonly ConcurrentQueue<ClusterSnapshot> Snapshots = new();
        public readonly ConcurrentQueue<ClusterEvent> Events = new();
        public LiveMessage? First;
    }

    private static async Task<Received> ReadAll(ControlSubscription subscription)
    {
        var received = new Received();
        await foreach (var frame in subscription.ReadAllAsync())
        {
            var message = LiveJson.ReadMessage(frame.Span);
            received.First ??= message;
            if (message.Snapshot is { } s) received.Snapshots.Enqueue(s);
            if (message.Event is { } e) received.Events.Enqueue(e);
        }
        return received;
    }

    [Fact]
    public async Task Three_subscribers_get_the_snapshot_then_every_tick_and_the_events_and_one_that_never_reads_is_dropped_alone()
    {
        var home = new ZeroshotHome(_temp.Combine("home")).EnsureCreated();
        using var store = StateStore.Open(home);
        // Sixteen agents, so each snapshot is about 10 KB and a client that reads nothing fills its socket and its 1 MiB
        // queue (the smallest the transport allows) within a second or two.
        var agents = Enumerable.Range(1, Agents).Select(i => new AgentConfig($"worker-{i}", AgentRole.Worker, Command: ["sleep", "6"])).ToList();
        var config = new ClusterConfig("stream", null, 1, agents);
        const string id = "stream-test";
        store.CreateCluster(ClusterRecord.New(id, config, DateTimeOffset.UtcNow));
        var services = new SupervisorServices(store, home, new ProviderCatalog(ZeroshotSettings.Default, ["zeroshot"]), TimeProvider.System,
            o => PlatformSampler.Create(o, TimeProvider.System))
        {
            // 50 snapshots of ~10 KB a second: the stuck client fills its socket and queue in a few seconds while the two
            // readers keep up. At 5 ms (2 MB/s a subscriber, parsed by a Debug build on 2 cores) the readers fell behind
            // too, once the ticks ran on their own thread instead of waiting for a pool thread between them.
            SampleInterval = TimeSpan.FromMilliseconds(20),
        };
        var fanout = new OutputFanout();
        var feed = new LiveFeed();
        var supervisor = new ClusterSupervisor(id, config, services, new CompositeObserver(fanout, feed));
        var serverEvents = new ConcurrentQueue<ControlServerEvent>();
        var server = ControlServer.Start(id, new SupervisorControlHandler(supervisor, fanout, feed),
            new ControlServerOptions { RuntimeDirectory = _temp.Combine("rt"), MaxQueuedDataBytes = (1 << 20) + FrameWriter.DataHeaderSize, OnEvent = serverEvents.Enqueue });
        await using var serverScope = server;

        var clients = new List<ControlClient>();
        for (int i = 0; i < 3; i++) clients.Add(await ControlClient.ConnectAsync(server.SocketPath));
        try
        {
            Assert.All(clients, c => Assert.Equal(ControlProtocol.Version, c.ProtocolVersion));
            var live1 = await clients[0].SubscribeAsync(ControlProtocol.SnapshotsStream);
            var live2 = await clients[1].SubscribeAsync(ControlProtocol.SnapshotsStream);
            // Capacity 1 and nobody reading: the client stops reading its socket, as a stuck process would.
            var stuck = await clients[2].SubscribeAsync(ControlProtocol.SnapshotsStream, capacity: 1);
            var reading1 = ReadAll(live1);
            var reading2 = ReadAll(live2);

            var run = Task.Run(supervisor.RunAsync);
            await ControlTestSupport.WaitUntil(() => serverEvents.Any(e => e.Kind == ControlServerEventKind.StreamDropped),
                "the subscriber that never reads is dropped");
            Assert.False(run.IsCompleted, "the cluster ran on while a subscriber was stuck");

            // status stays one request-reply of the same record.
            var status = LiveJson.ReadSnapshot(await clients[0].RequestAsync(ControlProtocol.Status));
            Assert.Equal(Agents, status.Agents.Count);
            Assert.All(status.Agents, a => Assert.Null(a.History));

            var state = await ControlTestSupport.WithDeadline(run, "the cluster ends");
            feed.CompleteAll();
            Assert.Equal(ClusterState.Completed, state);
            Assert.All(store.GetCluster(id)!.Agents, a => Assert.Equal((AgentState.Completed, (int?)0), (a.State, a.ExitCode)));

            foreach (var received in new[] { await ControlTestSupport.WithDeadline(reading1, "stream 1 ends"), await ControlTestSupport.WithDeadline(reading2, "stream 2 ends") })
            {
                Assert.NotNull(received.First?.Snapshot); // the current snapshot at once
                Assert.True(received.Snapshots.Count > 20, $"one snapshot per tick (got {received.Snapshots.Count})");
                var events = received.Events.ToList();
                Assert.Equal(Agents, events.OfType<AgentStartedEvent>().Count());
                Assert.Equal(Agents, events.OfType<AgentExitedEvent>().Count(e => e.State == AgentState.Completed));
                Assert.IsType<IterationStartedEvent>(events[0]);
                Assert.Equal(ClusterState.Completed, Assert.IsType<ClusterEndedEvent>(events[^1]).State);
                Assert.Equal(ClusterState.Completed, received.Snapshots.Last().State);
                Assert.Contains(received.Snapshots, s => s.Agents.Any(a => a.Metrics is { Exists: true }));
            }
            Assert.Equal(ControlProtocol.EndNormal, live1.EndReason);
            Assert.Equal(ControlProtocol.EndNormal, live2.EndReason);

            // The stuck one, read at last: what was queued, then the drop.
            var error = await Assert.ThrowsAsync<ControlErrorException>(() => ControlTestSupport.WithDeadline(ReadAll(stuck), "the stuck stream ends"));
            Assert.Equal(ControlProtocol.EndSlowConsumer, error.Code);
            Assert.Single(serverEvents, e => e.Kind == ControlServerEventKind.StreamDropped);
        }
        finally
        {
            foreach (var client in clients) await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_version_1_client_cannot_subscribe_to_snapshots_but_still_gets_status()
    {
        var home = new ZeroshotHome(_temp.Combine("home")).EnsureCreated();
        using var store = StateStore.Open(home);
        var config = new ClusterConfig("v1", null, 1, [new AgentConfig("worker", AgentRole.Worker, Command: ["true"])]);
        store.CreateCluster(ClusterRecord.New("v1-test", config, DateTimeOffset.UtcNow));
        var services = new SupervisorServices(store, home, new ProviderCatalog(ZeroshotSettings.Default, ["zeroshot"]), TimeProvider.System,
            o => PlatformSampler.Create(o, TimeProvider.System));
        var supervisor = new ClusterSupervisor("v1-test", config, services, new CompositeObserver());
        var server = ControlServer.Start("v1-test", new SupervisorControlHandler(supervisor, new OutputFanout(), new LiveFeed()),
            new ControlServerOptions { RuntimeDirectory = _temp.Combine("rt") });
        await using var serverScope = server;
        using var raw = await RawClient.Connect(server.SocketPath);
        await raw.SendHello(); // versions [1]: an older client
        await raw.Send(FrameWriter.JsonFrame("""{"v":1,"id":2,"type":"subscribe","streamId":1,"stream":"snapshots"}"""u8));
        await raw.Send(FrameWriter.JsonFrame("""{"v":1,"id":3,"type":"status"}"""u8));
        var messages = await raw.ReadMessages(3);
        Assert.All(messages, m => Assert.Equal(1, m.GetProperty("v").GetInt32()));
        Assert.Equal(1, messages[0].GetProperty("result").GetProperty("protocol").GetInt32());
        var subscribe = messages.Single(m => m.GetProperty("id").GetInt64() == 2);
        Assert.Equal("unsupported-version", subscribe.GetProperty("error").GetProperty("code").GetString());
        var status = messages.Single(m => m.GetProperty("id").GetInt64() == 3);
        Assert.Equal("v1-test", LiveJson.ReadSnapshot(status.GetProperty("result")).Id);
    }
}
