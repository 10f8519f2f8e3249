using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Zeroshot.Terminal.Escapes;

namespace Zeroshot.Terminal.Screen;

/// <summary>
/// One character cell of a <see cref="ScreenModel"/>: what is drawn there and how. A value type so a
/// row is one array and writing a character allocates nothing.
/// </summary>
internal struct Cell : IEquatable<Cell>
{
    /// <summary>The code point shown (0: blank, never written or erased); a negative value -(i+1) is
    /// entry i of the model's grapheme table (a base character with combining marks).</summary>
    public int Code;
    /// <summary>The rendition the character was written (or the cell erased) with.</summary>
    public SgrState Attr;
    /// <summary>Hyperlink (OSC 8) id in the model's link table, 0 for none.</summary>
    public int Link;
    /// <summary><see cref="CellFlags"/>.</summary>
    public CellFlags Flags;

    /// <summary>Whether the cell shows nothing but (possibly) a background: blank or a space.</summary>
    public readonly bool IsBlank => Code is 0 or ' ';

    /// <inheritdoc/>
    public readonly bool Equals(Cell other) => Code == other.Code && Attr == other.Attr && Link == other.Link && Flags == other.Flags;

    /// <inheritdoc/>
    public override readonly bool Equals(object? obj) => obj is Cell other && Equals(other);

    /// <inheritdoc/>
    public override readonly int GetHashCode() => HashCode.Combine(Code, Attr, Link, Flags);

    /// <summary>Equality.</summary>
    public static bool operator ==(Cell left, Cell right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(Cell left, Cell right) => !left.Equals(right);
}

/// <summary>Layout flags of a <see cref="Cell"/>.</summary>
[Flags]
internal enum CellFlags : byte
{
    /// <summary>An ordinary one-column cell.</summary>
    None = 0,
    /// <summary>The left half of a two-column character.</summary>
    Wide = 1,
    /// <summary>The right half of a two-column character (shows nothing of its own).</summary>
    Continuation = 2,
}

/// <summary>One row of cells. <see cref="Wrapped"/> records that the text continues on the next row
/// because of auto-wrap (not a line feed), as tmux's GRID_LINE_WRAPPED: serialization keeps it so the
/// replayed terminal can reflow and copy the line as one.</summary>
internal sealed class Line(int columns)
{
    private Cell[] _cells = new Cell[columns];

    // Every cell from _dirty on is default (blank, never written): Clear then only clears up to it,
    // so a recycled 200-column row that held a 60-character line costs 60 cells, not 200 (the clear
    // on scroll was 14 % of the model's profile). Whoever takes Cells may write anywhere, so that
    // marks the whole row; the printing hot paths use RawCells and MarkDirty instead.
    private int _dirty;

    /// <summary>
    /// Moves on with every way of writing the row (<see cref="Cells"/>, <see cref="MarkDirty"/>, <see cref="Clear"/>,
    /// <see cref="CopyFrom"/>, <see cref="Resize"/>): a reader that saw this row at this version and sees the same
    /// version again knows its cells are unchanged without comparing them (the attach painter's diff of an echo
    /// compared every row of the screen, ~15 µs a key on a 120×40 screen, measured with perf).
    /// </summary>
    public int Version { get; private set; }

    /// <summary>The cells, as many as the screen is wide (taking them counts as writing all of them).</summary>
    public Cell[] Cells
    {
        get
        {
            _dirty = _cells.Length;
            Version++;
            return _cells;
        }
        set
        {
            _cells = value;
            _dirty = value.Length;
            Version++;
        }
    }

    /// <summary>The cells for reading, or for writing cells below an index given to
    /// <see cref="MarkDirty"/> first.</summary>
    public Cell[] RawCells => _cells;

    /// <summary>Cells up to <paramref name="end"/> (exclusive) are about to be written.</summary>
    public void MarkDirty(int end)
    {
        Version++;
        if (end > _dirty) _dirty = Math.Min(end, _cells.Length);
    }

    /// <summary>The row ended by auto-wrap.</summary>
    public bool Wrapped;

    /// <summary>How many cells from the start hold anything: past it every cell is default (blank,
    /// never written). A cell whose bytes are not all zero counts as used, which errs on keeping.</summary>
    public int UsedLength()
    {
        // One vectorised scan over the bytes of the written part instead of a field-by-field compare per cell.
        var bytes = MemoryMarshal.AsBytes(_cells.AsSpan(0, Math.Min(_dirty, _cells.Length)));
        int last = bytes.LastIndexOfAnyExcept((byte)0);
        return last < 0 ? 0 : last / Unsafe.SizeOf<Cell>() + 1;
    }

    /// <summary>
    /// Makes this row a copy of the first <paramref name="used"/> cells of <paramref name="source"/> and its wrap
    /// (the cells after them being default), for the scrollback: a scrollback row is only as long as what was
    /// written on it (a 60-character line of a 200-column screen keeps 60 cells, not 200). The row's own
    /// array is reused when it is long enough, so a full scrollback recycling its oldest row allocates nothing
    /// once each of its rows has been recycled with a longer line; otherwise a new one is made (see the comment
    /// inside; an array never shrinks: shrinking would allocate in the steady state, so a full scrollback's memory
    /// tends to the full-width rows' and the saving is in its first pass: an attach replay, an agent's first lines).
    /// </summary>
    public void CopyFrom(Line source, int used)
    {
        var from = source._cells.AsSpan(0, used);
        if (_cells.Length < used)
        {
            // A new row: its length rounded up to 16 cells. A recycled row too short for the line: the source's
            // full width at once, so each row of a full scrollback allocates at most once more and the ring is
            // then allocation-free (growing by steps kept allocating, measured: ~20 KB per MB of log output).
            int size = _cells.Length == 0 ? (used + 15) & ~15 : source._cells.Length;
            _cells = new Cell[Math.Max(used, Math.Min(size, source._cells.Length))];
        }
        else if (_dirty > used)
        {
            Array.Clear(_cells, used, Math.Min(_dirty, _cells.Length) - used);
        }
        from.CopyTo(_cells);
        _dirty = used;
        Version++;
        Wrapped = source.Wrapped;
    }

    /// <summary>A compact copy of the first <paramref name="used"/> cells of <paramref name="source"/> (see
    /// <see cref="CopyFrom"/>).</summary>
    public static Line CompactCopy(Line source, int used)
    {
        var line = new Line(0);
        line.CopyFrom(source, used);
        return line;
    }

    /// <summary>Blanks every cell with <paramref name="blank"/> and forgets the wrap.</summary>
    public void Clear(Cell blank)
    {
        if (blank == default)
        {
            Array.Clear(_cells, 0, _dirty);
            _dirty = 0;
        }
        else
        {
            Array.Fill(_cells, blank);
            _dirty = _cells.Length;
        }
        Version++;
        Wrapped = false;
    }

    /// <summary>Makes the row <paramref name="columns"/> wide: cut (a wide character cut in half is
    /// blanked) or padded with blanks.</summary>
    public void Resize(int columns)
    {
        if (_cells.Length == columns) return;
        var cells = _cells;
        Array.Resize(ref cells, columns);
        Cells = cells;
        ref var last = ref cells[columns - 1];
        if ((last.Flags & CellFlags.Wide) != 0) last = default;
    }
}

/// <summary>The DEC Special Graphics set (<c>ESC ( 0</c>) shown as Unicode, as xterm does (VT100
/// User Guide, table 3-9; xterm ctlseqs "Special Graphics").</summary>
internal static class DecSpecialGraphics
{
    // 0x5F..0x7E
    private const string Map = "\u00A0◆▒␉␌␍␊°±␤␋┘┐┌└┼⎺⎻─⎼⎽├┤┴┬│≤≥π≠£·";

    /// <summary>The glyph for <paramref name="ascii"/> under the line-drawing set (unchanged outside 0x5F–0x7E).</summary>
    public static int Translate(int ascii) => ascii is >= 0x5F and <= 0x7E ? Map[ascii - 0x5F] : ascii;

}
