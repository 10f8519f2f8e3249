using Zeroshot.Terminal;

namespace Zeroshot.Terminal.Tests;

public class FooterViewTests
{
    internal static FooterModel Model(int agents = 2, int running = 1, string id = "worker") => new(
        "cosmic-meteor-87", "running", 2, 3, TimeSpan.FromSeconds(192),
        [.. Enumerable.Range(0, agents).Select(i => i < running
            ? new FooterAgent(i == 0 ? id : $"{id}-{i}", "sonnet", "tool:Bash", true, ActivityKind.Tool, 23, 67, 4.2 * 1024, 1.1 * 1024, 3400, 0.12m, false, TimeSpan.FromSeconds(2))
            : new FooterAgent($"validator-{i}", "haiku", "waiting", false, ActivityKind.Idle))]);

    [Fact]
    public void RendersTheIssueExample()
    {
        var frame = FooterView.Render(Model(), 110, 30);
        var t = frame.Lines.Select(l => l.Text).ToArray();
        Assert.Equal(4, t.Length);
        Assert.StartsWith("┌─ cosmic-meteor-87 ─ running ─ iteration 2/3 ─ 3m12s ─", t[0]);
        Assert.EndsWith("─┐", t[0]);
        Assert.Matches(@"^│ ● worker\s+sonnet\s+tool:Bash\s+CPU  23%  MEM 67MB\s+NET ↓4.2KB/s ↑1.1KB/s\s+TOK 3.4K\s+\$0.12\s+2s ago\s+│$", t[1]);
        Assert.Matches(@"^│ ○ validator-1\s+haiku\s+waiting\s+CPU    -  MEM -\s+NET -\s+TOK 0\s+\$0.00\s+-\s+│$", t[2]);
        Assert.StartsWith("└─ 1/2 active │ Σ CPU 23% MEM 67MB NET ↓4.2KB/s ↑1.1KB/s │ 3.4K tokens │ $0.12 ─", t[3]);
        Assert.EndsWith("─┘", t[3]);
        Assert.All(t, l => Assert.Equal(110, TextWidth.Columns(l)));
    }

    [Fact]
    public void RunningAgentsFirstAndFoldingIntoMore()
    {
        var m = Model(agents: 8, running: 0) with { };
        var agents = m.Agents.ToList();
        agents[5] = agents[5] with { Running = true, Id = "late-runner" };
        m = m with { Agents = agents };
        var frame = FooterView.Render(m, 120, 15); // at most 5 lines: 3 agent rows
        Assert.Equal(5, frame.Height);
        Assert.Contains("late-runner", frame.Lines[1].Text);
        Assert.StartsWith("└─ +5 more │ 1/8 active", frame.Lines[^1].Text);
    }

    [Theory]
    [InlineData(7, 0)]
    [InlineData(8, 2)]   // floor(8/3) = 2: both borders, everything folded
    [InlineData(12, 4)]
    [InlineData(60, 5)]  // 3 agents need 5 lines, far below the third
    public void NeverMoreThanAThirdAndHiddenBelowEightRows(int height, int expected)
    {
        var frame = FooterView.Render(Model(agents: 3), 100, height);
        Assert.Equal(expected, frame.Height);
        Assert.True(frame.Height <= height / 3);
    }

    [Theory]
    [InlineData(20)]
    [InlineData(37)]
    [InlineData(80)]
    [InlineData(250)]
    public void EveryLineIsExactlyTheWidthEvenWithWideText(int width)
    {
        var m = Model(agents: 3, running: 2, id: "作業者-👨‍👩‍👧-e\u0301") with { ClusterId = "宇宙-流星-🚀-87" };
        var frame = FooterView.Render(m, width, 40);
        Assert.All(frame.Lines, l =>
        {
            Assert.Equal(width, TextWidth.Columns(l.Text));
            Assert.Equal(l.Text, string.Concat(l.Segments.Select(s => s.Text)));
        });
    }

    [Fact]
    public void AnAgentThatNeedsThePersonComesFirstHighlightedWithItsQuestion()
    {
        var m = Model(agents: 4, running: 4);
        var agents = m.Agents.ToList();
        agents[2] = agents[2] with { Id = "asker", Status = "needs-input", Activity = ActivityKind.NeedsInput, Question = "Bash: rm -r build\u001b[31m" };
        agents[3] = agents[3] with { Running = false };
        m = m with { Agents = agents };
        var frame = FooterView.Render(m, 140, 30);
        var row = frame.Lines[1];
        Assert.StartsWith("│ ? asker", row.Text, StringComparison.Ordinal);
        // The question, its control character made harmless, at the end of the row.
        Assert.Contains("? Bash: rm -r build?[31m", row.Text, StringComparison.Ordinal);
        Assert.Equal(140, TextWidth.Columns(row.Text));
        Assert.Contains(row.Segments, s => s.Style.Inverse && s.Text.Contains("needs-input", StringComparison.Ordinal));
        // Then the running agents in their order, then the rest.
        Assert.DoesNotContain("asker", frame.Lines[2].Text, StringComparison.Ordinal);
        Assert.Contains(agents[3].Id, frame.Lines[4].Text, StringComparison.Ordinal);
    }

    [Fact]
    public void EstimatedCostGetsATilde()
    {
        var m = Model();
        m = m with { Agents = [m.Agents[0] with { CostEstimated = true }, m.Agents[1]] };
        Assert.Contains("│ ~$0.12 ─", FooterView.Render(m, 120, 30).Lines[^1].Text);
        Assert.Contains("~$0.12", PlainStatus.Render(m));
    }

    [Fact]
    public void MarkerColourFollowsActivity()
    {
        var a = Model().Agents[0];
        Assert.Equal(Color.Yellow, FooterView.Marker(a).Color);
        Assert.Equal(Color.Magenta, FooterView.Marker(a with { Activity = ActivityKind.Model }).Color);
        Assert.Equal(("✗", Color.Red), FooterView.Marker(a with { Running = false, Activity = ActivityKind.Failed }));
    }

    [Fact]
    public void PlainStatusIsOneLineWithoutEscapes()
    {
        var s = PlainStatus.Render(Model());
        Assert.Equal("[cosmic-meteor-87] running iteration 2/3 3m12s | 1/2 active | CPU 23% MEM 67MB NET rx 4.2KB/s tx 1.1KB/s | 3.4K tokens | $0.12 | worker: tool:Bash, validator-1: waiting", s);
        Assert.DoesNotContain('\e', s);
        Assert.DoesNotContain('\n', s);
    }
}

public class FooterSanitizeTests
{
    [Fact]
    public void ControlCharactersFromAgentsNeverReachTheTerminal()
    {
        var m = FooterViewTests.Model();
        m = m with { Agents = [m.Agents[0] with { Status = "tool:\e[2Jevil\nx", Id = "w\u009b1" }, m.Agents[1]] };
        var frame = FooterView.Render(m, 100, 30);
        Assert.All(frame.Lines, l =>
        {
            Assert.DoesNotContain(l.Text, c => c < ' ' || c is >= '\x7F' and <= '\x9F');
            Assert.Equal(100, TextWidth.Columns(l.Text));
        });
        Assert.Contains("w?1 ", frame.Lines[1].Text);
        Assert.Contains(" tool:?[2Jevil…  CPU", frame.Lines[1].Text); // sanitized before fitting: columns stay aligned
        var plain = PlainStatus.Render(m);
        Assert.DoesNotContain('\n', plain);
        Assert.DoesNotContain('\e', plain);
    }
}

public class FooterAgentMetricsTests
{
    [Fact]
    public void WithMetricsTakesTheLatestSampleAndBlanksAGoneTree()
    {
        var a = new FooterAgent("worker", "sonnet", "output", true, ActivityKind.Output);
        var now = DateTimeOffset.UnixEpoch;
        var s = new Zeroshot.Metrics.TreeSample { Timestamp = now, Pid = 42, Exists = true, CpuPercent = 12.5, MemoryMB = 80, NetRxBytesPerSec = 100, NetTxBytesPerSec = 50 };
        var withMetrics = a.WithMetrics(s);
        Assert.Equal((12.5, 80.0, 100.0, 50.0), (withMetrics.CpuPercent, withMetrics.MemoryMB, withMetrics.NetRxBytesPerSec, withMetrics.NetTxBytesPerSec));
        var gone = withMetrics.WithMetrics(Zeroshot.Metrics.TreeSample.Gone(42, now));
        Assert.Null(gone.CpuPercent);
        Assert.Null(gone.MemoryMB);
        Assert.Null(withMetrics.WithMetrics(null).NetRxBytesPerSec);
    }
}
