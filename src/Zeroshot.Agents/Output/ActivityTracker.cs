namespace Zeroshot.Agents.Output;

/// <summary>What an agent is doing, as read from its output stream.</summary>
internal enum AgentActivity
{
    /// <summary>Nothing recent.</summary>
    Quiet,

    /// <summary>Plain output within the last few seconds.</summary>
    Output,

    /// <summary>A model request is in flight (after a prompt or tool result, until the next assistant message).</summary>
    Model,

    /// <summary>A tool is running (between its tool_use and its tool_result).</summary>
    Tool,

    /// <summary>The CLI is retrying a failed API request (Claude <c>system/api_retry</c>, Codex reconnects, Gemini retries).</summary>
    Retrying,

    /// <summary>An interactive agent waits for the person: a permission prompt or a question (the detail says what it asks).</summary>
    NeedsInput,

    /// <summary>An interactive agent's turn is over: it waits for the next prompt.</summary>
    Idle,

    /// <summary>An interactive agent's turn ended in an API error (Claude's <c>StopFailure</c>); it waits for the person.</summary>
    Error,
}

/// <summary>Names used in <c>status --json</c>.</summary>
internal static class AgentActivityNames
{
    /// <summary>"quiet", "output", "model", "tool", "retrying", "needs-input", "idle" or "error".</summary>
    public static string ToJsonName(this AgentActivity activity) => activity switch
    {
        AgentActivity.NeedsInput => "needs-input",
        AgentActivity.Idle => "idle",
        AgentActivity.Error => "error",
        AgentActivity.Output => "output",
        AgentActivity.Model => "model",
        AgentActivity.Tool => "tool",
        AgentActivity.Retrying => "retrying",
        _ => "quiet",
    };

    private static readonly AgentActivity[] All = Enum.GetValues<AgentActivity>();

    /// <summary>The activity named <paramref name="word"/> (the inverse of <see cref="ToJsonName"/>), or null.</summary>
    public static AgentActivity? Parse(string word)
    {
        foreach (var activity in All)
            if (activity.ToJsonName() == word) return activity;
        return null;
    }
}

/// <summary>
/// Tracks one agent run's activity. Fed by <see cref="AgentOutputInterpreter"/> on the pump thread; read by
/// status queries on any thread (all members lock).
/// </summary>
/// <remarks>
/// Precedence: an open tool (the most recently started one still open: parallel or nested tool uses show the
/// newest) over a model request in flight, over output within <see cref="OutputWindow"/>, over quiet.
/// </remarks>
internal sealed class ActivityTracker
{
    /// <summary>How long plain output keeps the agent in <see cref="AgentActivity.Output"/> by default.</summary>
    public static readonly TimeSpan DefaultOutputWindow = TimeSpan.FromSeconds(3);

    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly List<(string Id, string Name, string? Owner)> _openTools = [];
    private bool _modelInFlight;
    private DateTimeOffset? _lastOutputAt;
    private string? _retry;
    private string? _lastError;

    public ActivityTracker(TimeProvider? timeProvider = null, TimeSpan? outputWindow = null)
    {
        _time = timeProvider ?? TimeProvider.System;
        OutputWindow = outputWindow ?? DefaultOutputWindow;
    }

    /// <summary>How long output keeps the agent in <see cref="AgentActivity.Output"/>.</summary>
    public TimeSpan OutputWindow { get; }

    /// <summary>When the agent last printed anything; null before any output.</summary>
    public DateTimeOffset? LastOutputAt
    {
        get
        {
            lock (_lock)
                return _lastOutputAt;
        }
    }

    /// <summary>
    /// The last API error the CLI reported ("529 overloaded_error: Overloaded"), kept until the next successful
    /// model response so a person sees why an agent is slow or failed; null when none is pending.
    /// </summary>
    public string? LastError
    {
        get
        {
            lock (_lock)
                return _lastError;
        }
    }

    /// <summary>
    /// The CLI retries an API request: <paramref name="detail"/> reads like "529 3/10 in 4s" (HTTP status,
    /// attempt/maximum, delay). The agent shows <see cref="AgentActivity.Retrying"/> until a response arrives.
    /// </summary>
    public void Retrying(string detail, string? error)
    {
        lock (_lock)
        {
            _retry = detail;
            _modelInFlight = true;
            if (error is not null)
                _lastError = error;
        }
    }

    /// <summary>An API or CLI error (kept as <see cref="LastError"/> until the next success).</summary>
    public void Failed(string error)
    {
        lock (_lock)
        {
            _lastError = error;
            _retry = null;
        }
    }

    /// <summary>Bytes arrived now.</summary>
    public void NoteOutput()
    {
        var now = _time.GetUtcNow();
        lock (_lock)
            _lastOutputAt = now;
    }

    /// <summary>A request went to the model (prompt, tool result, session init, turn start).</summary>
    public void ModelRequested()
    {
        lock (_lock)
            _modelInFlight = true;
    }

    /// <summary>
    /// An assistant message arrived: the request is answered. A top-level message with a new id also closes
    /// tools opened by earlier top-level messages (the model only answers after every tool result is in, so
    /// an open one lost its result, e.g. in a line too long to parse).
    /// </summary>
    public void ModelResponded(string? messageId = null, bool topLevel = false)
    {
        lock (_lock)
        {
            _modelInFlight = false;
            _retry = null;
            _lastError = null;
            if (topLevel && messageId is not null)
                _openTools.RemoveAll(t => t.Owner is not null && t.Owner != messageId);
        }
    }

    /// <summary>A tool started (Claude tool_use, Codex command/MCP item started).</summary>
    public void ToolStarted(string id, string name, string? ownerMessageId = null)
    {
        lock (_lock)
        {
            _openTools.RemoveAll(t => t.Id == id);
            _openTools.Add((id, name, ownerMessageId));
        }
    }

    /// <summary>A tool finished (its result arrived).</summary>
    public void ToolFinished(string id)
    {
        lock (_lock)
            _openTools.RemoveAll(t => t.Id == id);
    }

    /// <summary>The run's turn ended (Claude result, Codex turn.completed/turn.failed): nothing open.</summary>
    public void TurnEnded()
    {
        lock (_lock)
        {
            _openTools.Clear();
            _modelInFlight = false;
            _retry = null;
        }
    }

    /// <summary>Activity at the provider's current time.</summary>
    public (AgentActivity Activity, string? Detail) Current() => Current(_time.GetUtcNow());

    /// <summary>Activity at <paramref name="now"/>; Detail is the tool name for <see cref="AgentActivity.Tool"/>,
    /// the retry ("529 3/10 in 4s") for <see cref="AgentActivity.Retrying"/>.</summary>
    public (AgentActivity Activity, string? Detail) Current(DateTimeOffset now)
    {
        lock (_lock)
        {
            if (_openTools.Count > 0)
                return (AgentActivity.Tool, _openTools[^1].Name);
            if (_retry is not null)
                return (AgentActivity.Retrying, _retry);
            if (_modelInFlight)
                return (AgentActivity.Model, null);
            if (_lastOutputAt is { } last && now - last < OutputWindow)
                return (AgentActivity.Output, null);
            return (AgentActivity.Quiet, null);
        }
    }
}
