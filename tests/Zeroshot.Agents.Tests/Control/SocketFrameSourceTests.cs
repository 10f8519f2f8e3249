using System.Buffers;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text;
using Zeroshot.Agents.Control;

namespace Zeroshot.Agents.Tests.Control;

/// <summary>
/// <see cref="SocketFrameSource"/> over a real connected pair of Unix sockets: frames cut anywhere by the sender,
/// frames bigger than its buffer, timeouts, the peer's close, a shutdown from another thread, a descriptor the .NET
/// engine left non-blocking.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class SocketFrameSourceTests : IDisposable
{
    private static readonly FrameLimits Limits = new(100_000, 100_000);
    private readonly TempDir _dir = new();
    private readonly Socket _writer;
    private readonly Socket _reader;

    public SocketFrameSourceTests()
    {
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        var endpoint = new UnixDomainSocketEndPoint(_dir.Combine("s"));
        listener.Bind(endpoint);
        listener.Listen(1);
        _writer = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _writer.Connect(endpoint);
        _reader = listener.Accept();
    }

    public void Dispose()
    {
        _writer.Dispose();
        _reader.Dispose();
        _dir.Dispose();
    }

    private static byte[] Stream(int dataBytes)
    {
        var data = new byte[dataBytes];
        for (int i = 0; i < data.Length; i++) data[i] = (byte)(i * 13 + 5);
        return [.. FrameWriter.JsonFrame("{\"type\":\"hello\"}"u8), .. FrameWriter.DataFrame(9, data), .. FrameWriter.DataFrame(3, []), .. FrameWriter.JsonFrame("{}"u8)];
    }

    private static List<(FrameType Type, uint Stream, byte[] Payload)> ReadAll(SocketFrameSource source)
    {
        var frames = new List<(FrameType, uint, byte[])>();
        while (source.Next(10_000, out var frame) is var result && result != SocketFrameSource.Result.Closed)
        {
            Assert.Equal(SocketFrameSource.Result.Frame, result);
            frames.Add((frame.Type, frame.StreamId, frame.Payload.ToArray()));
        }
        return frames;
    }

    private static void AssertStream(List<(FrameType Type, uint Stream, byte[] Payload)> frames, int dataBytes)
    {
        Assert.Equal(4, frames.Count);
        Assert.Equal("{\"type\":\"hello\"}", Encoding.UTF8.GetString(frames[0].Payload));
        Assert.Equal((FrameType.Data, 9u), (frames[1].Type, frames[1].Stream));
        Assert.Equal(dataBytes, frames[1].Payload.Length);
        for (int i = 0; i < dataBytes; i++) Assert.Equal((byte)(i * 13 + 5), frames[1].Payload[i]);
        Assert.Equal((FrameType.Data, 3u, 0), (frames[2].Type, frames[2].Stream, frames[2].Payload.Length));
        Assert.Equal("{}", Encoding.UTF8.GetString(frames[3].Payload));
    }

    [Theory]
    [InlineData(1, 64)]
    [InlineData(3, 16)]
    [InlineData(7, 4096)]
    [InlineData(5000, 64)]
    [InlineData(100_000, 8)]
    public async Task Reassembles_frames_however_the_sender_cut_them_and_grows_past_its_buffer(int cut, int bufferSize)
    {
        const int dataBytes = 3000;
        var bytes = Stream(dataBytes);
        var sender = Task.Run(() =>
        {
            for (int i = 0; i < bytes.Length; i += cut) _writer.Send(bytes.AsSpan(i, Math.Min(cut, bytes.Length - i)));
            _writer.Shutdown(SocketShutdown.Send);
        });
        var frames = ReadAll(new SocketFrameSource(_reader, Limits, bufferSize));
        await sender;
        AssertStream(frames, dataBytes);
    }

    [Fact]
    public void Reads_a_descriptor_the_socket_engine_made_non_blocking()
    {
        _reader.Blocking = false; // O_NONBLOCK, as after any async operation that had to wait
        var source = new SocketFrameSource(_reader, Limits);
        var bytes = Stream(100);
        _writer.Send(bytes.AsSpan(0, 10));
        // recv meets EAGAIN after the ten bytes: the reader waits in poll rather than failing.
        Assert.Equal(SocketFrameSource.Result.TimedOut, source.Next(20, out _));
        _writer.Send(bytes.AsSpan(10));
        _writer.Shutdown(SocketShutdown.Send);
        AssertStream(ReadAll(source), 100);
    }

    [Fact]
    public void Says_when_nothing_arrived_in_time_and_keeps_the_unfinished_frame()
    {
        var source = new SocketFrameSource(_reader, Limits);
        Assert.Equal(SocketFrameSource.Result.TimedOut, source.Next(20, out _));
        Assert.False(source.MidFrame);
        var frame = FrameWriter.JsonFrame("{\"a\":1}"u8);
        _writer.Send(frame.AsSpan(0, 6));
        Assert.Equal(SocketFrameSource.Result.TimedOut, source.Next(20, out _));
        Assert.True(source.MidFrame);
        _writer.Send(frame.AsSpan(6));
        Assert.Equal(SocketFrameSource.Result.Frame, source.Next(10_000, out var read));
        Assert.Equal("{\"a\":1}", Encoding.UTF8.GetString(read.Payload.ToArray()));
        Assert.False(source.MidFrame);
    }

    [Fact]
    public void A_close_inside_a_frame_is_malformed_and_a_bad_header_is_refused()
    {
        var frame = FrameWriter.JsonFrame("{\"a\":1}"u8);
        _writer.Send(frame.AsSpan(0, 7));
        _writer.Shutdown(SocketShutdown.Send);
        var cut = Assert.Throws<InvalidDataException>(() => new SocketFrameSource(_reader, Limits).Next(10_000, out _));
        Assert.Contains("inside a frame", cut.Message, StringComparison.Ordinal);

        using var other = new SocketFrameSourceTests();
        other._writer.Send([0, 0, 0, 2, 77, 0]); // type 77
        var bad = Assert.Throws<InvalidDataException>(() => new SocketFrameSource(other._reader, Limits).Next(10_000, out _));
        Assert.Contains("unknown control frame type 77", bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_shutdown_from_another_thread_ends_a_reader_waiting_forever()
    {
        var source = new SocketFrameSource(_reader, Limits);
        var reading = Task.Factory.StartNew(() => source.Next(-1, out _), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Assert.NotSame(reading, await Task.WhenAny(reading, Task.Delay(50))); // waiting in poll
        _reader.Shutdown(SocketShutdown.Both);
        Assert.Equal(SocketFrameSource.Result.Closed, await reading.WaitAsync(TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public void A_disposed_socket_is_reported_as_disposed()
    {
        _reader.Dispose();
        Assert.Throws<ObjectDisposedException>(() => new SocketFrameSource(_reader, Limits).Next(-1, out _));
    }
}
