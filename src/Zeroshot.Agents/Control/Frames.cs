using System.Buffers;
using System.Buffers.Binary;

namespace Zeroshot.Agents.Control;

// Wire format of the control socket (see PROTOCOL.md for the full protocol):
//
//   frame      = length:u32be  type:u8  payload
//   length     = number of bytes after the length field (type + payload), so always >= 1
//   type 1     = JSON message: payload is one UTF-8 JSON object {"v":1,"id":N,"type":"...", ...}
//   type 2     = data:         payload = streamId:u32be  bytes...  (raw stream bytes, never base64)
//
// Big-endian lengths are the usual network order; the 5-byte header keeps framing trivial to implement in
// any language (the test suite speaks it from perl). JSON and data frames have separate size limits so a
// large output chunk cannot be confused with, or smuggle past, the JSON limit.

/// <summary>The frame types of the control protocol.</summary>
internal enum FrameType : byte
{
    /// <summary>A UTF-8 JSON object (a request, response or server message).</summary>
    Json = 1,

    /// <summary>Raw stream bytes tagged with a stream id.</summary>
    Data = 2,
}

/// <summary>Size limits enforced by <see cref="FrameReader"/>.</summary>
/// <param name="MaxJsonBytes">Largest JSON payload accepted (default 1 MiB).</param>
/// <param name="MaxDataBytes">Largest data payload accepted, excluding the stream id (default 1 MiB).</param>
internal readonly record struct FrameLimits(int MaxJsonBytes = FrameLimits.DefaultMax, int MaxDataBytes = FrameLimits.DefaultMax)
{
    /// <summary>1 MiB.</summary>
    public const int DefaultMax = 1 << 20;

    /// <summary>The defaults: 1 MiB for both kinds.</summary>
    public static FrameLimits Default => new(DefaultMax, DefaultMax);
}

/// <summary>One decoded frame. <see cref="Payload"/> aliases the input buffer: copy it before advancing.</summary>
internal readonly record struct Frame(FrameType Type, uint StreamId, ReadOnlySequence<byte> Payload);

/// <summary>Decodes frames from a byte sequence; pure, so hostile input is unit-testable.</summary>
internal static class FrameReader
{
    /// <summary>Bytes before the payload: the u32 length and the u8 type.</summary>
    public const int HeaderSize = 5;

    /// <summary>Bytes of a data frame's stream id.</summary>
    public const int StreamIdSize = 4;

    /// <summary>
    /// Decodes the first complete frame in <paramref name="buffer"/> and slices it off; false when more bytes are
    /// needed (the buffer is left as is).
    /// </summary>
    /// <exception cref="InvalidDataException">Zero length, unknown type, a data frame without a stream id, or a
    /// length over the limits — detected from the header alone, before the payload arrives.</exception>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, FrameLimits limits, out Frame frame)
    {
        frame = default;
        if (buffer.Length < sizeof(uint)) return false;
        Span<byte> header = stackalloc byte[HeaderSize];
        buffer.Slice(0, Math.Min(HeaderSize, buffer.Length)).CopyTo(header);
        uint length = BinaryPrimitives.ReadUInt32BigEndian(header);
        // Checked as soon as the length is in: a zero length can never become valid, so do not wait for more.
        if (length == 0) throw new InvalidDataException("control frame with zero length");
        if (buffer.Length < HeaderSize) return false;
        var type = (FrameType)header[4];
        long payloadLength = length - 1L;
        switch (type)
        {
            case FrameType.Json:
                if (payloadLength > limits.MaxJsonBytes)
                    throw new InvalidDataException($"control JSON frame of {payloadLength} bytes exceeds the limit of {limits.MaxJsonBytes}");
                break;
            case FrameType.Data:
                if (payloadLength < StreamIdSize) throw new InvalidDataException("control data frame without a stream id");
                if (payloadLength - StreamIdSize > limits.MaxDataBytes)
                    throw new InvalidDataException($"control data frame of {payloadLength - StreamIdSize} bytes exceeds the limit of {limits.MaxDataBytes}");
                break;
            default:
                throw new InvalidDataException($"unknown control frame type {header[4]}");
        }
        if (buffer.Length < HeaderSize + payloadLength) return false;
        var payload = buffer.Slice(HeaderSize, payloadLength);
        uint streamId = 0;
        if (type == FrameType.Data)
        {
            Span<byte> id = stackalloc byte[StreamIdSize];
            payload.Slice(0, StreamIdSize).CopyTo(id);
            streamId = BinaryPrimitives.ReadUInt32BigEndian(id);
            payload = payload.Slice(StreamIdSize);
        }
        frame = new Frame(type, streamId, payload);
        buffer = buffer.Slice(HeaderSize + payloadLength);
        return true;
    }

    /// <summary>At end of input: throws if bytes of an unfinished frame remain.</summary>
    /// <exception cref="InvalidDataException">The stream ended inside a frame.</exception>
    public static void EnsureComplete(in ReadOnlySequence<byte> remaining)
    {
        if (!remaining.IsEmpty)
            throw new InvalidDataException($"control connection ended inside a frame ({remaining.Length} bytes left over)");
    }
}

/// <summary>Encodes frame headers; callers place the payload right after.</summary>
internal static class FrameWriter
{
    /// <summary>Header size of a data frame: length, type and stream id.</summary>
    public const int DataHeaderSize = FrameReader.HeaderSize + FrameReader.StreamIdSize;

    /// <summary>Writes the 5-byte header of a JSON frame whose payload is <paramref name="payloadLength"/> bytes.</summary>
    public static void WriteJsonHeader(Span<byte> destination, int payloadLength)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, checked((uint)payloadLength + 1));
        destination[4] = (byte)FrameType.Json;
    }

    /// <summary>Writes the 9-byte header of a data frame carrying <paramref name="dataLength"/> bytes.</summary>
    public static void WriteDataHeader(Span<byte> destination, uint streamId, int dataLength)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, checked((uint)dataLength + 1 + FrameReader.StreamIdSize));
        destination[4] = (byte)FrameType.Data;
        BinaryPrimitives.WriteUInt32BigEndian(destination[5..], streamId);
    }

    /// <summary>A complete data frame in a new array (for tests and the client's input path).</summary>
    public static byte[] DataFrame(uint streamId, ReadOnlySpan<byte> data)
    {
        var frame = new byte[DataHeaderSize + data.Length];
        WriteDataHeader(frame, streamId, data.Length);
        data.CopyTo(frame.AsSpan(DataHeaderSize));
        return frame;
    }

    /// <summary>A complete JSON frame in a new array, from an already-encoded UTF-8 JSON payload.</summary>
    public static byte[] JsonFrame(ReadOnlySpan<byte> utf8Json)
    {
        var frame = new byte[FrameReader.HeaderSize + utf8Json.Length];
        WriteJsonHeader(frame, utf8Json.Length);
        utf8Json.CopyTo(frame.AsSpan(FrameReader.HeaderSize));
        return frame;
    }
}
