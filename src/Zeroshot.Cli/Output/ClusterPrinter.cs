using System.Text;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.Supervision;

namespace Zeroshot.Cli.Output;

/// <summary>
/// Foreground output of <c>run</c> and <c>logs</c>: every agent's output interleaved one whole line
/// at a time, rendered for people (stream-json) or as written (plain output, <c>--raw</c>), prefixed
/// <c>agent │ </c> in a stable colour per agent, plus the supervisor's own events prefixed
/// <c>zeroshot │ </c>. Colours only on a terminal; without one, no escape codes at all.
/// </summary>
internal sealed class ClusterPrinter : IClusterObserver
{
    // Bright, readable on dark and light backgrounds; red is kept for errors.
    private static readonly string[] Palette = ["36", "35", "33", "32", "34", "96", "95", "93", "92", "94"];
    private readonly TextWriter _out;
    private readonly bool _color;
    private readonly int _width;
    private readonly object _gate = new();
    private readonly bool _prefix;
    private bool _broken;

    public ClusterPrinter(TextWriter output, bool color, IEnumerable<string> agentIds, bool prefix = true)
    {
        _out = output;
        _color = color;
        _prefix = prefix;
        _width = Math.Max("zeroshot".Length, agentIds.DefaultIfEmpty("").Max(id => id.Length));
    }

    /// <summary>Raw chunks are for byte-exact consumers (logs -f, attach); people get <see cref="OnLine"/>.</summary>
    public void OnOutput(string agentId, ReadOnlyMemory<byte> chunk)
    {
    }

    public void OnLine(string agentId, DisplayLine line)
    {
        string? sgr = line.Style switch
        {
            DisplayStyle.Dim => "2",
            DisplayStyle.Tool => "36",
            DisplayStyle.Ok => "32",
            DisplayStyle.Error => "31",
            _ => null,
        };
        // Flushed per chunk of output (OnLinesFlushed), not per line: one terminal write per chunk.
        lock (_gate) WriteLine(agentId, line.Text, Color(agentId), sgr);
    }

    public void OnLinesFlushed(string agentId)
    {
        lock (_gate) Guard(_out.Flush);
    }

    public void OnEvent(string? agentId, string message)
    {
        lock (_gate)
        {
            WriteLine("zeroshot", agentId is null ? message : $"{agentId}: {message}", "2", "2");
            Guard(_out.Flush);
        }
    }

    private void WriteLine(string who, string text, string prefixSgr, string? textSgr)
    {
        string prefix = _prefix ? who.PadRight(_width) + " │ " : "";
        if (!_color) Guard(() => _out.Write(prefix + StripEscapes(text) + "\n"));
        else if (textSgr is null) Guard(() => _out.Write($"\u001b[{prefixSgr}m{prefix}\u001b[0m{text}\u001b[0m\n"));
        else Guard(() => _out.Write($"\u001b[{prefixSgr}m{prefix}\u001b[0m\u001b[{textSgr}m{text}\u001b[0m\n"));
    }

    /// <summary>
    /// A terminal that went away (EIO after a hang-up) or a pipe whose reader exited (EPIPE: .NET
    /// ignores SIGPIPE) ends the display, never the cluster: the logs keep every byte.
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
            _broken = true;
        }
    }

    private static string Color(string agentId)
    {
        uint hash = 2166136261;
        foreach (char c in agentId) hash = (hash ^ c) * 16777619; // FNV-1a: the same agent gets the same colour in every run
        return Palette[hash % (uint)Palette.Length];
    }

    /// <summary>Without a terminal there are no escape codes at all, not even the agent's own.</summary>
    internal static string StripEscapes(string text)
    {
        if (text.IndexOf('\u001b') < 0) return text;
        var sb = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] != '\u001b') { sb.Append(text[i]); continue; }
            if (i + 1 < text.Length && text[i + 1] == '[')
            {
                i += 2;
                while (i < text.Length && text[i] is < '@' or > '~') i++;
            }
            else if (i + 1 < text.Length && text[i + 1] == ']')
            {
                // OSC: up to BEL or ST.
                i += 2;
                while (i < text.Length && text[i] != '\a' && !(text[i] == '\u001b' && i + 1 < text.Length && text[i + 1] == '\\')) i++;
                if (i < text.Length && text[i] == '\u001b') i++;
            }
            else
            {
                i++;
            }
        }
        return sb.ToString();
    }
}
