namespace Zeroshot.Terminal;

/// <summary>
/// Pure layout of the status footer: a box whose top border carries the cluster line, one row per
/// agent (running ones first) and a bottom border with the totals. It never takes more than a third
/// of the screen (rows that do not fit fold into <c>+N more</c> on the bottom border), is hidden below
/// <see cref="MinTerminalRows"/> rows or <see cref="MinTerminalColumns"/> columns, and every line is
/// exactly the terminal width in display columns (<see cref="TextWidth"/>).
/// </summary>
internal static class FooterView
{
    /// <summary>Below this many terminal rows the footer hides (issue: "below 8 rows").</summary>
    public const int MinTerminalRows = 8;

    /// <summary>Below this many columns there is no room for a meaningful box.</summary>
    public const int MinTerminalColumns = 20;

    private static readonly Style Border = new(Dim: true);
    private static readonly Style Label = new(Dim: true);
    private static readonly Style Title = new(Bold: true);
    private static readonly Style Warning = new(Foreground: Color.Red, Bold: true);
    private static readonly Style NeedsInputStyle = new(Foreground: Color.Yellow, Bold: true, Inverse: true);

    /// <summary>Renders <paramref name="model"/> for a terminal of <paramref name="width"/> × <paramref name="height"/>.</summary>
    public static FooterFrame Render(FooterModel model, int width, int height)
    {
        if (height < MinTerminalRows || width < MinTerminalColumns) return FooterFrame.Hidden(Math.Max(0, width));
        int maxLines = height / 3;
        // Who waits for the person first, then who runs, then the rest (each in file order).
        var agents = model.Agents.Where(a => a.Activity == ActivityKind.NeedsInput)
            .Concat(model.Agents.Where(a => a.Running && a.Activity != ActivityKind.NeedsInput))
            .Concat(model.Agents.Where(a => !a.Running && a.Activity != ActivityKind.NeedsInput))
            .Select(a => a with { Id = Format.Sanitize(a.Id), Model = Format.Sanitize(a.Model), Status = Format.Sanitize(a.Status), Question = a.Question is null ? null : Format.Sanitize(a.Question) })
            .ToList();
        int slots = Math.Min(agents.Count, maxLines - 2);
        int folded = agents.Count - slots;

        var lines = new List<FooterLine>(slots + 2) { TopBorder(model, width) };
        var columns = new ColumnWidths(agents);
        for (int i = 0; i < slots; i++) lines.Add(AgentRow(agents[i], columns, width));
        lines.Add(BottomBorder(model, folded, width));
        return new FooterFrame(width, lines);
    }

    private static FooterLine TopBorder(FooterModel m, int width)
    {
        var parts = new List<string> { m.ClusterId, m.State };
        if (m.Iteration > 0)
        {
            parts.Add(m.MaxIterations > 0 ? $"iteration {m.Iteration}/{m.MaxIterations}" : $"iteration {m.Iteration}");
        }
        parts.Add(Format.Duration(m.Elapsed, compact: true));
        var b = new StyledLineBuilder(width) { Inner = width - 1 };
        b.Add("┌─ ", Border);
        b.Add(m.ClusterId, Title);
        b.Add(string.Concat(parts.Skip(1).Select(p => " ─ " + p)), Style.Plain);
        if (m.Warning is { } warning)
        {
            b.Add(" ─ ", Style.Plain);
            b.Add(Format.Sanitize(warning), Warning);
        }
        b.Add(" ", Border);
        return b.CloseWithFill('─', "┐", Border);
    }

    private static FooterLine BottomBorder(FooterModel m, int folded, int width)
    {
        var a = m.Agents;
        int active = a.Count(x => x.Running);
        var b = new StyledLineBuilder(width) { Inner = width - 1 };
        b.Add("└─ ", Border);
        if (folded > 0)
        {
            b.Add($"+{folded} more", Title);
            b.Add(" │ ", Border);
        }
        b.Add($"{active}/{a.Count} active", Style.Plain);
        b.Add(" │ ", Border);
        b.Add("Σ CPU ", Label);
        b.Add(Format.Percent(Format.SumKnown(a.Select(x => x.CpuPercent)), compact: true), Style.Plain);
        b.Add(" MEM ", Label);
        b.Add(Format.MegaBytes(Format.SumKnown(a.Select(x => x.MemoryMB)), compact: true), Style.Plain);
        b.Add(" NET ", Label);
        var rx = Format.SumKnown(a.Select(x => x.NetRxBytesPerSec));
        var tx = Format.SumKnown(a.Select(x => x.NetTxBytesPerSec));
        b.Add(rx is null && tx is null ? Format.Unknown : $"↓{Format.Rate(rx, compact: true)} ↑{Format.Rate(tx, compact: true)}", Style.Plain);
        b.Add(" │ ", Border);
        b.Add($"{Format.Tokens(a.Sum(x => x.Tokens))} tokens", Style.Plain);
        b.Add(" │ ", Border);
        b.Add(Format.Cost(a.Sum(x => x.CostUsd), a.Any(x => x.CostEstimated), compact: true), Style.Plain);
        b.Add(" ", Border);
        return b.CloseWithFill('─', "┘", Border);
    }

    private sealed class ColumnWidths
    {
        public readonly int Id, Model, Status;

        public ColumnWidths(List<FooterAgent> agents)
        {
            Id = Math.Clamp(agents.Select(a => TextWidth.Columns(a.Id)).DefaultIfEmpty(0).Max(), 2, 16);
            Model = Math.Clamp(agents.Select(a => TextWidth.Columns(a.Model)).DefaultIfEmpty(0).Max(), 1, 10);
            Status = Math.Clamp(agents.Select(a => TextWidth.Columns(a.Status)).DefaultIfEmpty(0).Max(), 7, 14);
        }
    }

    private static FooterLine AgentRow(FooterAgent a, ColumnWidths w, int width)
    {
        var b = new StyledLineBuilder(width);
        b.Add("│ ", Border);
        b.Inner = width - 2; // keep room for " │"
        var (marker, color) = Marker(a);
        b.Add(marker, new Style(color, Bold: a.Running));
        b.Add(" ", Style.Plain);
        b.Add(TextWidth.Fit(a.Id, w.Id), Title);
        b.Add(" ", Style.Plain);
        b.Add(TextWidth.Fit(a.Model, w.Model), Style.Plain);
        b.Add(" ", Style.Plain);
        b.Add(TextWidth.Fit(a.Status, w.Status), a.Activity == ActivityKind.NeedsInput ? NeedsInputStyle : a.Running ? new Style(color) : Label);
        b.Add("  CPU ", Label);
        b.Add(Format.Percent(a.CpuPercent, compact: true).PadLeft(4), Style.Plain);
        b.Add("  MEM ", Label);
        b.Add(Format.MegaBytes(a.MemoryMB, compact: true).PadRight(6), Style.Plain);
        b.Add("  NET ", Label);
        string net = a.NetRxBytesPerSec is null && a.NetTxBytesPerSec is null
            ? Format.Unknown
            : $"↓{Format.Rate(a.NetRxBytesPerSec, compact: true),-7} ↑{Format.Rate(a.NetTxBytesPerSec, compact: true),-7}";
        b.Add(net.PadRight(17), Style.Plain);
        b.Add("  TOK ", Label);
        b.Add(Format.Tokens(a.Tokens).PadRight(5), Style.Plain);
        b.Add("  ", Style.Plain);
        b.Add(Format.Cost(a.CostUsd, a.CostEstimated, compact: true).PadRight(7), Style.Plain);
        b.Add("  ", Style.Plain);
        b.Add(Format.Ago(a.LastOutputAgo), Label);
        if (a.Question is { } question)
        {
            b.Add("  ", Style.Plain);
            b.Add("? " + question, NeedsInputStyle);
        }
        b.PadTo(width - 2);
        b.Inner = width;
        b.Add(" │", Border);
        return b.Build();
    }

    /// <summary>Marker glyph and colour: ● in the activity colour while running; ✓/✗/○ otherwise.</summary>
    internal static (string Glyph, Color Color) Marker(FooterAgent a)
    {
        var color = a.Activity switch
        {
            ActivityKind.Model => Color.Magenta,
            ActivityKind.Tool => Color.Yellow,
            ActivityKind.Output => Color.Green,
            ActivityKind.Completed => Color.Green,
            ActivityKind.Failed => Color.Red,
            ActivityKind.Quiet => Color.Blue,
            ActivityKind.NeedsInput => Color.Yellow,
            ActivityKind.Waiting => Color.Cyan,
            _ => Color.Grey,
        };
        if (a.Running) return (a.Activity == ActivityKind.NeedsInput ? "?" : "●", color);
        return a.Activity switch
        {
            ActivityKind.Completed => ("✓", color),
            ActivityKind.Failed => ("✗", color),
            _ => ("○", color),
        };
    }
}
