using System.Text;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;
using Zeroshot.Terminal;
using Zeroshot.Terminal.Escapes;

namespace Zeroshot.Dashboard;

/// <summary>A rendered dashboard: exactly <see cref="Height"/> lines, each exactly <see cref="Width"/> columns.</summary>
internal sealed record DashboardFrame(int Width, int Height, IReadOnlyList<FooterLine> Lines)
{
    /// <summary>The frame as plain text, one line per row, trailing spaces kept.</summary>
    public string Text => string.Join('\n', Lines.Select(l => l.Text));
}

/// <summary>Where things are on a screen of a given size.</summary>
/// <param name="HeaderRow">The column headers' row.</param>
/// <param name="TableTop">The first table row.</param>
/// <param name="TableRows">Table rows shown.</param>
/// <param name="LogRows">Rows of the log view.</param>
internal readonly record struct DashboardLayout(int HeaderRow, int TableTop, int TableRows, int LogRows);

/// <summary>
/// Draws the dashboard as a pure function of (<see cref="DashboardState"/>, width, height, now): the box with the
/// machine's totals on its top border, the table (a line per cluster with its totals, a row per agent), the selected
/// agent's panel (sparklines of the last 60 samples, its activity, verdict, error and last output line) and the keys
/// on the bottom border; or the help, the log view, a prompt. A narrow terminal drops columns (role first, then
/// model, last output, memory, cost, network, tokens) instead of wrapping; below <see cref="MinColumns"/> ×
/// <see cref="MinRows"/> it says it needs more room.
/// </summary>
internal static class DashboardView
{
    /// <summary>The smallest screen drawn.</summary>
    public const int MinColumns = 60, MinRows = 15;

    /// <summary>Rows of the agent panel, its title border included.</summary>
    public const int PanelRows = 4;

    private static readonly Style Border = new(Dim: true);
    private static readonly Style Label = new(Dim: true);
    private static readonly Style Title = new(Bold: true);
    private static readonly Style Header = new(Bold: true);
    private static readonly Style Selected = new(Inverse: true);
    private static readonly Style Alert = new(Foreground: Color.Red, Bold: true);
    private static readonly Style Prompt = new(Foreground: Color.Yellow, Bold: true);

    private const string Bars = "▁▂▃▄▅▆▇█";

    /// <summary>Columns in the order they are dropped when the terminal is too narrow for all.</summary>
    private static readonly Column[] DropOrder = [Column.Role, Column.Model, Column.Last, Column.Memory, Column.Cost, Column.Network, Column.Tokens];

    /// <summary>The layout of a screen of <paramref name="width"/> × <paramref name="height"/>.</summary>
    public static DashboardLayout Layout(int width, int height) =>
        new(HeaderRow: 1, TableTop: 2, TableRows: Math.Max(0, height - 3 - PanelRows), LogRows: Math.Max(0, height - 2));

    /// <summary>The column drawn at screen column <paramref name="x"/> of a <paramref name="width"/>-wide screen, if any.</summary>
    public static Column? ColumnAt(int x, int width, int clusterWidth, int agentWidth)
    {
        int at = 2;
        foreach (var (column, w) in Columns(width, clusterWidth, agentWidth))
        {
            if (x >= at && x < at + w) return column;
            at += w;
        }
        return null;
    }

    /// <summary>Widths of the cluster and agent columns for these rows.</summary>
    public static (int Cluster, int Agent) NameWidths(IReadOnlyList<DashboardRow> rows)
    {
        int cluster = 8, agent = 6;
        foreach (var r in rows)
        {
            if (r.Agent is { } a) agent = Math.Max(agent, Math.Min(16, TextWidth.Columns(a.Id)) + 2);
            else
            {
                cluster = Math.Max(cluster, Math.Min(20, TextWidth.Columns(r.Cluster.Id)) + 2);
                // The cluster's line shows "N agents" in the agent column: room for it, not "2 agen…".
                int n = r.Cluster.Snapshot.Agents.Count;
                agent = Math.Max(agent, $"{n} agent{(n == 1 ? "" : "s")}".Length + 2);
            }
        }
        return (cluster, agent);
    }

    /// <summary>The columns shown and their widths (each includes its gap) for an inner width of <paramref name="width"/> − 4.</summary>
    internal static List<(Column Column, int Width)> Columns(int width, int clusterWidth, int agentWidth)
    {
        var widths = new Dictionary<Column, int>
        {
            [Column.Cluster] = clusterWidth,
            [Column.Agent] = agentWidth,
            [Column.Role] = 10,
            [Column.Model] = 12,
            [Column.State] = 12,
            [Column.Cpu] = 5,
            [Column.Memory] = 8,
            [Column.Network] = 14,
            [Column.Tokens] = 8,
            [Column.Cost] = 8,
            [Column.Last] = 8,
        };
        int inner = width - 4;
        foreach (var drop in DropOrder)
        {
            if (widths.Values.Sum() <= inner) break;
            widths.Remove(drop);
        }
        // The state word (tool:Bash, retrying 529 3/10 in 4s) gets the room left, up to 36 columns.
        int spare = inner - widths.Values.Sum();
        if (spare > 0) widths[Column.State] += Math.Min(spare, 22);
        else if (spare < 0) widths[Column.State] = Math.Max(6, widths[Column.State] + spare);
        return Enum.GetValues<Column>().Where(widths.ContainsKey).Select(c => (c, widths[c])).ToList();
    }

    /// <summary>Draws the dashboard.</summary>
    public static DashboardFrame Render(DashboardState state, int width, int height, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (width < MinColumns || height < MinRows) return TooSmall(width, height);
        return state.Mode == DashboardMode.Logs ? RenderLog(state, width, height) : RenderTable(state, width, height, now);
    }

    /// <summary>One plain frame of the table alone, every row, for <c>watch --once</c> (no panel, no keys).</summary>
    public static IReadOnlyList<string> RenderPlain(DashboardState state, int width, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        width = Math.Max(MinColumns, width);
        var rows = state.Rows(now);
        var (cw, aw) = NameWidths(rows);
        var columns = Columns(width, cw, aw);
        var lines = new List<string> { TopBorder(state, width, now).Text, HeaderLine(columns, state, width).Text };
        foreach (var row in rows) lines.Add(RowLine(row, columns, width, false, now).Text);
        lines.Add(Closing(width, Math.Max(0, rows.Count) == 0 ? "no clusters" : "").Text);
        return lines;
    }

    private static DashboardFrame RenderTable(DashboardState state, int width, int height, DateTimeOffset now)
    {
        var layout = Layout(width, height);
        var rows = state.Rows(now);
        var (cw, aw) = NameWidths(rows);
        var columns = Columns(width, cw, aw);
        var lines = new List<FooterLine>(height) { TopBorder(state, width, now), HeaderLine(columns, state, width) };
        var selected = state.SelectedRow(now);
        if (state.Mode == DashboardMode.Help)
        {
            var help = HelpLines();
            for (int i = 0; i < layout.TableRows; i++) lines.Add(Boxed(i < help.Count ? help[i] : "", width, i == 0 ? Title : Style.Plain));
        }
        else
        {
            int top = state.FirstShown(layout.TableRows, now);
            int selectedIndex = selected is null ? -1 : IndexOf(rows, selected);
            for (int i = 0; i < layout.TableRows; i++)
            {
                int index = top + i;
                if (index < rows.Count) lines.Add(RowLine(rows[index], columns, width, index == selectedIndex, now));
                else if (index == 0) lines.Add(Boxed(EmptyText(state), width, Label));
                else lines.Add(Boxed("", width, Style.Plain));
            }
        }
        Panel(lines, selected, width, now);
        lines.Add(BottomBorder(state, width));
        return new DashboardFrame(width, height, lines);
    }

    private static string EmptyText(DashboardState state) =>
        state.Filter.Length > 0 ? $"nothing matches \"{state.Filter}\" (Esc clears the filter)"
        : state.HideFinished && state.Clusters.Count > 0 ? "no cluster is running (h shows the finished ones)"
        : "no clusters yet: start one with 'zeroshot run' (it appears here within a second)";

    private static int IndexOf(IReadOnlyList<DashboardRow> rows, DashboardRow row)
    {
        for (int i = 0; i < rows.Count; i++)
        {
            if (ReferenceEquals(rows[i], row)) return i;
        }
        return -1;
    }

    private static FooterLine TopBorder(DashboardState state, int width, DateTimeOffset now)
    {
        var running = state.Clusters.Values.Where(c => c.IsRunning).ToList();
        var agents = running.SelectMany(c => c.Snapshot.Agents).Where(a => a.State == AgentState.Running).ToList();
        int ended = state.Clusters.Count - running.Count;
        var b = new StyledLineBuilder(width) { Inner = width - 1 };
        b.Add("┌─ ", Border);
        b.Add("Zeroshot", Title);
        int agentCount = running.Sum(c => c.Snapshot.Agents.Count);
        b.Add($" ─ {Plural(running.Count, "cluster")}{(ended > 0 ? $" (+{ended} ended)" : "")} ─ {Plural(agentCount, "agent")} ─ ", Style.Plain);
        b.Add("Σ CPU ", Label);
        b.Add(Format.Percent(Format.SumKnown(agents.Select(a => a.Metrics?.CpuPercent)), compact: true), Style.Plain);
        b.Add(" MEM ", Label);
        b.Add(Format.MegaBytes(Format.SumKnown(agents.Select(a => a.Metrics?.MemoryMB)), compact: true), Style.Plain);
        b.Add(" NET ", Label);
        b.Add($"↓{Format.Rate(Format.SumKnown(agents.Select(a => a.Metrics?.NetRxBytesPerSec)) ?? 0, compact: true)} " +
              $"↑{Format.Rate(Format.SumKnown(agents.Select(a => a.Metrics?.NetTxBytesPerSec)) ?? 0, compact: true)}", Style.Plain);
        var all = state.Clusters.Values.Select(c => c.Snapshot).ToList();
        b.Add($" ─ {Format.Tokens(all.Sum(c => c.Tokens.Total))} tokens ─ ", Style.Plain);
        b.Add(Format.Cost(all.Sum(c => c.CostUsd), all.Any(c => c.CostEstimated), compact: true), Style.Plain);
        b.Add(" ", Border);
        return b.CloseWithFill('─', "┐", Border);
    }

    private static string Plural(int n, string word) => n == 1 ? $"1 {word}" : $"{n} {word}s";

    private static FooterLine HeaderLine(List<(Column Column, int Width)> columns, DashboardState state, int width)
    {
        var b = Open(width);
        foreach (var (column, w) in columns)
        {
            string name = column switch
            {
                Column.Network => "NET I/O",
                Column.Memory => "MEM",
                _ => column.ToString().ToUpperInvariant(),
            };
            if (state.SortColumn == column) name += state.Descending ? "▼" : "▲";
            Cell(b, name, w, RightAligned(column), Header);
        }
        return Close(b, width);
    }

    private static bool RightAligned(Column column) => column is Column.Cpu or Column.Memory or Column.Tokens or Column.Cost;

    private static FooterLine RowLine(DashboardRow row, List<(Column Column, int Width)> columns, int width, bool selected, DateTimeOffset now)
    {
        var b = Open(width);
        var cluster = row.Cluster;
        if (row.Agent is not { } agent)
        {
            var running = cluster.IsRunning ? cluster.Snapshot.Agents.Where(a => a.State == AgentState.Running).ToList() : [];
            foreach (var (column, w) in columns)
            {
                var style = column == Column.Cluster ? Title : column == Column.State && cluster.Source == ClusterSource.Crashed ? Alert : Label;
                string text = column switch
                {
                    Column.Cluster => cluster.Id,
                    Column.Agent => $"{cluster.Snapshot.Agents.Count} agent{(cluster.Snapshot.Agents.Count == 1 ? "" : "s")}",
                    Column.Role => cluster.Snapshot.MaxIterations > 0 ? $"it {Math.Max(1, cluster.Snapshot.Iteration)}/{cluster.Snapshot.MaxIterations}" : "",
                    // Running: for how long; ended: when it started (its end time is not in the snapshot).
                    Column.Model => cluster.IsRunning
                        ? "up " + Format.Duration(now - cluster.Snapshot.StartedAt, compact: true)
                        : cluster.Snapshot.StartedAt.ToLocalTime().ToString(now - cluster.Snapshot.StartedAt < TimeSpan.FromHours(20) ? "HH:mm" : "MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture),
                    Column.State => cluster.StateText,
                    Column.Cpu => running.Count == 0 ? "" : Format.Percent(Format.SumKnown(running.Select(a => a.Metrics?.CpuPercent)), compact: true),
                    Column.Memory => running.Count == 0 ? "" : Format.MegaBytes(Format.SumKnown(running.Select(a => a.Metrics?.MemoryMB)), compact: true),
                    Column.Network => running.Count == 0 ? "" : Net(Format.SumKnown(running.Select(a => a.Metrics?.NetRxBytesPerSec)), Format.SumKnown(running.Select(a => a.Metrics?.NetTxBytesPerSec))),
                    Column.Tokens => Format.Tokens(cluster.Snapshot.Tokens.Total),
                    Column.Cost => Format.Cost(cluster.Snapshot.CostUsd, cluster.Snapshot.CostEstimated, compact: true),
                    _ => "",
                };
                Cell(b, text, w, RightAligned(column), style);
            }
            return Close(b, width);
        }

        bool live = agent.State == AgentState.Running && cluster.Source == ClusterSource.Live;
        string? attention = DashboardState.Attention(cluster, agent, now);
        var metrics = live ? agent.Metrics : null;
        foreach (var (column, w) in columns)
        {
            var style = selected ? Selected : Style.Plain;
            string text;
            switch (column)
            {
                case Column.Cluster:
                    var (glyph, color) = Marker(agent, attention);
                    text = "  " + glyph;
                    if (!selected) style = new Style(color, Bold: agent.State == AgentState.Running);
                    break;
                case Column.Agent:
                    text = agent.Id;
                    if (!selected) style = Title;
                    break;
                case Column.Role:
                    text = StateNames.Text(agent.Role);
                    break;
                case Column.Model:
                    text = agent.Model ?? agent.Provider;
                    break;
                case Column.State:
                    // The word says what is wrong (failed, retrying 529…, crashed, stalled, stuck, busy-idle).
                    text = DashboardState.StateWord(cluster, agent);
                    if (!selected && attention is not null) style = Alert;
                    break;
                case Column.Cpu:
                    text = metrics is null ? Format.Unknown : Format.Percent(metrics.CpuPercent, compact: true);
                    break;
                case Column.Memory:
                    text = metrics is null ? Format.Unknown : Format.MegaBytes(metrics.MemoryMB, compact: true);
                    break;
                case Column.Network:
                    text = metrics is null ? Format.Unknown : Net(metrics.NetRxBytesPerSec, metrics.NetTxBytesPerSec);
                    break;
                case Column.Tokens:
                    text = Format.Tokens(agent.Tokens.Total);
                    break;
                case Column.Cost:
                    text = agent.CostUsd == 0 && agent.Tokens.Total == 0 ? Format.Unknown : Format.Cost(agent.CostUsd, agent.CostEstimated, compact: true);
                    break;
                default:
                    text = agent.LastOutputAt is { } last ? Format.Ago(now - last < TimeSpan.Zero ? TimeSpan.Zero : now - last) : Format.Unknown;
                    break;
            }
            Cell(b, text, w, RightAligned(column), style);
        }
        return Close(b, width, selected ? Selected : null);
    }

    private static string Net(double? rx, double? tx)
    {
        // The column says it is a rate: "↓4.2KB ↑1.1KB" without the "/s" of each.
        static string Short(double? rate) => rate is null ? Format.Unknown : Format.Rate(rate, compact: true).Replace("/s", "", StringComparison.Ordinal);
        return rx is null && tx is null ? Format.Unknown : $"↓{Short(rx)} ↑{Short(tx)}";
    }

    private static (string Glyph, Color Color) Marker(AgentSnapshot agent, string? attention)
    {
        if (attention is not null) return ("!", Color.Red);
        var color = agent.Activity switch
        {
            AgentActivity.Model => Color.Magenta,
            AgentActivity.Tool => Color.Yellow,
            AgentActivity.Output => Color.Green,
            AgentActivity.Retrying or AgentActivity.Error => Color.Red,
            AgentActivity.NeedsInput => Color.Yellow,
            AgentActivity.Idle => Color.Cyan,
            _ => Color.Blue,
        };
        return agent.State switch
        {
            AgentState.Running => ("●", color),
            AgentState.Completed => ("✓", Color.Green),
            AgentState.Failed => ("✗", Color.Red),
            AgentState.Stopped => ("■", Color.Grey),
            _ => ("○", Color.Grey),
        };
    }

    private static void Panel(List<FooterLine> lines, DashboardRow? row, int width, DateTimeOffset now)
    {
        var b = new StyledLineBuilder(width) { Inner = width - 1 };
        b.Add("├─", Border);
        if (row is not { Agent: { } agent })
        {
            lines.Add(b.CloseWithFill('─', "┤", Border));
            for (int i = 1; i < PanelRows; i++) lines.Add(Boxed("", width, Style.Plain));
            return;
        }
        var cluster = row.Cluster;
        b.Add(" ", Border);
        b.Add($"{agent.Id} @ {cluster.Id}", Title);
        b.Add($" ─ {StateNames.Text(agent.Role)} · {agent.Provider}{(agent.Model is { } m ? "/" + m : "")}", Style.Plain);
        if (agent.Pid is { } pid && cluster.Source == ClusterSource.Live) b.Add($" · pid {pid}", Label);
        if (cluster.Snapshot.MaxIterations > 0) b.Add($" · iteration {Math.Max(1, agent.Iteration)}/{cluster.Snapshot.MaxIterations}", Label);
        b.Add(" ", Border);
        lines.Add(b.CloseWithFill('─', "┤", Border));

        cluster.Trends.TryGetValue(agent.Id, out var trends);
        var s = Open(width);
        int spark = Math.Clamp((width - 4 - 60) / 4, 6, Trend.Capacity);
        // Values padded to their widest so the bars stay put as the numbers change.
        Spark(s, "CPU ", trends?.Cpu, spark, 100, v => Format.Percent(v, compact: true).PadRight(5));
        Spark(s, " NET ↓ ", trends?.Received, spark, 1024, v => Format.Rate(v, compact: true).PadRight(9));
        Spark(s, " ↑ ", trends?.Sent, spark, 1024, v => Format.Rate(v, compact: true).PadRight(9));
        Spark(s, " TOKENS ", trends?.Tokens, spark, 0, v => Format.Tokens((long)v));
        lines.Add(Close(s, width));

        var d = Open(width);
        d.Add(DashboardState.StateWord(cluster, agent), DashboardState.Attention(cluster, agent, now) is null ? Style.Plain : Alert);
        if (agent.Verdict is { } verdict)
        {
            d.Add("  verdict ", Label);
            d.Add(verdict.Approved ? "approved" : "rejected", new Style(verdict.Approved ? Color.Green : Color.Red, Bold: true));
            if (verdict.Summary.Length > 0) d.Add($" \"{OneLine(verdict.Summary)}\"", Style.Plain);
        }
        if (agent.LastError is { } error)
        {
            d.Add("  error ", Label);
            d.Add(OneLine(error), Alert);
        }
        if (agent.State != AgentState.Running && agent.ExitCode is { } code) d.Add($"  exit {code}", Label);
        lines.Add(Close(d, width));

        var l = Open(width);
        l.Add("last output: ", Label);
        l.Add(agent.LastLine is { } lastLine ? $"\"{lastLine}\"" : Format.Unknown, Style.Plain);
        lines.Add(Close(l, width));
    }

    private static void Spark(StyledLineBuilder b, string label, Trend? trend, int width, double floor, Func<double, string> format)
    {
        b.Add(label, Label);
        if (trend is null || trend.Count == 0)
        {
            b.Add(Format.Unknown.PadRight(width + 1 + format(0).Length), Style.Plain);
            return;
        }
        b.Add(Sparkline(trend, width, floor), new Style(Color.Cyan));
        b.Add(" " + format(trend.Last ?? 0), Style.Plain);
    }

    /// <summary>
    /// The last <paramref name="width"/> values as block characters, scaled from the smallest (or 0, for rates) to the
    /// largest, at least <paramref name="floor"/> (so an idle 0.3 % does not fill the bar); a floor of 0 scales
    /// between the smallest and largest value (tokens, which only grow).
    /// </summary>
    internal static string Sparkline(Trend trend, int width, double floor)
    {
        int n = Math.Min(width, trend.Count), from = trend.Count - n;
        double min = floor > 0 ? 0 : double.MaxValue, max = floor;
        for (int i = from; i < trend.Count; i++)
        {
            max = Math.Max(max, trend[i]);
            if (floor <= 0) min = Math.Min(min, trend[i]);
        }
        var sb = new StringBuilder(n);
        for (int i = from; i < trend.Count; i++)
        {
            double span = max - min;
            int level = span <= 0 ? 0 : (int)Math.Round((trend[i] - min) / span * (Bars.Length - 1));
            sb.Append(Bars[Math.Clamp(level, 0, Bars.Length - 1)]);
        }
        return sb.ToString();
    }

    private static string OneLine(string text)
    {
        string plain = Format.Sanitize(EscapeStripper.Strip(text.ReplaceLineEndings(" ")));
        return plain.Length > 160 ? plain[..160] + "…" : plain;
    }

    private static FooterLine BottomBorder(DashboardState state, int width)
    {
        var b = new StyledLineBuilder(width) { Inner = width - 1 };
        b.Add("└─ ", Border);
        switch (state.Mode)
        {
            case DashboardMode.Confirm:
                b.Add(state.Question ?? "", Prompt);
                break;
            case DashboardMode.Filter:
                b.Add("filter: ", Prompt);
                b.Add(state.FilterDraft + "▏", Title);
                b.Add(" │ Enter keep │ Esc clear", Label);
                break;
            default:
                if (state.Message is { } message)
                {
                    b.Add(message, Prompt);
                    b.Add(" │ ", Border);
                }
                else if (state.Filter.Length > 0)
                {
                    b.Add($"filter \"{state.Filter}\"", Prompt);
                    b.Add(" │ ", Border);
                }
                b.Add("q quit │ ↑↓ select │ a attach │ l log │ s stop │ k kill │ / filter │ n alert │ < > sort │ h hide ended │ ? help", Style.Plain);
                break;
        }
        b.Add(" ", Border);
        return b.CloseWithFill('─', "┘", Border);
    }

    private static List<string> HelpLines() =>
    [
        "Keys",
        "  ↑ ↓ PgUp PgDn Home End, the wheel   select an agent (a click selects; a click on a column header sorts)",
        "  a or Enter   attach to the selected agent (detach with C-b d: back here as it was)",
        "  l            its log, following (↑↓ PgUp PgDn scroll, End follows, Esc back)",
        "  s            stop the selected agent's cluster (asks first)",
        "  k            kill the selected agent (SIGKILL to its process group; asks first)",
        "  n            the next agent that needs you (error, stuck, crashed)",
        "  < >          sort by the previous / next column; r reverses; again past the ends: file order",
        "  /            filter rows by text (cluster, agent, role, model, state); Esc clears",
        "  h            hide or show clusters that ended",
        "  q  Ctrl+C    quit",
        "",
        "Markers: ● running (colour: magenta model, yellow tool, green output, blue quiet), ✓ completed, ✗ failed,",
        "■ stopped, ○ waiting, ! needs you. Figures are the whole process tree's, from each cluster's supervisor.",
        "",
        "Press any key to close this help.",
    ];

    private static DashboardFrame RenderLog(DashboardState state, int width, int height)
    {
        var log = state.Log;
        var layout = Layout(width, height);
        var lines = new List<FooterLine>(height);
        var t = new StyledLineBuilder(width) { Inner = width - 1 };
        t.Add("┌─ ", Border);
        t.Add("log: " + (log.Title ?? ""), Title);
        t.Add(log.Following ? " ─ following" : $" ─ line {log.FirstShown(layout.LogRows) + 1 + log.Dropped}", Style.Plain);
        t.Add(" ", Border);
        lines.Add(t.CloseWithFill('─', "┐", Border));
        int first = log.FirstShown(layout.LogRows);
        for (int i = 0; i < layout.LogRows; i++)
        {
            int index = first + i;
            if (index >= log.Lines.Count)
            {
                lines.Add(Boxed(index == 0 ? "(no output yet)" : "", width, Label));
                continue;
            }
            var line = log.Lines[index];
            lines.Add(Boxed(line.Style == DisplayStyle.Raw ? EscapeStripper.Strip(line.Text) : line.Text, width, line.Style switch
            {
                DisplayStyle.Dim => Label,
                DisplayStyle.Tool => new Style(Color.Yellow),
                DisplayStyle.Ok => new Style(Color.Green),
                DisplayStyle.Error => new Style(Color.Red),
                _ => Style.Plain,
            }));
        }
        var b = new StyledLineBuilder(width) { Inner = width - 1 };
        b.Add("└─ ", Border);
        b.Add("Esc back │ ↑↓ PgUp PgDn scroll │ End follow", Style.Plain);
        b.Add(" ", Border);
        lines.Add(b.CloseWithFill('─', "┘", Border));
        return new DashboardFrame(width, height, lines);
    }

    private static DashboardFrame TooSmall(int width, int height)
    {
        var lines = new List<FooterLine>(Math.Max(0, height));
        string[] text = [$"zeroshot watch needs at least {MinColumns}×{MinRows}", $"this terminal is {width}×{height}"];
        for (int i = 0; i < height; i++)
        {
            var b = new StyledLineBuilder(Math.Max(0, width));
            int at = i - (height - 1) / 2;
            if (at is 0 or 1) b.Add(text[at], Prompt);
            b.PadTo(Math.Max(0, width));
            lines.Add(b.Build());
        }
        return new DashboardFrame(width, height, lines);
    }

    private static StyledLineBuilder Open(int width)
    {
        var b = new StyledLineBuilder(width);
        b.Add("│ ", Border);
        b.Inner = width - 2;
        return b;
    }

    private static FooterLine Close(StyledLineBuilder b, int width, Style? fill = null)
    {
        if (fill is { } style && b.Used < width - 2) b.Add(new string(' ', width - 2 - b.Used), style);
        b.PadTo(width - 2);
        b.Inner = width;
        b.Add(" │", Border);
        return b.Build();
    }

    private static FooterLine Boxed(string text, int width, Style style)
    {
        var b = Open(width);
        b.Add(text, style);
        return Close(b, width);
    }

    private static FooterLine Closing(int width, string text)
    {
        var b = new StyledLineBuilder(width) { Inner = width - 1 };
        b.Add(text.Length > 0 ? "└─ " : "└─", Border);
        if (text.Length > 0) b.Add(text + " ", Label);
        return b.CloseWithFill('─', "┘", Border);
    }

    private static void Cell(StyledLineBuilder b, string text, int width, bool right, Style style)
    {
        // One column of gap after each cell; a cell too long is cut with an ellipsis.
        int room = Math.Max(1, width - 1);
        string fitted = TextWidth.Columns(text) > room ? TextWidth.Fit(Format.Sanitize(text), room) : Format.Sanitize(text);
        int pad = room - TextWidth.Columns(fitted);
        b.Add(right ? new string(' ', pad) + fitted + " " : fitted + new string(' ', pad + 1), style);
    }
}
