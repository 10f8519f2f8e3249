using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.Versioning;
using System.Text.Json;
using Zeroshot.Agents.Control;
using static Zeroshot.Agents.Tests.Control.ControlTestSupport;

namespace Zeroshot.Agents.Tests.Control;

[SupportedOSPlatform("linux")]
public sealed class ControlServerTests : IDisposable
{
    private readonly TempDir _temp = new(Mode0755);
    private readonly TestHandler _handler = new();
    private readonly ConcurrentQueue<ControlServerEvent> _events = new();

    public void Dispose() => _temp.Dispose();

    private ControlServer StartServer(Func<ControlServerOptions, ControlServerOptions>? tune = null)
    {
        var options = new ControlServerOptions { RuntimeDirectory = _temp.Combine("rt"), OnEvent = _events.Enqueue };
        return ControlServer.Start("c1", _handler, tune?.Invoke(options) ?? options);
    }

    /// <summary>"output" streams args.bytes pattern bytes in chunks of varied size (WriteAsync: waits for space).</summary>
    /// <summary>
    /// Serves "output" streams of args.bytes bytes. With <paramref name="start"/>, the data waits for it: a client whose
    /// subscription holds one frame would otherwise meet frames before the subscribe response, its reader stopped by the
    /// full subscription with the response behind them (a hang seen once in a loop of the suite under load).
    /// </summary>
    private void ServeFiniteOutput(ConcurrentDictionary<string, bool>? outcomes = null, Task? start = null)
    {
        _handler.OnSubscribe = (request, stream, sink) =>
        {
            if (stream != "output") return ValueTask.FromResult(ControlReply.Error("no-such-stream", stream));
            var args = request.Message.GetProperty("args");
            long total = args.GetProperty("bytes").GetInt64();
            string who = args.TryGetProperty("who", out var w) ? w.GetString()! : "";
            int[] sizes = [1, 4096, 65536, 3, 100_000, 1_500_000, 777];
            _ = Task.Run(async () =>
            {
                if (start is not null) await start;
                long offset = 0;
                bool ok = true;
                for (int i = 0; offset < total && ok; i++)
                {
                    int n = (int)Math.Min(sizes[i % sizes.Length], total - offset);
                    ok = await sink.WriteAsync(Pattern(offset, n));
                    offset += n;
                }
                if (ok) sink.Complete();
                outcomes?.TryAdd(who, ok);
            });
            return ValueTask.FromResult(ControlReply.Ok(x => { x.WriteStartObject(); x.WriteString("agent", "a1"); x.WriteEndObject(); }));
        };
    }

    private static async Task<long> ReadAndVerify(ControlSubscription subscription, StrongBox<long>? progress = null)
    {
        long offset = 0;
        await foreach (var frame in subscription.ReadAllAsync())
        {
            var span = frame.Span;
            for (int i = 0; i < span.Length; i++)
                if (span[i] != PatternByte(offset + i)) Assert.Fail($"byte {offset + i} differs");
            offset += span.Length;
            if (progress != null) progress.Value = offset;
        }
        return offset;
    }

    private static Action<Utf8JsonWriter> Args(long bytes, string who = "") => w =>
    {
        w.WriteStartObject();
        w.WriteNumber("bytes", bytes);
        w.WriteString("who", who);
        w.WriteEndObject();
    };

    [Fact]
    public async Task Handshake_and_requests_round_trip()
    {
        var server = StartServer();
        await using (server)
        {
            Assert.Equal(_temp.Combine("rt/c1.sock"), server.SocketPath);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(server.SocketPath));
            await using var client = await ControlClient.ConnectAsync(server.SocketPath);
            Assert.Equal((ControlProtocol.Version, "c1", Environment.ProcessId), (client.ProtocolVersion, client.ClusterId, client.ServerPid));
            Assert.StartsWith("zeroshot ", client.ServerVersion);

            var status = await client.RequestAsync(ControlProtocol.Status);
            Assert.Equal("running", status.GetProperty("state").GetString());
            Assert.Equal(12.5, status.GetProperty("agents")[0].GetProperty("cpu").GetDouble());

            await client.RequestAsync(ControlProtocol.Stop);
            Assert.Equal(1, _handler.StopCalls);

            var echo = await client.RequestAsync("echo", w => w.WriteString("text", "h\u00e9llo \"q\" \n"));
            Assert.Equal("h\u00e9llo \"q\" \n", echo.GetProperty("text").GetString());
            Assert.Equal(Environment.ProcessId, echo.GetProperty("peerPid").GetInt32());

            Assert.Equal("unknown-request", (await Assert.ThrowsAsync<ControlErrorException>(() => client.RequestAsync("frobnicate"))).Code);
            Assert.Equal("internal-error", (await Assert.ThrowsAsync<ControlErrorException>(() => client.RequestAsync("bad-json"))).Code);
            Assert.Equal("no-such-stream", (await Assert.ThrowsAsync<ControlErrorException>(() => client.SubscribeAsync("nope"))).Code);
            // The connection survives error responses.
            Assert.Equal("running", (await client.RequestAsync(ControlProtocol.Status)).GetProperty("state").GetString());

            await server.DisposeAsync();
            Assert.False(File.Exists(server.SocketPath));
            await WithDeadline(client.Completion, "the client to see the server close");
            await Assert.ThrowsAsync<IOException>(() => client.RequestAsync(ControlProtocol.Status));
        }
    }

    [Fact]
    public async Task Connecting_where_no_supervisor_runs_is_a_clear_error()
    {
        var missing = await Assert.ThrowsAsync<ControlUnavailableException>(() => ControlClient.ConnectAsync(_temp.Combine("none.sock")));
        Assert.Contains("no supervisor answers", missing.Message);
        string stale = _temp.Combine("stale.sock");
        var (code, output) = await Run("perl", "-MIO::Socket::UNIX", "-e", "IO::Socket::UNIX->new(Local => $ARGV[0], Listen => 1) or die $!", stale);
        Assert.True(code == 0, output);
        var refused = await Assert.ThrowsAsync<ControlUnavailableException>(() => ControlClient.ConnectAsync(stale));
        Assert.Contains("stale", refused.Message);
    }

    [Fact]
    public async Task A_listener_that_never_answers_the_hello_is_reported_as_unavailable()
    {
        // The kernel completes connect(2) from the listen backlog even though nobody ever accepts.
        string path = _temp.Combine("mute.sock");
        using var mute = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream,
            System.Net.Sockets.ProtocolType.Unspecified);
        mute.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
        mute.Listen(4);
        var e = await Assert.ThrowsAsync<ControlUnavailableException>(
            () => ControlClient.ConnectAsync(path, TimeSpan.FromMilliseconds(200), CancellationToken.None));
        Assert.Contains("did not answer", e.Message);
    }

    [Fact]
    public async Task Subscription_streams_several_megabytes_in_order_byte_exact()
    {
        ServeFiniteOutput();
        await using var server = StartServer();
        await using var client = await ControlClient.ConnectAsync(server.SocketPath);
        const long total = 6 * 1024 * 1024 + 12345;
        var subscription = await client.SubscribeAsync("output", Args(total));
        Assert.Equal("a1", subscription.Result.GetProperty("agent").GetString());
        Assert.Equal(total, await WithDeadline(ReadAndVerify(subscription), "the whole stream"));
        Assert.Equal(ControlProtocol.EndNormal, subscription.EndReason);
    }

    [Fact]
    public async Task Two_clients_stream_and_request_at_once()
    {
        ServeFiniteOutput();
        await using var server = StartServer();
        await using var a = await ControlClient.ConnectAsync(server.SocketPath);
        await using var b = await ControlClient.ConnectAsync(server.SocketPath);
        var sa = await a.SubscribeAsync("output", Args(3_000_000));
        var sb = await b.SubscribeAsync("output", Args(2_500_000));
        var readA = ReadAndVerify(sa);
        var readB = ReadAndVerify(sb);
        for (int i = 0; i < 20; i++)
        {
            var statuses = await Task.WhenAll(a.RequestAsync(ControlProtocol.Status), b.RequestAsync(ControlProtocol.Status));
            Assert.All(statuses, s => Assert.Equal("running", s.GetProperty("state").GetString()));
        }
        Assert.Equal(3_000_000, await WithDeadline(readA, "client A's stream"));
        Assert.Equal(2_500_000, await WithDeadline(readB, "client B's stream"));
        Assert.Equal(2, server.ActiveSessions);
    }

    [Fact]
    public async Task Requests_sent_back_to_back_are_each_read_as_sent_while_the_next_frames_arrive()
    {
        // Requests are handled on other tasks while the connection reads on; each must see its own message, not bytes of
        // a later frame that reused the read buffer (CI saw a subscribe read the next subscribe's stream id).
        await using var server = StartServer();
        await using var client = await ControlClient.ConnectAsync(server.SocketPath);
        for (int round = 0; round < 5; round++)
        {
            var texts = Enumerable.Range(0, 400).Select(i => $"request-{round}-{i}-" + new string((char)('a' + i % 26), i % 97)).ToArray();
            var answers = await WithDeadline(Task.WhenAll(texts.Select(t => client.RequestAsync("echo", w => w.WriteString("text", t)))), "the echoes");
            for (int i = 0; i < texts.Length; i++) Assert.Equal(texts[i], answers[i].GetProperty("text").GetString());
        }
    }

    [Fact]
    public async Task Unsubscribe_ends_the_stream_for_the_handler_and_the_connection_goes_on()
    {
        var handlerSawClose = new TaskCompletionSource();
        _handler.OnSubscribe = (_, _, sink) =>
        {
            _ = Task.Run(async () =>
            {
                long offset = 0;
                while (await sink.WriteAsync(Pattern(offset, 1000))) offset += 1000;
                handlerSawClose.TrySetResult();
            });
            return ValueTask.FromResult(ControlReply.Ok());
        };
        await using var server = StartServer();
        await using var client = await ControlClient.ConnectAsync(server.SocketPath);
        var subscription = await client.SubscribeAsync("endless");
        long seen = 0;
        await foreach (var frame in subscription.ReadAllAsync())
        {
            seen += frame.Length;
            if (seen >= 50_000) break;
        }
        await subscription.DisposeAsync();
        await WithDeadline(handlerSawClose.Task, "the handler to see the stream closed");
        Assert.Equal(ControlProtocol.EndUnsubscribed, subscription.EndReason);
        Assert.Equal("running", (await client.RequestAsync(ControlProtocol.Status)).GetProperty("state").GetString());
    }

    [Fact]
    public async Task Input_data_frames_reach_the_stream_handler_in_order()
    {
        // The attach shape: keystrokes in as data frames, output back on the same stream.
        _handler.OnSubscribe = (_, _, sink) =>
        {
            sink.SetInputHandler((input, _) =>
            {
                var upper = input.ToArray();
                for (int i = 0; i < upper.Length; i++) upper[i] = (byte)char.ToUpperInvariant((char)upper[i]);
                sink.TryWrite(upper);
                return ValueTask.CompletedTask;
            });
            return ValueTask.FromResult(ControlReply.Ok());
        };
        await using var server = StartServer();
        await using var client = await ControlClient.ConnectAsync(server.SocketPath);
        var subscription = await client.SubscribeAsync("attach");
        var echoed = new List<byte>();
        foreach (string keys in new[] { "ls -la\r", "q", "exit\r" })
        {
            await subscription.SendAsync(System.Text.Encoding.ASCII.GetBytes(keys));
            var frame = await WithDeadline(subscription.Frames.ReadAsync().AsTask(), "the echoed input");
            echoed.AddRange(frame);
        }
        Assert.Equal("LS -LA\rQEXIT\r", System.Text.Encoding.ASCII.GetString(echoed.ToArray()));
        // Input for a stream id nobody subscribed is discarded; the connection goes on.
        await client.SendDataAsync(999, new byte[] { 1, 2, 3 });
        Assert.Equal("running", (await client.RequestAsync(ControlProtocol.Status)).GetProperty("state").GetString());
    }

    public static TheoryData<string, byte[], string> BadInput => new()
    {
        { "garbage type", [.. HelloFrame(), 0, 0, 0, 2, 9, 0], "bad-frame" },
        { "oversized length", [.. HelloFrame(), 0x7F, 0xFF, 0xFF, 0xFF, 1], "bad-frame" },
        { "zero length", [.. HelloFrame(), 0, 0, 0, 0], "bad-frame" },
        { "invalid json", [.. HelloFrame(), .. FrameWriter.JsonFrame("{\"v\":1,"u8)], "bad-frame" },
        { "no envelope", [.. HelloFrame(), .. FrameWriter.JsonFrame("[1,2]"u8)], "bad-frame" },
        { "request before hello", FrameWriter.JsonFrame("{\"v\":1,\"id\":1,\"type\":\"status\"}"u8), "hello-required" },
        { "no common version", FrameWriter.JsonFrame("{\"v\":1,\"id\":1,\"type\":\"hello\",\"versions\":[7]}"u8), "unsupported-version" },
        { "unknown message version", [.. HelloFrame(), .. FrameWriter.JsonFrame("{\"v\":9,\"id\":2,\"type\":\"status\"}"u8)], "unsupported-version" },
    };

    private static byte[] HelloFrame() => FrameWriter.JsonFrame("{\"v\":1,\"id\":1,\"type\":\"hello\",\"versions\":[1]}"u8);

    [Theory]
    [MemberData(nameof(BadInput))]
    public async Task Bad_input_closes_only_that_client(string what, byte[] bytes, string expectedCode)
    {
        await using var server = StartServer();
        await using var good = await ControlClient.ConnectAsync(server.SocketPath);
        using (var bad = await RawClient.Connect(server.SocketPath))
        {
            await bad.Send(bytes);
            var messages = await bad.ReadToEnd();
            var error = Assert.Single(messages, m => m.GetProperty("type").GetString() == "error");
            Assert.True(expectedCode == error.GetProperty("error").GetProperty("code").GetString(), $"{what}: {error}");
        }
        await WaitUntil(() => server.ActiveSessions == 1, $"{what}: the bad client's session to close");
        Assert.Equal("running", (await good.RequestAsync(ControlProtocol.Status)).GetProperty("state").GetString());
        await using var another = await ControlClient.ConnectAsync(server.SocketPath);
        Assert.Equal("c1", another.ClusterId);
    }

    [Fact]
    public async Task A_client_stalled_mid_frame_or_before_hello_is_closed()
    {
        await using var server = StartServer(o => o with { StallTimeout = TimeSpan.FromMilliseconds(300) });
        await using var good = await ControlClient.ConnectAsync(server.SocketPath);
        using (var midFrame = await RawClient.Connect(server.SocketPath))
        {
            await midFrame.Send([.. HelloFrame(), 0, 0, 0]);
            var error = Assert.Single(await midFrame.ReadToEnd(), m => m.GetProperty("type").GetString() == "error");
            Assert.Equal("stalled", error.GetProperty("error").GetProperty("code").GetString());
        }
        using (var silent = await RawClient.Connect(server.SocketPath))
        {
            var error = Assert.Single(await silent.ReadToEnd(), m => m.GetProperty("type").GetString() == "error");
            Assert.Contains("before the hello", error.GetProperty("error").GetProperty("message").GetString());
        }
        Assert.Contains(_events, e => e.Kind == ControlServerEventKind.Closed && e.Detail.Contains("stalled in the middle of a frame"));
        // An idle client between frames is not stalled: `logs -f` only listens.
        Assert.Equal("running", (await good.RequestAsync(ControlProtocol.Status)).GetProperty("state").GetString());
    }

    [Fact]
    public async Task A_stalled_subscriber_does_not_block_others_and_is_disconnected()
    {
        var outcomes = new ConcurrentDictionary<string, bool>();
        var subscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ServeFiniteOutput(outcomes, subscribed.Task);
        await using var server = StartServer(o => o with { StallTimeout = TimeSpan.FromSeconds(2), MaxQueuedDataBytes = 2 << 20 });
        // A subscribes with room for one frame and never reads: its connection backs up to the server.
        await using var stalled = await ControlClient.ConnectAsync(server.SocketPath);
        var stalledSubscription = await WithDeadline(stalled.SubscribeAsync("output", Args(12 << 20, "stalled"), capacity: 1), "the stalled client's subscribe response");
        await using var fast = await ControlClient.ConnectAsync(server.SocketPath);
        var fastSubscription = await fast.SubscribeAsync("output", Args(12 << 20, "fast"));
        subscribed.SetResult();
        Assert.Equal(12 << 20, await WithDeadline(ReadAndVerify(fastSubscription), "the fast subscriber's stream"));
        await WaitUntil(() => _events.Any(e => e.Kind == ControlServerEventKind.Closed && e.Detail.StartsWith("stalled: the client read nothing")),
            "the stalled client to be disconnected");
        await WaitUntil(() => outcomes.ContainsKey("stalled"), "the stalled stream's writer to be released");
        Assert.False(outcomes["stalled"]);
        Assert.True(outcomes["fast"]);
        Assert.Equal("running", (await fast.RequestAsync(ControlProtocol.Status)).GetProperty("state").GetString());
        Assert.NotNull(stalledSubscription);
    }

    [Fact]
    public async Task A_slow_subscriber_is_dropped_from_a_live_stream_with_a_reason()
    {
        long accepted = 0;
        var dropped = new TaskCompletionSource();
        // The data waits for the subscribe response (see ServeFiniteOutput): frames before it would fill the one-frame
        // subscription and stop the client's reader with the response behind them.
        var subscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _handler.OnSubscribe = (_, _, sink) =>
        {
            _ = Task.Run(async () =>
            {
                await subscribed.Task;
                // Live fan-out never waits: TryWrite until the client's queue is full (bounded at 256 MiB to fail clearly).
                while (accepted < (256L << 20) && sink.TryWrite(Pattern(accepted, 65536))) accepted += 65536;
                Assert.True(sink.Closed.IsCancellationRequested);
                dropped.TrySetResult();
            });
            return ValueTask.FromResult(ControlReply.Ok());
        };
        await using var server = StartServer(o => o with { MaxQueuedDataBytes = 2 << 20 });
        await using var client = await ControlClient.ConnectAsync(server.SocketPath);
        var subscription = await WithDeadline(client.SubscribeAsync("live", capacity: 1), "the subscribe response");
        subscribed.SetResult();
        await WithDeadline(dropped.Task, "the slow subscriber to be dropped");
        Assert.True(accepted < (256L << 20), "TryWrite never reported a full queue");
        Assert.Contains(_events, e => e.Kind == ControlServerEventKind.StreamDropped);
        // Everything accepted before the drop arrives intact, then the stream ends with the reason.
        var received = new StrongBox<long>();
        var error = await Assert.ThrowsAsync<ControlErrorException>(() => ReadAndVerify(subscription, received));
        Assert.Equal(ControlProtocol.EndSlowConsumer, error.Code);
        Assert.Equal(ControlProtocol.EndSlowConsumer, subscription.EndReason);
        Assert.Equal(accepted, received.Value);
        // The connection itself stays up.
        Assert.Equal("running", (await client.RequestAsync(ControlProtocol.Status)).GetProperty("state").GetString());
        Assert.Equal(1, server.ActiveSessions);
    }

    [Fact]
    public async Task A_stale_socket_is_replaced_but_a_live_one_is_refused()
    {
        string dir = RuntimeDirectory.EnsureSecure(_temp.Combine("rt"));
        string path = Path.Combine(dir, "c1.sock");
        // A supervisor that died leaves its socket file behind: perl binds, listens and exits without unlinking.
        var (code, output) = await Run("perl", "-MIO::Socket::UNIX", "-e", "IO::Socket::UNIX->new(Local => $ARGV[0], Listen => 1) or die $!", path);
        Assert.True(code == 0, output);
        Assert.True(File.Exists(path));
        await using (var server = StartServer())
        {
            await using var client = await ControlClient.ConnectAsync(server.SocketPath);
            Assert.Equal("c1", client.ClusterId);
            var live = Assert.Throws<UserErrorException>(() => StartServer());
            Assert.Contains("already has a running supervisor", live.Message);
            Assert.Equal("running", (await client.RequestAsync(ControlProtocol.Status)).GetProperty("state").GetString());
        }
        File.WriteAllText(path, "not a socket");
        Assert.Contains("not a socket", Assert.Throws<UserErrorException>(() => StartServer()).Message);
    }

    [Fact]
    public void An_unsafe_runtime_directory_or_a_long_path_is_refused_at_start()
    {
        string dir = _temp.Combine("open");
        Directory.CreateDirectory(dir);
        File.SetUnixFileMode(dir, Mode0777);
        Assert.Contains("mode 777", Assert.Throws<UserErrorException>(
            () => ControlServer.Start("c1", _handler, new ControlServerOptions { RuntimeDirectory = dir })).Message);
        Assert.Contains("too long", Assert.Throws<UserErrorException>(
            () => ControlServer.Start(new string('x', 100), _handler, new ControlServerOptions { RuntimeDirectory = _temp.Combine("rt") })).Message);
    }

    private const string PerlClient = """
        use strict; use Socket; use IO::Socket::UNIX;
        $SIG{PIPE} = 'IGNORE';
        my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $ARGV[0]) or do { print "connect-failed: $!\n"; exit 3 };
        my $j = '{"v":1,"id":1,"type":"hello","versions":[1]}';
        syswrite($s, pack("NC", length($j) + 1, 1) . $j);
        my ($all, $buf) = ('', '');
        while (sysread($s, $buf, 65536)) { $all .= $buf }
        while (length($all) >= 5) { my ($len, $type) = unpack("NC", $all); print "frame $type: ", substr($all, 5, $len - 1), "\n"; $all = substr($all, 4 + $len) }
        print "eof\n";
        """;

    private static Task<(int, string)> RunAsNobody(string socketPath) =>
        Run("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "perl", "-e", PerlClient, socketPath);

    [Fact]
    public async Task Another_uid_is_refused_by_peer_credentials()
    {
        Assert.Equal(0u, ControlNative.EffectiveUid); // the test's premise: we are root, and root is not special
        using var open = new TempDir(Mode0777);
        string path = open.Combine("c1.sock");
        await using var server = ControlServer.StartAtPathForTesting(path, "c1", _handler,
            new ControlServerOptions { OnEvent = _events.Enqueue }, socketMode: Mode0777);
        var (_, output) = await RunAsNobody(path);
        // The connection got through the file system, so only SO_PEERCRED can have refused it.
        Assert.DoesNotContain("connect-failed", output);
        Assert.Contains("\"code\":\"forbidden\"", output);
        Assert.Contains("uid 65534", output);
        Assert.EndsWith("eof\n", output);
        Assert.Equal(1, server.RefusedPeers);
        var refusal = Assert.Single(_events, e => e.Kind == ControlServerEventKind.PeerRefused);
        Assert.Equal(65534u, refusal.PeerUid);
        Assert.DoesNotContain(_events, e => e.Kind == ControlServerEventKind.Connected);
        // Our own client does not even connect through a directory anyone can write.
        Assert.Contains("mode 777 lets other users put sockets in it",
            (await Assert.ThrowsAsync<UserErrorException>(() => ControlClient.ConnectAsync(path))).Message);
    }

    [Fact]
    public async Task The_0700_directory_denies_another_uid_at_the_file_system()
    {
        await using var server = StartServer();
        var (code, output) = await RunAsNobody(server.SocketPath);
        Assert.Equal(3, code);
        Assert.Contains("connect-failed: Permission denied", output);
        Assert.Equal(0, server.RefusedPeers);
        Assert.DoesNotContain(_events, e => e.Kind == ControlServerEventKind.Connected);
    }

    [Fact]
    public async Task The_client_reports_a_refusal_as_a_typed_error()
    {
        // A server that lets in only some other uid refuses us exactly as it refuses a foreign peer.
        await using var server = StartServer(o => o with { AllowedUid = 4242 });
        var e = await Assert.ThrowsAsync<ControlErrorException>(() => ControlClient.ConnectAsync(server.SocketPath));
        Assert.Equal("forbidden", e.Code);
        Assert.Contains("uid 0 may not use", e.Message);
        Assert.Equal(1, server.RefusedPeers);
    }
}
