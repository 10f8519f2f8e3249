namespace Zeroshot.Terminal;

/// <summary>What a running agent is doing, which colours its marker.</summary>
internal enum ActivityKind
{
    /// <summary>Nothing known yet / waiting for its turn.</summary>
    Idle,
    /// <summary>Waiting on the model (thinking, streaming a response).</summary>
    Model,
    /// <summary>Running a tool.</summary>
    Tool,
    /// <summary>Producing output right now.</summary>
    Output,
    /// <summary>Running but silent for a while.</summary>
    Quiet,
    /// <summary>Finished successfully.</summary>
    Completed,
    /// <summary>Finished with an error.</summary>
    Failed,
    /// <summary>Stopped by the user or the supervisor.</summary>
    Stopped,
    /// <summary>An interactive agent waits for the person (a permission, a question): listed first, highlighted.</summary>
    NeedsInput,
    /// <summary>An interactive agent's turn is over: it waits for the next prompt.</summary>
    Waiting,
}

/// <summary>One agent row of the footer. Nullable metrics are unknown (rendered as <c>-</c>).</summary>
/// <param name="Id">Agent id (e.g. <c>worker</c>).</param>
/// <param name="Model">Model name (e.g. <c>sonnet</c>), empty when unknown.</param>
/// <param name="Status">The word a person needs: waiting, model, tool:&lt;name&gt;, output, quiet,
/// completed, failed, stopped.</param>
/// <param name="Running">Whether its process is running (running agents are listed first).</param>
/// <param name="Activity">Marker colour.</param>
/// <param name="CpuPercent">CPU of the whole process tree, percent of one core.</param>
/// <param name="MemoryMB">Resident memory of the tree in MiB.</param>
/// <param name="NetRxBytesPerSec">Network receive rate.</param>
/// <param name="NetTxBytesPerSec">Network send rate.</param>
/// <param name="Tokens">Tokens used so far.</param>
/// <param name="CostUsd">Cost so far in US dollars.</param>
/// <param name="CostEstimated">Whether the cost is an estimate (shown with <c>~</c>).</param>
/// <param name="LastOutputAgo">Time since the agent last wrote output.</param>
internal sealed record FooterAgent(
    string Id,
    string Model,
    string Status,
    bool Running,
    ActivityKind Activity,
    double? CpuPercent = null,
    double? MemoryMB = null,
    double? NetRxBytesPerSec = null,
    double? NetTxBytesPerSec = null,
    long Tokens = 0,
    decimal CostUsd = 0,
    bool CostEstimated = false,
    TimeSpan? LastOutputAgo = null)
{
    /// <summary>What a <see cref="ActivityKind.NeedsInput"/> agent asks ("Bash: rm -r build"), shown at the row's end.</summary>
    public string? Question { get; init; }

    /// <summary>This agent with the metrics of its process tree's latest sample (a value shown is the latest
    /// sample); no sample, or a tree that is gone, shows <c>-</c>.</summary>
    public FooterAgent WithMetrics(Zeroshot.Metrics.TreeSample? sample) => sample is { Exists: true }
        ? this with { CpuPercent = sample.CpuPercent, MemoryMB = sample.MemoryMB, NetRxBytesPerSec = sample.NetRxBytesPerSec, NetTxBytesPerSec = sample.NetTxBytesPerSec }
        : this with { CpuPercent = null, MemoryMB = null, NetRxBytesPerSec = null, NetTxBytesPerSec = null };
}

/// <summary>Everything the footer shows; plain data so the supervisor and the views stay decoupled.</summary>
/// <param name="ClusterId">Cluster id (e.g. <c>cosmic-meteor-87</c>).</param>
/// <param name="State">Cluster state word (running, stopping, completed…).</param>
/// <param name="Iteration">Current iteration (1-based), 0 when not applicable.</param>
/// <param name="MaxIterations">Iteration limit, 0 when unknown.</param>
/// <param name="Elapsed">Time since the cluster started.</param>
/// <param name="Agents">Agents in configuration order.</param>
internal sealed record FooterModel(
    string ClusterId,
    string State,
    int Iteration,
    int MaxIterations,
    TimeSpan Elapsed,
    IReadOnlyList<FooterAgent> Agents)
{
    /// <summary>Something the user must see at once (the logs are not being written), drawn in red after the state.</summary>
    public string? Warning { get; init; }
}

/// <summary>A run of text in one style.</summary>
internal readonly record struct Segment(string Text, Style Style);

/// <summary>One footer line: segments whose texts add up to exactly the frame width in columns.</summary>
internal sealed class FooterLine : IEquatable<FooterLine>
{
    /// <summary>Creates a line.</summary>
    public FooterLine(IReadOnlyList<Segment> segments)
    {
        Segments = segments;
        Text = string.Concat(segments.Select(s => s.Text));
    }

    /// <summary>Styled runs.</summary>
    public IReadOnlyList<Segment> Segments { get; }

    /// <summary>The plain text of the line.</summary>
    public string Text { get; }

    /// <inheritdoc/>
    public bool Equals(FooterLine? other)
    {
        if (other is null || other.Text != Text || other.Segments.Count != Segments.Count) return false;
        for (int i = 0; i < Segments.Count; i++)
        {
            if (Segments[i] != other.Segments[i]) return false;
        }
        return true;
    }

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as FooterLine);

    /// <inheritdoc/>
    public override int GetHashCode() => Text.GetHashCode(StringComparison.Ordinal);

    /// <inheritdoc/>
    public override string ToString() => Text;
}

/// <summary>A rendered footer: zero lines means hidden.</summary>
internal sealed record FooterFrame(int Width, IReadOnlyList<FooterLine> Lines)
{
    /// <summary>Hidden footer.</summary>
    public static FooterFrame Hidden(int width) => new(width, []);

    /// <summary>Rows the footer takes.</summary>
    public int Height => Lines.Count;
}
