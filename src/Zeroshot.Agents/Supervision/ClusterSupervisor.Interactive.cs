using System.Text.Json;
using Zeroshot.Agents.Config;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;

namespace Zeroshot.Agents.Supervision;

/// <summary>Interactive agents: their CLIs' signals (hooks, notify, OSC 9, Claude's status file) and typed prompts.</summary>
internal sealed partial class ClusterSupervisor
{
    /// <summary>The control socket the supervisor serves (set before <see cref="RunAsync"/>): interactive agents' hooks
    /// call back on it.</summary>
    public string? ControlSocket
    {
        get => _launcher.ControlSocket;
        set => _launcher.ControlSocket = value;
    }

    /// <summary>
    /// A signal of an interactive agent's CLI, relayed by <c>zeroshot hook</c>: <paramref name="source"/> "claude" (a hook's
    /// input) or "codex" (its notify payload). Updates the agent's activity, follows the transcript it names, and tells
    /// the person (an event) when the agent starts waiting for them. Null when taken, else why not.
    /// </summary>
    /// <param name="agentId">The agent.</param>
    /// <param name="source">"claude" or "codex".</param>
    /// <param name="payload">What the CLI gave its hook or notify program.</param>
    /// <param name="codexHome">For Codex: its CODEX_HOME, where the session's rollout file is.</param>
    public string? OnAgentSignal(string agentId, string source, JsonElement payload, string? codexHome = null)
    {
        // Codex's own thread is the one with a rollout file: found on disk before taking the lock.
        string? rollout = null;
        if (source == ProviderCatalog.Codex && codexHome is not null && InteractiveActivity.CodexThreadOf(payload) is { } thread)
        {
            bool known;
            lock (_snapshotGate) known = _agents.Find(a => a.Id == agentId)?.Interactive?.CodexThread is not null;
            if (!known) rollout = Transcripts.CodexRollout.FindByThread(codexHome, thread);
        }
        ClusterEvent? e = null;
        AgentRuntime? agent;
        (string Transcript, string Session, InteractiveActivity Activity)? watch = null;
        lock (_snapshotGate)
        {
            agent = _agents.Find(a => a.Id == agentId);
            if (agent is null) return $"cluster {_clusterId} has no agent '{agentId}'";
            if (agent.Interactive is not { } interactive || agent.State != AgentState.Running)
                return $"agent {agentId} of cluster {_clusterId} is not a running interactive agent";
            if (rollout is not null && interactive.CodexThread is null)
                interactive.SetCodexThread(InteractiveActivity.CodexThreadOf(payload)!, rollout);
            var signal = source switch
            {
                ProviderCatalog.Claude => interactive.OnClaudeHook(payload),
                ProviderCatalog.Codex => interactive.OnCodexNotify(payload),
                _ => throw new InvalidDataException($"unknown signal source '{source}' (expected claude or codex)"),
            };
            // The path the CLI itself names wins over the one derived at launch (a folder-naming rule could change).
            if (interactive.TranscriptPath is { } transcript && agent.Transcript?.Path != transcript && agent.Interpreter is { } interpreter)
            {
                if (agent.Transcript is { } derived) _ = derived.DisposeAsync().AsTask();
                agent.Transcript = TranscriptUsage.Follow(source, transcript, interpreter.Usage);
            }
            if (source == ProviderCatalog.Claude && interactive.TranscriptPath is { } named && agent.SessionId is { } session && agent.SessionFile is null)
                watch = (named, session, interactive);
            if (interactive.LastMessage is { } message) agent.LastLine = message;
            e = SignalEvent(agent, interactive, signal);
        }
        if (watch is { } w)
        {
            // Started outside the lock: it reads the file at once and reports through the lock.
            var file = ClaudeSessionFile.Watch(w.Transcript, w.Session, (status, waitingFor) => OnSessionStatus(agent, w.Activity, status, waitingFor));
            bool kept = false;
            lock (_snapshotGate)
            {
                if (ReferenceEquals(agent.Interactive, w.Activity) && agent.SessionFile is null)
                {
                    agent.SessionFile = file;
                    kept = true;
                }
            }
            // Disposed outside the state lock: its own lock is taken before the state lock when it reports.
            if (!kept) file?.Dispose();
        }
        if (e is not null) Notify(e);
        else Publish();
        return null;
    }

    /// <summary>An interactive agent's TUI wrote a desktop notification (OSC 9), on its pump thread.</summary>
    private void OnTerminalNotification(AgentRuntime agent, string text)
    {
        ClusterEvent? e = null;
        lock (_snapshotGate)
        {
            if (agent.Interactive is not { } interactive) return;
            e = SignalEvent(agent, interactive, interactive.OnTerminalNotification(text));
        }
        if (e is not null) Notify(e);
    }

    /// <summary>Claude Code's own session status changed (<see cref="ClaudeSessionFile"/>, on a watcher thread).</summary>
    private void OnSessionStatus(AgentRuntime agent, InteractiveActivity interactive, string? status, string? waitingFor)
    {
        ClusterEvent? e = null;
        lock (_snapshotGate)
        {
            // A later run has its own; this one's statuses are over.
            if (!ReferenceEquals(agent.Interactive, interactive)) return;
            e = SignalEvent(agent, interactive, interactive.OnClaudeSessionStatus(status, waitingFor));
        }
        if (e is not null) Notify(e);
        else Publish();
    }

    /// <summary>
    /// Types <paramref name="text"/> into an interactive agent as a person would: as a bracketed paste when its program
    /// asked for them, then Enter on its own a moment later (field notes: text and Enter in one write is taken as a paste,
    /// not a submission, by Codex, and by Claude Code beyond about 1 000 characters). With a null
    /// <paramref name="agentId"/>: the one running interactive agent. Returns the agent typed to, or an error.
    /// </summary>
    public (string? AgentId, string? Error) SendText(string? agentId, string text)
    {
        AgentTerminal terminal;
        lock (_snapshotGate)
        {
            // A waiting interactive agent counts: right after `run --detach` it may not be spawned yet, and "several"
            // must not depend on how fast the supervisor got there.
            var candidates = _agents.Where(a => agentId is null
                ? a.Config.Interactive && a.State is AgentState.Running or AgentState.Waiting
                : a.Id == agentId).ToList();
            if (candidates.Count == 0)
                return (null, agentId is null
                    ? $"no interactive agent of cluster {_clusterId} is running"
                    : $"cluster {_clusterId} has no agent '{agentId}' (agents: {string.Join(", ", _agents.Select(a => a.Id))})");
            if (candidates.Count > 1)
                return (null, $"several interactive agents of cluster {_clusterId} run ({string.Join(", ", candidates.Select(a => a.Id))}): name one with --agent");
            var agent = candidates[0];
            if (!agent.Config.Interactive)
                return (null, $"agent {agent.Id} of cluster {_clusterId} is not interactive: it reads no prompts once started");
            if (agent.State != AgentState.Running || agent.Terminal is null)
                return (null, $"agent {agent.Id} of cluster {_clusterId} is not running ({StateNames.Text(agent.State)})");
            terminal = agent.Terminal;
            agentId = agent.Id;
            agent.Interactive?.OnPromptSent();
        }
        terminal.Type(text);
        Publish();
        return (agentId, null);
    }

    /// <summary>The event that calls the person for <paramref name="signal"/> (the caller holds the state lock), or null.</summary>
    private ClusterEvent? SignalEvent(AgentRuntime agent, InteractiveActivity interactive, InteractiveSignal signal)
    {
        var (_, detail) = interactive.Current(Now, null, out _);
        return signal switch
        {
            InteractiveSignal.NeedsInput => new NeedsInputEvent(Now, agent.Id, detail ?? "input"),
            InteractiveSignal.Idle => new IdleEvent(Now, agent.Id, detail ?? interactive.LastMessage),
            _ => null,
        };
    }

    /// <summary>Gemini chat files some agent of this cluster follows or has followed (under <see cref="_snapshotGate"/>).</summary>
    private readonly HashSet<string> _geminiChats = new(StringComparer.Ordinal);

    /// <summary>
    /// An interactive Gemini agent's chat files (<see cref="Transcripts.GeminiChat.FindSessions"/>), as its CLI writes
    /// them: the newest session is followed live; one it restarted away from is read to its end. Each session's model
    /// messages count once, so the run's usage is the sum over its sessions. Called each sampling tick while it runs and
    /// once more after its exit; the listing and the followers' start are outside the lock.
    /// </summary>
    private void FindGeminiChat(AgentRuntime agent)
    {
        // Not a Gemini TUI: no lock, no allocation (a reference read is atomic; one set a moment ago is seen a tick later).
        if (agent.GeminiChats is null) return;
        Transcripts.GeminiChatSearch? search;
        RunUsage? usage;
        HashSet<string> known;
        lock (_snapshotGate)
        {
            (search, usage) = (agent.GeminiChats, agent.Interpreter?.Usage);
            if (search is null || usage is null) return;
            known = [.. _geminiChats];
        }
        var found = Transcripts.GeminiChat.FindSessions(search.Dir, search.ProjectHash, search.Since, known, search.Chats);
        if (found.Count == 0) return;
        var followers = found.ConvertAll(path => TranscriptUsage.Follow(ProviderCatalog.Gemini, path, usage));
        List<TranscriptUsage> drain = [], drop = [];
        lock (_snapshotGate)
        {
            foreach (var follower in followers)
            {
                // The run ended meanwhile (its exit looked last), or another agent's look took the file at the same moment.
                if (!ReferenceEquals(agent.GeminiChats, search) || !_geminiChats.Add(follower.Path))
                {
                    drop.Add(follower);
                    continue;
                }
                if (agent.Transcript is { } older) drain.Add(older);
                agent.Transcript = follower;
                // Its restarts write beside it: from now on a tick lists this folder only.
                agent.GeminiChats = search = search with { Chats = Path.GetDirectoryName(follower.Path) };
            }
        }
        // An earlier session's CLI has exited (Gemini restarted itself): its file is read to the end, then let go.
        foreach (var follower in drain) _ = follower.CompleteAsync().AsTask();
        foreach (var follower in drop) _ = follower.DisposeAsync().AsTask();
    }
}
