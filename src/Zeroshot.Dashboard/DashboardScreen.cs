using System.Text;
using Zeroshot.Terminal;

namespace Zeroshot.Dashboard;

/// <summary>
/// Puts dashboard frames on a real terminal: the alternate screen (so the shell's screen comes back untouched), no
/// cursor, no autowrap (a width disagreement can never scroll the frame), mouse reports on; each frame is one write in
/// synchronized output (mode 2026, where the terminal has it) that rewrites only the lines that differ from the last
/// frame, so an idle dashboard writes nothing and a tick rewrites the few cells' lines that changed. Not thread-safe:
/// the dashboard's one loop draws.
/// </summary>
internal sealed class DashboardScreen(Stream output, TerminalCapabilities capabilities)
{
    private readonly AnsiWriter _w = new(capabilities);
    private FooterLine?[] _drawn = [];
    private int _width = -1, _height = -1;

    /// <summary>Bytes written so far (benchmarks).</summary>
    public long BytesWritten { get; private set; }

    /// <summary>What undoes every mode <see cref="Enter"/> set: mouse off, cursor on, autowrap on, attributes reset, the
    /// main screen back. Safe to write more than once and from any path out (a signal, a crash handler).</summary>
    public static byte[] Restore { get; } = Encoding.UTF8.GetBytes(
        new AnsiWriter(TerminalCapabilities.Full).MouseReporting(false).ResetStyle().AutoWrap(true).ShowCursor().AlternateScreen(false).Buffered.ToString());

    /// <summary>Switches to the alternate screen and the dashboard's modes; the next frame is drawn whole.</summary>
    public void Enter()
    {
        _w.Clear();
        _w.AlternateScreen(true).HideCursor().AutoWrap(false).MouseReporting(true).ResetStyle().EraseScreen();
        Write();
        Invalidate();
    }

    /// <summary>Back to the main screen as it was (for an attach, or at the end).</summary>
    public void Leave()
    {
        output.Write(Restore);
        output.Flush();
        Invalidate();
    }

    /// <summary>Rings the terminal: <paramref name="sequence"/> is a BEL or an OSC 9/777 notification
    /// (<see cref="TerminalNotification.Encode"/>), which prints nothing and moves no cursor.</summary>
    public void Ring(ReadOnlySpan<byte> sequence)
    {
        output.Write(sequence);
        output.Flush();
        BytesWritten += sequence.Length;
    }

    /// <summary>Forgets what is on the screen: the next frame is drawn whole.</summary>
    public void Invalidate() => _drawn = [];

    /// <summary>Draws <paramref name="frame"/>, writing only its lines that differ from the screen.</summary>
    /// <returns>Lines written.</returns>
    public int Draw(DashboardFrame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        _w.Clear();
        bool whole = frame.Width != _width || frame.Height != _height || _drawn.Length != frame.Lines.Count;
        if (whole)
        {
            _drawn = new FooterLine?[frame.Lines.Count];
            _width = frame.Width;
            _height = frame.Height;
        }
        int written = 0;
        for (int i = 0; i < frame.Lines.Count; i++)
        {
            var line = frame.Lines[i];
            if (!whole && line.Equals(_drawn[i])) continue;
            if (written == 0)
            {
                _w.BeginSync();
                if (whole) _w.ResetStyle().EraseScreen();
            }
            _w.MoveTo(i + 1, 1);
            foreach (var segment in line.Segments) _w.Style(segment.Style).Text(segment.Text);
            _w.ResetStyle();
            _drawn[i] = line;
            written++;
        }
        if (written == 0) return 0;
        _w.EndSync();
        Write();
        return written;
    }

    private void Write()
    {
        BytesWritten += _w.Flush(output);
        output.Flush();
    }
}
