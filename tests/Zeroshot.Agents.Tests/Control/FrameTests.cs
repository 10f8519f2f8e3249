using System.Buffers;
using System.Text;
using Zeroshot.Agents.Control;

namespace Zeroshot.Agents.Tests.Control;

public class FrameTests
{
    private static readonly FrameLimits Limits = new(1000, 2000);

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, Segment? previous)
        {
            Memory = memory;
            if (previous != null)
            {
                RunningIndex = previous.RunningIndex + previous.Memory.Length;
                previous.Next = this;
            }
        }
    }

    /// <summary>A multi-segment sequence cut every <paramref name="cut"/> bytes, like a pipe's buffer list.</summary>
    private static ReadOnlySequence<byte> Segmented(byte[] bytes, int cut)
    {
        if (bytes.Length == 0) return ReadOnlySequence<byte>.Empty;
        Segment first = new(bytes.AsMemory(0, Math.Min(cut, bytes.Length)), null), last = first;
        for (int i = cut; i < bytes.Length; i += cut) last = new Segment(bytes.AsMemory(i, Math.Min(cut, bytes.Length - i)), last);
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private static byte[] Sample()
    {
        var data = new byte[1500];
        for (int i = 0; i < data.Length; i++) data[i] = (byte)(i * 7);
        return [.. FrameWriter.JsonFrame("{\"v\":1,\"id\":1,\"type\":\"hello\"}"u8), .. FrameWriter.DataFrame(42, data),
            .. FrameWriter.DataFrame(7, []), .. FrameWriter.JsonFrame("{}"u8)];
    }

    private static void AssertSample(List<(FrameType Type, uint Stream, byte[] Payload)> frames)
    {
        Assert.Equal(4, frames.Count);
        Assert.Equal((FrameType.Json, 0u), (frames[0].Type, frames[0].Stream));
        Assert.Equal("{\"v\":1,\"id\":1,\"type\":\"hello\"}", Encoding.UTF8.GetString(frames[0].Payload));
        Assert.Equal((FrameType.Data, 42u), (frames[1].Type, frames[1].Stream));
        Assert.Equal(1500, frames[1].Payload.Length);
        for (int i = 0; i < 1500; i++) Assert.Equal((byte)(i * 7), frames[1].Payload[i]);
        Assert.Equal((FrameType.Data, 7u, 0), (frames[2].Type, frames[2].Stream, frames[2].Payload.Length));
        Assert.Equal("{}", Encoding.UTF8.GetString(frames[3].Payload));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(9)]
    [InlineData(4096)]
    public void Decodes_frames_across_segment_boundaries(int cut)
    {
        var sequence = Segmented(Sample(), cut);
        var frames = new List<(FrameType, uint, byte[])>();
        while (FrameReader.TryRead(ref sequence, Limits, out var frame)) frames.Add((frame.Type, frame.StreamId, frame.Payload.ToArray()));
        FrameReader.EnsureComplete(sequence);
        AssertSample(frames);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(13)]
    [InlineData(700)]
    public void Decodes_split_reads_arriving_piece_by_piece(int readSize)
    {
        // Models a pipe: bytes arrive in reads of readSize; unconsumed bytes stay buffered for the next attempt.
        byte[] all = Sample();
        var pending = new List<byte>();
        var frames = new List<(FrameType, uint, byte[])>();
        for (int offset = 0; offset < all.Length; offset += readSize)
        {
            pending.AddRange(all.AsSpan(offset, Math.Min(readSize, all.Length - offset)).ToArray());
            var sequence = new ReadOnlySequence<byte>(pending.ToArray());
            var before = sequence.Length;
            while (FrameReader.TryRead(ref sequence, Limits, out var frame)) frames.Add((frame.Type, frame.StreamId, frame.Payload.ToArray()));
            pending.RemoveRange(0, (int)(before - sequence.Length));
        }
        Assert.Empty(pending);
        AssertSample(frames);
    }

    [Fact]
    public void Waits_for_more_bytes_without_consuming()
    {
        byte[] frame = FrameWriter.JsonFrame("{\"a\":1}"u8);
        for (int n = 0; n < frame.Length; n++)
        {
            var sequence = new ReadOnlySequence<byte>(frame, 0, n);
            Assert.False(FrameReader.TryRead(ref sequence, Limits, out _));
            Assert.Equal(n, sequence.Length);
        }
    }

    [Fact]
    public void Zero_length_is_malformed()
    {
        var sequence = new ReadOnlySequence<byte>(new byte[] { 0, 0, 0, 0 }); // no type byte needed to know
        Assert.Contains("zero length", Assert.Throws<InvalidDataException>(() => FrameReader.TryRead(ref sequence, Limits, out _)).Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(255)]
    public void Unknown_type_is_malformed(byte type)
    {
        var sequence = new ReadOnlySequence<byte>(new byte[] { 0, 0, 0, 2, type, 0 });
        Assert.Contains("unknown control frame type", Assert.Throws<InvalidDataException>(() => FrameReader.TryRead(ref sequence, Limits, out _)).Message);
    }

    [Fact]
    public void Oversized_lengths_are_refused_from_the_header_alone()
    {
        // Only the 5-byte header is present: the limit must be enforced before buffering a huge payload.
        var json = new ReadOnlySequence<byte>(new byte[] { 0x7F, 0xFF, 0xFF, 0xFF, 1 });
        Assert.Contains("exceeds the limit of 1000", Assert.Throws<InvalidDataException>(() => FrameReader.TryRead(ref json, Limits, out _)).Message);
        var justOver = new ReadOnlySequence<byte>(new byte[] { 0, 0, 0x03, 0xEA, 1 }); // 1001 + 1
        Assert.Throws<InvalidDataException>(() => FrameReader.TryRead(ref justOver, Limits, out _));
        var data = new ReadOnlySequence<byte>(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 2 });
        Assert.Contains("exceeds the limit of 2000", Assert.Throws<InvalidDataException>(() => FrameReader.TryRead(ref data, Limits, out _)).Message);
    }

    [Fact]
    public void Frames_at_the_limit_are_accepted()
    {
        var sequence = new ReadOnlySequence<byte>(FrameWriter.JsonFrame(new byte[1000]));
        Assert.True(FrameReader.TryRead(ref sequence, Limits, out var frame));
        Assert.Equal(1000, frame.Payload.Length);
        var data = new ReadOnlySequence<byte>(FrameWriter.DataFrame(1, new byte[2000]));
        Assert.True(FrameReader.TryRead(ref data, Limits, out var dataFrame));
        Assert.Equal(2000, dataFrame.Payload.Length);
    }

    [Fact]
    public void Data_frame_without_a_stream_id_is_malformed()
    {
        var sequence = new ReadOnlySequence<byte>(new byte[] { 0, 0, 0, 3, 2, 0, 0 });
        Assert.Contains("stream id", Assert.Throws<InvalidDataException>(() => FrameReader.TryRead(ref sequence, Limits, out _)).Message);
    }

    [Fact]
    public void Truncated_at_end_of_input_is_malformed()
    {
        byte[] frame = FrameWriter.DataFrame(3, new byte[100]);
        var sequence = new ReadOnlySequence<byte>(frame, 0, frame.Length - 1);
        Assert.False(FrameReader.TryRead(ref sequence, Limits, out _));
        Assert.Contains("ended inside a frame", Assert.Throws<InvalidDataException>(() => FrameReader.EnsureComplete(sequence)).Message);
        FrameReader.EnsureComplete(ReadOnlySequence<byte>.Empty);
    }

    [Fact]
    public void Headers_are_big_endian_and_count_type_and_stream_id()
    {
        byte[] frame = FrameWriter.DataFrame(0x01020304, [9, 8]);
        Assert.Equal(new byte[] { 0, 0, 0, 7, 2, 1, 2, 3, 4, 9, 8 }, frame);
        Assert.Equal(new byte[] { 0, 0, 0, 3, 1, (byte)'{', (byte)'}' }, FrameWriter.JsonFrame("{}"u8));
    }
}
