using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text;
using System.Text.Json;
using Zeroshot.Agents.Control;

namespace Zeroshot.Agents.Tests.Control;

/// <summary>A temp directory removed with everything in it.</summary>
[SupportedOSPlatform("linux")]
internal sealed class TempDir : IDisposable
{
    public TempDir(UnixFileMode? mode = null)
    {
        // Short names: socket paths must stay under sun_path's 108 bytes.
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "zsc-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(Path);
        if (mode is { } m) File.SetUnixFileMode(Path, m); // explicit chmod: mkdir's mode is filtered by the umask
    }

    public string Path { get; }

    public string Combine(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A temp directory left behind costs nothing; a failed cleanup must not fail the test.
        }
    }
}

[SupportedOSPlatform("linux")]
internal static class ControlTestSupport
{
    public const UnixFileMode Mode0755 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    public const UnixFileMode Mode0777 = Mode0755 | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite;

    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    /// <summary>Polls <paramref name="condition"/> every 20 ms; fails with <paramref name="what"/> after the deadline.</summary>
    public static async Task WaitUntil(Func<bool> condition, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > Deadline) Assert.Fail($"timed out waiting for: {what}");
            await Task.Delay(20);
        }
    }

    public static async Task<T> WithDeadline<T>(Task<T> task, string what)
    {
        try
        {
            return await task.WaitAsync(Deadline);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"timed out waiting for: {what}");
            throw;
        }
    }

    public static async Task WithDeadline(Task task, string what)
    {
        try
        {
            await task.WaitAsync(Deadline);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"timed out waiting for: {what}");
        }
    }

    /// <summary>Deterministic test bytes: position-dependent so a lost, repeated or reordered chunk shows.</summary>
    public static byte PatternByte(long i) => (byte)((i * 31 + (i >> 8) * 7 + 3) % 251);

    public static byte[] Pattern(long offset, int length)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++) bytes[i] = PatternByte(offset + i);
        return bytes;
    }

    /// <summary>Runs a program to completion; returns exit code and stdout+stderr.</summary>
    public static async Task<(int ExitCode, string Output)> Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(Deadline);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{file} did not exit within {Deadline}");
        }
        return (process.ExitCode, await stdout + await stderr);
    }
}

/// <summary>A handler whose behaviour the test decides.</summary>
internal sealed class TestHandler : IControlHandler
{
    public Func<ControlRequest, string, IStreamSink, ValueTask<ControlReply>>? OnSubscribe { get; set; }

    public int StopCalls;

    public ValueTask<ControlReply> HandleAsync(ControlRequest request, CancellationToken cancellationToken)
    {
        switch (request.Type)
        {
            case ControlProtocol.Status:
                return ValueTask.FromResult(ControlReply.Ok("{\"state\":\"running\",\"agents\":[{\"name\":\"a1\",\"cpu\":12.5}]}"u8.ToArray()));
            case ControlProtocol.Stop:
                Interlocked.Increment(ref StopCalls);
                return ValueTask.FromResult(ControlReply.Ok());
            case "echo":
                string text = request.Message.GetProperty("text").GetString()!;
                return ValueTask.FromResult(ControlReply.Ok(w =>
                {
                    w.WriteStartObject();
                    w.WriteString("text", text);
                    w.WriteNumber("peerPid", request.Session.PeerPid);
                    w.WriteEndObject();
                }));
            case "bad-json":
                return ValueTask.FromResult(ControlReply.Ok("{not json"u8.ToArray()));
            default:
                return ValueTask.FromResult(ControlReply.UnknownRequest(request.Type));
        }
    }

    public ValueTask<ControlReply> SubscribeAsync(ControlRequest request, string stream, IStreamSink sink, CancellationToken cancellationToken) =>
        OnSubscribe?.Invoke(request, stream, sink) ?? ValueTask.FromResult(ControlReply.Error("no-such-stream", $"no stream '{stream}'"));
}

/// <summary>A client that speaks raw bytes, for malformed and hostile input.</summary>
[SupportedOSPlatform("linux")]
internal sealed class RawClient : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);

    public static async Task<RawClient> Connect(string path)
    {
        var client = new RawClient();
        await client._socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        return client;
    }

    public async Task Send(byte[] bytes) => await _socket.SendAsync(bytes, SocketFlags.None);

    public Task SendHello() => Send(FrameWriter.JsonFrame("{\"v\":1,\"id\":1,\"type\":\"hello\",\"versions\":[1]}"u8));

    /// <summary>Reads until the server closes; returns the JSON messages it sent (data frames skipped).</summary>
    public async Task<List<JsonElement>> ReadToEnd()
    {
        var all = new List<byte>();
        var buffer = new byte[65536];
        using var timeout = new CancellationTokenSource(ControlTestSupport.Deadline);
        while (true)
        {
            int n;
            try
            {
                n = await _socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                break;
            }
            catch (OperationCanceledException)
            {
                Assert.Fail("the server did not close the connection");
                throw;
            }
            if (n == 0) break;
            all.AddRange(buffer.AsSpan(0, n).ToArray());
        }
        var sequence = new ReadOnlySequence<byte>(all.ToArray());
        var messages = new List<JsonElement>();
        while (FrameReader.TryRead(ref sequence, new FrameLimits(1 << 24, 1 << 24), out var frame))
            if (frame.Type == FrameType.Json)
                messages.Add(JsonDocument.Parse(Encoding.UTF8.GetString(frame.Payload.ToArray())).RootElement.Clone());
        return messages;
    }

    /// <summary>Reads until <paramref name="count"/> JSON messages arrived (data frames skipped); the connection stays open.</summary>
    public async Task<List<JsonElement>> ReadMessages(int count)
    {
        var pending = new List<byte>();
        var buffer = new byte[65536];
        var messages = new List<JsonElement>();
        using var timeout = new CancellationTokenSource(ControlTestSupport.Deadline);
        while (messages.Count < count)
        {
            int n = await _socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            if (n == 0) break;
            pending.AddRange(buffer.AsSpan(0, n).ToArray());
            var sequence = new ReadOnlySequence<byte>(pending.ToArray());
            while (FrameReader.TryRead(ref sequence, new FrameLimits(1 << 24, 1 << 24), out var frame))
                if (frame.Type == FrameType.Json)
                    messages.Add(JsonDocument.Parse(Encoding.UTF8.GetString(frame.Payload.ToArray())).RootElement.Clone());
            pending = sequence.ToArray().ToList();
        }
        return messages;
    }

    public void Dispose() => _socket.Dispose();
}
