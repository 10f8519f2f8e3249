namespace Zeroshot.Terminal;

/// <summary>Builds a line of segments that never exceeds its limit: the segment that would cross it
/// is cut with an ellipsis on a grapheme boundary and the rest dropped.</summary>
internal sealed class StyledLineBuilder(int width)
{
    private readonly int _width = width;
    private readonly List<Segment> _segments = [];
    private int _used;
    private bool _truncated;

    /// <summary>Where text stops (columns from the left); the closing border goes beyond it.</summary>
    public int Inner { get; set; } = width;

    /// <summary>Columns taken so far.</summary>
    public int Used => _used;

    /// <summary>Adds text (controls replaced), cut with an ellipsis at <see cref="Inner"/>.</summary>
    public void Add(string text, Style style)
    {
        if (_truncated || text.Length == 0) return;
        text = Format.Sanitize(text);
        int cols = TextWidth.Columns(text);
        int room = Inner - _used;
        if (cols > room)
        {
            if (room <= 0) { _truncated = true; return; }
            text = TextWidth.Fit(text, room);
            cols = room;
            _truncated = true;
        }
        _segments.Add(new Segment(text, style));
        _used += cols;
    }

    /// <summary>Spaces up to <paramref name="columns"/>; text may be added again after it.</summary>
    public void PadTo(int columns)
    {
        if (_used < columns) _segments.Add(new Segment(new string(' ', columns - _used), Style.Plain));
        _used = Math.Max(_used, columns);
        _truncated = false; // the closing border must still be added
    }

    /// <summary>Fills the rest of the width with <paramref name="fill"/> and ends with <paramref name="corner"/>.</summary>
    public FooterLine CloseWithFill(char fill, string corner, Style style)
    {
        int room = _width - _used - TextWidth.Columns(corner);
        if (room > 0) _segments.Add(new Segment(new string(fill, room), style));
        else if (room < 0) return Build(); // cannot happen: Add keeps the limit, kept for safety
        _used += Math.Max(room, 0);
        _segments.Add(new Segment(corner, style));
        _used += 1;
        return Build();
    }

    /// <summary>The line as built.</summary>
    public FooterLine Build() => new(_segments);
}
