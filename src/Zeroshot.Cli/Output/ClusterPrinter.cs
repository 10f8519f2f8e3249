using System.Text;
using System.Threading.Channels;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.Supervision;
using Zeroshot.Terminal.Escapes;

namespace Zeroshot.Cli.Output;

/// <summary>
/// Foreground output of <c>run</c> and <c>logs</c>: every agent's output interleaved one whole line
/// at a time, rendered for people (stream-json) or as written (plain output, <c>--raw</c>), prefixed
/// <c>agent │ </c> in a stable colour per agent, plus the supervisor's own events prefixed
/// <c>zeroshot │ </c>. Colours only on a terminal; without one, no escape codes at all
/// (<see cref="EscapeStripper"/>). On a terminal an agent's text goes through the
/// <see cref="DisplayPolicy"/>: its colours are kept, nothing that moves the cursor, saves it, sets
/// margins, switches modes or resets the terminal reaches it, and each line ends with SGR 0.
/// </summary>
/// <remarks>
/// Lines are formatted on the caller's thread (an agent's pump) and written by a task of their own:
/// a terminal that stalls (Ctrl+S, a slow link, a pager) must not stall the agents, whose output is
/// already in their logs. A terminal that is merely slower than a fast agent slows it down, as a
/// terminal always does, and shows every line; one that accepts nothing for
/// <see cref="StallTimeout"/> is considered stalled (<c>lossy</c>): lines are then skipped, with a
/// notice saying how many, until it catches up. A file or pipe gets every line. The writer flushes whenever it has caught up: one terminal write
/// per burst of output, not per line. Call <see cref="DrainAsync"/> before exiting.
/// </remarks>
internal sealed class ClusterPrinter : IClusterObserver
{
    private const int QueueCapacity = 50_000;

    /// <summary>How long a full queue may block an agent's output before the terminal counts as stalled.</summary>
    public static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(2);
    // Bright, readable on dark and light backgrounds; red is kept for errors.
    private static readonly string[] Palette = ["36", "35", "33", "32", "34", "96", "95", "93", "92", "94"];
    private readonly TextWriter _out;
    private readonly bool _color;
    private readonly int _width;
    private readonly object _gate = new();
    private readonly bool _prefix;
    private bool _broken;
    private const int MaxKeptLines = 1000;
    private readonly Queue<string> _kept = new(); // lines a full disk refused, written before the next (writer task only)
    private long _dropped;
    private readonly Channel<string> _queue;
    private readonly Task _writer;
    private readonly bool _lossy;
    private readonly TimeSpan _stallTimeout;
    private volatile bool _stalled;

    public ClusterPrinter(TextWriter output, bool color, IEnumerable<string> agentIds, bool prefix = true, bool lossy = false,
        TimeSpan? stallTimeout = null, int capacity = QueueCapacity)
    {
        _lossy = lossy;
        _stallTimeout = stallTimeout ?? StallTimeout;
        _out = output;
        _color = color;
        _prefix = prefix;
        _width = Math.Max("zeroshot".Length, agentIds.DefaultIfEmpty("").Max(id => id.Length));
        _queue = Channel.CreateBounded<string>(
            new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
        _writer = Task.Run(WriteAsync);
    }

    private async Task WriteAsync()
    {
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            lock (_gate)
            {
                while (reader.TryRead(out var text))
                {
                    long dropped = Interlocked.Exchange(ref _dropped, 0);
                    if (dropped > 0) WriteOrKeep(Format("zeroshot", $"… {dropped} lines not shown: the terminal fell behind (they are in the logs)", "2", "2"));
                    WriteOrKeep(text);
                }
                Guard(_out.Flush);
                _stalled = false; // caught up
            }
        }
    }

    /// <summary>Writes what is queued (waiting at most <paramref name="timeout"/>) and stops the writer.</summary>
    public async Task DrainAsync(TimeSpan? timeout = null)
    {
        _queue.Writer.TryComplete();
        await _writer.WaitAsync(timeout ?? TimeSpan.FromSeconds(10)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Raw chunks are for byte-exact consumers (logs -f, attach); people get <see cref="OnLine"/>.</summary>
    public void OnOutput(string agentId, ReadOnlyMemory<byte> chunk)
    {
    }

    public void OnLine(string agentId, DisplayLine line)
    {
        // A line of nothing but escape sequences and controls (Claude Code's exit: ESC 7 ESC [ r ESC 8 ESC ( B)
        // shows nothing: no empty prefixed line for it.
        if (line.Text.Length > 0 && EscapeStripper.StripsToNothing(line.Text, whiteSpaceIsNothing: false)) return;
        string? sgr = line.Style switch
        {
            DisplayStyle.Dim => "2",
            DisplayStyle.Tool => "36",
            DisplayStyle.Ok => "32",
            DisplayStyle.Error => "31",
            _ => null,
        };
        Enqueue(Format(agentId, line.Text, Color(agentId), sgr));
    }

    private void Enqueue(string text)
    {
        if (_queue.Writer.TryWrite(text)) return;
        if (_stalled)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }
        // Full: wait for room, as a write to a slow terminal or a full pipe would.
        using var timeout = _lossy ? new CancellationTokenSource(_stallTimeout) : null;
        try
        {
            _queue.Writer.WriteAsync(text, timeout?.Token ?? default).AsTask().GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            _stalled = true;
            Interlocked.Increment(ref _dropped);
        }
        catch (ChannelClosedException)
        {
            // Drained and closed: the run is over.
        }
    }


    /// <summary>The event's lines (<see cref="ClusterEventText"/>), prefixed <c>zeroshot │ </c>.</summary>
    public void OnEvent(ClusterEvent e)
    {
        foreach (var line in ClusterEventText.Lines(e)) Notice(line);
    }

    /// <summary>A line of Zeroshot's own (not an agent's), prefixed <c>zeroshot │ </c>.</summary>
    public void Notice(string text) => Enqueue(Format("zeroshot", text, "2", "2"));

    private string Format(string who, string text, string prefixSgr, string? textSgr)
    {
        string prefix = _prefix ? who.PadRight(_width) + " │ " : "";
        if (!_color) return prefix + EscapeStripper.Strip(text) + "\n";
        text = DisplayPolicy.SanitizeLine(text);
        if (textSgr is null) return $"\u001b[{prefixSgr}m{prefix}\u001b[0m{text}\u001b[0m\n";
        return $"\u001b[{prefixSgr}m{prefix}\u001b[0m\u001b[{textSgr}m{text}\u001b[0m\n";
    }

    /// <summary>
    /// Writes <paramref name="text"/> after any lines a full disk refused earlier. The detached supervisor's output is
    /// its log file, on the disk that may fill up: a refused line (ENOSPC; StreamWriter drops what it could not write)
    /// is kept, up to <see cref="MaxKeptLines"/>, and written before the next one, so the "disk full" notice itself
    /// reaches supervisor.log once there is room. Other failures end the display (<see cref="Guard"/>).
    /// </summary>
    private void WriteOrKeep(string text)
    {
        if (_broken) return;
        try
        {
            while (_kept.TryPeek(out var earlier))
            {
                _out.Write(earlier);
                _kept.Dequeue();
            }
            _out.Write(text);
        }
        catch (IOException e) when (Zeroshot.Agents.Pty.LogWriteHealth.Describe(e) == "disk full")
        {
            if (_kept.Count < MaxKeptLines) _kept.Enqueue(text);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            _broken = true;
        }
    }

    /// <summary>
    /// A terminal that went away (EIO after a hang-up) or a pipe whose reader exited (EPIPE: .NET
    /// ignores SIGPIPE) ends the display, never the cluster: the logs keep every byte. A full disk (the
    /// detached supervisor's log file) does not: space may come back.
    /// </summary>
    private void Guard(Action write)
    {
        if (_broken) return;
        try
        {
            write();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            _broken = !(e is IOException io && Zeroshot.Agents.Pty.LogWriteHealth.Describe(io) == "disk full");
        }
    }

    private static string Color(string agentId)
    {
        uint hash = 2166136261;
        foreach (char c in agentId) hash = (hash ^ c) * 16777619; // FNV-1a: the same agent gets the same colour in every run
        return Palette[hash % (uint)Palette.Length];
    }
}
