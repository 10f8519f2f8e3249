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
    /// <summary>Writes one sample as a JSON object.</summary>
    public static void Write(Utf8JsonWriter writer, TreeSample sample)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(sample);
        writer.WriteStartObject();
        writer.WriteString("timestamp", sample.Timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
        writer.WriteNumber("pid", sample.Pid);
        writer.WriteBoolean("exists", sample.Exists);
        if (sample.State is { } state) writer.WriteString("state", state.ToString());
        else writer.WriteNull("state");
        Number(writer, "cpuPercent", sample.CpuPercent, 1);
        Number(writer, "memoryMB", sample.MemoryMB, 1);
        Number(writer, "ioReadBytesPerSec", sample.IoReadBytesPerSec, 0);
        Number(writer, "ioWriteBytesPerSec", sample.IoWriteBytesPerSec, 0);
        Number(writer, "readCharsPerSec", sample.ReadCharsPerSec, 0);
        Number(writer, "writeCharsPerSec", sample.WriteCharsPerSec, 0);
        Number(writer, "netRxBytesPerSec", sample.NetRxBytesPerSec, 0);
        Number(writer, "netTxBytesPerSec", sample.NetTxBytesPerSec, 0);
        if (sample.NetworkState is { } net)
        {
            writer.WriteStartObject("networkState");
            writer.WriteNumber("established", net.Established);
            writer.WriteNumber("sendQueueBytes", net.SendQueueBytes);
            writer.WriteNumber("recvQueueBytes", net.RecvQueueBytes);
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteNull("networkState");
        }
        if (sample.ChildCount is { } children) writer.WriteNumber("childCount", children);
        else writer.WriteNull("childCount");
        if (sample.Threads is { } threads) writer.WriteNumber("threads", threads);
        else writer.WriteNull("threads");
        writer.WriteEndObject();
    }

    private static void Number(Utf8JsonWriter writer, string name, double? value, int decimals)
    {
        if (value is { } v && double.IsFinite(v)) writer.WriteNumber(name, Math.Round(v, decimals));
        else writer.WriteNull(name);
    }
}
