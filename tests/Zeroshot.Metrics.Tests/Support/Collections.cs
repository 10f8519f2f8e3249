namespace Zeroshot.Metrics.Tests.Support;

/// <summary>
/// Tests that measure real CPU of real processes run one at a time, so that on a two-core machine
/// they don't compete with each other for the cores they measure.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RealProcessCollection
{
    public const string Name = "real processes";
}
