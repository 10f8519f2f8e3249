namespace Zeroshot.Agents.Output;

/// <summary>How the caller should colour a display line (the caller decides whether colours are on).</summary>
internal enum DisplayStyle
{
    /// <summary>The agent's own line as written (may hold its own ANSI escapes): print unchanged, do not colour.</summary>
    Raw,

    /// <summary>Assistant text.</summary>
    Text,

    /// <summary>Secondary information: session start, reasoning, tool result summaries.</summary>
    Dim,

    /// <summary>A tool call.</summary>
    Tool,

    /// <summary>A successful end of run or turn.</summary>
    Ok,

    /// <summary>An error: failed tool, error result, failed turn.</summary>
    Error,
}

/// <summary>One line for people. <see cref="Text"/> never contains a line break; only Raw lines carry escapes.</summary>
internal readonly record struct DisplayLine(string Text, DisplayStyle Style);
