namespace Zeroshot.Agents.Health;

/// <summary>What a running agent is doing, judged from every signal at once (<c>HealthMonitor</c>).</summary>
internal enum HealthVerdict
{
    /// <summary>Working: output, CPU or network progress.</summary>
    Active,
    /// <summary>A model request in flight and bytes arriving.</summary>
    WaitingOnModel,
    /// <summary>A tool call its CLI declared is in progress.</summary>
    RunningTool,
    /// <summary>It asked the person something and waits for the answer.</summary>
    NeedsInput,
    /// <summary>An interactive agent that finished its turn and waits for a prompt.</summary>
    Idle,
    /// <summary>Its CLI is retrying a failed model request.</summary>
    Retrying,
    /// <summary>A model request in flight, but no byte received on its sockets for the stalled threshold.</summary>
    Stalled,
    /// <summary>High CPU for minutes with no output and no network: a known failure of agent CLIs.</summary>
    BusyIdle,
    /// <summary>No output, no CPU, no network, no progress in any child for the stuck threshold.</summary>
    Stuck,
}

/// <summary>The words of <see cref="HealthVerdict"/>, as JSON, the views and Prometheus labels write them.</summary>
internal static class HealthVerdictNames
{
    /// <summary>Every verdict, in declaration order (a gauge per verdict).</summary>
    public static readonly HealthVerdict[] All = Enum.GetValues<HealthVerdict>();

    /// <summary>The verdict's word: <c>waiting-on-model</c>, <c>busy-idle</c>…</summary>
    public static string ToJsonName(this HealthVerdict verdict) => verdict switch
    {
        HealthVerdict.Active => "active",
        HealthVerdict.WaitingOnModel => "waiting-on-model",
        HealthVerdict.RunningTool => "running-tool",
        HealthVerdict.NeedsInput => "needs-input",
        HealthVerdict.Idle => "idle",
        HealthVerdict.Retrying => "retrying",
        HealthVerdict.Stalled => "stalled",
        HealthVerdict.BusyIdle => "busy-idle",
        HealthVerdict.Stuck => "stuck",
        _ => throw new ArgumentOutOfRangeException(nameof(verdict)),
    };

    /// <summary>The verdict named <paramref name="word"/>, or null.</summary>
    public static HealthVerdict? Parse(string word)
    {
        foreach (var v in All)
            if (v.ToJsonName() == word) return v;
        return null;
    }

    /// <summary>Whether the verdict says something is wrong (the views mark it, the actions act on it).</summary>
    public static bool IsUnhealthy(this HealthVerdict verdict) => verdict is HealthVerdict.Stalled or HealthVerdict.BusyIdle or HealthVerdict.Stuck;
}

/// <summary>A running agent's health: the verdict, since when it holds, and why, in words.</summary>
/// <param name="Verdict">The verdict.</param>
/// <param name="Since">When this verdict began (consecutive samples with the same verdict).</param>
/// <param name="Reasons">The evidence, one phrase each (<c>no bytes from the model for 4m12s on an open connection</c>).</param>
internal sealed record HealthSnapshot(HealthVerdict Verdict, DateTimeOffset Since, IReadOnlyList<string> Reasons)
{
    /// <inheritdoc/>
    public bool Equals(HealthSnapshot? other) =>
        other is not null && Verdict == other.Verdict && Since == other.Since && Reasons.SequenceEqual(other.Reasons);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Verdict, Since, Reasons.Count);
}

/// <summary>
/// What an agent's process trees used over its whole life (every iteration and run), the counters an exporter
/// publishes: they never go down. Integrated from each sample's rates over the time since the sample before.
/// </summary>
/// <param name="CpuSeconds">CPU time of its trees, user and system.</param>
/// <param name="DiskReadBytes">Bytes its trees caused to be read from storage.</param>
/// <param name="DiskWriteBytes">Bytes its trees caused to be written to storage.</param>
/// <param name="NetRxBytes">TCP payload bytes its trees received.</param>
/// <param name="NetTxBytes">TCP payload bytes its trees sent (acknowledged).</param>
internal readonly record struct AgentTotals(double CpuSeconds, double DiskReadBytes, double DiskWriteBytes, double NetRxBytes, double NetTxBytes)
{
    /// <summary>Adds what <paramref name="sample"/>'s rates say was used over <paramref name="seconds"/>.</summary>
    public AgentTotals Add(Metrics.TreeSample sample, double seconds)
    {
        ArgumentNullException.ThrowIfNull(sample);
        if (!sample.Exists || seconds <= 0) return this;
        return new AgentTotals(
            CpuSeconds + (sample.CpuPercent ?? 0) / 100 * seconds,
            DiskReadBytes + (sample.IoReadBytesPerSec ?? 0) * seconds,
            DiskWriteBytes + (sample.IoWriteBytesPerSec ?? 0) * seconds,
            NetRxBytes + (sample.NetRxBytesPerSec ?? 0) * seconds,
            NetTxBytes + (sample.NetTxBytesPerSec ?? 0) * seconds);
    }
}
