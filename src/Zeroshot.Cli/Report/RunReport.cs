using System.Globalization;
using System.Net;
using System.Text;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;
using Zeroshot.Terminal;

namespace Zeroshot.Cli.Report;

/// <summary>What a run report is drawn from: the cluster's record, its agents' recorded samples and its events.</summary>
/// <param name="Cluster">The cluster as the state database has it.</param>
/// <param name="Samples">Each agent's history points, in time order.</param>
/// <param name="Events">The cluster's events, in order.</param>
/// <param name="Now">When the report is made (the end of a run still going).</param>
internal sealed record RunData(ClusterRecord Cluster, IReadOnlyDictionary<string, IReadOnlyList<HistoryPoint>> Samples,
    IReadOnlyList<ClusterEvent> Events, DateTimeOffset Now);

/// <summary>
/// The run report (<c>zeroshot report</c>): one self-contained HTML file, charts drawn as inline SVG (no script or
/// style fetched from anywhere: it opens offline, from disk or a mail attachment). Over the run's time, a chart per
/// figure with a line per agent (CPU, memory, network in and out, tokens, cost), and per agent its bands: its state
/// and activity (retries in red), its health verdict and its iteration. Then the validators' verdicts, a summary table
/// and the events. A pure function of <see cref="RunData"/>; every text from agents is HTML-escaped.
/// </summary>
internal static class RunReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private const int Width = 960, Height = 190, Left = 64, Right = 16, Top = 12, Bottom = 26;
    private static readonly string[] Palette = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d"];

    /// <summary>The charts drawn, by their <c>data-chart</c> name (a test checks each rendered with these series).</summary>
    public static readonly string[] Charts = ["cpu", "memory", "network", "tokens", "cost"];

    /// <summary>The report's HTML.</summary>
    public static string Render(RunData run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var c = run.Cluster;
        var start = c.StartedAt;
        var end = c.EndedAt ?? run.Now;
        foreach (var points in run.Samples.Values)
            if (points.Count > 0 && points[^1].At > end) end = points[^1].At;
        if (end <= start) end = start.AddSeconds(1);
        var agents = c.Agents.Select(a => a.AgentId).ToList();
        var color = agents.Select((id, i) => (id, Palette[i % Palette.Length])).ToDictionary(p => p.id, p => p.Item2);

        var html = new StringBuilder(64 * 1024);
        var usage = c.Agents.Aggregate(Agents.Output.UsageTotals.Zero, (sum, a) => sum + a.Usage);
        html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">");
        html.Append("<title>zeroshot report: ").Append(E(c.Name)).Append(" (").Append(E(c.Id)).Append(")</title>");
        html.Append(Style);
        html.Append("</head><body data-charts-drawn=\"0\" data-script-errors=\"0\">\n");
        html.Append("<h1>").Append(E(c.Name)).Append(" <small>").Append(E(c.Id)).Append("</small></h1>\n");
        html.Append("<p class=\"facts\">").Append(E(StateNames.Text(c.Kind))).Append(" · <b>").Append(E(StateNames.Text(c.State))).Append("</b>")
            .Append(" · iteration ").Append(c.Iteration.ToString(Inv)).Append('/').Append(c.MaxIterations.ToString(Inv))
            .Append(" · started ").Append(E(start.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", Inv)))
            .Append(" · ").Append(c.EndedAt is null ? "running for " : "took ").Append(E(Format.Duration(end - start, compact: true)))
            .Append(" · ").Append(E(Format.Tokens(usage.Tokens.Total))).Append(" tokens · ").Append(E(Format.Cost(usage.CostUsd, usage.CostEstimated)))
            .Append("</p>\n");

        html.Append("<h2>Summary</h2>\n");
        Summary(html, run, end);
        html.Append("<h2>Over time</h2>\n<div class=\"legend\">");
        foreach (var id in agents)
            html.Append("<span><i style=\"background:").Append(color[id]).Append("\"></i>").Append(E(id)).Append("</span>");
        html.Append("</div>\n");
        Chart(html, run, "cpu", "CPU (% of one core)", p => p.CpuPercent, v => Format.Percent(v, compact: true), color, start, end);
        Chart(html, run, "memory", "Memory", p => p.MemoryMB, v => Format.MegaBytes(v), color, start, end);
        Chart(html, run, "network", "Network in (solid) and out (dashed), per second", p => p.NetRxBytesPerSec, v => Format.Bytes(v, compact: true), color, start, end,
            second: p => p.NetTxBytesPerSec);
        Chart(html, run, "tokens", "Tokens (cumulative)", p => p.Tokens, v => Format.Tokens((long)v), color, start, end, keepStopped: true);
        Chart(html, run, "cost", "Cost (cumulative, USD)", p => p.CostUsd, v => Format.Cost((decimal)v, false), color, start, end, keepStopped: true);
        html.Append("<h2>Agents' states, health and iterations</h2>\n");
        Bands(html, run, agents, start, end);
        Verdicts(html, run);
        Events(html, run, start);
        html.Append(Script);
        html.Append("</body></html>\n");
        return html.ToString();
    }

    private static void Summary(StringBuilder html, RunData run, DateTimeOffset end)
    {
        html.Append("<table class=\"summary\"><thead><tr><th>agent</th><th>role</th><th>provider/model</th><th>state</th><th>running</th>")
            .Append("<th>CPU time</th><th>peak memory</th><th>received</th><th>sent</th><th>tokens</th><th>cost</th><th>verdict / error</th></tr></thead><tbody>\n");
        foreach (var a in run.Cluster.Agents)
        {
            var points = run.Samples.TryGetValue(a.AgentId, out var p) ? p : [];
            double cpuSeconds = 0, rx = 0, tx = 0, peak = 0;
            TimeSpan running = TimeSpan.Zero;
            for (int i = 1; i < points.Count; i++)
            {
                if (points[i].State != AgentState.Running || points[i - 1].State != AgentState.Running) continue;
                double dt = (points[i].At - points[i - 1].At).TotalSeconds;
                running += points[i].At - points[i - 1].At;
                cpuSeconds += (points[i].CpuPercent ?? 0) / 100 * dt;
                rx += (points[i].NetRxBytesPerSec ?? 0) * dt;
                tx += (points[i].NetTxBytesPerSec ?? 0) * dt;
            }
            foreach (var point in points) peak = Math.Max(peak, point.MemoryMB ?? 0);
            string model = a.Provider + ((a.SeenModel ?? a.Model) is { } m ? "/" + m : "");
            string outcome = a.Verdict is { } v ? (v.Verdict.Approved ? "approved" : "rejected") + (v.Verdict.Summary.Length > 0 ? ": " + v.Verdict.Summary : "")
                : a.LastError ?? "";
            html.Append("<tr><td>").Append(E(a.AgentId)).Append("</td><td>").Append(E(StateNames.Text(a.Role))).Append("</td><td>").Append(E(model))
                .Append("</td><td>").Append(E(StateNames.Text(a.State))).Append("</td><td class=\"n\">").Append(E(Format.Duration(running, compact: true)))
                .Append("</td><td class=\"n\">").Append(E(cpuSeconds.ToString("0.0", Inv))).Append("s</td><td class=\"n\">").Append(E(Format.MegaBytes(peak)))
                .Append("</td><td class=\"n\">").Append(E(Format.Bytes(rx))).Append("</td><td class=\"n\">").Append(E(Format.Bytes(tx)))
                .Append("</td><td class=\"n\">").Append(E(Format.Tokens(a.Usage.Tokens.Total))).Append("</td><td class=\"n\">")
                .Append(E(Format.Cost(a.Usage.CostUsd, a.Usage.CostEstimated))).Append("</td><td>").Append(E(outcome)).Append("</td></tr>\n");
        }
        html.Append("</tbody></table>\n");
    }

    private static void Chart(StringBuilder html, RunData run, string name, string title, Func<HistoryPoint, double?> value, Func<double, string> label,
        Dictionary<string, string> color, DateTimeOffset start, DateTimeOffset end, Func<HistoryPoint, double?>? second = null, bool keepStopped = false)
    {
        double max = 0;
        foreach (var points in run.Samples.Values)
            foreach (var p in points)
                if (keepStopped || p.State == AgentState.Running)
                    max = Math.Max(max, Math.Max(value(p) ?? 0, second?.Invoke(p) ?? 0));
        max = NiceCeiling(max);
        double plotW = Width - Left - Right, plotH = Height - Top - Bottom;
        double X(DateTimeOffset t) => Left + (t - start).TotalSeconds / (end - start).TotalSeconds * plotW;
        double Y(double v) => Top + plotH - v / max * plotH;

        html.Append("<figure><figcaption>").Append(E(title)).Append("</figcaption>")
            .Append("<svg class=\"chart\" data-chart=\"").Append(name).Append("\" viewBox=\"0 0 ").Append(Width).Append(' ').Append(Height)
            .Append("\" width=\"").Append(Width).Append("\" height=\"").Append(Height).Append("\" role=\"img\" aria-label=\"").Append(E(title)).Append("\">");
        for (int i = 0; i <= 4; i++)
        {
            double v = max * i / 4, y = Y(v);
            html.Append("<line class=\"grid\" x1=\"").Append(N(Left)).Append("\" x2=\"").Append(N(Width - Right)).Append("\" y1=\"").Append(N(y)).Append("\" y2=\"").Append(N(y)).Append("\"/>")
                .Append("<text class=\"y\" x=\"").Append(N(Left - 6)).Append("\" y=\"").Append(N(y + 4)).Append("\">").Append(E(label(v))).Append("</text>");
        }
        for (int i = 0; i <= 6; i++)
        {
            var t = start + (end - start) * i / 6;
            html.Append("<text class=\"x\" x=\"").Append(N(X(t))).Append("\" y=\"").Append(N(Height - 8)).Append("\">")
                .Append(E(Format.Duration(t - start, compact: true))).Append("</text>");
        }
        foreach (var (agent, points) in run.Samples)
        {
            if (!color.TryGetValue(agent, out var stroke)) continue;
            Series(html, agent, points, value, keepStopped, stroke, dashed: false, X, Y);
            if (second is not null) Series(html, agent + ":out", points, second, keepStopped, stroke, dashed: true, X, Y);
        }
        html.Append("</svg></figure>\n");
    }

    // One polyline per stretch of samples (a gap where the agent did not run), all with the series' name.
    private static void Series(StringBuilder html, string series, IReadOnlyList<HistoryPoint> points, Func<HistoryPoint, double?> value, bool keepStopped,
        string stroke, bool dashed, Func<DateTimeOffset, double> x, Func<double, double> y)
    {
        var stretch = new StringBuilder();
        int count = 0;
        void Flush()
        {
            if (count > 0)
            {
                html.Append("<polyline data-series=\"").Append(E(series)).Append("\" data-points=\"").Append(count.ToString(Inv)).Append("\" stroke=\"").Append(stroke)
                    .Append(dashed ? "\" stroke-dasharray=\"5 3" : "").Append("\" points=\"").Append(stretch).Append("\"/>");
            }
            stretch.Clear();
            count = 0;
        }
        foreach (var p in points)
        {
            if ((!keepStopped && p.State != AgentState.Running) || value(p) is not { } v || !double.IsFinite(v))
            {
                Flush();
                continue;
            }
            stretch.Append(N(x(p.At))).Append(',').Append(N(y(v))).Append(' ');
            count++;
        }
        // A single sample still shows (as a dot-long line).
        if (count == 1) stretch.Append(stretch.ToString());
        Flush();
    }

    private static void Bands(StringBuilder html, RunData run, List<string> agents, DateTimeOffset start, DateTimeOffset end)
    {
        const int row = 16, gap = 4, labelW = 150;
        int rows = agents.Count * 3;
        int height = Top + rows * (row + gap) + Bottom;
        double plotW = Width - labelW - Right;
        double X(DateTimeOffset t) => labelW + Math.Clamp((t - start).TotalSeconds / (end - start).TotalSeconds, 0, 1) * plotW;
        html.Append("<figure><svg class=\"chart bands\" data-chart=\"bands\" viewBox=\"0 0 ").Append(Width).Append(' ').Append(height)
            .Append("\" width=\"").Append(Width).Append("\" height=\"").Append(height).Append("\" role=\"img\" aria-label=\"states, health and iterations\">");
        int r = 0;
        foreach (var agent in agents)
        {
            var points = run.Samples.TryGetValue(agent, out var p) ? p : [];
            foreach (var (band, word) in new (string, Func<HistoryPoint, string?>)[]
            {
                ("activity", q => q.State == AgentState.Running ? q.Activity ?? "running" : StateNames.Text(q.State)),
                ("health", q => q.Health),
                ("iteration", q => q.State == AgentState.Running ? "iteration " + q.Iteration.ToString(Inv) : null),
            })
            {
                double y = Top + r * (row + gap);
                html.Append("<text class=\"band\" x=\"4\" y=\"").Append(N(y + row - 4)).Append("\">").Append(E(agent)).Append(' ').Append(band).Append("</text>");
                for (int i = 0; i < points.Count; i++)
                {
                    // A stretch of equal words becomes one rectangle, up to the next point (or the end).
                    string? w = word(points[i]);
                    int j = i;
                    while (j + 1 < points.Count && word(points[j + 1]) == w) j++;
                    var until = j + 1 < points.Count ? points[j + 1].At : (run.Cluster.EndedAt ?? run.Now);
                    if (w is not null)
                    {
                        double x0 = X(points[i].At), x1 = Math.Max(X(until), x0 + 1);
                        html.Append("<rect data-band=\"").Append(band).Append("\" data-agent=\"").Append(E(agent)).Append("\" x=\"").Append(N(x0)).Append("\" y=\"").Append(N(y))
                            .Append("\" width=\"").Append(N(x1 - x0)).Append("\" height=\"").Append(row).Append("\" fill=\"").Append(BandColor(band, w, points[i].Iteration))
                            .Append("\"><title>").Append(E(agent)).Append(": ").Append(E(w)).Append(" (").Append(E(Format.Duration(points[i].At - start, compact: true)))
                            .Append('–').Append(E(Format.Duration(until - start, compact: true))).Append(")</title></rect>");
                    }
                    i = j;
                }
                r++;
            }
        }
        html.Append("</svg><div class=\"legend small\">");
        foreach (var (word, band) in new[] { ("model", "activity"), ("tool", "activity"), ("output", "activity"), ("needs-input", "activity"), ("retrying", "activity"),
            ("completed", "activity"), ("waiting", "activity"), ("waiting-on-model", "health"), ("running-tool", "health"), ("active", "health"),
            ("idle", "health"), ("stalled, stuck, busy-idle", "health") })
            html.Append("<span><i style=\"background:").Append(BandColor(band, word.Split(',')[0], 1)).Append("\"></i>").Append(E(word)).Append("</span>");
        html.Append("</div></figure>\n");
    }

    private static string BandColor(string band, string word, int iteration) => band switch
    {
        "iteration" => iteration % 2 == 0 ? "#cbd5e1" : "#94a3b8",
        "health" => word switch
        {
            "stalled" or "stuck" or "busy-idle" => "#dc2626",
            "retrying" => "#f97316",
            "needs-input" => "#eab308",
            "waiting-on-model" => "#a855f7",
            "running-tool" => "#f59e0b",
            "idle" => "#06b6d4",
            _ => "#22c55e",
        },
        _ => word switch
        {
            _ when word.StartsWith("retrying", StringComparison.Ordinal) || word is "failed" or "stalled" or "stuck" or "busy-idle" || word.StartsWith("error", StringComparison.Ordinal) => "#dc2626",
            _ when word.StartsWith("tool", StringComparison.Ordinal) => "#f59e0b",
            _ when word.StartsWith("needs-input", StringComparison.Ordinal) => "#eab308",
            "model" => "#a855f7",
            "output" => "#22c55e",
            "completed" => "#86efac",
            "stopped" => "#9ca3af",
            "waiting" => "#e5e7eb",
            _ => "#93c5fd",
        },
    };

    private static void Verdicts(StringBuilder html, RunData run)
    {
        var verdicts = run.Events.OfType<VerdictEvent>().ToList();
        var iterations = run.Events.OfType<IterationStartedEvent>().ToList();
        html.Append("<h2>Validators' verdicts</h2>\n");
        if (verdicts.Count == 0)
        {
            html.Append("<p>No validator gave a verdict.</p>\n");
            return;
        }
        html.Append("<table class=\"verdicts\"><thead><tr><th>iteration</th><th>validator</th><th>verdict</th><th>summary</th><th>issues</th></tr></thead><tbody>\n");
        foreach (var v in verdicts)
        {
            int iteration = iterations.LastOrDefault(i => i.Time <= v.Time)?.Iteration ?? 1;
            html.Append("<tr class=\"").Append(v.Approved ? "ok" : "no").Append("\"><td class=\"n\">").Append(iteration.ToString(Inv)).Append("</td><td>").Append(E(v.Validator))
                .Append("</td><td>").Append(v.Approved ? "approved" : "rejected").Append("</td><td>").Append(E(v.Summary)).Append("</td><td><ul>");
            foreach (var issue in v.Issues) html.Append("<li>").Append(E(issue)).Append("</li>");
            html.Append("</ul></td></tr>\n");
        }
        html.Append("</tbody></table>\n");
    }

    private static void Events(StringBuilder html, RunData run, DateTimeOffset start)
    {
        html.Append("<h2>Events</h2>\n<table class=\"events\"><tbody>\n");
        foreach (var e in run.Events)
        {
            var lines = ClusterEventText.Lines(e);
            string text = lines.Count > 0 ? string.Join(" · ", lines.Select(l => l.Trim())) : e is VerdictEvent v ? $"{v.Validator}: {(v.Approved ? "approved" : "rejected")}" : e.GetType().Name;
            html.Append("<tr><td class=\"n\">+").Append(E(Format.Duration(e.Time - start, compact: true))).Append("</td><td>").Append(E(text)).Append("</td></tr>\n");
        }
        html.Append("</tbody></table>\n");
    }

    private static double NiceCeiling(double max)
    {
        if (!(max > 0) || !double.IsFinite(max)) return 1;
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(max)));
        foreach (double step in new[] { 1, 2, 2.5, 5, 10 })
            if (step * magnitude >= max) return step * magnitude;
        return 10 * magnitude;
    }

    private static string N(double v) => v.ToString("0.#", Inv);

    private static string E(string text) => WebUtility.HtmlEncode(Format.Sanitize(text));

    private const string Style = """
        <style>
        body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1000px; color: #111827; }
        h1 small { color: #6b7280; font-weight: normal; font-size: 60%; }
        .facts { color: #374151; }
        table { border-collapse: collapse; width: 100%; margin: 8px 0 20px; }
        th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
        td.n { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
        tr.no td { background: #fef2f2; } tr.ok td { background: #f0fdf4; }
        figure { margin: 8px 0 16px; } figcaption { font-weight: 600; margin-bottom: 2px; }
        svg.chart { background: #fafafa; border: 1px solid #e5e7eb; max-width: 100%; height: auto; }
        svg polyline { fill: none; stroke-width: 1.6; }
        svg line.grid { stroke: #e5e7eb; }
        svg text { font: 11px system-ui, sans-serif; fill: #6b7280; }
        svg text.y { text-anchor: end; } svg text.x { text-anchor: middle; } svg text.band { fill: #374151; }
        .legend span { margin-right: 16px; } .legend.small { font-size: 12px; color: #4b5563; } .legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; }
        ul { margin: 0; padding-left: 18px; }
        </style>
        """;

    // The only script: counts the charts the browser drew and any script error (what the browser test reads).
    private const string Script = """
        <script>
        (function () {
          var errors = 0;
          window.addEventListener('error', function () { errors++; document.body.dataset.scriptErrors = String(errors); });
          var drawn = 0;
          document.querySelectorAll('svg.chart').forEach(function (svg) {
            var box = svg.getBBox();
            if (box.width > 0 && box.height > 0 && svg.querySelector('polyline, rect')) drawn++;
          });
          document.body.dataset.chartsDrawn = String(drawn);
          document.body.dataset.scriptErrors = String(errors);
        })();
        </script>
        """;
}
