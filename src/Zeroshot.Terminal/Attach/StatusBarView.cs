namespace Zeroshot.Terminal.Attach;

/// <summary>
/// The figures the attach status bar shows for one agent, as plain values (the CLI maps its agent snapshot to it;
/// Zeroshot.Terminal does not know the agent types). Null means not known: the figure is left out.
/// </summary>
internal sealed record StatusBarInfo
{
    /// <summary>The agent's id.</summary>
    public string Agent { get; init; } = "";
    /// <summary>The model it runs, when known.</summary>
    public string? Model { get; init; }
    /// <summary>Its state as a word (<c>running</c>, <c>exited</c>, <c>failed</c>…); shown unless running.</summary>
    public string? State { get; init; }
    /// <summary>Its exit code, shown after a state that is not running.</summary>
    public int? ExitCode { get; init; }
    /// <summary>What it does now (<c>tool:Bash</c>, <c>model</c>, <c>quiet</c>…).</summary>
    public string? Activity { get; init; }
    /// <summary>CPU of its process tree, percent of one core.</summary>
    public double? CpuPercent { get; init; }
    /// <summary>Memory of its process tree, bytes.</summary>
    public double? MemoryBytes { get; init; }
    /// <summary>Network received, bytes per second.</summary>
    public double? NetReceiveBytesPerSecond { get; init; }
    /// <summary>Network sent, bytes per second.</summary>
    public double? NetSendBytesPerSecond { get; init; }
    /// <summary>Tokens used.</summary>
    public long? Tokens { get; init; }
    /// <summary>Cost in US dollars.</summary>
    public decimal? CostUsd { get; init; }
    /// <summary>The cost is estimated from a price table (shown with <c>~</c>).</summary>
    public bool CostEstimated { get; init; }
    /// <summary>When it last wrote output.</summary>
    public DateTimeOffset? LastOutputAt { get; init; }
    /// <summary>The prefix key as shown (<c>C-b</c>).</summary>
    public string PrefixLabel { get; init; } = "C-b";
    /// <summary>This client forwards no keys.</summary>
    public bool ReadOnly { get; init; }
}

/// <summary>
/// The one-line status bar at the top of <c>zeroshot attach</c>:
/// <c>─ worker [sonnet] ─ tool:Bash ─ CPU 12% │ Mem 45MB │ Net ↓2.1KB/s ↑0.3KB/s │ Tokens 1.2K │ $0.04 │ out 2s ago ─ C-b d detach ─</c>,
/// exactly <c>width</c> columns (<see cref="TextWidth"/>; filled with <c>─</c>). When it does not fit, the least
/// useful parts go first (network, tokens, memory, last output, cost, CPU, activity, model); what still does not fit
/// is cut with an ellipsis. Numbers through <see cref="Format"/>; agent text through <see cref="Format.Sanitize"/>.
/// Pure: the escapes (only with <c>color</c>) come from <see cref="AnsiWriter"/>, and a coloured line ends with SGR 0.
/// </summary>
internal static class StatusBarView
{
    private static readonly Style Border = new(Dim: true);
    private static readonly Style Name = new(Bold: true);
    private static readonly Style Label = new(Dim: true);
    private static readonly Style Warning = new(Foreground: Color.Red, Bold: true);

    // Group: figures of one group are separated by "│", the rest by "─"; Attached: after the previous part with a space.
    private readonly record struct Part(string Label, string Value, Style Style, int Priority, bool Group, bool Attached = false);

    /// <summary>The status line for <paramref name="info"/> at <paramref name="now"/>, <paramref name="width"/> columns
    /// wide (empty below 1), with colours and attributes when <paramref name="color"/>.</summary>
    public static string Render(StatusBarInfo info, int width, bool color, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(info);
        if (width <= 0) return "";
        var parts = Parts(info, now);
        // Drop the least useful parts until the line fits (the fill needs at least the closing "─").
        while (Columns(parts) + 1 > width)
        {
            int drop = -1;
            for (int i = 0; i < parts.Count; i++)
            {
                if (parts[i].Priority > 0 && (drop < 0 || parts[i].Priority > parts[drop].Priority)) drop = i;
            }
            if (drop < 0) break;
            parts.RemoveAt(drop);
        }
        var writer = new AnsiWriter(new TerminalCapabilities(color ? ColorDepth.Basic16 : ColorDepth.None, false, !color));
        int used = 0;
        for (int i = 0; i < parts.Count; i++)
        {
            var p = parts[i];
            if (!Add(writer, Separator(parts, i), Border, width - 1, ref used, color)) break;
            if (p.Label.Length > 0 && !Add(writer, p.Label, Label, width - 1, ref used, color)) break;
            if (!Add(writer, p.Value, p.Style, width - 1, ref used, color)) break;
        }
        // The fill: " ─…─" to the width, with one space after the last part.
        if (used > 0 && used < width - 1) Add(writer, " ", Border, width, ref used, color);
        if (used < width) Add(writer, new string('─', width - used), Border, width, ref used, color);
        if (color) writer.ResetStyle();
        return writer.Buffered.ToString();
    }

    private static List<Part> Parts(StatusBarInfo info, DateTimeOffset now)
    {
        var parts = new List<Part>();
        string agent = Format.Sanitize(info.Agent);
        parts.Add(new Part("", agent, Name, 0, false));
        if (info.Model is { Length: > 0 } model) parts.Add(new Part("", $"[{Format.Sanitize(model)}]", Style.Plain, 2, false, Attached: true));
        if (info.ReadOnly) parts.Add(new Part("", "read-only", Warning, 0, false));
        bool running = info.State is null or "running";
        if (!running)
        {
            string state = Format.Sanitize(info.State!);
            parts.Add(new Part("", info.ExitCode is { } code ? $"{state} {code}" : state, Warning, 0, false));
        }
        else if (info.Activity is { Length: > 0 } activity)
        {
            parts.Add(new Part("", Format.Sanitize(activity), new Style(ActivityColor(activity)), 3, false));
        }
        if (info.CpuPercent is { } cpu) parts.Add(new Part("CPU ", Format.Percent(cpu, compact: true), Style.Plain, 5, true));
        if (info.MemoryBytes is { } memory) parts.Add(new Part("Mem ", Format.Bytes(memory, compact: true), Style.Plain, 8, true));
        if (info.NetReceiveBytesPerSecond is not null || info.NetSendBytesPerSecond is not null)
        {
            parts.Add(new Part("Net ", $"↓{Format.Rate(info.NetReceiveBytesPerSecond, compact: true)} ↑{Format.Rate(info.NetSendBytesPerSecond, compact: true)}", Style.Plain, 10, true));
        }
        if (info.Tokens is { } tokens) parts.Add(new Part("Tokens ", Format.Tokens(tokens), Style.Plain, 9, true));
        if (info.CostUsd is { } cost) parts.Add(new Part("", Format.Cost(cost, info.CostEstimated, compact: true), Style.Plain, 6, true));
        if (info.LastOutputAt is { } last) parts.Add(new Part("out ", Format.Ago(now - last), Style.Plain, 7, true));
        parts.Add(new Part("", $"{Format.Sanitize(info.PrefixLabel)} d detach", Label, 1, false));
        return parts;
    }

    private static string Separator(List<Part> parts, int i) =>
        i == 0 ? "─ " : parts[i].Attached ? " " : parts[i].Group && parts[i - 1].Group ? " │ " : " ─ ";

    // Priorities: a lower number is kept longer; 0 is never dropped (the agent, read-only, its end state).
    private static int Columns(List<Part> parts)
    {
        int total = 0;
        for (int i = 0; i < parts.Count; i++)
        {
            total += TextWidth.Columns(Separator(parts, i));
            total += TextWidth.Columns(parts[i].Label) + TextWidth.Columns(parts[i].Value);
        }
        return total + 1; // the space before the fill
    }

    // Appends text within `limit` columns (cut with an ellipsis when it does not fit); false when the line is full.
    private static bool Add(AnsiWriter writer, string text, Style style, int limit, ref int used, bool color)
    {
        int room = limit - used;
        if (room <= 0) return false;
        int cols = TextWidth.Columns(text);
        bool fits = cols <= room;
        if (!fits) text = TextWidth.Fit(text, room).TrimEnd(' ');
        if (color) writer.Style(style);
        writer.Text(text);
        used += fits ? cols : TextWidth.Columns(text);
        return fits;
    }

    private static Color ActivityColor(string activity) => activity switch
    {
        _ when activity.StartsWith("tool", StringComparison.Ordinal) => Color.Yellow,
        _ when activity.StartsWith("retrying", StringComparison.Ordinal) || activity.StartsWith("error", StringComparison.Ordinal) => Color.Red,
        // The health verdicts that say something is wrong (the activity word shows them while they hold).
        "stalled" or "stuck" or "busy-idle" => Color.Red,
        _ when activity.StartsWith("needs-input", StringComparison.Ordinal) => Color.Yellow,
        "idle" => Color.Cyan,
        "model" => Color.Magenta,
        "output" => Color.Green,
        "quiet" => Color.Blue,
        _ => default,
    };
}
