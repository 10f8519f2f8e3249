using System.Text.Json;

namespace Zeroshot.Agents.Output;

/// <summary>What an interactive agent's CLI said that the person should hear about.</summary>
internal enum InteractiveSignal
{
    /// <summary>Nothing to tell.</summary>
    None,

    /// <summary>It asks the person something (a permission, a question).</summary>
    NeedsInput,

    /// <summary>Its turn is over (or failed): it waits for the next prompt.</summary>
    Idle,
}

/// <summary>
/// The activity of an interactive agent (a CLI's TUI on its PTY), from the CLI's own signals: Claude Code's hooks
/// (registered for the agent's session with <c>--settings</c>), Codex's <c>notify</c> program and its OSC 9
/// notifications. Pure: signals in, (activity, detail) and what to tell the person out; the caller locks.
/// Where a CLI gives no signal (Gemini, a <c>command</c>), the activity falls back to the agent's output, marked
/// inferred: output within the last <see cref="QuietAfter"/>, else idle.
/// </summary>
/// <remarks>
/// Claude Code's order, measured (field notes): SessionStart → UserPromptSubmit → PreToolUse → PermissionRequest
/// (≈ 0.1 s before the dialog is drawn) → PostToolUse → Stop (carries <c>last_assistant_message</c>);
/// StopFailure instead of Stop after an API error; Notification(<c>idle_prompt</c>) after a minute idle;
/// SessionEnd on <c>/exit</c>. An Esc interrupt fires no hook. https://code.claude.com/docs/en/hooks
/// </remarks>
internal sealed class InteractiveActivity
{
    /// <summary>How long output keeps an agent without CLI signals in <see cref="AgentActivity.Output"/>.</summary>
    public static readonly TimeSpan QuietAfter = TimeSpan.FromSeconds(5);

    private const int MaxDetail = 200;
    private AgentActivity _activity;
    private string? _detail;
    private string? _pendingTool;
    private string? _pendingQuestion;
    private string? _sessionStatus;
    private bool _answered;
    private bool _askedOnTerminal;

    private readonly bool _cliSignals;

    /// <param name="hasPrompt">Whether it started with a prompt (its first turn runs at once).</param>
    /// <param name="cliSignals">Whether its CLI gives signals (Claude Code's hooks, Codex's notify): until the first one,
    /// it works on the prompt it was started with (or waits for one), as Zeroshot started it; never a guess from output.</param>
    public InteractiveActivity(bool hasPrompt, bool cliSignals)
    {
        _activity = hasPrompt ? AgentActivity.Model : AgentActivity.Idle;
        _cliSignals = cliSignals;
    }

    /// <summary>Whether any CLI signal arrived: from then on the activity is the CLI's word, never inferred.</summary>
    public bool HasSignals { get; private set; }

    /// <summary>The transcript the CLI writes (Claude's <c>transcript_path</c>), once a hook named it.</summary>
    public string? TranscriptPath { get; private set; }

    /// <summary>A Codex session's own thread id (its rollout file's), once found; its transcript is then <see cref="TranscriptPath"/>.</summary>
    public string? CodexThread { get; private set; }

    /// <summary>The Codex session's own thread and its rollout file (found by the caller on disk).</summary>
    public void SetCodexThread(string threadId, string rolloutPath)
    {
        CodexThread = threadId;
        TranscriptPath = rolloutPath;
    }

    /// <summary>The thread a Codex notify payload is about.</summary>
    public static string? CodexThreadOf(JsonElement payload) => payload.ValueKind == JsonValueKind.Object ? Text(payload, "thread-id") : null;

    /// <summary>The last message of its last finished turn (one line), when its CLI gave it.</summary>
    public string? LastMessage { get; private set; }

    /// <summary>
    /// The activity now: the CLI's last signal, or without one the output-based guess (<paramref name="inferred"/>
    /// true).
    /// </summary>
    public (AgentActivity Activity, string? Detail) Current(DateTimeOffset now, DateTimeOffset? lastOutputAt, out bool inferred)
    {
        inferred = !HasSignals && !_cliSignals;
        if (!inferred) return (_activity, _detail);
        return lastOutputAt is { } last && now - last < QuietAfter ? (AgentActivity.Output, null) : (AgentActivity.Idle, null);
    }

    /// <summary>
    /// A Claude Code hook's input (<paramref name="payload"/>, the JSON object it gave the hook on stdin).
    /// Returns what to tell the person.
    /// </summary>
    public InteractiveSignal OnClaudeHook(JsonElement payload)
    {
        if (payload.ValueKind != JsonValueKind.Object) throw new InvalidDataException("a hook's input must be a JSON object");
        string? name = Text(payload, "hook_event_name");
        if (Text(payload, "transcript_path") is { Length: > 0 } transcript) TranscriptPath = transcript;
        switch (name)
        {
            case "UserPromptSubmit":
                return Set(AgentActivity.Model, null);
            case "PreToolUse":
                _pendingTool = Text(payload, "tool_name");
                _answered = false;
                // What a permission dialog for it would ask: the status file may say "waiting" before its hook arrives.
                _pendingQuestion = Question(_pendingTool, payload);
                return Set(AgentActivity.Tool, _pendingTool);
            case "PostToolUse":
            case "PostToolUseFailure":
                _pendingTool = _pendingQuestion = null;
                return Set(AgentActivity.Model, null);
            case "PermissionRequest":
                // Claude shows the dialog without waiting for this hook: a slow hook can arrive after the status file
                // said the person answered. Then it is old news, not a new question.
                if (_answered)
                {
                    HasSignals = true;
                    return InteractiveSignal.None;
                }
                return Set(AgentActivity.NeedsInput, Question(Text(payload, "tool_name"), payload));
            case "Notification":
                // permission_prompt repeats a PermissionRequest after 6 s without a key; idle_prompt comes a minute
                // after a Stop; elicitation_dialog is an MCP server asking the person.
                return Text(payload, "notification_type") switch
                {
                    "permission_prompt" or "elicitation_dialog" => Set(AgentActivity.NeedsInput, _activity == AgentActivity.NeedsInput ? _detail : OneLine(Text(payload, "message"))),
                    "idle_prompt" => Set(AgentActivity.Idle, _activity == AgentActivity.Idle ? _detail : null),
                    _ => InteractiveSignal.None,
                };
            case "Stop":
                LastMessage = OneLine(Text(payload, "last_assistant_message")) ?? LastMessage;
                return Set(AgentActivity.Idle, null);
            case "StopFailure":
                string? error = OneLine(Text(payload, "error")) ?? "API error";
                LastMessage = OneLine(Text(payload, "last_assistant_message")) ?? LastMessage;
                return Set(AgentActivity.Error, error);
            default:
                // SessionStart, SessionEnd (the exit says it), SubagentStop, PreCompact…: no change of activity.
                HasSignals = true;
                return InteractiveSignal.None;
        }
    }

    /// <summary>
    /// Codex's <c>notify</c> program input (<c>{"type":"agent-turn-complete","thread-id":…,"last-assistant-message":…}</c>):
    /// a turn of the session is over. Returns what to tell the person.
    /// </summary>
    /// <remarks>Codex also runs side threads (the session's title is generated by one) whose turns call notify too: only
    /// the session's own thread (<see cref="CodexThread"/>, the one with a rollout file) counts.</remarks>
    public InteractiveSignal OnCodexNotify(JsonElement payload)
    {
        if (payload.ValueKind != JsonValueKind.Object) throw new InvalidDataException("a notify payload must be a JSON object");
        if (Text(payload, "type") != "agent-turn-complete" || CodexThread is null || Text(payload, "thread-id") != CodexThread) return InteractiveSignal.None;
        LastMessage = OneLine(Text(payload, "last-assistant-message")) ?? LastMessage;
        return Set(AgentActivity.Idle, null);
    }

    /// <summary>
    /// Claude Code's own session status (<c>&lt;config dir&gt;/sessions/&lt;pid&gt;.json</c>: <c>busy</c>, <c>waiting</c>,
    /// <c>idle</c>, updated within ≈ 0.1 s; field notes). It tells what no hook does: that the person answered a dialog (waiting
    /// → busy: the tool the dialog was about runs now) and that a turn was interrupted with Esc (busy → idle, no Stop hook).
    /// Only changes of status count, so a status written before a hook arrived never undoes it.
    /// </summary>
    public InteractiveSignal OnClaudeSessionStatus(string? status, string? waitingFor)
    {
        if (status is null || status == _sessionStatus) return InteractiveSignal.None;
        string? before = _sessionStatus;
        _sessionStatus = status;
        switch (status)
        {
            case "waiting":
                return Set(AgentActivity.NeedsInput, _activity == AgentActivity.NeedsInput ? _detail : _pendingQuestion ?? OneLine(waitingFor) ?? _detail);
            case "busy" when before == "waiting" && _activity == AgentActivity.NeedsInput:
                _answered = true;
                return _pendingTool is { } tool ? Set(AgentActivity.Tool, tool) : Set(AgentActivity.Model, null);
            case "idle" when before == "busy" && _activity is AgentActivity.Model or AgentActivity.Tool:
                return Set(AgentActivity.Idle, null);
            default:
                return InteractiveSignal.None;
        }
    }

    /// <summary>
    /// A desktop notification the TUI wrote to its terminal (OSC 9): Codex writes <c>Approval requested: &lt;command&gt;</c>
    /// when it asks the person (with <c>tui.notification_method = "osc9"</c>, while its terminal is not focused), and its
    /// last message when a turn ends (the notify program says that, per thread).
    /// </summary>
    public InteractiveSignal OnTerminalNotification(string text)
    {
        const string Approval = "Approval requested: ";
        if (!text.StartsWith(Approval, StringComparison.Ordinal)) return InteractiveSignal.None;
        var signal = Set(AgentActivity.NeedsInput, text[Approval.Length..]);
        _askedOnTerminal = true;
        return signal;
    }

    /// <summary>
    /// A person typed into the agent (through attach) while it asked something: Codex gives no signal when a dialog is
    /// answered, so its turn is taken to go on (model) until its next signal. Claude Code's answers come from its
    /// status file instead.
    /// </summary>
    public void OnPersonTyped()
    {
        if (_activity == AgentActivity.NeedsInput && _askedOnTerminal) Set(AgentActivity.Model, null);
    }

    /// <summary>The person typed a prompt or answered: the CLI works again until its next signal.</summary>
    public void OnPromptSent()
    {
        if (_activity is AgentActivity.Idle or AgentActivity.Error) _activity = AgentActivity.Model;
        _detail = null;
    }

    private InteractiveSignal Set(AgentActivity activity, string? detail)
    {
        HasSignals = true;
        _askedOnTerminal = false;
        bool entered = _activity != activity || (activity == AgentActivity.NeedsInput && detail != _detail);
        _activity = activity;
        _detail = detail is null ? null : OneLine(detail);
        if (!entered) return InteractiveSignal.None;
        return activity switch
        {
            AgentActivity.NeedsInput => InteractiveSignal.NeedsInput,
            AgentActivity.Idle or AgentActivity.Error => InteractiveSignal.Idle,
            _ => InteractiveSignal.None,
        };
    }

    /// <summary>"Bash: rm -r build" — the tool and the one input that says what it will do.</summary>
    private static string Question(string? tool, JsonElement payload)
    {
        tool ??= "a tool";
        if (!payload.TryGetProperty("tool_input", out var input) || input.ValueKind != JsonValueKind.Object) return tool;
        foreach (var key in (string[])["command", "file_path", "path", "url", "pattern", "query", "description"])
            if (Text(input, key) is { Length: > 0 } value)
                return tool + ": " + value;
        return tool;
    }

    private static string? Text(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>The first non-blank line, control characters replaced, at most <see cref="MaxDetail"/> characters.</summary>
    internal static string? OneLine(string? text)
    {
        if (text is null) return null;
        foreach (var raw in text.Split('\n'))
        {
            var line = Zeroshot.Terminal.Format.Sanitize(raw).Trim();
            if (line.Length == 0) continue;
            return line.Length > MaxDetail ? line[..(MaxDetail - 1)] + "…" : line;
        }
        return null;
    }
}
