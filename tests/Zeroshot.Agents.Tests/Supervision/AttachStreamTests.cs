using System.Buffers.Binary;
using System.Runtime.Versioning;
using System.Text;
using Zeroshot.Agents.Config;
using Zeroshot.Agents.Control;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;
using Zeroshot.Agents.Tests.Control;
using Zeroshot.Metrics;
using Zeroshot.Terminal.Screen;

namespace Zeroshot.Agents.Tests.Supervision;

/// <summary>
/// The control socket's <c>attach</c> stream (protocol version 3), served by a real supervisor running real programs on
/// real PTYs: the replay, keystrokes, the window size, signals, read-only clients, the supervisor's answers to queries, and
/// a client that stops reading.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class AttachStreamTests : IDisposable
{
    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>A running supervisor of one cluster with its control server.</summary>
    private sealed class Cluster : IAsyncDisposable
    {
        public required ClusterSupervisor Supervisor { get; init; }
        public required ControlServer Server { get; init; }
        public required Task<ClusterState> Run { get; init; }
        public required StateStore Store { get; init; }
        public required ZeroshotHome Home { get; init; }

        public async ValueTask DisposeAsync()
        {
            Supervisor.RequestKill();
            await ControlTestSupport.WithDeadline(Run, "the cluster ends");
            await Server.DisposeAsync();
            Store.Dispose();
        }
    }

    private async Task<Cluster> StartAsync(string id, int? maxQueuedData = null, params AgentConfig[] agents)
    {
        var home = new ZeroshotHome(_temp.Combine("home-" + id)).EnsureCreated();
        var store = StateStore.Open(home);
        var config = new ClusterConfig(id, null, 1, agents);
        store.CreateCluster(ClusterRecord.New(id, config, DateTimeOffset.UtcNow));
        var services = new SupervisorServices(store, home, new ProviderCatalog(ZeroshotSettings.Default, ["zeroshot"]), TimeProvider.System,
            o => PlatformSampler.Create(o, TimeProvider.System), TerminalColumns: 80, TerminalRows: 24)
        {
            SampleInterval = TimeSpan.FromMilliseconds(100),
            StopGrace = TimeSpan.FromSeconds(1),
        };
        var fanout = new OutputFanout();
        var feed = new LiveFeed();
        var supervisor = new ClusterSupervisor(id, config, services, new CompositeObserver(fanout, feed));
        var options = new ControlServerOptions { RuntimeDirectory = _temp.Combine("rt") };
        if (maxQueuedData is int max) options = options with { MaxQueuedDataBytes = max };
        var server = ControlServer.Start(id, new SupervisorControlHandler(supervisor, fanout, feed), options);
        var run = Task.Run(supervisor.RunAsync);
        await ControlTestSupport.WaitUntil(() => supervisor.Snapshot().Agents.All(a => a.State != AgentState.Waiting || a.Id.StartsWith("later", StringComparison.Ordinal)),
            "the agents start");
        return new Cluster { Supervisor = supervisor, Server = server, Run = run, Store = store, Home = home };
    }

    /// <summary>What a client rebuilds from an attach stream: the screen, the frames' kinds, the exit.</summary>
    private sealed class Viewer
    {
        private readonly object _gate = new();
        private ScreenModel _screen = new(1, 1);
        public readonly List<char> Kinds = [];
        public int? ExitCode;
        public int Replays;

        public void Apply(ReadOnlySpan<byte> frame)
        {
            lock (_gate)
            {
                Kinds.Add((char)frame[0]);
                var payload = frame[1..];
                switch (frame[0])
                {
                    case AgentTerminal.SizeFrame:
                        int rows = BinaryPrimitives.ReadUInt16BigEndian(payload), columns = BinaryPrimitives.ReadUInt16BigEndian(payload[2..]);
                        if (rows != _screen.Rows || columns != _screen.Columns) _screen.Resize(rows, columns);
                        break;
                    case AgentTerminal.ReplayFrame:
                        _screen = new ScreenModel(_screen.Rows, _screen.Columns);
                        Replays++;
                        break;
                    case AgentTerminal.OutputFrame:
                        _screen.Feed(payload);
                        break;
                    case AgentTerminal.ExitFrame:
                        ExitCode = BinaryPrimitives.ReadInt32BigEndian(payload);
                        break;
                }
            }
        }

        public string Text
        {
            get
            {
                lock (_gate) return string.Join("\n", _screen.Text());
            }
        }

        public (int Rows, int Columns) Size
        {
            get
            {
                lock (_gate) return (_screen.Rows, _screen.Columns);
            }
        }
    }

    private static async Task<(ControlSubscription Stream, Viewer Viewer, Task Reading)> AttachAsync(ControlClient client, string? agent,
        bool readOnly = false, (int Columns, int Rows)? size = null, int capacity = 256)
    {
        var stream = await client.SubscribeAsync(ControlProtocol.AttachStream, w =>
        {
            w.WriteStartObject();
            if (agent is not null) w.WriteString("agent", agent);
            w.WriteBoolean("readOnly", readOnly);
            if (size is var (c, r))
            {
                w.WriteNumber("cols", c);
                w.WriteNumber("rows", r);
            }
            w.WriteEndObject();
        }, capacity);
        var viewer = new Viewer();
        var reading = Task.Run(async () =>
        {
            await foreach (var frame in stream.ReadAllAsync()) viewer.Apply(frame.Span);
        });
        return (stream, viewer, reading);
    }

    private static AgentConfig Shell(string id) => new(id, AgentRole.Worker, Command: ["sh", "-i"], Env: new Dictionary<string, string> { ["PS1"] = "$ ", ["ENV"] = "" });

    [Fact]
    public async Task A_client_sees_the_screen_types_into_the_agent_resizes_it_and_interrupts_its_foreground_job()
    {
        await using var cluster = await StartAsync("attach-shell", null, Shell("worker"));
        await using var client = await ControlClient.ConnectAsync(cluster.Server.SocketPath);
        Assert.Equal(ControlProtocol.Version, client.ProtocolVersion);
        var (stream, viewer, reading) = await AttachAsync(client, null, size: (100, 30));
        Assert.Equal("worker", stream.Result.GetProperty("agent").GetString());
        // The size first, then the replay, then live output.
        await ControlTestSupport.WaitUntil(() => viewer.Kinds.Count >= 3, "the first frames");
        Assert.Equal(['s', 'r', 'o'], viewer.Kinds.Take(3));
        await ControlTestSupport.WaitUntil(() => viewer.Text.Contains('$', StringComparison.Ordinal), "the prompt");

        await stream.SendAsync(Encoding.ASCII.GetBytes("echo hel''lo; stty size\r"));
        await ControlTestSupport.WaitUntil(() => viewer.Text.Contains("\nhello\n", StringComparison.Ordinal) && viewer.Text.Contains("30 100", StringComparison.Ordinal),
            "the answer, and the window size the client gave");
        Assert.Equal((30, 100), viewer.Size);

        await client.RequestAsync(ControlProtocol.Resize, w =>
        {
            w.WriteNumber("streamId", stream.StreamId);
            w.WriteNumber("cols", 90);
            w.WriteNumber("rows", 20);
        });
        await stream.SendAsync(Encoding.ASCII.GetBytes("stty size\r"));
        await ControlTestSupport.WaitUntil(() => viewer.Text.Contains("20 90", StringComparison.Ordinal), "the agent learns the new size");
        Assert.Equal((20, 90), viewer.Size);

        // prefix c: SIGINT to the foreground job (sleep), not the shell, which prints its prompt again and answers.
        await stream.SendAsync(Encoding.ASCII.GetBytes("sleep 100\r"));
        await ControlTestSupport.WaitUntil(() => viewer.Text.Contains("sleep 100", StringComparison.Ordinal), "sleep runs");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        // dash answers SIGINT with a new line and its prompt.
        while (!System.Text.RegularExpressions.Regex.IsMatch(viewer.Text, @"sleep 100\n\n*\$"))
        {
            Assert.True(DateTime.UtcNow < deadline, "the shell prompts again after the interrupt; the screen:\n" + viewer.Text);
            // The job may not be in the foreground yet when its name is echoed: ask again until the shell prompts.
            await client.RequestAsync(ControlProtocol.Signal, w =>
            {
                w.WriteNumber("streamId", stream.StreamId);
                w.WriteString("signal", "INT");
            });
            await Task.Delay(200);
        }
        await stream.SendAsync(Encoding.ASCII.GetBytes("echo after-int\r"));
        await ControlTestSupport.WaitUntil(() => viewer.Text.Contains("\nafter-int", StringComparison.Ordinal), "the shell answers after the interrupt");

        // A second, read-only client: the same screen, its keys go nowhere, it may not resize.
        await using var second = await ControlClient.ConnectAsync(cluster.Server.SocketPath);
        var (roStream, roViewer, roReading) = await AttachAsync(second, "worker", readOnly: true, size: (40, 10));
        await ControlTestSupport.WaitUntil(() => roViewer.Text.Contains("after-int", StringComparison.Ordinal), "the replay shows the same screen");
        Assert.Equal((20, 90), roViewer.Size); // the writable client's size, not the viewer's
        await roStream.SendAsync(Encoding.ASCII.GetBytes("echo from-viewer\r"));
        var refused = await Assert.ThrowsAsync<ControlErrorException>(() => second.RequestAsync(ControlProtocol.Resize, w =>
        {
            w.WriteNumber("streamId", roStream.StreamId);
            w.WriteNumber("cols", 40);
            w.WriteNumber("rows", 10);
        }));
        Assert.Equal("read-only", refused.Code);
        await stream.SendAsync(Encoding.ASCII.GetBytes("echo marker-2\r"));
        await ControlTestSupport.WaitUntil(() => roViewer.Text.Contains("\nmarker-2", StringComparison.Ordinal), "the viewer sees live output");
        Assert.DoesNotContain("from-viewer", viewer.Text, StringComparison.Ordinal);
        await AttachedSoon(cluster, 2);

        // The agent exits: both clients get the exit frame and the end of their streams.
        await stream.SendAsync(Encoding.ASCII.GetBytes("exit 7\r"));
        await ControlTestSupport.WithDeadline(reading, "the writer's stream ends");
        await ControlTestSupport.WithDeadline(roReading, "the viewer's stream ends");
        Assert.Equal(7, viewer.ExitCode);
        Assert.Equal(7, roViewer.ExitCode);
        Assert.Equal('x', viewer.Kinds[^1]);
    }

    private static Task AttachedSoon(Cluster cluster, int expected) =>
        ControlTestSupport.WaitUntil(() => cluster.Supervisor.Snapshot().Agents[0].Attached == expected, $"{expected} attached in the snapshot");

    [Fact]
    public async Task When_the_active_client_leaves_the_previous_clients_size_returns_and_the_last_ones_size_stays()
    {
        await using var cluster = await StartAsync("attach-sizes", null, Shell("worker"));
        await using var first = await ControlClient.ConnectAsync(cluster.Server.SocketPath);
        await using var second = await ControlClient.ConnectAsync(cluster.Server.SocketPath);
        var (s1, v1, _) = await AttachAsync(first, "worker", size: (100, 30));
        await ControlTestSupport.WaitUntil(() => v1.Size == (30, 100), "the first client's size");
        var (s2, v2, _) = await AttachAsync(second, "worker", size: (70, 15));
        await ControlTestSupport.WaitUntil(() => v1.Size == (15, 70) && v2.Size == (15, 70), "the second (newest) client's size, told to both");
        await s2.DisposeAsync();
        await ControlTestSupport.WaitUntil(() => v1.Size == (30, 100), "the first client's size again");
        await s1.SendAsync(Encoding.ASCII.GetBytes("stty size\r"));
        await ControlTestSupport.WaitUntil(() => v1.Text.Contains("30 100", StringComparison.Ordinal), "the agent has it");
        await s1.DisposeAsync();
        // No writable client: the last one's size stays (a read-only viewer changes nothing), until the supervisor's changes.
        await using var viewer = await ControlClient.ConnectAsync(cluster.Server.SocketPath);
        var (_, v3, _) = await AttachAsync(viewer, "worker", readOnly: true, size: (50, 10));
        await ControlTestSupport.WaitUntil(() => v3.Size == (30, 100), "the last size");
        cluster.Supervisor.ResizeTerminals(81, 23);
        await ControlTestSupport.WaitUntil(() => v3.Size == (23, 81), "the supervisor's size");
    }

    [Fact]
    public async Task Keystrokes_reach_the_agent_in_order_when_its_terminal_takes_them_at_once_and_when_they_must_wait()
    {
        // The agent reads nothing for a second, so the first keys go into the PTY directly until its input queue is full
        // (tens of KB), the rest wait in the supervisor's queue; then it reads everything into a file.
        const int Chunks = 160, ChunkBytes = 1024;
        string file = _temp.Combine("typed.txt");
        var agent = new AgentConfig("worker", AgentRole.Worker, Command: ["sh", "-c",
            $"stty raw -echo; sleep 1; head -c {Chunks * ChunkBytes} > '{file}'"]);
        await using var cluster = await StartAsync("attach-order", null, agent);
        await using var client = await ControlClient.ConnectAsync(cluster.Server.SocketPath);
        var (stream, _, _) = await AttachAsync(client, "worker");
        var sent = new StringBuilder();
        for (int i = 0; i < Chunks; i++)
        {
            string chunk = $"<{i:D4}>".PadRight(ChunkBytes, (char)('a' + i % 26));
            sent.Append(chunk);
            await stream.SendAsync(Encoding.ASCII.GetBytes(chunk));
        }
        await ControlTestSupport.WithDeadline(cluster.Run, "the agent reads every key and ends");
        string typed = await File.ReadAllTextAsync(file);
        Assert.Equal(sent.Length, typed.Length);
        Assert.True(sent.ToString() == typed, "the keys arrived out of order or changed");
    }

    [Fact]
    public async Task The_supervisor_answers_the_agents_terminal_queries_with_no_client_attached()
    {
        // The agent asks for its device attributes (DA1) and the cursor position (DSR 6) in raw mode and prints the answers.
        var agent = new AgentConfig("worker", AgentRole.Worker, Command: ["sh", "-c",
            "stty raw -echo; printf 'ab\\033[c'; a=$(dd bs=1 count=7 2>/dev/null | od -An -c | tr -d ' \\n'); printf '\\033[6n'; b=$(dd bs=1 count=6 2>/dev/null | od -An -c | tr -d ' \\n'); stty sane; echo; echo \"DA1=$a\"; echo \"DSR=$b\""]);
        await using var cluster = await StartAsync("attach-queries", null, agent);
        await ControlTestSupport.WithDeadline(cluster.Run, "the agent answers and ends");
        string log = await File.ReadAllTextAsync(cluster.Home.AgentLogPath("attach-queries", "worker"));
        Assert.Contains("DA1=033[?1;2c", log, StringComparison.Ordinal);
        Assert.Contains("DSR=033[1;3R", log, StringComparison.Ordinal); // after "ab": row 1, column 3
    }

    [Fact]
    public async Task A_client_that_stops_reading_never_stops_the_agent_and_gets_a_fresh_screen_when_it_reads_again()
    {
        // 17 MB of numbered lines, then a marker; the client's queue holds 1 MiB, its channel 64 frames, and it reads
        // nothing meanwhile.
        string done = _temp.Combine("written");
        var agent = new AgentConfig("worker", AgentRole.Worker, Command: ["sh", "-c", $"seq 1 2500000; echo THE-END; touch {done}; sleep 60"]);
        await using var cluster = await StartAsync("attach-slow", (1 << 20) + FrameWriter.DataHeaderSize, agent);
        await using var client = await ControlClient.ConnectAsync(cluster.Server.SocketPath);
        // The channel must hold every frame that can arrive before the subscribe response (the size, the replay marker,
        // the replay, and live output the pump sends meanwhile): a full channel stops the client's reader, response included.
        var stream = await ControlTestSupport.WithDeadline(client.SubscribeAsync(ControlProtocol.AttachStream, w =>
        {
            w.WriteStartObject();
            w.WriteString("agent", "worker");
            w.WriteBoolean("readOnly", true);
            w.WriteEndObject();
        }, capacity: 64), "the subscribe response");
        // The agent finishes its output while this client reads nothing.
        // (Within the transport's 10 s stall timeout: a client that reads nothing for longer is disconnected.)
        await ControlTestSupport.WaitUntil(() => File.Exists(done), "the agent wrote everything");
        var viewer = new Viewer();
        var reading = Task.Run(async () =>
        {
            await foreach (var frame in stream.ReadAllAsync()) viewer.Apply(frame.Span);
        });
        await ControlTestSupport.WaitUntil(() => viewer.Text.Contains("2500000\nTHE-END", StringComparison.Ordinal), "the client's screen ends as the agent's does");
        Assert.True(viewer.Replays >= 2, $"a fresh replay after falling behind (replays: {viewer.Replays})");
        Assert.Equal(AgentState.Running, cluster.Supervisor.Snapshot().Agents[0].State);
        await ControlTestSupport.WithDeadline(stream.DisposeAsync().AsTask(), "the unsubscribe");
        await ControlTestSupport.WithDeadline(reading.ContinueWith(_ => { }, TaskScheduler.Default), "the reader ends");
    }

    [Fact]
    public async Task Attach_names_what_is_wrong_unknown_agent_nothing_running_or_an_old_protocol()
    {
        await using var cluster = await StartAsync("attach-errors", null,
            new AgentConfig("worker", AgentRole.Worker, Command: ["sleep", "30"]),
            new AgentConfig("later", AgentRole.Validator, Command: ["true"], After: ["worker"]));
        await using var client = await ControlClient.ConnectAsync(cluster.Server.SocketPath);
        var unknown = await Assert.ThrowsAsync<ControlErrorException>(() => AttachAsync(client, "nobody"));
        Assert.Equal("not-running", unknown.Code);
        Assert.Contains("has no agent 'nobody' (agents: worker, later)", unknown.Message, StringComparison.Ordinal);
        var waiting = await Assert.ThrowsAsync<ControlErrorException>(() => AttachAsync(client, "later"));
        Assert.Contains("agent later of cluster attach-errors is not running (waiting)", waiting.Message, StringComparison.Ordinal);
        var bad = await Assert.ThrowsAsync<ControlErrorException>(() => client.RequestAsync(ControlProtocol.Resize, w => w.WriteNumber("streamId", 99)));
        Assert.Equal("unknown-stream", bad.Code);
    }

    [Fact]
    public async Task Kill_naming_an_agent_kills_that_agent_alone_and_says_why_it_cannot_otherwise()
    {
        // The validator waits behind the worker, and the other worker-like agent keeps running: only "victim" dies.
        var victim = new AgentConfig("victim", AgentRole.Worker, Command: ["sh", "-c", "echo first line; echo the last line; exec sleep 60"]);
        var later = new AgentConfig("later", AgentRole.Validator, Command: ["sh", "-c", "exit 0"]);
        await using var cluster = await StartAsync("kill-one", null, victim, later);
        await using var client = await ControlClient.ConnectAsync(cluster.Server.SocketPath);
        Assert.Equal(ControlProtocol.Version, client.ProtocolVersion);
        await ControlTestSupport.WaitUntil(() => cluster.Supervisor.Snapshot().Agents[0].LastLine == "the last line", "the last line in the snapshot");
        // The live model carries it to every reader: the status document too.
        var status = LiveJson.ReadSnapshot(await client.RequestAsync(ControlProtocol.Status));
        Assert.Equal("the last line", status.Agents[0].LastLine);
        Assert.Null(status.Agents[1].LastLine);

        var unknown = await Assert.ThrowsAsync<ControlErrorException>(() => client.RequestAsync(ControlProtocol.Kill, w => w.WriteString("agent", "nobody")));
        Assert.Equal("not-running", unknown.Code);
        Assert.Contains("has no agent 'nobody'", unknown.Message, StringComparison.Ordinal);
        // "later" may have run its `exit 0` already: wait until the supervisor has seen that end (under load its exit can
        // still be on the way, and the kill then rightly says "has already exited").
        await ControlTestSupport.WaitUntil(() => cluster.Supervisor.Snapshot().Agents[1].State != AgentState.Running, "later not running");
        var waiting = await Assert.ThrowsAsync<ControlErrorException>(() => client.RequestAsync(ControlProtocol.Kill, w => w.WriteString("agent", "later")));
        Assert.StartsWith("agent later of cluster kill-one is not running", waiting.Message, StringComparison.Ordinal);
        var bad = await Assert.ThrowsAsync<ControlErrorException>(() => client.RequestAsync(ControlProtocol.Kill, w => w.WriteNumber("agent", 1)));
        Assert.Equal("bad-request", bad.Code);
        Assert.Equal(AgentState.Running, cluster.Supervisor.Snapshot().Agents[0].State); // none of those killed anything

        await client.RequestAsync(ControlProtocol.Kill, w => w.WriteString("agent", "victim"));
        await ControlTestSupport.WaitUntil(() => cluster.Supervisor.Snapshot().Agents[0].State == AgentState.Failed, "the victim's run ends");
        var after = cluster.Supervisor.Snapshot().Agents[0];
        Assert.Contains("signal 9", after.LastError, StringComparison.Ordinal);
        Assert.Equal("the last line", after.LastLine); // kept after the run
    }
}

[SupportedOSPlatform("linux")]
public sealed class TerminalSizesTests
{
    private readonly object _a = new(), _b = new(), _c = new();

    [Fact]
    public void The_most_recently_active_writable_client_sets_the_size_and_the_previous_returns_when_it_leaves()
    {
        var sizes = new TerminalSizes(80, 24);
        Assert.Equal((100, 30), sizes.Activate(_a, 100, 30));
        Assert.Equal((70, 15), sizes.Activate(_b, 70, 15));
        Assert.Null(sizes.Activate(_c, 70, 15)); // same size: nothing to apply
        Assert.Null(sizes.Touch(_c));
        Assert.Equal((100, 30), sizes.Touch(_a)); // a typed: its size again
        Assert.Equal((70, 15), sizes.Remove(_a));
        Assert.Null(sizes.Remove(_c));
        Assert.Null(sizes.SetBase(120, 40)); // b still decides
        Assert.Null(sizes.Remove(_b)); // the last one leaves: its size stays
        Assert.Equal((70, 15), sizes.Current);
        Assert.Equal((120, 40), sizes.SetBase(120, 40));
        Assert.Null(sizes.Touch(_a)); // gone clients change nothing
    }
}
