using Zeroshot.Metrics.MacOS;

namespace Zeroshot.Metrics.Tests.MacOS;

public class MacRatesTests
{
    [Fact]
    public void CpuPercentIsOfOneCore()
    {
        long freq = TimeSpan.TicksPerSecond;
        Assert.Equal(50.0, MacRates.CpuPercent(500_000_000, freq, freq));
        Assert.Equal(200.0, MacRates.CpuPercent(4_000_000_000, 2 * freq, freq)); // two busy cores
        Assert.Equal(0.0, MacRates.CpuPercent(-5, freq, freq));
        Assert.Null(MacRates.CpuPercent(1, 0, freq));
    }

    [Fact]
    public void MachTimeConversion()
    {
        Assert.Equal(1_000L, MacRates.MachToNanoseconds(1_000, 1, 1));            // Intel
        Assert.Equal(1_000_000_000L, MacRates.MachToNanoseconds(24_000_000, 125, 3)); // Apple Silicon, 24 MHz
        Assert.Equal(long.MaxValue, MacRates.MachToNanoseconds(ulong.MaxValue, 125, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => MacRates.MachToNanoseconds(1, 1, 0));
    }

    [Fact]
    public void LedgerSumsIncrementsAndNewMembers()
    {
        var ledger = new CpuLedger();
        Assert.False(ledger.HasBaseline);
        Assert.Equal(0, ledger.Advance([P(1, 10, 1_000), P(2, 20, 500)]));
        Assert.True(ledger.HasBaseline);

        // pid 1 +300; pid 2 exited; pid 3 is new (whole 70 counts); pid 4 unknown CPU is skipped.
        Assert.Equal(370, ledger.Advance([P(1, 10, 1_300), P(3, 30, 70), P(4, 40, null)]));

        // pid 3 recycled with another start time: counts whole as a new process; pid 1 unchanged.
        Assert.Equal(5, ledger.Advance([P(1, 10, 1_300), P(3, 31, 5)]));
    }

    [Fact]
    public void LedgerNeverGoesNegative()
    {
        var ledger = new CpuLedger();
        ledger.Advance([P(1, 10, 1_000)]);
        Assert.Equal(0, ledger.Advance([P(1, 10, 900)]));
    }

    private static MacProc P(int pid, long start, long? cpu) => new(pid, 1, start, cpu, 0, 1, 'S');
}
