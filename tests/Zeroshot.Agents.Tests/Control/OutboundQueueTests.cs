using System.Buffers;
using Zeroshot.Agents.Control;

namespace Zeroshot.Agents.Tests.Control;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class OutboundQueueTests
{
    private static byte[] Drain(OutboundQueue queue)
    {
        var bytes = new List<byte>();
        while (queue.TryDequeue(out var segment))
        {
            bytes.AddRange(segment.Memory.ToArray());
            queue.Release(segment);
        }
        return [.. bytes];
    }

    private static List<(uint Stream, byte[] Data)> Decode(byte[] bytes)
    {
        var sequence = new ReadOnlySequence<byte>(bytes);
        var frames = new List<(uint, byte[])>();
        while (FrameReader.TryRead(ref sequence, new FrameLimits(1 << 20, 1 << 20), out var frame)) frames.Add((frame.StreamId, frame.Payload.ToArray()));
        FrameReader.EnsureComplete(sequence);
        return frames;
    }

    [Fact]
    public void Frames_come_out_whole_and_in_order_even_across_segments()
    {
        var queue = new OutboundQueue();
        var big = ControlTestSupport.Pattern(0, 200_000); // spans four 64 KiB segments
        Assert.True(queue.TryAppendData(1, [1, 2, 3], 1 << 20, long.MaxValue));
        Assert.True(queue.TryAppendFrame(FrameWriter.JsonFrame("{}"u8), long.MaxValue));
        Assert.True(queue.TryAppendData(2, big, 1 << 20, long.MaxValue));
        Assert.True(queue.TryAppendData(3, ControlTestSupport.Pattern(5, 100), 40, long.MaxValue)); // split every 40 bytes
        var bytes = Drain(queue);
        Assert.Equal(0, queue.QueuedBytes);
        var sequence = new ReadOnlySequence<byte>(bytes);
        var frames = new List<(FrameType, uint, byte[])>();
        while (FrameReader.TryRead(ref sequence, new FrameLimits(1 << 20, 1 << 20), out var f)) frames.Add((f.Type, f.StreamId, f.Payload.ToArray()));
        Assert.Equal(6, frames.Count);
        Assert.Equal((FrameType.Data, 1u), (frames[0].Item1, frames[0].Item2));
        Assert.Equal(FrameType.Json, frames[1].Item1);
        Assert.Equal(big, frames[2].Item3);
        Assert.Equal([40, 40, 20], frames.Skip(3).Select(f => f.Item3.Length));
        Assert.Equal(ControlTestSupport.Pattern(5, 100), frames.Skip(3).SelectMany(f => f.Item3).ToArray());
    }

    [Fact]
    public void An_idle_writers_bytes_are_sent_by_the_appender_and_only_what_the_socket_refused_wakes_it_in_order()
    {
        var sent = new List<byte>();
        int room = int.MaxValue;
        var queue = new OutboundQueue
        {
            SendNow = bytes =>
            {
                int n = Math.Min(room, bytes.Length);
                if (n == 0) return -1; // EAGAIN
                sent.AddRange(bytes[..n].ToArray());
                room -= n;
                return n;
            },
        };

        // The writer parks on an empty queue: appends go straight out, and it is not woken.
        var waiting = queue.WaitToReadAsync();
        Assert.True(queue.TryAppendData(1, [1, 2, 3], 1 << 20, long.MaxValue));
        Assert.True(queue.TryAppendFrame(FrameWriter.JsonFrame("{}"u8), long.MaxValue));
        Assert.False(waiting.IsCompleted);
        Assert.Equal(0, queue.QueuedBytes);
        Assert.Equal(2, Decode([.. sent]).Count);

        // The socket takes 10 bytes of the next frame: the writer wakes for the rest, which follows them on the wire.
        room = 10;
        var big = ControlTestSupport.Pattern(0, 100_000);
        Assert.True(queue.TryAppendData(2, big, 1 << 20, long.MaxValue));
        Assert.True(waiting.IsCompleted);
        Assert.Equal(big.Length + FrameWriter.DataHeaderSize - 10, queue.QueuedBytes);
        // While the writer is busy (not parked), appends queue behind what it holds, whatever the socket's room.
        room = int.MaxValue;
        Assert.True(queue.TryAppendData(3, [9], 1 << 20, long.MaxValue));
        sent.AddRange(Drain(queue));
        var frames = Decode([.. sent]);
        Assert.Equal([1u, 0u, 2u, 3u], frames.Select(f => f.Stream));
        Assert.Equal(big, frames[2].Data);
        Assert.Equal(0, queue.QueuedBytes);

        // A full socket (EAGAIN): everything queues and the writer is woken.
        room = 0;
        var again = queue.WaitToReadAsync();
        Assert.True(queue.TryAppendData(4, [7], 1 << 20, long.MaxValue));
        Assert.True(again.IsCompleted);
        Assert.Equal([4u], Decode(Drain(queue)).Select(f => f.Stream));
    }

    [Fact]
    public void The_limit_is_all_or_nothing_and_an_empty_queue_admits_one_write()
    {
        var queue = new OutboundQueue();
        Assert.True(queue.TryAppendData(1, new byte[5000], 1 << 20, 100)); // over the limit, but the queue was empty
        Assert.False(queue.TryAppendData(1, new byte[1], 1 << 20, 100));
        Assert.Equal(5000 + FrameWriter.DataHeaderSize, queue.QueuedBytes);
        Assert.True(queue.TryAppendData(1, new byte[1], 1 << 20, 6000));
        Assert.False(queue.TryAppendData(1, new byte[2000], 500, 6000 + 1000)); // 4 frames would not fit: none queued
        Assert.Equal(2, Decode(Drain(queue)).Count);
    }

    [Fact]
    public async Task The_reader_wakes_for_data_and_sees_completion_after_draining()
    {
        var queue = new OutboundQueue();
        var wait = queue.WaitToReadAsync();
        Assert.False(wait.IsCompleted);
        Assert.True(queue.TryAppendData(9, [7], 1 << 20, long.MaxValue));
        Assert.True(await wait.AsTask().WaitAsync(ControlTestSupport.Deadline));
        Assert.True(await queue.WaitToReadAsync());
        queue.Complete();
        Assert.False(queue.TryAppendFrame([0, 0, 0, 1, 1], long.MaxValue));
        Assert.True(await queue.WaitToReadAsync()); // queued bytes are still delivered after Complete
        Assert.Single(Decode(Drain(queue)));
        Assert.False(await queue.WaitToReadAsync());
        var waiting = new OutboundQueue();
        var pending = waiting.WaitToReadAsync();
        waiting.Discard();
        Assert.False(await pending.AsTask().WaitAsync(ControlTestSupport.Deadline));
    }

    [Fact]
    public void Steady_streaming_allocates_nothing()
    {
        var queue = new OutboundQueue();
        var chunk = new byte[4096];
        for (int i = 0; i < 100; i++) Cycle(); // warm up the free list
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++) Cycle();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        void Cycle()
        {
            for (int k = 0; k < 20; k++) queue.TryAppendData(1, chunk, 1 << 20, 8 << 20);
            while (queue.TryDequeue(out var segment)) queue.Release(segment);
        }
    }
}

/// <summary>The server-wide total of queued bytes that <see cref="OutboundBudget"/> keeps across queues.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class OutboundBudgetTests
{
    [Fact]
    public void Appends_releases_and_discards_of_every_queue_keep_the_total_exact()
    {
        var budget = new OutboundBudget(100_000);
        var a = new OutboundQueue(budget);
        var b = new OutboundQueue(budget);
        Assert.True(a.TryAppendData(1, ControlTestSupport.Pattern(0, 70_000), 1 << 20, long.MaxValue));
        Assert.True(b.TryAppendData(1, ControlTestSupport.Pattern(0, 50_000), 1 << 20, long.MaxValue));
        Assert.Equal(a.QueuedBytes + b.QueuedBytes, budget.Bytes);
        Assert.True(budget.Exceeded);

        Assert.True(a.TryDequeue(out var segment));
        a.Release(segment);
        Assert.Equal(a.QueuedBytes + b.QueuedBytes, budget.Bytes);

        b.Discard();
        Assert.Equal(a.QueuedBytes, budget.Bytes);
        Assert.False(budget.Exceeded);
        while (a.TryDequeue(out var rest)) a.Release(rest);
        Assert.Equal(0, budget.Bytes);
    }
}
