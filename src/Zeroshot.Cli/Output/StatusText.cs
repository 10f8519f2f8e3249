using System.Globalization;
using Zeroshot.Agents.Config;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;
using Zeroshot.Metrics;

namespace Zeroshot.Cli.Output;

/// <summary>
/// The text forms of <c>status</c> and <c>list</c>, drawn from the cluster's <see cref="ClusterSnapshot"/> (live from a
/// supervisor, or built from the state database), so both sources read the same: tokens, cost (<c>~</c> when
/// estimated from the price table rather than reported by the CLI), activity, verdicts and errors.
/// </summary>
internal static class StatusText
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>The word for an agent's state and activity: <c>tool:Bash</c>, <c>retrying 529 3/10 in 4s</c>, <c>approved</c>…</summary>
    public static string Activity(AgentSnapshot agent)
    {
        ArgumentNullException.ThrowIfNull(agent);
        return agent.ActivityText();
    }

    /// <summary>"12.4K" tokens.</summary>
    public static string Tokens(UsageTotals usage) => OutputFormat.Tokens(usage.Total);

    /// <summary>"$0.12", "~$0.12" when estimated.</summary>
    public static string Cost(UsageTotals usage) => OutputFormat.Cost(usage.CostUsd, usage.CostEstimated);

    /// <summary>Writes the text form of <c>status</c>.</summary>
    public static void WriteStatus(TextWriter output, ClusterSnapshot status, Func<TreeSample, string> metrics)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(status);
        ArgumentNullException.ThrowIfNull(metrics);
        var started = status.StartedAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", Invariant);
        output.WriteLine($"{status.Id}  {StateNames.Text(status.Kind)} \"{Clean(status.Name)}\"  {StateNames.Text(status.State)}  " +
            $"iteration {status.Iteration.ToString(Invariant)}/{status.MaxIterations.ToString(Invariant)}  started {started}  tokens {Tokens(status.Usage)}  cost {Cost(status.Usage)}");
        var rows = new List<(AgentSnapshot Agent, string[] Cells)>();
        foreach (var agent in NeedsInputFirst(status.Agents))
        {
            string model = agent.Provider + (agent.Model is { } m ? "/" + m : "");
            string state = StateNames.Text(agent.State);
            if (agent.State == AgentState.Failed && agent.ExitCode is { } code) state += $" ({code.ToString(Invariant)})";
            string health = agent.State == AgentState.Running && agent.Health is { } h ? Zeroshot.Agents.Health.HealthVerdictNames.ToJsonName(h.Verdict) : "";
            rows.Add((agent, [Clean(agent.Id), StateNames.Text(agent.Role), Clean(model), state, Clean(Activity(agent)), health, Tokens(agent.Usage), Cost(agent.Usage),
                agent.Metrics is { } sample ? metrics(sample) : ""]));
        }
        string[] header = ["AGENT", "ROLE", "PROVIDER/MODEL", "STATE", "ACTIVITY", "HEALTH", "TOKENS", "COST", "METRICS"];
        // The health column only while some agent has a verdict (a running one): a finished cluster has none.
        if (rows.All(r => r.Cells[5].Length == 0))
        {
            header = [.. header[..5], .. header[6..]];
            for (int r = 0; r < rows.Count; r++) rows[r] = (rows[r].Agent, [.. rows[r].Cells[..5], .. rows[r].Cells[6..]]);
        }
        int tokensColumn = Array.IndexOf(header, "TOKENS");
        var widths = new int[header.Length];
        for (int i = 0; i < header.Length; i++)
            widths[i] = Math.Max(header[i].Length, rows.Count == 0 ? 0 : rows.Max(r => r.Cells[i].Length));
        string Row(string[] cells)
        {
            var sb = new System.Text.StringBuilder("  ");
            for (int i = 0; i < cells.Length; i++)
            {
                // Numbers right-aligned, text left-aligned; the last column is not padded.
                bool number = i == tokensColumn || i == tokensColumn + 1;
                sb.Append(i == cells.Length - 1 ? cells[i] : number ? cells[i].PadLeft(widths[i]) : cells[i].PadRight(widths[i]));
                if (i < cells.Length - 1) sb.Append("  ");
            }
            return sb.ToString().TrimEnd();
        }
        output.WriteLine(Row(header));
        bool anyEstimated = false;
        foreach (var (agent, cells) in rows)
        {
            anyEstimated |= agent.CostEstimated;
            output.WriteLine(Row(cells));
            if (agent.Verdict is { } verdict)
            {
                output.WriteLine($"      verdict (iteration {verdict.Iteration.ToString(Invariant)}): {(verdict.Approved ? "approved" : "rejected")}" +
                    (verdict.Summary is { Length: > 0 } summary ? " · " + Clean(summary) : ""));
                foreach (var issue in verdict.Issues)
                    output.WriteLine("        - " + Clean(issue));
            }
            if (agent.State == AgentState.Running && agent.Health is { } bad && Zeroshot.Agents.Health.HealthVerdictNames.IsUnhealthy(bad.Verdict))
                output.WriteLine($"      health: {Zeroshot.Agents.Health.HealthVerdictNames.ToJsonName(bad.Verdict)} since {bad.Since.ToLocalTime().ToString("HH:mm:ss", Invariant)}: {Clean(string.Join("; ", bad.Reasons))}");
            if (agent.LastError is { Length: > 0 } error)
                output.WriteLine("      error: " + Clean(error));
        }
        if (status.LogWriteError is { } logError)
            output.WriteLine($"  logs: {Clean(logError)}: not being written ({status.LogBytesLost.ToString(Invariant)} bytes lost so far)");
        else if (status.LogBytesLost > 0)
            output.WriteLine($"  logs: {status.LogBytesLost.ToString(Invariant)} bytes of output were not written (the disk was full)");
        if (status.BudgetWarning is { } budget)
            output.WriteLine("  " + Clean(budget));
        if (anyEstimated)
            output.WriteLine("  ~ cost estimated from the price table (the CLI reported none); other costs are the CLI's own figures");
    }

    /// <summary>One cluster's agents in a few words: "worker tool:Bash, reviewer approved".</summary>
    public static string AgentSummary(ClusterSnapshot status)
    {
        ArgumentNullException.ThrowIfNull(status);
        return string.Join(", ", NeedsInputFirst(status.Agents).Select(agent => $"{Clean(agent.Id)} {Clean(Activity(agent))}"));
    }

    /// <summary>The agents that wait for the person first, then the others, each in file order.</summary>
    internal static IEnumerable<AgentSnapshot> NeedsInputFirst(IReadOnlyList<AgentSnapshot> agents) =>
        agents.Where(WaitsForPerson).Concat(agents.Where(a => !WaitsForPerson(a)));

    /// <summary>Whether an agent of <paramref name="cluster"/> waits for the person (needs-input).</summary>
    internal static bool WaitsForPerson(ClusterSnapshot cluster) => cluster.Agents.Any(WaitsForPerson);

    private static bool WaitsForPerson(AgentSnapshot a) => a.State == AgentState.Running && a.Activity == AgentActivity.NeedsInput;

    /// <summary>One line of text: control characters from agent output never reach the terminal.</summary>
    private static string Clean(string? text) => StreamJsonRenderer.OneLine(text, 400);
}
