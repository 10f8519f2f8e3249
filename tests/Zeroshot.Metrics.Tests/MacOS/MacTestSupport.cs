using System.Runtime.CompilerServices;
using Zeroshot.Metrics.MacOS;

namespace Zeroshot.Metrics.Tests.MacOS;

/// <summary>A clock the test moves by hand: wall time and monotonic timestamps advance together.</summary>
internal sealed class ManualClock : TimeProvider
{
    private long _ticks = 1_000_000;
    private DateTimeOffset _utc = new(2026, 11, 23, 23, 30, 0, TimeSpan.Zero);

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => _ticks;

    public override DateTimeOffset GetUtcNow() => _utc;

    public void Advance(TimeSpan by)
    {
        _ticks += by.Ticks;
        _utc += by;
    }
}

/// <summary>Recorded macOS tool outputs under MacOS/Fixtures, read from the source tree.</summary>
internal static class Fixtures
{
    public static string Read(string name)
    {
        string direct = Path.Combine(Dir(), "Fixtures", name);
        if (File.Exists(direct))
            return File.ReadAllText(direct);
        // The compile-time path can be mapped away (PathMap / ContinuousIntegrationBuild): search
        // upwards from the test binaries for the source tree instead.
        for (string? d = AppContext.BaseDirectory; d is not null; d = Path.GetDirectoryName(d))
        {
            string candidate = Path.Combine(d, "tests", "Zeroshot.Metrics.Tests", "MacOS", "Fixtures", name);
            if (File.Exists(candidate))
                return File.ReadAllText(candidate);
        }
        throw new FileNotFoundException($"fixture {name} not found next to {direct} nor above {AppContext.BaseDirectory}");
    }

    private static string Dir([CallerFilePath] string path = "") =>
        Path.GetDirectoryName(path) ?? throw new InvalidOperationException("no caller file path");
}

/// <summary>Feeds <see cref="PsProcessSource"/> with scripted <c>ps</c> outputs, one per tick (null = ps failed).</summary>
internal sealed class ScriptedPs
{
    private readonly Queue<string?> _outputs = new();

    public int Runs { get; private set; }

    public ScriptedPs Then(string? output)
    {
        _outputs.Enqueue(output);
        return this;
    }

    public string? Next()
    {
        Runs++;
        return _outputs.Count > 0 ? _outputs.Dequeue() : throw new InvalidOperationException("ps ran more often than scripted");
    }
}

/// <summary>Records the pids each lsof run was asked about and answers with a fixed result.</summary>
internal sealed class ScriptedLsof(ToolResult result)
{
    public List<int[]> Calls { get; } = new();

    public ToolResult Result { get; set; } = result;

    public ToolResult Run(IReadOnlyList<int> pids)
    {
        Calls.Add([.. pids]);
        return Result;
    }
}
