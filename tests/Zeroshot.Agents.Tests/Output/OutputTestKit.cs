using Zeroshot.Agents.Config;
using Zeroshot.Agents.Output;

namespace Zeroshot.Agents.Tests.Output;

/// <summary>A clock that moves only when told.</summary>
internal sealed class ManualClock : TimeProvider
{
    private DateTimeOffset _now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

internal static class OutputTestKit
{
    public static byte[] Fixture(string name) =>
        File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Output", "Fixtures", name));

    public static Func<string?, ModelPrice> Prices => ZeroshotSettings.Default.PriceFor;

    /// <summary>Feeds <paramref name="bytes"/> in chunks of the given sizes (cycled), then completes.</summary>
    public static (List<DisplayLine> Lines, AgentOutputInterpreter Interpreter) Run(
        ReadOnlySpan<byte> bytes, AgentOutputOptions? options = null, IReadOnlyList<int>? chunkSizes = null, bool complete = true)
    {
        var lines = new List<DisplayLine>();
        var interpreter = new AgentOutputInterpreter(lines.Add, options);
        Feed(interpreter, bytes, chunkSizes);
        if (complete)
            interpreter.Complete();
        return (lines, interpreter);
    }

    public static void Feed(AgentOutputInterpreter interpreter, ReadOnlySpan<byte> bytes, IReadOnlyList<int>? chunkSizes = null)
    {
        if (chunkSizes is null || chunkSizes.Count == 0)
        {
            interpreter.Feed(bytes);
            return;
        }

        int i = 0;
        while (!bytes.IsEmpty)
        {
            int n = Math.Clamp(chunkSizes[i++ % chunkSizes.Count], 1, bytes.Length);
            interpreter.Feed(bytes[..n]);
            bytes = bytes[n..];
        }
    }

    /// <summary>The fixture without its last <paramref name="drop"/> lines (a run cut short).</summary>
    public static byte[] WithoutLastLines(byte[] bytes, int drop)
    {
        int end = bytes.Length;
        if (end > 0 && bytes[end - 1] == (byte)'\n')
            end--;
        for (int k = 0; k < drop; k++)
            end = Array.LastIndexOf(bytes, (byte)'\n', end - 1);
        return bytes[..(end + 1)];
    }
}
