using Zeroshot.Metrics;

namespace Zeroshot.Cli;

/// <summary>What commands get from the composition root instead of reaching for globals.</summary>
/// <param name="Out">Standard output.</param>
/// <param name="Error">Standard error.</param>
/// <param name="Time">The clock (monotonic timestamps and wall time).</param>
/// <param name="CreateSampler">Builds the platform's process-tree sampler.</param>
/// <param name="Shutdown">Cancelled by Ctrl+C or SIGTERM.</param>
internal sealed record CliContext(
    TextWriter Out,
    TextWriter Error,
    TimeProvider Time,
    Func<SamplerOptions, ITreeSampler> CreateSampler,
    CancellationToken Shutdown);
