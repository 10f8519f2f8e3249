using Zeroshot.Agents.Output;

namespace Zeroshot.Dashboard;

/// <summary>
/// The log view's content: an agent's output as display lines (the host renders the log with the agent's output
/// interpreter and appends as it grows), scrolled by the person or following the end, as <c>less +F</c> does.
/// </summary>
internal sealed class LogView
{
    /// <summary>Lines kept: the newest; older ones are dropped (the whole log stays in its file).</summary>
    public const int MaxLines = 10_000;

    private readonly List<DisplayLine> _lines = [];

    /// <summary>Whose log: "worker @ cosmic-meteor-87"; null when closed.</summary>
    public string? Title { get; private set; }

    /// <summary>Lines held, oldest first.</summary>
    public IReadOnlyList<DisplayLine> Lines => _lines;

    /// <summary>Lines dropped from the top so far (only the newest <see cref="MaxLines"/> are held).</summary>
    public long Dropped { get; private set; }

    /// <summary>Following the end: new lines scroll into view.</summary>
    public bool Following { get; private set; } = true;

    /// <summary>The first line shown when not following.</summary>
    public int Top { get; private set; }

    /// <summary>Starts a fresh view of <paramref name="title"/>.</summary>
    public void Open(string title)
    {
        Title = title;
        _lines.Clear();
        Dropped = 0;
        Following = true;
        Top = 0;
    }

    /// <summary>Empties the view.</summary>
    public void Close()
    {
        Title = null;
        _lines.Clear();
    }

    /// <summary>Appends a line (a raw line's escapes are the renderer's business: it shows text only).</summary>
    public void Add(DisplayLine line)
    {
        _lines.Add(line);
        if (_lines.Count > MaxLines)
        {
            int drop = _lines.Count - MaxLines;
            _lines.RemoveRange(0, drop);
            Dropped += drop;
            Top = Math.Max(0, Top - drop);
        }
    }

    /// <summary>The first line to show in <paramref name="rows"/> rows.</summary>
    public int FirstShown(int rows) => Following ? Math.Max(0, _lines.Count - rows) : Math.Clamp(Top, 0, Math.Max(0, _lines.Count - rows));

    /// <summary>Scrolls: arrows, pages, Home, End (End follows again), the wheel.</summary>
    public void OnKey(DashboardKey key, int rows)
    {
        int first = FirstShown(rows);
        int step = key.Kind switch
        {
            KeyKind.Up => -1,
            KeyKind.Down => 1,
            KeyKind.PageUp => -Math.Max(1, rows - 1),
            KeyKind.PageDown => Math.Max(1, rows - 1),
            KeyKind.Char when key.Char == ' ' => Math.Max(1, rows - 1),
            KeyKind.WheelUp => -3,
            KeyKind.WheelDown => 3,
            KeyKind.Home => int.MinValue / 2,
            KeyKind.Char when key.Char == 'g' => int.MinValue / 2,
            _ => 0,
        };
        if (key.Kind == KeyKind.End || key is { Kind: KeyKind.Char, Char: 'G' or 'F' })
        {
            Following = true;
            return;
        }
        if (step == 0) return;
        long target = (long)first + step;
        Top = (int)Math.Clamp(target, 0, Math.Max(0, _lines.Count - rows));
        // Scrolling to the bottom follows again, as less does at its end with F.
        Following = Top >= _lines.Count - rows && step > 0;
    }
}
