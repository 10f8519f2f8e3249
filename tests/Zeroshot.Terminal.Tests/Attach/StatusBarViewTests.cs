using Zeroshot.Terminal.Attach;
using Zeroshot.Terminal.Escapes;

namespace Zeroshot.Terminal.Tests.Attach;

/// <summary>The attach status bar: its content, exactly the width, no escapes without colour.</summary>
public class StatusBarViewTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);

    private static StatusBarInfo Full(string agent = "worker") => new()
    {
        Agent = agent,
        Model = "sonnet",
        State = "running",
        Activity = "tool:Bash",
        CpuPercent = 12.3,
        MemoryBytes = 45 * 1024 * 1024,
        NetReceiveBytesPerSecond = 2150,
        NetSendBytesPerSecond = 300,
        Tokens = 1234,
        CostUsd = 0.04m,
        LastOutputAt = Now.AddSeconds(-2),
        PrefixLabel = "C-b",
    };

    [Fact]
    public void AWideBarShowsEveryFigure()
    {
        string line = StatusBarView.Render(Full(), 140, color: false, Now);
        Assert.StartsWith($"─ worker [sonnet] ─ tool:Bash ─ CPU {Format.Percent(12.3, compact: true)} │ Mem {Format.Bytes(45 * 1024 * 1024, compact: true)} │ Net ↓{Format.Rate(2150, compact: true)} ↑{Format.Rate(300, compact: true)} │ Tokens {Format.Tokens(1234)} │ {Format.Cost(0.04m, false, compact: true)} │ out 2s ago ─ C-b d detach ─", line);
        Assert.EndsWith("──", line);
        Assert.Equal(140, TextWidth.Columns(line));
    }

    public static TheoryData<int> Widths() => new(Enumerable.Range(1, 200));

    [Theory]
    [MemberData(nameof(Widths))]
    public void TheBarIsExactlyTheWidth(int width)
    {
        foreach (var info in new[] { Full(), Full("エージェント日本語ワーカー") with { ReadOnly = true }, new StatusBarInfo { Agent = "a" }, Full() with { State = "exited", ExitCode = 3 } })
        {
            string plain = StatusBarView.Render(info, width, color: false, Now);
            Assert.Equal(width, TextWidth.Columns(plain));
            Assert.DoesNotContain('\e', plain);
            string colored = StatusBarView.Render(info, width, color: true, Now);
            Assert.Equal(plain, EscapeStripper.Strip(colored));
            Assert.EndsWith("\e[0m", colored);
        }
    }

    [Fact]
    public void ANarrowBarKeepsTheAgentAndTheDetachKey()
    {
        string line = StatusBarView.Render(Full(), 40, color: false, Now);
        Assert.StartsWith("─ worker ", line);
        Assert.Contains("C-b d detach", line);
        Assert.DoesNotContain("Net", line);
    }

    [Fact]
    public void UnknownFiguresAreLeftOut()
    {
        string line = StatusBarView.Render(new StatusBarInfo { Agent = "w", PrefixLabel = "C-a" }, 60, color: false, Now);
        Assert.Equal("─ w ─ C-a d detach " + new string('─', 60 - 19), line);
    }

    [Fact]
    public void TheStateOfAnAgentThatIsNotRunningAndReadOnly()
    {
        string line = StatusBarView.Render(Full() with { State = "exited", ExitCode = 0, ReadOnly = true }, 120, color: false, Now);
        Assert.Contains("─ worker [sonnet] ─ read-only ─ exited 0 ─ CPU", line);
        Assert.DoesNotContain("tool:Bash", line);
    }

    [Fact]
    public void ControlsFromTheAgentNeverReachTheTerminal()
    {
        string line = StatusBarView.Render(Full("evil\e[2J\nid") with { Activity = "tool:\e]0;x\a" }, 100, color: true, Now);
        Assert.DoesNotContain("\e[2J", line);
        Assert.DoesNotContain("\n", line);
        Assert.DoesNotContain("\e]", line);
        Assert.Equal(100, TextWidth.Columns(EscapeStripper.Strip(line)));
    }
}
