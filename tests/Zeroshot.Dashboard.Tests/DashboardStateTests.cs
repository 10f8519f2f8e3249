using Zeroshot.Agents.Config;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;
using static Zeroshot.Dashboard.Tests.Fixtures;

namespace Zeroshot.Dashboard.Tests;

public sealed class DashboardStateTests
{
    private const int W = 120, H = 40;

    private static DashboardCommand? Key(DashboardState state, DashboardKey key, DateTimeOffset? now = null) => state.OnKey(key, W, H, now ?? T0);

    private static DashboardCommand? Char(DashboardState state, char c) => Key(state, DashboardKey.Of(c));

    private static DashboardCommand? Press(DashboardState state, KeyKind kind) => Key(state, new DashboardKey(kind));

    private static DashboardState TwoClusters()
    {
        var state = new DashboardState();
        state.Update(Busy("alpha", T0, cpu: 20, tokens: 500));
        state.Update(Cluster("beta", ClusterState.Running, T0.AddMinutes(-1),
            Agent("worker", metrics: Sample(T0, 95), tokens: 9000),
            Agent("tester", AgentState.Running, AgentRole.Validator, metrics: Sample(T0, 5), tokens: 100)));
        state.UpdateEnded(Cluster("gamma", ClusterState.Completed, T0.AddHours(-1), Agent("worker", AgentState.Completed)));
        return state;
    }

    private static List<string> Names(DashboardState state) =>
        [.. state.Rows(T0).Select(r => r.Agent is { } a ? $"{r.Cluster.Id}/{a.Id}" : r.Cluster.Id)];

    [Fact]
    public void Running_clusters_come_first_newest_first_each_followed_by_its_agents_in_file_order()
    {
        Assert.Equal(["beta", "beta/worker", "beta/tester", "alpha", "alpha/worker", "alpha/validator-1", "gamma", "gamma/worker"], Names(TwoClusters()));
    }

    [Fact]
    public void Trends_take_one_value_per_new_sample_and_keep_the_last_60()
    {
        var state = new DashboardState();
        for (int i = 0; i < 70; i++)
        {
            state.Update(Busy("alpha", T0.AddSeconds(i), cpu: i, tokens: 100 * i));
            // The snapshot a supervisor sends after an event repeats the tick's sample: not a new value.
            state.Update(Busy("alpha", T0.AddSeconds(i), cpu: i, tokens: 100 * i));
        }
        var trends = state.Clusters["alpha"].Trends["worker"];
        Assert.Equal(Trend.Capacity, trends.Cpu.Count);
        Assert.Equal(10, trends.Cpu[0]);
        Assert.Equal(69, trends.Cpu.Last);
        Assert.Equal(6900, trends.Tokens.Last);
        Assert.False(state.Clusters["alpha"].Trends.ContainsKey("validator-1")); // never sampled: waiting
    }

    [Fact]
    public void A_lost_supervisor_of_a_running_cluster_is_crashed_until_the_database_says_how_it_ended()
    {
        var state = TwoClusters();
        state.SupervisorLost("alpha");
        var alpha = state.Clusters["alpha"];
        Assert.Equal(ClusterSource.Crashed, alpha.Source);
        Assert.Equal("crashed", alpha.StateText);
        var worker = alpha.Snapshot.Agents[0];
        Assert.Equal("crashed", DashboardState.StateWord(alpha, worker));
        Assert.Equal("crashed", DashboardState.Attention(alpha, worker, T0));

        // The record still saying "running" (nobody reconciled it yet) does not bring it back to life…
        state.UpdateEnded(Busy("alpha", T0));
        Assert.Equal(ClusterSource.Crashed, state.Clusters["alpha"].Source);
        // …its reconciled record does.
        state.UpdateEnded(Cluster("alpha", ClusterState.Crashed, Agent("worker", AgentState.Failed)));
        Assert.Equal(ClusterSource.Ended, state.Clusters["alpha"].Source);
        Assert.Equal("crashed", state.Clusters["alpha"].StateText);

        // The database has no last lines: those the supervisor sent stay.
        state.Update(Cluster("epsilon", ClusterState.Running, Agent("worker") with { LastLine = "done, all tests pass" }));
        state.UpdateEnded(Cluster("epsilon", ClusterState.Completed, Agent("worker", AgentState.Completed)));
        Assert.Equal("done, all tests pass", state.Clusters["epsilon"].Snapshot.Agents[0].LastLine);
        Assert.Equal(AgentState.Completed, state.Clusters["epsilon"].Snapshot.Agents[0].State);

        // A supervisor that ended its cluster normally is not a crash.
        state.Update(Cluster("delta", ClusterState.Completed, Agent("worker", AgentState.Completed)));
        state.SupervisorLost("delta");
        Assert.Equal(ClusterSource.Ended, state.Clusters["delta"].Source);
    }

    [Fact]
    public void Arrows_move_over_agents_only_and_the_selection_follows_its_agent_through_updates_and_sorts()
    {
        var state = TwoClusters();
        Assert.Equal("beta/worker", Selected(state)); // nothing chosen: the first agent
        Press(state, KeyKind.Down); // from the agent shown selected
        Assert.Equal("beta/tester", Selected(state));
        Press(state, KeyKind.Down); // over alpha's cluster line
        Assert.Equal("alpha/worker", Selected(state));
        Press(state, KeyKind.End);
        Assert.Equal("gamma/worker", Selected(state));
        Press(state, KeyKind.Down); // stays at the end
        Assert.Equal("gamma/worker", Selected(state));
        Press(state, KeyKind.Home);
        Assert.Equal("beta/worker", Selected(state));

        Press(state, KeyKind.Down);
        state.Update(Busy("alpha", T0.AddSeconds(1), cpu: 99));
        Char(state, '>'); // sort by cluster: alpha before beta
        Assert.Equal("beta/tester", Selected(state));
        Assert.Equal("alpha", Names(state)[0]);
    }

    private static string Selected(DashboardState state) => state.SelectedRow(T0) is { Agent: { } a } row ? $"{row.Cluster.Id}/{a.Id}" : "";

    [Fact]
    public void Sorting_by_cpu_puts_the_busiest_agents_and_clusters_first_running_before_ended_and_a_second_click_reverses()
    {
        var state = TwoClusters();
        int header = DashboardView.Layout(W, H).HeaderRow;
        int cpuX = ColumnX(state, Column.Cpu);
        Key(state, new DashboardKey(KeyKind.Click, Column: cpuX, Row: header));
        Assert.Equal(Column.Cpu, state.SortColumn);
        Assert.True(state.Descending);
        Assert.Equal(["beta", "beta/worker", "beta/tester", "alpha", "alpha/worker", "alpha/validator-1", "gamma", "gamma/worker"], Names(state));
        Key(state, new DashboardKey(KeyKind.Click, Column: cpuX, Row: header));
        Assert.False(state.Descending);
        Assert.Equal(["alpha", "alpha/validator-1", "alpha/worker", "beta", "beta/tester", "beta/worker", "gamma", "gamma/worker"], Names(state));

        // < and > walk the columns; past either end, file order again.
        Char(state, '<');
        Assert.Equal(Column.State, state.SortColumn);
        for (int i = 0; i < 6; i++) Char(state, '>');
        Assert.Equal(Column.Last, state.SortColumn);
        Char(state, '>');
        Assert.Null(state.SortColumn);
        Char(state, '>');
        Assert.Equal(Column.Cluster, state.SortColumn);
    }

    private static int ColumnX(DashboardState state, Column column)
    {
        var (cw, aw) = DashboardView.NameWidths(state.Rows(T0));
        int x = 2;
        foreach (var (c, w) in DashboardView.Columns(W, cw, aw))
        {
            if (c == column) return x + 1;
            x += w;
        }
        throw new InvalidOperationException($"{column} not shown");
    }

    [Fact]
    public void A_click_on_a_row_selects_its_agent_and_a_click_on_a_cluster_line_its_first_agent()
    {
        var state = TwoClusters();
        int top = DashboardView.Layout(W, H).TableTop;
        Key(state, new DashboardKey(KeyKind.Click, Column: 10, Row: top + 5)); // alpha/validator-1
        Assert.Equal("alpha/validator-1", Selected(state));
        Key(state, new DashboardKey(KeyKind.Click, Column: 10, Row: top + 6)); // gamma's line
        Assert.Equal("gamma/worker", Selected(state));
        Key(state, new DashboardKey(KeyKind.Click, Column: 10, Row: top + 30)); // below the rows: nothing
        Assert.Equal("gamma/worker", Selected(state));
    }

    [Fact]
    public void The_filter_keeps_matching_agents_with_their_cluster_line_and_escape_clears_it()
    {
        var state = TwoClusters();
        Char(state, '/');
        Assert.Equal(DashboardMode.Filter, state.Mode);
        foreach (char c in "TEST") Char(state, c);
        Assert.Equal(["beta", "beta/tester"], Names(state));
        Press(state, KeyKind.Backspace);
        Assert.Equal("TES", state.Filter);
        Press(state, KeyKind.Enter);
        Assert.Equal(DashboardMode.Table, state.Mode);
        Assert.Equal(["beta", "beta/tester"], Names(state));
        Char(state, '/');
        foreach (char c in "alpha") Char(state, c); // a cluster's name shows all its agents
        Assert.Equal(["alpha", "alpha/worker", "alpha/validator-1"], Names(state));
        Press(state, KeyKind.Escape);
        Assert.Equal("", state.Filter);
        Assert.Equal(8, Names(state).Count);
    }

    [Fact]
    public void Attach_and_log_name_the_selected_agent_and_attach_refuses_one_that_is_not_running()
    {
        var state = TwoClusters();
        Assert.Equal(new DashboardCommand.Attach("beta", "worker"), Char(state, 'a'));
        Assert.Equal(new DashboardCommand.Attach("beta", "worker"), Press(state, KeyKind.Enter));
        Press(state, KeyKind.End);
        Assert.Null(Char(state, 'a'));
        Assert.Contains("not running", state.Message, StringComparison.Ordinal);

        Assert.Equal(new DashboardCommand.OpenLog("gamma", "worker"), Char(state, 'l'));
        Assert.Equal(DashboardMode.Logs, state.Mode);
        Assert.Null(Char(state, 'x')); // keys scroll the log, nothing else
        Assert.Null(Press(state, KeyKind.Escape));
        Assert.Equal(DashboardMode.Table, state.Mode);
    }

    [Fact]
    public void Stop_and_kill_ask_first_and_only_yes_carries_them_out()
    {
        var state = TwoClusters();
        Assert.Null(Char(state, 's'));
        Assert.Equal(DashboardMode.Confirm, state.Mode);
        Assert.Equal("stop cluster beta (2 agents)? (y/N)", state.Question);
        Assert.Null(Char(state, 'n'));
        Assert.Equal(DashboardMode.Table, state.Mode);
        Assert.Equal("cancelled", state.Message);

        Char(state, 's');
        Assert.Null(Press(state, KeyKind.Enter)); // Enter is not yes
        Char(state, 's');
        Assert.Equal(new DashboardCommand.StopCluster("beta"), Char(state, 'y'));

        Char(state, 'k');
        Assert.Equal("kill agent worker of beta? (y/N)", state.Question);
        Assert.Equal(new DashboardCommand.KillAgent("beta", "worker"), Char(state, 'Y'));

        Char(state, 'k');
        Assert.IsType<DashboardCommand.Quit>(Press(state, KeyKind.Interrupt)); // Ctrl+C still quits

        Press(state, KeyKind.End); // gamma ended: nothing to stop or kill
        Assert.Null(Char(state, 's'));
        Assert.Equal(DashboardMode.Table, state.Mode);
        Assert.Equal("gamma is completed", state.Message);
        Assert.Null(Char(state, 'k'));
        Assert.Equal(DashboardMode.Table, state.Mode);
    }

    [Fact]
    public void N_jumps_to_the_next_agent_that_needs_the_person_and_says_so_when_none_does()
    {
        var state = TwoClusters();
        Assert.Null(Char(state, 'n'));
        Assert.Equal("no agent needs you", state.Message);
        state.Update(Cluster("alpha", ClusterState.Running, Agent("worker", AgentState.Failed), Agent("validator-1", AgentState.Waiting, AgentRole.Validator)));
        Char(state, 'n');
        Assert.Equal("alpha/worker", Selected(state));
    }

    [Fact]
    public void The_supervisors_health_verdict_marks_an_agent_and_a_quiet_one_it_calls_healthy_is_not_marked()
    {
        var state = new DashboardState();
        var quietSince = T0;
        var stuck = new Zeroshot.Agents.Health.HealthSnapshot(Zeroshot.Agents.Health.HealthVerdict.Stuck, T0, ["no output for 5m00s"]);
        var tool = new Zeroshot.Agents.Health.HealthSnapshot(Zeroshot.Agents.Health.HealthVerdict.RunningTool, T0, ["tool Bash running"]);
        state.Update(Cluster("alpha", ClusterState.Running,
            Agent("idle", metrics: Sample(T0, 0.5), activity: AgentActivity.Quiet, lastOutput: quietSince) with { Health = stuck },
            Agent("busy", metrics: Sample(T0, 0.1), activity: AgentActivity.Tool, lastOutput: quietSince) with { Health = tool },
            Agent("retrying", metrics: Sample(T0, 1), activity: AgentActivity.Retrying, detail: "529 3/10 in 4s", lastOutput: quietSince)));
        var alpha = state.Clusters["alpha"];
        Assert.Equal("stuck", DashboardState.Attention(alpha, alpha.Snapshot.Agents[0], T0));
        Assert.Equal("stuck", DashboardState.StateWord(alpha, alpha.Snapshot.Agents[0]));
        Assert.Null(DashboardState.Attention(alpha, alpha.Snapshot.Agents[1], T0.AddMinutes(30)));
        Assert.Equal("error", DashboardState.Attention(alpha, alpha.Snapshot.Agents[2], T0));
    }

    [Fact]
    public void H_hides_and_shows_the_clusters_that_ended_and_help_closes_on_any_key()
    {
        var state = TwoClusters();
        Char(state, 'h');
        Assert.DoesNotContain("gamma", Names(state));
        Char(state, 'h');
        Assert.Contains("gamma", Names(state));

        Char(state, '?');
        Assert.Equal(DashboardMode.Help, state.Mode);
        Assert.Null(Char(state, 's')); // closes the help, does not ask to stop
        Assert.Equal(DashboardMode.Table, state.Mode);
        Char(state, '?');
        Assert.IsType<DashboardCommand.Quit>(Char(state, 'q'));
        Assert.IsType<DashboardCommand.Quit>(Char(state, 'q'));
    }

    [Fact]
    public void Paging_keeps_the_selection_visible_with_its_cluster_line()
    {
        var state = new DashboardState();
        for (int c = 0; c < 10; c++) state.Update(Cluster($"c{c}", ClusterState.Running, T0.AddSeconds(-c), Agent("a", metrics: Sample(T0, 1)), Agent("b", metrics: Sample(T0, 1))));
        int rows = DashboardView.Layout(W, 20).TableRows;
        Assert.Equal(30, state.Rows(T0).Count);
        for (int i = 0; i < 3; i++) state.OnKey(new DashboardKey(KeyKind.PageDown), W, 20, T0);
        int selected = state.SelectedIndex(T0);
        int top = state.FirstShown(rows, T0);
        Assert.InRange(selected, top, top + rows - 1);
        state.OnKey(new DashboardKey(KeyKind.Home), W, 20, T0);
        Assert.Equal(0, state.FirstShown(rows, T0)); // the first cluster's line, above its first agent
    }
}
