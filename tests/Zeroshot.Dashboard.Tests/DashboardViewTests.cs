using Zeroshot.Agents.Config;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;
using Zeroshot.Terminal;
using static Zeroshot.Dashboard.Tests.Fixtures;

namespace Zeroshot.Dashboard.Tests;

public sealed class DashboardViewTests
{
    private static DashboardState State()
    {
        var state = new DashboardState();
        for (int i = 0; i < 8; i++) state.Update(Busy("cosmic-meteor-87", T0.AddSeconds(i - 7), cpu: 10 * i, tokens: 1000 + 500 * i));
        state.Update(Cluster("quiet-river-12", ClusterState.Running, T0.AddMinutes(-2),
            Agent("worker", metrics: Sample(T0, 2, 81, 1900, 200), tokens: 9000, cost: 0.39m, lastOutput: T0) with { LastLine = "⚙ Bash: npm test" },
            Agent("validator-1", AgentState.Completed, AgentRole.Validator, verdict: new VerdictSnapshot(false, "tests fail", ["fix the tests"], 1))));
        state.UpdateEnded(Cluster("old-lake-3", ClusterState.Failed, T0.AddHours(-3), Agent("worker", AgentState.Failed, lastError: "exit code 1")));
        return state;
    }

    public static TheoryData<int, int> Sizes => new() { { 60, 15 }, { 80, 24 }, { 100, 30 }, { 120, 40 }, { 200, 60 }, { 61, 16 } };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Every_frame_fills_the_screen_exactly_in_every_mode(int width, int height)
    {
        var state = State();
        foreach (var setup in new Action[] { () => { }, () => state.OnKey(DashboardKey.Of('?'), width, height, T0), () => state.OnKey(DashboardKey.Of('/'), width, height, T0),
                     () => state.OnKey(new DashboardKey(KeyKind.Escape), width, height, T0), () => state.OnKey(DashboardKey.Of('s'), width, height, T0) })
        {
            setup();
            var frame = DashboardView.Render(state, width, height, T0);
            Assert.Equal(height, frame.Lines.Count);
            Assert.All(frame.Lines, l => Assert.Equal(width, TextWidth.Columns(l.Text)));
            Assert.All(frame.Lines, l => Assert.Equal(l.Text, string.Concat(l.Segments.Select(s => s.Text))));
        }
    }

    [Fact]
    public void The_table_shows_rows_totals_and_the_selected_agents_panel()
    {
        var frame = DashboardView.Render(State(), 120, 30, T0).Text.Split('\n');
        Assert.StartsWith("┌─ Zeroshot ─ 2 clusters (+1 ended) ─ 4 agents ─ Σ CPU 72% MEM 131MB NET ↓2.8KB/s ↑700B/s ─ 15.5K tokens ─ $0.42 ─", frame[0], StringComparison.Ordinal);
        Assert.Matches(@"^│ CLUSTER +AGENT +ROLE +MODEL +STATE +CPU +MEM NET I/O +TOKENS +COST LAST +│$", frame[1]);
        Assert.Matches(@"^│ quiet-river-12 +2 agents +it 1/3 +up 2m00s +running +2% +81MB ↓1.9KB ↑200B +10\.0K +\$0\.40 +│$", frame[2]);
        Assert.Matches(@"^│   ● +worker +worker +sonnet +model +2% +81MB ↓1.9KB ↑200B +9\.0K +\$0\.39 0s ago", frame[3]);
        Assert.Matches(@"^│   ✓ +validator-1 +validator +sonnet +rejected ", frame[4]);
        Assert.Matches(@"^│   ● +worker +worker +sonnet +tool:Bash +70% +50MB", frame[6]);
        Assert.Matches(@"^│   ! +worker +worker +sonnet +failed ", frame[9]);
        // The first agent is selected when none was chosen: quiet-river-12's worker.
        var panel = frame[^5..];
        Assert.StartsWith("├─ worker @ quiet-river-12 ─ worker · claude/sonnet · pid 4242 · iteration 1/3 ─", panel[0], StringComparison.Ordinal);
        Assert.Contains("last output: \"⚙ Bash: npm test\"", panel[3], StringComparison.Ordinal);
        Assert.StartsWith("└─ q quit │ ↑↓ select │ a attach", frame[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void The_panel_draws_sixty_samples_as_sparklines_and_the_verdict_and_error_of_agents_that_ended()
    {
        var state = State();
        for (int i = 8; i < 80; i++) state.Update(Busy("cosmic-meteor-87", T0.AddSeconds(i), cpu: i % 2 == 0 ? 100 : 0, tokens: 1000 * i));
        state.OnKey(new DashboardKey(KeyKind.End), 200, 40, T0); // old-lake-3's worker
        state.OnKey(new DashboardKey(KeyKind.Up), 200, 40, T0);
        state.OnKey(new DashboardKey(KeyKind.Up), 200, 40, T0); // cosmic-meteor-87's worker
        var lines = DashboardView.Render(state, 200, 40, T0).Text.Split('\n');
        Assert.StartsWith("├─ worker @ cosmic-meteor-87", lines[^5], StringComparison.Ordinal);
        string spark = lines[^4];
        int cpu = spark.IndexOf("CPU ", StringComparison.Ordinal) + 4;
        // 200 columns: 34 bars each, the last 34 samples (46..79), alternating 100 % (even) and 0 %.
        Assert.Equal(string.Concat(Enumerable.Repeat("█▁", 17)), spark.Substring(cpu, 34));
        Assert.Contains("TOKENS ▁", spark, StringComparison.Ordinal);
        Assert.Contains("█ 79.0K", spark, StringComparison.Ordinal);

        state.OnKey(new DashboardKey(KeyKind.End), 200, 40, T0);
        lines = DashboardView.Render(state, 200, 40, T0).Text.Split('\n');
        Assert.Contains("failed  error exit code 1  exit 0", lines[^3], StringComparison.Ordinal);
        state.OnKey(new DashboardKey(KeyKind.Home), 200, 40, T0);
        state.OnKey(new DashboardKey(KeyKind.Down), 200, 40, T0);
        lines = DashboardView.Render(state, 200, 40, T0).Text.Split('\n');
        Assert.Contains("rejected  verdict rejected \"tests fail\"", lines[^3], StringComparison.Ordinal);
    }

    [Fact]
    public void Sparklines_scale_rates_from_zero_and_growing_counts_from_their_smallest()
    {
        var rates = new Trend();
        foreach (var v in new double[] { 0, 50, 100, 25 }) rates.Add(v);
        Assert.Equal("▁▅█▃", DashboardView.Sparkline(rates, 10, floor: 100));
        // An idle agent at 0.3 % is not drawn as a full bar: the floor is 100 %.
        var idle = new Trend();
        foreach (var v in new double[] { 0.1, 0.3, 0.2 }) idle.Add(v);
        Assert.Equal("▁▁▁", DashboardView.Sparkline(idle, 10, floor: 100));
        var tokens = new Trend();
        foreach (var v in new double[] { 1000, 1000, 1500, 2000 }) tokens.Add(v);
        Assert.Equal("▁▁▅█", DashboardView.Sparkline(tokens, 10, floor: 0));
        Assert.Equal("▁█", DashboardView.Sparkline(tokens, 2, floor: 0)); // the last two, scaled between themselves
    }

    [Fact]
    public void A_narrow_terminal_drops_columns_in_order_and_a_tiny_one_asks_for_room()
    {
        string Header(int width) => DashboardView.Render(State(), width, 20, T0).Text.Split('\n')[1];
        Assert.Contains("ROLE", Header(120), StringComparison.Ordinal);
        Assert.DoesNotContain("ROLE", Header(110), StringComparison.Ordinal);
        Assert.Contains("MODEL", Header(110), StringComparison.Ordinal);
        string narrow = Header(70);
        Assert.DoesNotContain("MODEL", narrow, StringComparison.Ordinal);
        Assert.DoesNotContain("LAST", narrow, StringComparison.Ordinal);
        Assert.Contains("CPU", narrow, StringComparison.Ordinal);
        Assert.Contains("STATE", narrow, StringComparison.Ordinal);
        string tiny = Header(60);
        Assert.Contains("CPU", tiny, StringComparison.Ordinal);
        Assert.Contains("AGENT", tiny, StringComparison.Ordinal);

        var small = DashboardView.Render(State(), 59, 30, T0);
        Assert.Equal(30, small.Lines.Count);
        Assert.Contains(small.Lines, l => l.Text.Contains("zeroshot watch needs at least 60×15", StringComparison.Ordinal));
        Assert.Contains(small.Lines, l => l.Text.Contains("this terminal is 59×30", StringComparison.Ordinal));
        Assert.All(small.Lines, l => Assert.Equal(59, TextWidth.Columns(l.Text)));
        Assert.Contains(DashboardView.Render(State(), 100, 14, T0).Lines, l => l.Text.Contains("needs at least", StringComparison.Ordinal));
    }

    [Fact]
    public void The_sorted_column_is_marked_and_the_help_the_filter_and_the_question_take_their_places()
    {
        var state = State();
        state.OnKey(DashboardKey.Of('>'), 120, 30, T0);
        Assert.Contains("CLUSTER▲", DashboardView.Render(state, 120, 30, T0).Lines[1].Text, StringComparison.Ordinal);
        state.OnKey(DashboardKey.Of('/'), 120, 30, T0);
        state.OnKey(DashboardKey.Of('q'), 120, 30, T0);
        var lines = DashboardView.Render(state, 120, 30, T0).Text.Split('\n');
        Assert.StartsWith("└─ filter: q▏ │ Enter keep │ Esc clear", lines[^1], StringComparison.Ordinal);
        Assert.Contains("quiet-river-12", lines[2], StringComparison.Ordinal);
        Assert.DoesNotContain(lines, l => l.Contains("cosmic", StringComparison.Ordinal));
        state.OnKey(new DashboardKey(KeyKind.Enter), 120, 30, T0);
        state.OnKey(DashboardKey.Of('?'), 120, 30, T0);
        lines = DashboardView.Render(state, 120, 30, T0).Text.Split('\n');
        Assert.StartsWith("│ Keys", lines[2], StringComparison.Ordinal);
    }

    [Fact]
    public void The_log_view_follows_the_end_and_scrolls_back()
    {
        var state = State();
        state.OnKey(DashboardKey.Of('l'), 80, 20, T0);
        state.Log.Open("worker @ quiet-river-12");
        for (int i = 1; i <= 100; i++) state.Log.Add(new DisplayLine($"line {i}", DisplayStyle.Text));
        state.Log.Add(new DisplayLine("\e[31mred\e[0m raw", DisplayStyle.Raw));
        var lines = DashboardView.Render(state, 80, 20, T0).Text.Split('\n');
        Assert.StartsWith("┌─ log: worker @ quiet-river-12 ─ following", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("│ red raw ", lines[^2], StringComparison.Ordinal); // escapes of a raw line are not drawn
        Assert.StartsWith("│ line 100 ", lines[^3], StringComparison.Ordinal);
        state.OnKey(new DashboardKey(KeyKind.PageUp), 80, 20, T0);
        lines = DashboardView.Render(state, 80, 20, T0).Text.Split('\n');
        // 18 rows showed lines 84..101; a page up (17 rows) shows 67..84.
        Assert.Contains("line 67", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("│ line 67 ", lines[1], StringComparison.Ordinal);
        state.Log.Add(new DisplayLine("line 102", DisplayStyle.Text)); // scrolled back: stays put
        Assert.StartsWith("│ line 67 ", DashboardView.Render(state, 80, 20, T0).Text.Split('\n')[1], StringComparison.Ordinal);
        state.OnKey(new DashboardKey(KeyKind.End), 80, 20, T0);
        Assert.StartsWith("│ line 102 ", DashboardView.Render(state, 80, 20, T0).Text.Split('\n')[^2], StringComparison.Ordinal);
    }

    [Fact]
    public void The_plain_frame_lists_every_row_without_escapes()
    {
        var state = State();
        var lines = DashboardView.RenderPlain(state, 120, T0);
        Assert.Equal(2 + 8 + 1, lines.Count); // top border and header, 3 cluster lines and 5 agents, the closing border
        Assert.All(lines, l => Assert.DoesNotContain('\e', l));
        Assert.Contains(lines, l => l.Contains("old-lake-3", StringComparison.Ordinal));
        Assert.StartsWith("└──", lines[^1], StringComparison.Ordinal);
        Assert.Contains("no clusters", DashboardView.RenderPlain(new DashboardState(), 120, T0)[^1], StringComparison.Ordinal);
    }
}
