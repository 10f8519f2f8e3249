using Zeroshot.Agents.Config;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.Pty;
using Zeroshot.Metrics;

namespace Zeroshot.Agents.Supervision;

/// <summary>One started run of an agent: its terminal, the pump that logs every byte, the interpreter reading it.</summary>
/// <param name="Process">The agent on its PTY.</param>
/// <param name="Pump">Logs the output, then hands it to the observers and the interpreter.</param>
/// <param name="Interpreter">Tokens, cost, activity, verdict of this run.</param>
/// <param name="StartTime">The pid's start time in clock ticks (its identity with the pid).</param>
/// <param name="FallbackModel">The model to show and price by until the CLI names one (Codex's config file).</param>
/// <param name="Terminal">The screen model of its PTY, the query answers and the attached clients.</param>
/// <param name="Transcript">An interactive Claude Code agent's session transcript, known before it is written (Zeroshot
/// chose the session id; <see cref="Transcripts.ClaudeTranscript.PathFor"/>); null otherwise.</param>
/// <param name="GeminiChats">Where an interactive Gemini agent's chat files appear (<see cref="Transcripts.GeminiChat.FindSessions"/>);
/// null otherwise.</param>
internal sealed record LaunchedAgent(PtyProcess Process, AgentOutputPump Pump, AgentOutputInterpreter Interpreter, long StartTime, string? FallbackModel,
    AgentTerminal Terminal, string? Transcript = null, Transcripts.GeminiChatSearch? GeminiChats = null);

/// <summary>Why an agent could not be launched, in one line (the supervisor records it as the agent's failure).</summary>
internal sealed class LaunchFailedException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// Starts one run of an agent: its prompt (the validators' feedback for a worker, the verdict request for a
/// provider validator), its command line and environment, its PTY, its log and the interpreter of its output.
/// It holds no cluster state and writes no record: the supervisor decides when to launch and records what happened.
/// </summary>
/// <param name="clusterId">The cluster.</param>
/// <param name="services">Catalog, home, clock and terminal settings.</param>
/// <param name="observer">Gets every agent's output and lines.</param>
/// <param name="logHealth">Counts and reports log writes that fail (a full disk), shared by the cluster's pumps.</param>
internal sealed class AgentLauncher(string clusterId, SupervisorServices services, IClusterObserver observer, LogWriteHealth? logHealth = null)
{
    /// <summary>The supervisor's control socket, given to interactive agents (ZEROSHOT_CONTROL_SOCKET) so that their
    /// CLI's hooks reach it (<c>zeroshot hook</c>); null when there is none.</summary>
    public string? ControlSocket { get; set; }

    /// <summary>
    /// Launches <paramref name="agent"/> for <paramref name="iteration"/>. <paramref name="feedbackText"/> and
    /// <paramref name="feedbackFile"/> carry the last rejection (null in the first iteration);
    /// <paramref name="verdictSchemaFile"/> is asked for only for provider validators. <paramref name="sessionId"/> is an
    /// interactive agent's session id (Claude Code's <c>--session-id</c>), null otherwise.
    /// </summary>
    /// <exception cref="LaunchFailedException">The process or its log could not be started (nothing is left running).</exception>
    public LaunchedAgent Launch(AgentConfig agent, string? clusterPrompt, int iteration, string? feedbackText, string? feedbackFile,
        Func<string> verdictSchemaFile, int columns, int rows, string? sessionId = null)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(verdictSchemaFile);
        var config = agent;
        if (config.Role == AgentRole.Worker && feedbackText is not null)
            clusterPrompt = string.IsNullOrWhiteSpace(clusterPrompt) ? feedbackText : clusterPrompt.TrimEnd() + "\n\n" + feedbackText;
        // A provider validator is asked for the verdict the supervisor reads; a command validator answers by exit code.
        bool providerValidator = config.Role == AgentRole.Validator && config.Provider is not null;
        if (providerValidator)
            config = config with { Prompt = string.IsNullOrWhiteSpace(config.Prompt) ? Verdict.Instructions : config.Prompt.TrimEnd() + "\n\n" + Verdict.Instructions };
        var resolved = services.Catalog.Resolve(config, clusterPrompt, iteration, clusterId, providerValidator ? verdictSchemaFile() : null, sessionId);
        var environment = ProcessEnvironment.Snapshot();
        // The wall clock, not the injected one: it is compared with the start time another process (Gemini) writes.
        var launchedAt = DateTimeOffset.UtcNow;
        if (config.Interactive && ControlSocket is { } socket) environment["ZEROSHOT_CONTROL_SOCKET"] = socket;
        foreach (var (key, value) in resolved.Environment) environment[key] = value;
        environment.TryAdd("TERM", "xterm-256color");
        // A TUI draws for the terminal it runs on, which is ours (the screen model emulates an xterm): an inherited
        // TERM=dumb (a CI runner, a cron job) would make Codex ask whether to go on and others degrade. The agent's own
        // "env" still decides.
        if (config.Interactive && config.Env?.ContainsKey("TERM") != true) environment["TERM"] = "xterm-256color";
        if (feedbackFile is not null) environment["ZEROSHOT_FEEDBACK_FILE"] = feedbackFile;
        // Everything the agent starts inherits its marker (and its cgroup): what leaves its session is still found.
        if (services.Containment is { } containment) environment[AgentMarker.Variable] = containment.MarkerFor(agent.Id);
        string executable = resolved.Executable;
        IReadOnlyList<string> arguments = resolved.Argv.Skip(1).ToList();
        if (services.Containment?.CgroupFor(agent.Id) is { } cgroup)
        {
            var entering = cgroup.Enter(executable, arguments);
            executable = entering[0];
            arguments = entering.Skip(1).ToList();
        }
        // Codex prints no model: the one it will use is in its own config file unless the agent names one.
        string? fallbackModel = config.Model;
        if (fallbackModel is null && config.Provider == ProviderCatalog.Codex)
            fallbackModel = CodexConfigFile.ReadModel(CodexConfigFile.PathFor(environment)) ?? ProviderCatalog.CodexDefaultModel;

        PtyProcess process;
        try
        {
            process = PtyProcess.Start(new PtyStartInfo
            {
                FileName = executable,
                Arguments = arguments,
                Environment = environment,
                WorkingDirectory = resolved.WorkingDirectory,
                // The prompt on stdin, where the provider reads it: out of every other user's sight in ps.
                StandardInput = resolved.StandardInput is { } input ? System.Text.Encoding.UTF8.GetBytes(input) : null,
                Columns = columns,
                Rows = rows,
            });
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            throw new LaunchFailedException($"could not start: {e.Message}", e);
        }

        long startTime = ProcessIdentity.StartTime(process.Pid) ?? 0;
        var logPath = services.Home.AgentLogPath(clusterId, agent.Id);
        // A TUI's lines are its screen redrawn, not a story to print: a person reads it through attach.
        Action<DisplayLine> onLine = config.Interactive ? _ => { } : line => observer.OnLine(agent.Id, line);
        var interpreter = new AgentOutputInterpreter(onLine, new AgentOutputOptions
        {
            Raw = services.RawOutput,
            PriceFor = services.PriceFor,
            Model = fallbackModel,
            TimeProvider = services.Time,
            // A TUI writes a screen, not JSON events: its activity and usage come from its CLI's hooks and transcript.
            Provider = config.Interactive ? null : config.Provider,
        });
        var terminal = new AgentTerminal(process, columns, rows, services.Scrollback);
        // The interpreter sees every byte, in order, right after the log: the display channel may drop chunks.
        try
        {
            services.Home.EnsureLogDirectory(clusterId);
            var pump = AgentOutputPump.Start(process, logPath, services.Time, displayCapacity: 0, onLogged: chunk =>
            {
                // Nothing downstream of the log may stop the pump: a stopped pump stops the agent
                // (its terminal fills up) and loses its output.
                try
                {
                    // The screen model first: the queries it answers go back to the agent without waiting for anyone.
                    terminal.OnOutput(chunk.Span);
                    observer.OnOutput(agent.Id, chunk);
                    interpreter.Feed(chunk.Span);
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
                {
                    // The display is gone, or a follower went away mid-write; the log has the bytes.
                }
            }, logHealth);
            string? transcript = config.Interactive && config.Provider == ProviderCatalog.Claude && sessionId is not null
                ? Transcripts.ClaudeTranscript.PathFor(Transcripts.ClaudeTranscript.ConfigDir(name => environment.GetValueOrDefault(name)),
                    resolved.WorkingDirectory ?? Environment.CurrentDirectory, sessionId)
                : null;
            // A second before the spawn: Gemini stamps its session's start with its own clock, in milliseconds.
            var geminiChats = config.Interactive && config.Provider == ProviderCatalog.Gemini
                ? new Transcripts.GeminiChatSearch(Transcripts.GeminiChat.Dir(name => environment.GetValueOrDefault(name)),
                    Transcripts.GeminiChat.ProjectHash(resolved.WorkingDirectory ?? Environment.CurrentDirectory), launchedAt - TimeSpan.FromSeconds(1))
                : null;
            return new LaunchedAgent(process, pump, interpreter, startTime, fallbackModel, terminal, transcript, geminiChats);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The log cannot be opened: the agent must not run unlogged.
            process.Dispose();
            throw new LaunchFailedException($"could not open its log {logPath}: {e.Message}", e);
        }
    }
}
