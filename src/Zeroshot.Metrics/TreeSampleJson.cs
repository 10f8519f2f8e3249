using System.Text.Json;

namespace Zeroshot.Metrics;

/// <summary>
/// Writes a <see cref="TreeSample"/> as the JSON object of <c>zeroshot metrics --json</c>: camelCase,
/// every field always present (null when the family is unknown), in this order: timestamp, pid,
/// exists, state, cpuPercent, memoryMB, ioReadBytesPerSec, ioWriteBytesPerSec, readCharsPerSec,
/// writeCharsPerSec, netRxBytesPerSec, netTxBytesPerSec, networkState, childCount, threads.
/// The same shape is the <c>metrics</c> object of <c>status --json</c>.
/// </summary>
public static class TreeSampleJson
{
    private static readonly JsonEncodedText TimestampName = JsonEncodedText.Encode("timestamp"), PidName = JsonEncodedText.Encode("pid"),
        ExistsName = JsonEncodedText.Encode("exists"), StateName = JsonEncodedText.Encode("state"), CpuName = JsonEncodedText.Encode("cpuPercent"),
        MemoryName = JsonEncodedText.Encode("memoryMB"), IoReadName = JsonEncodedText.Encode("ioReadBytesPerSec"),
        IoWriteName = JsonEncodedText.Encode("ioWriteBytesPerSec"), ReadCharsName = JsonEncodedText.Encode("readCharsPerSec"),
        WriteCharsName = JsonEncodedText.Encode("writeCharsPerSec"), RxName = JsonEncodedText.Encode("netRxBytesPerSec"),
        TxName = JsonEncodedText.Encode("netTxBytesPerSec"), NetworkName = JsonEncodedText.Encode("networkState"),
        ConnectingName = JsonEncodedText.Encode("connecting"), LastReceiveName = JsonEncodedText.Encode("lastReceiveMs"),
        EstablishedName = JsonEncodedText.Encode("established"), SendQueueName = JsonEncodedText.Encode("sendQueueBytes"),
        RecvQueueName = JsonEncodedText.Encode("recvQueueBytes"), ChildCountName = JsonEncodedText.Encode("childCount"),
        ThreadsName = JsonEncodedText.Encode("threads");

    /// <summary>Writes one sample as a JSON object.</summary>
    public static void Write(Utf8JsonWriter writer, TreeSample sample)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(sample);
        writer.WriteStartObject();
        Span<byte> time = stackalloc byte[IsoLength];
        writer.WriteString(TimestampName, FormatIso(sample.Timestamp, time));
        writer.WriteNumber(PidName, sample.Pid);
        writer.WriteBoolean(ExistsName, sample.Exists);
        if (sample.State is { } state && state < 128)
        {
            Span<byte> letter = [(byte)state];
            writer.WriteString(StateName, letter);
        }
        else if (sample.State is { } other) writer.WriteString(StateName, other.ToString());
        else writer.WriteNull(StateName);
        Number(writer, CpuName, sample.CpuPercent, 1);
        Number(writer, MemoryName, sample.MemoryMB, 1);
        Number(writer, IoReadName, sample.IoReadBytesPerSec, 0);
        Number(writer, IoWriteName, sample.IoWriteBytesPerSec, 0);
        Number(writer, ReadCharsName, sample.ReadCharsPerSec, 0);
        Number(writer, WriteCharsName, sample.WriteCharsPerSec, 0);
        Number(writer, RxName, sample.NetRxBytesPerSec, 0);
        Number(writer, TxName, sample.NetTxBytesPerSec, 0);
        if (sample.NetworkState is { } net)
        {
            writer.WriteStartObject(NetworkName);
            writer.WriteNumber(EstablishedName, net.Established);
            writer.WriteNumber(SendQueueName, net.SendQueueBytes);
            writer.WriteNumber(RecvQueueName, net.RecvQueueBytes);
            writer.WriteNumber(ConnectingName, net.Connecting);
            if (net.LastReceiveMs is { } lastReceive) writer.WriteNumber(LastReceiveName, lastReceive);
            else writer.WriteNull(LastReceiveName);
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteNull(NetworkName);
        }
        if (sample.ChildCount is { } children) writer.WriteNumber(ChildCountName, children);
        else writer.WriteNull(ChildCountName);
        if (sample.Threads is { } threads) writer.WriteNumber(ThreadsName, threads);
        else writer.WriteNull(ThreadsName);
        writer.WriteEndObject();
    }

    /// <summary>Length of <see cref="FormatIso"/>'s text.</summary>
    public const int IsoLength = 24;

    /// <summary>
    /// <paramref name="time"/> as ISO 8601 UTC with milliseconds (<c>2026-11-23T23:33:27.289Z</c>, the format of every
    /// time in Zeroshot's JSON) in <paramref name="destination"/> (at least <see cref="IsoLength"/> bytes); returns the text.
    /// </summary>
    public static ReadOnlySpan<byte> FormatIso(DateTimeOffset time, Span<byte> destination)
    {
        var utc = time.UtcDateTime;
        if (utc.Year > 9999 || destination.Length < IsoLength) throw new ArgumentOutOfRangeException(nameof(destination));
        Digits(destination[..4], utc.Year);
        destination[4] = (byte)'-';
        Digits(destination.Slice(5, 2), utc.Month);
        destination[7] = (byte)'-';
        Digits(destination.Slice(8, 2), utc.Day);
        destination[10] = (byte)'T';
        Digits(destination.Slice(11, 2), utc.Hour);
        destination[13] = (byte)':';
        Digits(destination.Slice(14, 2), utc.Minute);
        destination[16] = (byte)':';
        Digits(destination.Slice(17, 2), utc.Second);
        destination[19] = (byte)'.';
        Digits(destination.Slice(20, 3), utc.Millisecond);
        destination[23] = (byte)'Z';
        return destination[..IsoLength];

        static void Digits(Span<byte> into, int value)
        {
            for (int i = into.Length - 1; i >= 0; i--)
            {
                into[i] = (byte)('0' + value % 10);
                value /= 10;
            }
        }
    }

    /// <summary>
    /// A metric rounded to <paramref name="decimals"/> (0 or 1), written as the shortest text that reads back as the
    /// rounded double (what <see cref="Utf8JsonWriter.WriteNumber(string, double)"/> writes), without its cost: an
    /// integral value as an integer, one decimal as a scaled decimal.
    /// </summary>
    private static void Number(Utf8JsonWriter writer, JsonEncodedText name, double? value, int decimals)
    {
        if (value is not { } v || !double.IsFinite(v))
        {
            writer.WriteNull(name);
            return;
        }
        double rounded = Math.Round(v, decimals);
        if (rounded > 0 && rounded < 1e14)
        {
            long scaled = (long)Math.Round(decimals == 0 ? rounded : rounded * 10);
            if (decimals == 0 || scaled % 10 == 0)
            {
                writer.WriteNumber(name, decimals == 0 ? scaled : scaled / 10);
                return;
            }
            writer.WriteNumber(name, new decimal((int)(scaled & 0xFFFFFFFF), (int)(scaled >> 32), 0, false, 1));
            return;
        }
        if (rounded == 0 && !double.IsNegative(rounded))
        {
            writer.WriteNumber(name, 0L);
            return;
        }
        writer.WriteNumber(name, rounded);
    }
}
