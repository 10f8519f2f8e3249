namespace Zeroshot.Terminal;

/// <summary>The one-line status printed every <c>--status-interval</c> seconds when standard output is
/// not a terminal: plain ASCII-friendly text, no escape codes.</summary>
internal static class PlainStatus
{
    /// <summary>E.g. <c>[cosmic-meteor-87] running iteration 2/3 3m12s | 1/3 active | CPU 23% MEM 91MB NET rx 4.2KB/s tx 1.1KB/s | 3.4K tokens | ~$0.12 | worker: tool:Bash, validator-1: waiting</c>.</summary>
    public static string Render(FooterModel m)
    {
        var a = m.Agents;
        string iteration = m.Iteration <= 0 ? string.Empty
            : m.MaxIterations > 0 ? $" iteration {m.Iteration}/{m.MaxIterations}" : $" iteration {m.Iteration}";
        var rx = Format.SumKnown(a.Select(x => x.NetRxBytesPerSec));
        var tx = Format.SumKnown(a.Select(x => x.NetTxBytesPerSec));
        string net = rx is null && tx is null ? Format.Unknown : $"rx {Format.Rate(rx, compact: true)} tx {Format.Rate(tx, compact: true)}";
        string agents = string.Join(", ", a.Select(x => $"{x.Id}: {x.Status}"));
        return Format.Sanitize($"[{m.ClusterId}] {m.State}{iteration} {Format.Duration(m.Elapsed, compact: true)}"
            + (m.Warning is { } warning ? " | " + warning : string.Empty)
            + $" | {a.Count(x => x.Running)}/{a.Count} active"
            + $" | CPU {Format.Percent(Format.SumKnown(a.Select(x => x.CpuPercent)), compact: true)}"
            + $" MEM {Format.MegaBytes(Format.SumKnown(a.Select(x => x.MemoryMB)), compact: true)} NET {net}"
            + $" | {Format.Tokens(a.Sum(x => x.Tokens))} tokens | {Format.Cost(a.Sum(x => x.CostUsd), a.Any(x => x.CostEstimated), compact: true)}"
            + (agents.Length > 0 ? " | " + agents : string.Empty));
    }
}
