namespace Zeroshot.Terminal.Tests.Support;

/// <summary>A write-only stream that hands every write to a terminal model (what a renderer writes, read back), counting
/// writes and bytes. Shared by the footer's and the dashboard's tests.</summary>
internal sealed class FeedStream(FeedStream.Sink feed) : Stream
{
    /// <summary>Takes the bytes of one write.</summary>
    public delegate void Sink(ReadOnlySpan<byte> bytes);

    public int Writes { get; private set; }

    public long Bytes { get; private set; }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Writes++;
        Bytes += buffer.Length;
        feed(buffer);
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Flush() { }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
