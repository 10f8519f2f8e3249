using System.Globalization;
using System.Text.Json;
using Zeroshot.Agents.Output;

namespace Zeroshot.Cli.Output;

/// <summary>
/// The text forms of <c>status</c> and <c>list</c>, drawn from the <c>status --json</c> document (live from a
/// supervisor, or built from the state database), so both sources read the same: tokens, cost (<c>~</c> when
/// estimated from the price table rather than reported by the CLI), activity, verdicts and errors.
/// </summary>
internal static class StatusText
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>The word for an agent's state and activity: <c>tool:Bash</c>, <c>retrying 529 3/10 in 4s</c>, <c>approved</c>…</summary>
    public static string Activity(JsonElement agent)
    {
        string state = agent.Str("state") ?? "waiting";
        if (state == "running")
        {
            string? detail = agent.Str("activityDetail");
            return agent.Str("activity") switch
            {
                "tool" => detail is null ? "tool" : "tool:" + detail,
                "retrying" => detail is null ? "retrying" : "retrying " + detail,
                "model" => "model",
                "output" => "output",
                _ => "quiet",
            };
        }
        if (agent.Obj("verdict") is { } verdict && agent.Str("role") == "validator")
            return verdict.Bool("approved") ? "approved" : "rejected";
        return state;
    }

    /// <summary>"12.4K" tokens of an agent or cluster document.</summary>
    public static string Tokens(JsonElement e) => OutputFormat.Tokens(e.Obj("tokens")?.Long("total") ?? 0);

    /// <summary>"$0.12", "~$0.12" when estimated.</summary>
    public static string Cost(JsonElement e) => OutputFormat.Cost(e.Decimal("costUsd") ?? 0, e.Bool("costEstimated"));

    /// <summary>Writes the text form of <c>status</c>.</summary>
    public static void WriteStatus(TextWriter output, JsonElement status, Func<JsonElement, string> metrics)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(metrics);
        var started = status.Str("startedAt") is { } s ? DateTimeOffset.Parse(s, Invariant).ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", Invariant) : "?";
        output.WriteLine($"{status.Str("id")}  {status.Str("kind")} \"{Clean(status.Str("name"))}\"  {status.Str("state")}  " +
            $"iteration {status.Long("iteration")}/{status.Long("maxIterations")}  started {started}  tokens {Tokens(status)}  cost {Cost(status)}");
        var rows = new List<(JsonElement Agent, string[] Cells)>();
        foreach (var agent in status.GetProperty("agents").EnumerateArray())
        {
            string model = agent.Str("provider") + (agent.Str("model") is { } m ? "/" + m : "");
            string state = agent.Str("state") ?? "?";
            if (state == "failed" && agent.Long("exitCode") is { } code) state += $" ({code.ToString(Invariant)})";
            rows.Add((agent, [Clean(agent.Str("id")), agent.Str("role") ?? "", Clean(model), state, Clean(Activity(agent)), Tokens(agent), Cost(agent),
                agent.Obj("metrics") is { } m2 ? metrics(m2) : ""]));
        }
        string[] header = ["AGENT", "ROLE", "PROVIDER/MODEL", "STATE", "ACTIVITY", "TOKENS", "COST", "METRICS"];
        var widths = new int[header.Length];
        for (int i = 0; i < header.Length; i++)
            widths[i] = Math.Max(header[i].Length, rows.Count == 0 ? 0 : rows.Max(r => r.Cells[i].Length));
        string Row(string[] cells)
        {
            var sb = new System.Text.StringBuilder("  ");
            for (int i = 0; i < cells.Length; i++)
            {
                // Numbers right-aligned, text left-aligned; the last column is not padded.
                bool number = i is 5 or 6;
                sb.Append(i == cells.Length - 1 ? cells[i] : number ? cells[i].PadLeft(widths[i]) : cells[i].PadRight(widths[i]));
                if (i < cells.Length - 1) sb.Append("  ");
            }
            return sb.ToString().TrimEnd();
        }
        output.WriteLine(Row(header));
        bool anyEstimated = false;
        foreach (var (agent, cells) in rows)
        {
            anyEstimated |= agent.Bool("costEstimated");
            output.WriteLine(Row(cells));
            if (agent.Obj("verdict") is { } verdict)
            {
                output.WriteLine($"      verdict (iteration {verdict.Long("iteration")}): {(verdict.Bool("approved") ? "approved" : "rejected")}" +
                    (verdict.Str("summary") is { Length: > 0 } summary ? " · " + Clean(summary) : ""));
                if (verdict.Arr("issues") is { } issues)
                    foreach (var issue in issues.EnumerateArray())
                        output.WriteLine("        - " + Clean(issue.GetString()));
            }
            if (agent.Str("lastError") is { Length: > 0 } error)
                output.WriteLine("      error: " + Clean(error));
        }
        if (anyEstimated)
            output.WriteLine("  ~ cost estimated from the price table (the CLI reported none); other costs are the CLI's own figures");
    }

    /// <summary>One cluster's agents in a few words: "worker tool:Bash, reviewer approved".</summary>
    public static string AgentSummary(JsonElement status)
    {
        var parts = new List<string>();
        foreach (var agent in status.GetProperty("agents").EnumerateArray())
            parts.Add($"{Clean(agent.Str("id"))} {Clean(Activity(agent))}");
        return string.Join(", ", parts);
    }

    /// <summary>One line of text: control characters from agent output never reach the terminal.</summary>
    private static string Clean(string? text) => StreamJsonRenderer.OneLine(text, 400);
}
