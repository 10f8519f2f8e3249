using System.Diagnostics;
using System.Text.RegularExpressions;
using Zeroshot.Agents.Config;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;
using Zeroshot.Cli.Report;

namespace Zeroshot.Cli.Tests;

/// <summary>
/// <c>zeroshot report</c>: the renderer on a constructed run (series, bands, escaping), and a real run's report loaded
/// from disk by headless Chromium (installed by .ci/run): every chart drawn, no script error, a screenshot kept.
/// </summary>
[Collection(EndToEndCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class ReportTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 3, 10, 0, 0, TimeSpan.Zero);
    private readonly DetachedClusters _clusters = new("zs-report-");

    public void Dispose() => _clusters.Dispose();

    private static RunData Constructed()
    {
        var agents = new[]
        {
            new AgentRecord("worker", AgentRole.Worker, "sim", "m", AgentState.Completed, null, null, 2, 0, T0, T0.AddSeconds(20), T0.AddSeconds(19),
                new UsageTotals(new TokenCounts(100, 200, 0, 0), 0.5m, false)),
            new AgentRecord("<script>alert(1)</script>", AgentRole.Validator, "sim", null, AgentState.Completed, null, null, 2, 0, T0, T0.AddSeconds(20), null),
        };
        var cluster = new ClusterRecord("c-1", ClusterKind.Cluster, "a & b", ClusterState.Completed, 2, 3, T0, T0.AddSeconds(20), null, null, null, "{}", 0, agents);
        HistoryPoint P(int s, AgentState state, string? activity, string? health, int iteration, long tokens) =>
            new(T0.AddSeconds(s), iteration, state, activity, health, 10 * s, 40, 100, 50, 0, 0, tokens, tokens / 1000.0);
        var samples = new Dictionary<string, IReadOnlyList<HistoryPoint>>
        {
            ["worker"] = [P(0, AgentState.Running, "model", "waiting-on-model", 1, 0), P(1, AgentState.Running, "tool:Bash", "running-tool", 1, 50),
                P(2, AgentState.Running, "retrying 529 1/10 in 2s", "retrying", 1, 60), P(3, AgentState.Completed, null, null, 1, 60),
                P(10, AgentState.Running, "model", "stalled", 2, 70), P(11, AgentState.Running, "output", "active", 2, 300)],
            ["<script>alert(1)</script>"] = [P(4, AgentState.Running, "model", "active", 1, 0), P(5, AgentState.Running, "model", "active", 1, 10)],
        };
        var events = new ClusterEvent[]
        {
            new IterationStartedEvent(T0, 1, 3, false),
            new VerdictEvent(T0.AddSeconds(6), "<script>alert(1)</script>", false, "no <b>tests</b>", ["add a test for x < y"]),
            new IterationStartedEvent(T0.AddSeconds(9), 2, 3, true),
        };
        return new RunData(cluster, samples, events, T0.AddSeconds(30));
    }

    [Fact]
    public void The_report_draws_a_line_per_agent_in_each_chart_bands_for_states_health_and_iterations_and_escapes_agent_text()
    {
        string html = RunReport.Render(Constructed());
        foreach (var chart in RunReport.Charts)
        {
            var svg = Regex.Match(html, $"<svg class=\"chart\" data-chart=\"{chart}\".*?</svg>", RegexOptions.Singleline).Value;
            Assert.Contains("data-series=\"worker\"", svg, StringComparison.Ordinal);
            Assert.Contains("data-series=\"&lt;script&gt;alert(1)&lt;/script&gt;\"", svg, StringComparison.Ordinal);
        }
        // The worker's two runs are two stretches of its CPU line (a gap where it did not run).
        var cpu = Regex.Match(html, "<svg class=\"chart\" data-chart=\"cpu\".*?</svg>", RegexOptions.Singleline).Value;
        Assert.Equal(2, Regex.Count(cpu, "data-series=\"worker\""));
        Assert.Contains("data-series=\"worker:out\"", html, StringComparison.Ordinal);
        Assert.Contains("data-band=\"health\" data-agent=\"worker\"", html, StringComparison.Ordinal);
        Assert.Matches("<rect data-band=\"activity\" data-agent=\"worker\"[^>]*fill=\"#dc2626\"><title>worker: retrying 529 1/10 in 2s", html);
        Assert.Matches("<rect data-band=\"health\" data-agent=\"worker\"[^>]*fill=\"#dc2626\"><title>worker: stalled", html);
        Assert.Contains("<title>worker: iteration 2 (", html, StringComparison.Ordinal);
        // Agent text is escaped everywhere: no tag of theirs reaches the page.
        Assert.DoesNotContain("<script>alert", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>tests</b>", html, StringComparison.Ordinal);
        Assert.Contains("no &lt;b&gt;tests&lt;/b&gt;", html, StringComparison.Ordinal);
        Assert.Contains("<li>add a test for x &lt; y</li>", html, StringComparison.Ordinal);
        Assert.Contains("<h1>a &amp; b <small>c-1</small></h1>", html, StringComparison.Ordinal);
        // Self-contained: nothing fetched from anywhere.
        Assert.DoesNotMatch("(src|href)=\"(https?:)?//", html);
    }

    private static string RepoRoot()
    {
        string dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "Zeroshot.slnx"))) dir = Path.GetDirectoryName(dir) ?? throw new InvalidOperationException("no repository above the tests");
        return dir;
    }

    private static (int ExitCode, string Out, string Error) Chromium(params string[] args)
    {
        var start = new ProcessStartInfo("chromium") { RedirectStandardOutput = true, RedirectStandardError = true };
        // Root in a container needs --no-sandbox; a fresh profile per call keeps runs apart.
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars", $"--user-data-dir={Path.Combine(Path.GetTempPath(), "zs-chromium-" + Guid.NewGuid().ToString("N")[..8])}" }.Concat(args))
            start.ArgumentList.Add(a);
        Process p;
        try
        {
            p = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("chromium is not installed (.ci/run installs Debian's chromium): " + e.Message, e);
        }
        using (p)
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(TimeSpan.FromSeconds(90)))
            {
                p.Kill(entireProcessTree: true);
                Assert.Fail("chromium did not end within 90 s");
            }
            return (p.ExitCode, stdout.Result, stderr.Result);
        }
    }

    [Fact]
    public void A_real_runs_report_renders_every_chart_in_headless_chromium()
    {
        var id = _clusters.StartFile("reported", new
        {
            name = "reported",
            prompt = "Report me.",
            maxIterations = 2,
            agents = new object[]
            {
                new { id = "worker", role = "worker", provider = "sim", options = new { durationSeconds = 5, seed = 3 } },
                new { id = "reviewer", role = "validator", provider = "sim", after = new[] { "worker" }, options = new { durationSeconds = 3, seed = 4, rejectIterations = new[] { 1 } } },
            },
        });
        Wait.Until(() => !_clusters.Z("status", id).Out.Split('\n')[0].Contains("running", StringComparison.Ordinal), "the run's end", 120_000);

        string file = Path.Combine(_clusters.Root, "report.html");
        var made = _clusters.Z("report", id, "--out", file);
        Assert.True(made.ExitCode == 0, made.Error);
        Assert.Equal($"zeroshot: report of {id} written to {file}", made.Error.Trim());
        string html = File.ReadAllText(file);
        // The stored history has every agent in every chart, over both iterations.
        foreach (var chart in RunReport.Charts)
        {
            var svg = Regex.Match(html, $"<svg class=\"chart\" data-chart=\"{chart}\".*?</svg>", RegexOptions.Singleline).Value;
            foreach (var agent in new[] { "worker", "reviewer" })
                Assert.Matches($"data-series=\"{agent}\" data-points=\"([2-9]|\\d\\d+)\"", svg);
        }
        Assert.Contains("<td>rejected</td>", html, StringComparison.Ordinal);
        Assert.Contains("<td>approved</td>", html, StringComparison.Ordinal);

        // Loaded from disk by a real browser: every chart drawn (a non-empty box with its lines), no script error.
        var dom = Chromium("--dump-dom", new Uri(file).AbsoluteUri);
        Assert.True(dom.ExitCode == 0, dom.Error);
        var body = BodyTag().Match(dom.Out);
        Assert.True(body.Success, dom.Out[..Math.Min(500, dom.Out.Length)]);
        Assert.Equal((RunReport.Charts.Length + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), body.Groups["drawn"].Value);
        Assert.Equal("0", body.Groups["errors"].Value);

        string shots = Path.Combine(RepoRoot(), "TestResults", "report");
        Directory.CreateDirectory(shots);
        string png = Path.Combine(shots, "real-run-report.png");
        File.Delete(png);
        var shot = Chromium("--window-size=1100,2600", $"--screenshot={png}", new Uri(file).AbsoluteUri);
        Assert.True(shot.ExitCode == 0, shot.Error);
        Assert.True(new FileInfo(png).Length > 20_000, "the screenshot is nearly empty");
        File.Copy(file, Path.Combine(shots, "real-run-report.html"), overwrite: true);

        // `--out -` writes the same document to standard output; an unknown id is a one-line error.
        Assert.StartsWith("<!DOCTYPE html>", _clusters.Z("report", id, "--out", "-").Out, StringComparison.Ordinal);
        var unknown = _clusters.Z("report", "no-such-cluster");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Single(unknown.Error.Trim().Split('\n'));
    }

    [GeneratedRegex("<body data-charts-drawn=\"(?<drawn>\\d+)\" data-script-errors=\"(?<errors>\\d+)\">")]
    private static partial Regex BodyTag();
}
