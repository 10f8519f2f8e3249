using Zeroshot.Agents.Config;
using Zeroshot.Agents.Health;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;

namespace Zeroshot.Dashboard;

/// <summary>Where a cluster's rows come from now.</summary>
internal enum ClusterSource
{
    /// <summary>Its supervisor's <c>snapshots</c> stream.</summary>
    Live,

    /// <summary>Its supervisor went away while the cluster still ran (killed, crashed): the last snapshot, frozen.</summary>
    Crashed,

    /// <summary>The cluster ended: its record in the state database.</summary>
    Ended,
}

/// <summary>A column of the table, in the order drawn.</summary>
internal enum Column
{
    Cluster,
    Agent,
    Role,
    Model,
    State,
    Cpu,
    Memory,
    Network,
    Tokens,
    Cost,
    Last,
}

/// <summary>What the dashboard shows over (or instead of) the table.</summary>
internal enum DashboardMode
{
    Table,
    Help,
    Filter,
    Confirm,
    Logs,
}

/// <summary>A key (or mouse event) as the dashboard understands it (<see cref="DashboardKeys"/> decodes the bytes).</summary>
internal enum KeyKind
{
    Char,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    Enter,
    Escape,
    Backspace,
    Tab,
    Interrupt,
    Click,
    WheelUp,
    WheelDown,
}

/// <summary>One key; for <see cref="KeyKind.Click"/> and the wheel, the 0-based cell.</summary>
internal readonly record struct DashboardKey(KeyKind Kind, char Char = '\0', int Column = 0, int Row = 0)
{
    /// <summary>A printable character.</summary>
    public static DashboardKey Of(char c) => new(KeyKind.Char, c);
}

/// <summary>What the dashboard asks its host to do (the host owns sockets, files and the terminal).</summary>
internal abstract record DashboardCommand
{
    /// <summary>Leave the dashboard.</summary>
    public sealed record Quit : DashboardCommand;

    /// <summary>Step aside and attach to an agent; come back as it was after the detach.</summary>
    public sealed record Attach(string Cluster, string Agent) : DashboardCommand;

    /// <summary>Open an agent's log in the log view (the host feeds <see cref="DashboardState.Log"/>).</summary>
    public sealed record OpenLog(string Cluster, string Agent) : DashboardCommand;

    /// <summary>Stop a cluster (confirmed).</summary>
    public sealed record StopCluster(string Cluster) : DashboardCommand;

    /// <summary>Kill one agent (confirmed).</summary>
    public sealed record KillAgent(string Cluster, string Agent) : DashboardCommand;
}

/// <summary>One row of the table: a cluster's line (with its totals) or one of its agents.</summary>
internal sealed record DashboardRow(ClusterEntry Cluster, AgentSnapshot? Agent)
{
    /// <summary>Whether this is an agent's row.</summary>
    public bool IsAgent => Agent is not null;
}

/// <summary>A fixed-size ring of the last <see cref="Capacity"/> values of one figure (oldest first).</summary>
internal sealed class Trend
{
    /// <summary>Samples kept: a minute at the supervisors' one tick per second.</summary>
    public const int Capacity = 60;

    private readonly double[] _values = new double[Capacity];
    private int _start;

    /// <summary>Values held (up to <see cref="Capacity"/>).</summary>
    public int Count { get; private set; }

    /// <summary>The <paramref name="index"/>-th value, oldest first.</summary>
    public double this[int index] => _values[(_start + index) % Capacity];

    /// <summary>The newest value, or null when empty.</summary>
    public double? Last => Count == 0 ? null : this[Count - 1];

    /// <summary>Appends a value, dropping the oldest when full.</summary>
    public void Add(double value)
    {
        if (Count < Capacity)
        {
            _values[(_start + Count) % Capacity] = value;
            Count++;
        }
        else
        {
            _values[_start] = value;
            _start = (_start + 1) % Capacity;
        }
    }
}

/// <summary>An agent's trends: CPU, network in and out, tokens, one value per sample of its supervisor.</summary>
internal sealed class AgentTrends
{
    /// <summary>CPU, percent of one core.</summary>
    public Trend Cpu { get; } = new();

    /// <summary>Network received, bytes per second.</summary>
    public Trend Received { get; } = new();

    /// <summary>Network sent, bytes per second.</summary>
    public Trend Sent { get; } = new();

    /// <summary>Tokens so far.</summary>
    public Trend Tokens { get; } = new();

    internal DateTimeOffset? LastSample { get; set; }
}

/// <summary>A cluster the dashboard knows: its latest snapshot, where it comes from, its agents' trends.</summary>
internal sealed class ClusterEntry(ClusterSnapshot snapshot, ClusterSource source)
{
    /// <summary>The latest snapshot.</summary>
    public ClusterSnapshot Snapshot { get; internal set; } = snapshot;

    /// <summary>Where it comes from now.</summary>
    public ClusterSource Source { get; internal set; } = source;

    /// <summary>Trends by agent id.</summary>
    public Dictionary<string, AgentTrends> Trends { get; } = new(StringComparer.Ordinal);

    /// <summary>The cluster id.</summary>
    public string Id => Snapshot.Id;

    /// <summary>Running with a live supervisor.</summary>
    public bool IsRunning => Source == ClusterSource.Live && Snapshot.State == ClusterState.Running;

    /// <summary>The state word: running, crashed, completed…</summary>
    public string StateText => Source == ClusterSource.Crashed ? "crashed" : StateNames.Text(Snapshot.State);
}

/// <summary>
/// The dashboard's whole state and behaviour, without a terminal: the clusters and their agents' trends (fed by the host
/// from every supervisor's <c>snapshots</c> stream and the state database), and the person's view of them (selection,
/// sort, filter, the panel, the log view, confirmations). Keys go in, <see cref="DashboardCommand"/>s come out; what is
/// drawn is <see cref="DashboardView.Render"/> of this state. Not thread-safe: the host's one loop owns it.
/// </summary>
internal sealed class DashboardState
{
    private readonly Dictionary<string, ClusterEntry> _clusters = new(StringComparer.Ordinal);
    private List<DashboardRow>? _rows;
    private DashboardCommand? _pending;

    /// <summary>Clusters by id.</summary>
    public IReadOnlyDictionary<string, ClusterEntry> Clusters => _clusters;

    /// <summary>The selected agent (cluster id, agent id), kept across updates and re-sorts.</summary>
    public (string Cluster, string Agent)? Selected { get; private set; }

    /// <summary>The column rows are sorted by (agents within their cluster, clusters by their totals); null: file order.</summary>
    public Column? SortColumn { get; private set; }

    /// <summary>Sort from the largest (numbers) or Z (text) down.</summary>
    public bool Descending { get; private set; }

    /// <summary>Rows shown must contain this text (cluster, agent, role, model or state; any case); empty: all.</summary>
    public string Filter { get; private set; } = "";

    /// <summary>The filter being typed (mode <see cref="DashboardMode.Filter"/>).</summary>
    public string FilterDraft { get; private set; } = "";

    /// <summary>Clusters that ended are hidden (<c>h</c>).</summary>
    public bool HideFinished { get; private set; }

    /// <summary>What is shown.</summary>
    public DashboardMode Mode { get; private set; } = DashboardMode.Table;

    /// <summary>The question awaiting y/n (mode <see cref="DashboardMode.Confirm"/>).</summary>
    public string? Question { get; private set; }

    /// <summary>A one-line message for the person (what a command did, why it could not); cleared by the next key.</summary>
    public string? Message { get; set; }

    /// <summary>The first table row shown (the view keeps the selection visible).</summary>
    public int ScrollTop { get; private set; }

    /// <summary>The log view's content (mode <see cref="DashboardMode.Logs"/>).</summary>
    public LogView Log { get; } = new();

    /// <summary>A live snapshot from a supervisor: the cluster is live; agents' trends get its samples.</summary>
    public void Update(ClusterSnapshot snapshot) => Put(snapshot, ClusterSource.Live);

    /// <summary>A cluster read from the state database (ended, or with no supervisor to ask).</summary>
    public void UpdateEnded(ClusterSnapshot snapshot) => Put(snapshot, ClusterSource.Ended);

    /// <summary>The supervisor of <paramref name="clusterId"/> went away: crashed when its last snapshot still ran.</summary>
    public void SupervisorLost(string clusterId)
    {
        if (!_clusters.TryGetValue(clusterId, out var entry) || entry.Source != ClusterSource.Live) return;
        entry.Source = entry.Snapshot.State == ClusterState.Running ? ClusterSource.Crashed : ClusterSource.Ended;
        _rows = null;
    }

    /// <summary>Forgets a cluster (no longer in the database, or too old to list).</summary>
    public void Remove(string clusterId)
    {
        if (_clusters.Remove(clusterId)) _rows = null;
    }

    private void Put(ClusterSnapshot snapshot, ClusterSource source)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (_clusters.TryGetValue(snapshot.Id, out var entry))
        {
            // A crashed cluster stays crashed until the database says it ended (stop, or a later run's repair).
            if (entry.Source == ClusterSource.Crashed && source == ClusterSource.Ended && snapshot.State == ClusterState.Running) return;
            if (entry.Source == ClusterSource.Live && source == ClusterSource.Ended && snapshot.State == ClusterState.Running) return;
            // The database does not keep an agent's last line: the one its supervisor last sent stays.
            if (source == ClusterSource.Ended) snapshot = KeepLastLines(snapshot, entry.Snapshot);
            entry.Snapshot = snapshot;
            entry.Source = source;
        }
        else
        {
            entry = new ClusterEntry(snapshot, source);
            _clusters.Add(snapshot.Id, entry);
        }
        foreach (var agent in snapshot.Agents)
        {
            if (agent.Metrics is not { Exists: true } sample) continue;
            if (!entry.Trends.TryGetValue(agent.Id, out var trends)) entry.Trends[agent.Id] = trends = new AgentTrends();
            // A snapshot sent after an event repeats the last sample: one value per sample.
            if (trends.LastSample == sample.Timestamp) continue;
            trends.LastSample = sample.Timestamp;
            trends.Cpu.Add(sample.CpuPercent ?? 0);
            trends.Received.Add(sample.NetRxBytesPerSec ?? 0);
            trends.Sent.Add(sample.NetTxBytesPerSec ?? 0);
            trends.Tokens.Add(agent.Tokens.Total);
        }
        _rows = null;
    }

    private static ClusterSnapshot KeepLastLines(ClusterSnapshot ended, ClusterSnapshot previous)
    {
        if (ended.Agents.All(a => a.LastLine is not null) || previous.Agents.All(a => a.LastLine is null)) return ended;
        var agents = ended.Agents.Select(a => a.LastLine is null && previous.Agents.FirstOrDefault(p => p.Id == a.Id)?.LastLine is { } line ? a with { LastLine = line } : a).ToList();
        return ended with { Agents = agents };
    }

    /// <summary>Whether an agent needs the person, and why: <c>input</c> (an interactive agent asks something), <c>error</c> (failed, retrying, its cluster crashed),
    /// <c>stalled</c>, <c>stuck</c> or <c>busy-idle</c> (the supervisor's health verdict); null when not.</summary>
    public static string? Attention(ClusterEntry cluster, AgentSnapshot agent, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(agent);
        if (cluster.Source == ClusterSource.Crashed && agent.State == AgentState.Running) return "crashed";
        if (agent.State == AgentState.Failed) return "error";
        if (agent.State != AgentState.Running) return null;
        if (agent.Activity is AgentActivity.Retrying or AgentActivity.Error) return "error";
        if (agent.Activity == AgentActivity.NeedsInput) return "input";
        // An idle interactive agent waits for its next prompt: quiet is what it should be, not stuck.
        if (agent.Activity == AgentActivity.Idle) return null;
        // The supervisor's verdict from every signal (a quiet agent whose child computes is not stuck), never a guess here.
        if (agent.Health is { } health && health.Verdict.IsUnhealthy()) return health.Verdict.ToJsonName();
        return null;
    }

    /// <summary>The state column's word: the activity while running (<c>tool:Bash</c>), <c>crashed</c>, the verdict, the state.</summary>
    public static string StateWord(ClusterEntry cluster, AgentSnapshot agent)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(agent);
        if (cluster.Source == ClusterSource.Crashed && agent.State == AgentState.Running) return "crashed";
        return agent.ActivityText();
    }

    /// <summary>The rows shown, in order: running clusters first (newest first), then the others; each cluster's line,
    /// then its agents.</summary>
    public IReadOnlyList<DashboardRow> Rows(DateTimeOffset now)
    {
        if (_rows is not null) return _rows;
        var rows = new List<DashboardRow>();
        IEnumerable<ClusterEntry> clusters = _clusters.Values
            .OrderBy(c => c.IsRunning ? 0 : c.Source == ClusterSource.Crashed ? 1 : 2)
            .ThenByDescending(c => c.Snapshot.StartedAt)
            .ThenBy(c => c.Id, StringComparer.Ordinal);
        if (SortColumn is { } column)
        {
            clusters = clusters.OrderBy(c => c.IsRunning ? 0 : c.Source == ClusterSource.Crashed ? 1 : 2)
                .ThenBy(c => Key(column, c, null, now), new KeyComparer(Descending));
        }
        foreach (var cluster in clusters)
        {
            if (HideFinished && !cluster.IsRunning) continue;
            bool clusterMatches = Matches(cluster.Id);
            IEnumerable<AgentSnapshot> agents = cluster.Snapshot.Agents;
            if (SortColumn is { } by) agents = agents.OrderBy(a => Key(by, cluster, a, now), new KeyComparer(Descending));
            var shown = agents.Where(a => clusterMatches || Matches(a.Id) || Matches(StateNames.Text(a.Role)) || Matches(a.Model ?? a.Provider)
                || Matches(StateWord(cluster, a))).ToList();
            if (shown.Count == 0 && !clusterMatches) continue;
            rows.Add(new DashboardRow(cluster, null));
            foreach (var a in shown) rows.Add(new DashboardRow(cluster, a));
        }
        _rows = rows;
        return rows;
    }

    /// <summary>The selected agent's row index in <see cref="Rows"/>, or -1.</summary>
    public int SelectedIndex(DateTimeOffset now)
    {
        var rows = Rows(now);
        if (Selected is not { } selected) return -1;
        for (int i = 0; i < rows.Count; i++)
        {
            if (rows[i].Agent is { } a && a.Id == selected.Agent && rows[i].Cluster.Id == selected.Cluster) return i;
        }
        return -1;
    }

    /// <summary>The selected agent's row, choosing the first agent when nothing (or something gone) was selected.</summary>
    public DashboardRow? SelectedRow(DateTimeOffset now)
    {
        var rows = Rows(now);
        int index = SelectedIndex(now);
        if (index >= 0) return rows[index];
        var first = rows.FirstOrDefault(r => r.IsAgent);
        return first;
    }

    /// <summary>The first row shown in <paramref name="tableRows"/> rows: <see cref="ScrollTop"/>, moved as little as
    /// needed to show the selected row (the view and the clicks agree on it).</summary>
    public int FirstShown(int tableRows, DateTimeOffset now)
    {
        int count = Rows(now).Count;
        int top = Math.Clamp(ScrollTop, 0, Math.Max(0, count - tableRows));
        int selected = SelectedRow(now) is { } row ? IndexOfRow(row, now) : -1;
        if (selected >= 0 && selected < top) top = selected;
        if (selected >= 0 && selected >= top + tableRows) top = Math.Max(0, selected - tableRows + 1);
        return top;
    }

    private int IndexOfRow(DashboardRow row, DateTimeOffset now)
    {
        var rows = Rows(now);
        for (int i = 0; i < rows.Count; i++)
        {
            if (ReferenceEquals(rows[i], row)) return i;
        }
        return -1;
    }

    /// <summary>Clamps <see cref="ScrollTop"/> so the selected row is within <paramref name="visibleRows"/> rows from it.</summary>
    public void KeepSelectionVisible(int visibleRows, DateTimeOffset now)
    {
        int count = Rows(now).Count;
        int index = Math.Max(0, SelectedIndex(now));
        if (visibleRows <= 0) return;
        // The cluster's line above its first agent stays in view with it.
        int upper = index > 0 && !Rows(now)[index - 1].IsAgent ? index - 1 : index;
        if (upper < ScrollTop) ScrollTop = upper;
        if (index >= ScrollTop + visibleRows) ScrollTop = index - visibleRows + 1;
        ScrollTop = Math.Clamp(ScrollTop, 0, Math.Max(0, count - visibleRows));
    }

    /// <summary>A key, on a screen of <paramref name="width"/> × <paramref name="height"/> (pages, clicks).</summary>
    public DashboardCommand? OnKey(DashboardKey key, int width, int height, DateTimeOffset now)
    {
        var layout = DashboardView.Layout(width, height);
        int tableRows = layout.TableRows;
        if (Mode != DashboardMode.Filter && Mode != DashboardMode.Confirm) Message = null;
        switch (Mode)
        {
            case DashboardMode.Help:
                // Any key closes the help; q and Ctrl+C still quit.
                Mode = DashboardMode.Table;
                return key.Kind == KeyKind.Interrupt || key is { Kind: KeyKind.Char, Char: 'q' } ? new DashboardCommand.Quit() : null;
            case DashboardMode.Confirm:
                Mode = DashboardMode.Table;
                var pending = _pending;
                _pending = null;
                Question = null;
                if (key.Kind == KeyKind.Interrupt) return new DashboardCommand.Quit();
                if (key is { Kind: KeyKind.Char, Char: 'y' or 'Y' }) return pending;
                Message = "cancelled";
                return null;
            case DashboardMode.Filter:
                return OnFilterKey(key);
            case DashboardMode.Logs:
                if (key.Kind is KeyKind.Escape or KeyKind.Interrupt || key is { Kind: KeyKind.Char, Char: 'q' or 'l' })
                {
                    Mode = DashboardMode.Table;
                    Log.Close();
                    return null;
                }
                Log.OnKey(key, Math.Max(1, layout.LogRows));
                return null;
        }

        var rows = Rows(now);
        int page = Math.Max(1, tableRows - 1);
        int? step = key.Kind switch
        {
            KeyKind.Up => -1,
            KeyKind.Down => 1,
            KeyKind.PageUp => -page,
            KeyKind.PageDown => page,
            KeyKind.WheelUp => -3,
            KeyKind.WheelDown => 3,
            _ => null,
        };
        if (step is { } by) Move(by, now);
        switch (key.Kind)
        {
            case KeyKind.Interrupt:
                return new DashboardCommand.Quit();
            case KeyKind.Home:
                MoveTo(rows.FirstOrDefault(r => r.IsAgent));
                break;
            case KeyKind.End:
                MoveTo(rows.LastOrDefault(r => r.IsAgent));
                break;
            case KeyKind.Click:
                return OnClick(key, width, layout, now);
            case KeyKind.Enter:
                return SelectedCommand(now, (c, a) => new DashboardCommand.Attach(c, a));
            case KeyKind.Escape:
                if (Filter.Length > 0)
                {
                    Filter = "";
                    _rows = null;
                }
                break;
            case KeyKind.Char:
                return OnChar(key.Char, now);
        }
        KeepSelectionVisible(tableRows, now);
        return null;
    }

    private DashboardCommand? OnChar(char c, DateTimeOffset now)
    {
        switch (c)
        {
            case 'q':
                return new DashboardCommand.Quit();
            case 'k' when SelectedRow(now) is { Agent: { } agent } row:
                if (agent.State != AgentState.Running || row.Cluster.Source != ClusterSource.Live)
                {
                    Message = $"{agent.Id} of {row.Cluster.Id} is not running";
                    return null;
                }
                Ask($"kill agent {agent.Id} of {row.Cluster.Id}? (y/N)", new DashboardCommand.KillAgent(row.Cluster.Id, agent.Id));
                return null;
            case 's' when SelectedRow(now) is { } row:
                if (!row.Cluster.IsRunning)
                {
                    Message = $"{row.Cluster.Id} is {row.Cluster.StateText}";
                    return null;
                }
                Ask($"stop cluster {row.Cluster.Id} ({row.Cluster.Snapshot.Agents.Count} agents)? (y/N)", new DashboardCommand.StopCluster(row.Cluster.Id));
                return null;
            case 'a':
                return SelectedCommand(now, (cl, a) => new DashboardCommand.Attach(cl, a));
            case 'l':
                return SelectedCommand(now, (cl, a) => new DashboardCommand.OpenLog(cl, a), needsRunning: false);
            case 'n':
                NextNeedingAttention(now);
                return null;
            case 'h':
                HideFinished = !HideFinished;
                _rows = null;
                Message = HideFinished ? "finished clusters hidden (h shows them)" : null;
                return null;
            case '/':
                // A new filter each time, as / in less and vi.
                Mode = DashboardMode.Filter;
                Filter = FilterDraft = "";
                _rows = null;
                return null;
            case '?':
                Mode = DashboardMode.Help;
                return null;
            case '<':
                SortBy(SortColumn is { } left ? (left == Column.Cluster ? null : left - 1) : Column.Last);
                return null;
            case '>':
                SortBy(SortColumn is { } right ? (right == Column.Last ? null : right + 1) : Column.Cluster);
                return null;
            case 'r':
                Descending = !Descending;
                _rows = null;
                return null;
        }
        return null;
    }

    private DashboardCommand? SelectedCommand(DateTimeOffset now, Func<string, string, DashboardCommand> make, bool needsRunning = true)
    {
        if (SelectedRow(now) is not { Agent: { } agent } row)
        {
            Message = "no agent selected";
            return null;
        }
        Selected = (row.Cluster.Id, agent.Id);
        if (needsRunning && (agent.State != AgentState.Running || row.Cluster.Source != ClusterSource.Live))
        {
            Message = $"{agent.Id} of {row.Cluster.Id} is not running (l shows its log)";
            return null;
        }
        var command = make(row.Cluster.Id, agent.Id);
        if (command is DashboardCommand.OpenLog) Mode = DashboardMode.Logs;
        return command;
    }

    private void Ask(string question, DashboardCommand command)
    {
        Mode = DashboardMode.Confirm;
        Question = question;
        _pending = command;
    }

    private DashboardCommand? OnFilterKey(DashboardKey key)
    {
        switch (key.Kind)
        {
            case KeyKind.Interrupt:
                return new DashboardCommand.Quit();
            case KeyKind.Escape:
                Mode = DashboardMode.Table;
                Filter = FilterDraft = "";
                break;
            case KeyKind.Enter:
                Mode = DashboardMode.Table;
                break;
            case KeyKind.Backspace:
                if (FilterDraft.Length > 0) FilterDraft = FilterDraft[..^1];
                Filter = FilterDraft;
                break;
            case KeyKind.Char when !char.IsControl(key.Char) && FilterDraft.Length < 64:
                FilterDraft += key.Char;
                Filter = FilterDraft;
                break;
        }
        _rows = null;
        ScrollTop = 0;
        return null;
    }

    private DashboardCommand? OnClick(DashboardKey key, int width, DashboardLayout layout, DateTimeOffset now)
    {
        int tableRows = layout.TableRows, tableTop = layout.TableTop;
        var (clusterWidth, agentWidth) = DashboardView.NameWidths(Rows(now));
        if (key.Row == layout.HeaderRow)
        {
            if (DashboardView.ColumnAt(key.Column, width, clusterWidth, agentWidth) is { } column)
            {
                if (SortColumn == column)
                {
                    Descending = !Descending;
                    _rows = null;
                }
                else
                {
                    SortBy(column);
                }
            }
            return null;
        }
        int index = FirstShown(tableRows, now) + key.Row - tableTop;
        var rows = Rows(now);
        if (key.Row < tableTop || key.Row >= tableTop + tableRows || index < 0 || index >= rows.Count) return null;
        var row = rows[index];
        var agent = row.Agent ?? row.Cluster.Snapshot.Agents.FirstOrDefault(a => rows.Any(r => r.Agent == a));
        if (agent is not null) Selected = (row.Cluster.Id, agent.Id);
        KeepSelectionVisible(tableRows, now);
        return null;
    }

    private void SortBy(Column? column)
    {
        SortColumn = column;
        // Numbers sort largest first (the busiest agent on top, as in htop); text from A.
        Descending = column is Column.Cpu or Column.Memory or Column.Network or Column.Tokens or Column.Cost;
        _rows = null;
    }

    private void Move(int step, DateTimeOffset now)
    {
        var rows = Rows(now);
        var agents = new List<int>();
        for (int i = 0; i < rows.Count; i++)
        {
            if (rows[i].IsAgent) agents.Add(i);
        }
        if (agents.Count == 0) return;
        // From the row shown as selected: with no choice made yet that is the first agent's, so ↓ goes to the second.
        int at = SelectedRow(now) is { } shown ? agents.IndexOf(IndexOfRow(shown, now)) : -1;
        int next = at < 0 ? (step > 0 ? 0 : agents.Count - 1) : Math.Clamp(at + step, 0, agents.Count - 1);
        MoveTo(rows[agents[next]]);
    }

    private void MoveTo(DashboardRow? row)
    {
        if (row?.Agent is { } agent) Selected = (row.Cluster.Id, agent.Id);
    }

    private void NextNeedingAttention(DateTimeOffset now)
    {
        var rows = Rows(now);
        int start = SelectedIndex(now);
        for (int step = 1; step <= rows.Count; step++)
        {
            var row = rows[(Math.Max(start, 0) + step) % rows.Count];
            if (row.Agent is { } agent && Attention(row.Cluster, agent, now) is not null)
            {
                MoveTo(row);
                return;
            }
        }
        Message = "no agent needs you";
    }

    private bool Matches(string text) => Filter.Length == 0 || text.Contains(Filter, StringComparison.OrdinalIgnoreCase);

    /// <summary>The sort key of a column for an agent, or for a cluster (its totals) when <paramref name="agent"/> is null.</summary>
    private static IComparable Key(Column column, ClusterEntry cluster, AgentSnapshot? agent, DateTimeOffset now)
    {
        var agents = agent is null ? cluster.Snapshot.Agents : [agent];
        double Sum(Func<AgentSnapshot, double?> of) => agents.Sum(a => a.State == AgentState.Running ? of(a) ?? 0 : 0);
        return column switch
        {
            Column.Cluster => cluster.Id,
            Column.Agent => agent?.Id ?? "",
            Column.Role => agent is null ? "" : StateNames.Text(agent.Role),
            Column.Model => agent is null ? "" : agent.Model ?? agent.Provider,
            Column.State => agent is null ? cluster.StateText : StateWord(cluster, agent),
            Column.Cpu => Sum(a => a.Metrics?.CpuPercent),
            Column.Memory => Sum(a => a.Metrics?.MemoryMB),
            Column.Network => Sum(a => (a.Metrics?.NetRxBytesPerSec ?? 0) + (a.Metrics?.NetTxBytesPerSec ?? 0)),
            Column.Tokens => (double)agents.Sum(a => a.Tokens.Total),
            Column.Cost => (double)agents.Sum(a => a.CostUsd),
            // Most recent output first when ascending: the smallest "ago".
            _ => agents.Select(a => a.LastOutputAt is { } t ? (now - t).TotalSeconds : double.MaxValue).DefaultIfEmpty(double.MaxValue).Min(),
        };
    }

    private sealed class KeyComparer(bool descending) : IComparer<IComparable>
    {
        public int Compare(IComparable? x, IComparable? y)
        {
            int order = x is string sx && y is string sy ? string.Compare(sx, sy, StringComparison.OrdinalIgnoreCase) : Comparer<IComparable>.Default.Compare(x, y);
            return descending ? -order : order;
        }
    }
}
