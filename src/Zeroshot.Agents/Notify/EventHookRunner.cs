using System.Text;

namespace Zeroshot.Agents.Notify;

/// <summary>
/// The <c>--on-event &lt;command&gt;</c> hook: for each admitted event, runs the command with the event as one JSON
/// object on standard input (<see cref="AgentEvent.ToJsonLine"/>) and <c>ZEROSHOT_EVENT</c> set to its word
/// (<c>needs-input</c>, <c>idle</c>, <c>cluster-ended</c>) for scripts that only need that. Never through a shell: the
/// option's value is split into argv by <see cref="ParseCommand"/>. Each run is killed after the time limit; its standard
/// output is discarded; a failure is one line on the log; nothing it does can stop the supervisor.
/// </summary>
internal sealed class EventHookRunner
{
    private readonly TimeSpan _timeout;
    private readonly Action<string>? _log;
    private readonly BackgroundWork _work;

    /// <summary>A runner of <paramref name="command"/> (argv, as from <see cref="ParseCommand"/>).</summary>
    /// <param name="command">argv; argv[0] a path or a name on PATH.</param>
    /// <param name="timeout">A run still going after this is killed with its process tree.</param>
    /// <param name="log">Receives one line per failed run (not started, non-zero exit, killed); null: failures are dropped.</param>
    public EventHookRunner(IReadOnlyList<string> command, TimeSpan timeout, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (command.Count == 0 || command[0].Length == 0)
            throw new ArgumentException("the command is empty", nameof(command));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        Command = command;
        _timeout = timeout;
        _log = log;
        _work = new BackgroundWork(log);
    }

    /// <summary>The argv run for each event.</summary>
    public IReadOnlyList<string> Command { get; }

    /// <summary>
    /// Parses the option value and checks, at start-up, that the command exists, so a typo is a usage error (exit 2)
    /// rather than a silent failure at the first event. <paramref name="pathVariable"/> is the PATH to search (normally
    /// <c>Environment.GetEnvironmentVariable("PATH")</c>); the command's argv[0] becomes the path found.
    /// </summary>
    /// <exception cref="UserErrorException">The value does not parse, or its command is not found or not executable.</exception>
    public static EventHookRunner Create(string optionValue, string? pathVariable, TimeSpan timeout, Action<string>? log = null) =>
        Create(ParseCommand(optionValue), pathVariable, timeout, log);

    /// <summary>The hook of an argv as given (a cluster file's <c>"onEvent"</c>, or <c>--on-event</c> split by
    /// <see cref="ParseCommand"/>); its program is found now.</summary>
    /// <exception cref="UserErrorException">The program is not found (exit 2).</exception>
    public static EventHookRunner Create(IReadOnlyList<string> argv, string? pathVariable, TimeSpan timeout, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(argv);
        if (argv.Count == 0 || argv[0].Length == 0) throw new UserErrorException("--on-event: the program is empty", ExitCodes.Usage);
        var executable = ExecutableSearch.Find(argv[0], pathVariable)
            ?? throw new UserErrorException(Terminal.Format.Escaped(argv[0].Contains('/', StringComparison.Ordinal)
                ? $"--on-event: '{argv[0]}' does not exist or is not executable"
                : $"--on-event: '{argv[0]}' was not found on PATH"), ExitCodes.Usage);
        // The path found is the one run: the PATH searched here is the one the person gave, whatever the process's own is.
        return new EventHookRunner([executable, .. argv.Skip(1)], timeout, log);
    }

    /// <summary>
    /// Splits an <c>--on-event</c> value into argv, by a small documented subset of POSIX shell word splitting with no
    /// expansion of any kind:
    /// <list type="bullet">
    /// <item>spaces, tabs and newlines separate words;</item>
    /// <item><c>'…'</c> is taken literally (no escapes inside);</item>
    /// <item><c>"…"</c> is taken literally except <c>\"</c> and <c>\\</c>;</item>
    /// <item>outside quotes, <c>\</c> takes the next character literally;</item>
    /// <item>quotes may join parts of one word (<c>--title="a b"</c> is one word), <c>''</c> is an empty word;</item>
    /// <item>nothing else is special: no variables, <c>~</c>, globs, pipes, redirections or <c>;</c>: write a script
    /// for those.</item>
    /// </list>
    /// </summary>
    /// <exception cref="UserErrorException">Empty, an unterminated quote, or a trailing backslash (exit 2).</exception>
    public static IReadOnlyList<string> ParseCommand(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var words = new List<string>();
        var word = new StringBuilder();
        bool inWord = false;
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            switch (c)
            {
                case ' ' or '\t' or '\n' or '\r':
                    if (inWord) words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                    break;
                case '\'':
                    int close = value.IndexOf('\'', i + 1);
                    if (close < 0) throw Error("a single quote is not closed");
                    word.Append(value, i + 1, close - i - 1);
                    i = close;
                    inWord = true;
                    break;
                case '"':
                    i++;
                    for (; ; i++)
                    {
                        if (i >= value.Length) throw Error("a double quote is not closed");
                        if (value[i] == '"') break;
                        if (value[i] == '\\' && i + 1 < value.Length && value[i + 1] is '"' or '\\') i++;
                        word.Append(value[i]);
                    }
                    inWord = true;
                    break;
                case '\\':
                    if (++i >= value.Length) throw Error("the value ends with a backslash");
                    word.Append(value[i]);
                    inWord = true;
                    break;
                default:
                    word.Append(c);
                    inWord = true;
                    break;
            }
        }
        if (inWord) words.Add(word.ToString());
        if (words.Count == 0 || words[0].Length == 0) throw Error("the command is empty");
        return words;
    }

    private static UserErrorException Error(string message) => new($"--on-event: {message}", ExitCodes.Usage);

    /// <summary>Runs the hook for <paramref name="e"/> in the background and returns at once; a failure is logged.</summary>
    public void Fire(AgentEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        _work.Fire(() => RunAsync(e));
    }

    /// <summary>Waits for the runs in flight (shutdown, tests); each is bounded by the time limit.</summary>
    public Task DrainAsync() => _work.DrainAsync();

    /// <summary>Runs the hook for <paramref name="e"/> and returns how it ended (also logged when it failed). Never throws
    /// for anything the command does; <paramref name="ct"/> kills it early.</summary>
    public async Task<ProcessOutcome> RunAsync(AgentEvent e, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(e);
        var environment = new Dictionary<string, string?> { ["ZEROSHOT_EVENT"] = AgentEvent.Word(e.Kind) };
        var outcome = await BoundedProcess.RunAsync(Command, e.ToJsonLine(), environment, _timeout, ct).ConfigureAwait(false);
        if (outcome.Status != ProcessStatus.Ok)
            _log?.Invoke(Describe(outcome));
        return outcome;
    }

    /// <summary>The one log line of a failed run.</summary>
    public string Describe(ProcessOutcome outcome)
    {
        var name = Terminal.Format.Escaped(Command[0]);
        var tail = outcome.Error.Length > 0 ? $": {outcome.Error}" : "";
        return outcome.Status switch
        {
            ProcessStatus.Ok => $"--on-event: '{name}' succeeded",
            ProcessStatus.Failed => $"--on-event: '{name}' exited with code {outcome.ExitCode}{tail}",
            ProcessStatus.Killed => $"--on-event: '{name}' was killed after {_timeout.TotalSeconds:0.###}s{tail}",
            _ => $"--on-event: {outcome.Error}",
        };
    }
}

/// <summary>Finds an executable on a PATH, as execvp would, without running it.</summary>
internal static class ExecutableSearch
{
    /// <summary>
    /// <paramref name="name"/> itself when it holds a '/' (then it must exist and be executable), else the first
    /// executable file of that name in the directories of <paramref name="pathVariable"/> (empty entries skipped: the
    /// current directory is not searched); null when there is none.
    /// </summary>
    public static string? Find(string name, string? pathVariable)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0) return null;
        if (name.Contains('/', StringComparison.Ordinal) || (OperatingSystem.IsWindows() && name.Contains('\\', StringComparison.Ordinal)))
            return IsExecutable(name) ? name : null;
        if (string.IsNullOrEmpty(pathVariable)) return null;
        foreach (var dir in pathVariable.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (IsExecutable(candidate)) return candidate;
            if (OperatingSystem.IsWindows() && IsExecutable(candidate + ".exe")) return candidate + ".exe";
        }
        return null;
    }

    private static bool IsExecutable(string path)
    {
        if (!File.Exists(path)) return false;
        if (OperatingSystem.IsWindows()) return true;
        const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        return (File.GetUnixFileMode(path) & anyExecute) != 0;
    }
}
