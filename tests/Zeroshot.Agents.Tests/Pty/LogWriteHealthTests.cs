using Zeroshot.Agents.Pty;

namespace Zeroshot.Agents.Tests.Pty;

/// <summary>The shared count of log bytes lost to failed writes, and when it says so.</summary>
public class LogWriteHealthTests
{
    private const int Enospc = 28;

    [Fact]
    public void The_first_failure_and_the_first_success_after_it_are_reported_once_and_every_lost_byte_is_counted()
    {
        var seen = new List<(string? Failure, long Lost)>();
        var health = new LogWriteHealth { Changed = h => seen.Add((h.Failure, h.BytesLost)) };
        var full = new IOException("No space left on device", Enospc);

        health.Written();
        Assert.Empty(seen);
        health.Lost(1000, full);
        health.Lost(24, full);
        health.Lost(0, full);
        Assert.Equal([("disk full", 1000L)], seen);
        Assert.Equal(1024, health.BytesLost);
        Assert.Equal("disk full", health.Failure);

        health.Written();
        health.Written();
        Assert.Equal([("disk full", 1000L), (null, 1024L)], seen);
        Assert.Null(health.Failure);

        health.Lost(5, new IOException("Input/output error", 5));
        Assert.Equal(3, seen.Count);
        Assert.Equal(("Input/output error", 1029L), seen[2]);
    }

    [Theory]
    [InlineData(28, "No space left on device", "disk full")]
    [InlineData(122, "Disk quota exceeded", "disk full")]
    [InlineData(5, "Input/output error", "Input/output error")]
    public void The_cause_is_named_by_errno(int errno, string message, string expected) =>
        Assert.Equal(expected, LogWriteHealth.Describe(new IOException(message, errno)));
}
