using System.Text;
using Zeroshot.Agents.Supervision;

namespace Zeroshot.Cli.Output;

/// <summary>
/// Foreground output of <c>run</c>: every agent's output interleaved one whole line at a time,
/// prefixed <c>agent │ </c> in a stable colour per agent (colours only on a terminal), plus the
/// supervisor's own events prefixed <c>zeroshot │ </c>.
/// </summary>
internal sealed class ClusterPrinter : IClusterObserver
{
    // Bright, readable on dark and light backgrounds; red is kept for errors.
    private static readonly string[] Palette = ["36", "35", "33", "32", "34", "96", "95", "93", "92", "94"];
    private readonly TextWriter _out;
    private readonly bool _color;
    private readonly int _width;
    private readonly object _gate = new();
    private readonly Dictionary<string, LineAssembler> _lines = new(StringComparer.Ordinal);

    public ClusterPrinter(TextWriter output, bool color, IEnumerable<string> agentIds)
    {
        _out = output;
        _color = color;
        _width = Math.Max("zeroshot".Length, agentIds.DefaultIfEmpty("").Max(id => id.Length));
    }

    public void OnOutput(string agentId, ReadOnlyMemory<byte> chunk)
    {
        lock (_gate)
        {
            if (!_lines.TryGetValue(agentId, out var assembler))
            {
                assembler = new LineAssembler();
                _lines[agentId] = assembler;
            }
            foreach (var line in assembler.Feed(chunk.Span)) WriteLine(agentId, line, Color(agentId));
            _out.Flush();
        }
    }

    public void OnEvent(string? agentId, string message)
    {
        lock (_gate)
        {
            if (agentId is not null && _lines.TryGetValue(agentId, out var assembler) && assembler.Flush() is { } rest)
                WriteLine(agentId, rest, Color(agentId));
            WriteLine("zeroshot", agentId is null ? message : $"{agentId}: {message}", "2");
            _out.Flush();
        }
    }

    private void WriteLine(string who, string text, string sgr)
    {
        string prefix = who.PadRight(_width) + " │ ";
        if (_color) _out.Write($"\u001b[{sgr}m{prefix}\u001b[0m{text}\u001b[0m\n");
        else _out.Write(prefix + StripEscapes(text) + "\n");
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

    /// <summary>Splits an agent's byte stream into lines (the PTY turns \n into \r\n; the \r is dropped).</summary>
    private sealed class LineAssembler
    {
        private const int MaxLine = 64 * 1024;
        private readonly List<byte> _pending = new();

        public IEnumerable<string> Feed(ReadOnlySpan<byte> chunk)
        {
            var lines = new List<string>();
            foreach (byte b in chunk)
            {
                if (b == (byte)'\n')
                {
                    lines.Add(Take());
                    continue;
                }
                // Long lines are cut for display only; the log has every byte.
                if (_pending.Count < MaxLine) _pending.Add(b);
            }
            return lines;
        }

        public string? Flush() => _pending.Count == 0 ? null : Take();

        private string Take()
        {
            int n = _pending.Count;
            if (n > 0 && _pending[n - 1] == (byte)'\r') n--;
            var text = Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_pending)[..n]);
            _pending.Clear();
            return text;
        }
    }
}
