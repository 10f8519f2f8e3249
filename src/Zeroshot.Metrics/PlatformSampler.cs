using Zeroshot.Metrics.Linux;
using Zeroshot.Metrics.MacOS;

namespace Zeroshot.Metrics;

/// <summary>Chooses the process-tree sampler for the operating system zeroshot runs on.</summary>
public static class PlatformSampler
{
    /// <summary>
    /// The best sampler for this operating system: procfs on Linux (WSL included), libproc/ps/lsof on
    /// macOS, and one that reports every metric as null elsewhere.
    /// </summary>
    public static ITreeSampler Create(SamplerOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        if (OperatingSystem.IsLinux()) return new LinuxTreeSampler(options, time);
        if (OperatingSystem.IsMacOS()) return new MacTreeSampler(options, time);
        return new UnsupportedTreeSampler(time);
    }
}
