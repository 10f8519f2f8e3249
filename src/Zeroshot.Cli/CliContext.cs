using Zeroshot.Agents.State;
using Zeroshot.Metrics;

namespace Zeroshot.Cli;

/// <summary>What commands get from the composition root instead of reaching for globals.</summary>
/// <param name="Out">Standard output.</param>
/// <param name="Error">Standard error.</param>
/// <param name="Time">The clock (monotonic timestamps and wall time).</param>
/// <param name="CreateSampler">Builds the platform's process-tree sampler.</param>
/// <param name="Shutdown">Cancelled by Ctrl+C or SIGTERM.</param>
/// <param name="RawOut">Standard output as bytes (logs are copied byte for byte).</param>
/// <param name="Colors">Whether standard output is a terminal that gets colours.</param>
/// <param name="Home">Where Zeroshot keeps its state ($ZEROSHOT_HOME or ~/.zeroshot).</param>
/// <param name="SelfCommand">How to start this executable again (the sim provider, the detached supervisor).</param>
internal sealed record CliContext(
    TextWriter Out,
    TextWriter Error,
    TimeProvider Time,
    Func<SamplerOptions, ITreeSampler> CreateSampler,
    CancellationToken Shutdown,
    Stream RawOut,
    bool Colors,
    Func<ZeroshotHome> Home,
    IReadOnlyList<string> SelfCommand)
{
    /// <summary>Whether standard output is a terminal (whatever NO_COLOR or TERM say): raw agent bytes never go to one.</summary>
    public bool OutputIsTerminal { get; init; }

    /// <summary>Cancelled by a second Ctrl+C or SIGTERM: stop without waiting.</summary>
    public CancellationToken ForceKill { get; init; }

    /// <summary>The terminal's size when standard output is one, else 120×40 (the agents' PTYs get it).</summary>
    public (int Columns, int Rows) TerminalSize()
    {
        if (!Colors) return (120, 40);
        try
        {
            return (Math.Max(20, Console.WindowWidth), Math.Max(5, Console.WindowHeight));
        }
        catch (IOException)
        {
            return (120, 40);
        }
    }
}
