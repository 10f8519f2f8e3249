using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Zeroshot.Agents.Sim;

/// <summary>
/// The built-in simulated coding agent (provider <c>sim</c>, hidden command <c>zeroshot sim-agent</c>).
/// It prints Claude Code style stream-json and does real work so every monitor column moves: tool
/// subprocesses that burn CPU and write files, a loopback TCP stream while "thinking", and pauses.
/// The script (text, tokens, timings) comes from <see cref="SimScript.Build"/>; this class executes it.
/// </summary>
internal sealed class SimAgent
{
    /// <summary>The task prompt, echoed in the first assistant text.</summary>
    public const string PromptVariable = "ZEROSHOT_PROMPT";

    /// <summary>The 1-based cluster iteration, matched against <see cref="SimAgentOptions.RejectIterations"/>.</summary>
    public const string IterationVariable = "ZEROSHOT_ITERATION";

    /// <summary>The agent's role (worker or validator): validators review and give a verdict.</summary>
    public const string RoleVariable = "ZEROSHOT_AGENT_ROLE";

    /// <summary>The JSON file of the last rejection's issues, when the supervisor passes one.</summary>
    public const string FeedbackVariable = "ZEROSHOT_FEEDBACK_FILE";

    /// <summary>The issues listed in a feedback file (<c>{"rejections": [{"issues": […]}]}</c>); empty when there is none.</summary>
    internal static IReadOnlyList<string> ReadFeedbackIssues(string? path)
    {
        if (string.IsNullOrEmpty(path)) return [];
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
            var issues = new List<string>();
            if (document.RootElement.TryGetProperty("rejections", out var rejections) && rejections.ValueKind == System.Text.Json.JsonValueKind.Array)
                foreach (var rejection in rejections.EnumerateArray())
                    if (rejection.ValueKind == System.Text.Json.JsonValueKind.Object && rejection.TryGetProperty("issues", out var list)
                        && list.ValueKind == System.Text.Json.JsonValueKind.Array)
                        foreach (var issue in list.EnumerateArray())
                            if (issue.ValueKind == System.Text.Json.JsonValueKind.String) issues.Add(issue.GetString()!);
            return issues;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            return [];
        }
    }

    private readonly SimAgentOptions _options;
    private readonly Func<string, string?> _environment;
    private readonly TimeProvider _time;
    private readonly List<int> _toolPids = [];
    private LoopbackLink? _link;
    private long _sentAtClose;
    private long _receivedAtClose;

    /// <param name="options">Parsed options.</param>
    /// <param name="environment">Environment lookup (<see cref="Environment.GetEnvironmentVariable(string)"/> in production).</param>
    /// <param name="time">Clock for every delay and duration.</param>
    public SimAgent(SimAgentOptions options, Func<string, string?> environment, TimeProvider time)
    {
        _options = options;
        _environment = environment;
        _time = time;
    }

    /// <summary>Runs a sim with the process environment; see <see cref="RunAsync(Stream, CancellationToken)"/>.</summary>
    public static Task<int> RunAsync(SimAgentOptions options, Stream stdout, TimeProvider time, CancellationToken ct) =>
        new SimAgent(options, Environment.GetEnvironmentVariable, time).RunAsync(stdout, ct);

    /// <summary>
    /// Entry for the hidden <c>zeroshot sim-agent</c> command: parses <paramref name="optionsJson"/> (bad options
    /// throw <see cref="UserErrorException"/> before anything is printed), then runs on the process's stdout with
    /// the process environment and the system clock.
    /// </summary>
    public static async Task<int> RunFromCommandLineAsync(string? optionsJson, CancellationToken ct)
    {
        var options = SimAgentOptions.Parse(optionsJson);
        var stdout = Console.OpenStandardOutput();
        await using (stdout.ConfigureAwait(false))
            return await RunAsync(options, stdout, TimeProvider.System, ct).ConfigureAwait(false);
    }

    /// <summary>Bytes written on the loopback link by both ends (the sim's TCP tx).</summary>
    public long LoopbackBytesSent => _link?.BytesSent ?? Interlocked.Read(ref _sentAtClose);

    /// <summary>Bytes read on the loopback link by both ends (the sim's TCP rx).</summary>
    public long LoopbackBytesReceived => _link?.BytesReceived ?? Interlocked.Read(ref _receivedAtClose);

    /// <summary>Pids of the tool subprocesses started so far, in start order.</summary>
    public IReadOnlyList<int> ToolProcessIds
    {
        get
        {
            lock (_toolPids) return [.. _toolPids];
        }
    }

    /// <summary>The absolute workdir of the current or last run (null before it starts).</summary>
    public string? WorkDirectory { get; private set; }

    /// <summary>The script of the current or last run (null before it starts).</summary>
    public SimScript? Script { get; private set; }

    /// <summary>
    /// Runs the script, writing stream-json lines to <paramref name="stdout"/> (flushed per line). Returns the
    /// exit code: 0, the <c>exitCode</c> option, 1 in a rejected iteration, or <see cref="ExitCodes.Interrupted"/>
    /// when <paramref name="ct"/> is cancelled (tool subprocesses are killed, sockets closed, no result line).
    /// </summary>
    public async Task<int> RunAsync(Stream stdout, CancellationToken ct)
    {
        var prompt = _environment(PromptVariable) ?? "";
        var iteration = ParseIteration(_environment(IterationVariable));
        var seed = _options.Seed ?? Random.Shared.Next();
        var ownsDir = _options.Workdir is null;
        var dir = ownsDir ? Directory.CreateTempSubdirectory("zeroshot-sim-").FullName : CreateWorkdir(_options.Workdir!);
        WorkDirectory = dir;
        // Private scratch for the burn stop files, never inside a workdir the user may own.
        var controlDir = Directory.CreateTempSubdirectory("zeroshot-sim-ctl-").FullName;
        var validator = _environment(RoleVariable) == "validator";
        var script = SimScript.Build(_options, seed, prompt, iteration, dir, validator, ReadFeedbackIssues(_environment(FeedbackVariable)));
        Script = script;
        var start = _time.GetTimestamp();
        var api = TimeSpan.Zero;
        try
        {
            foreach (var step in script.Steps)
            {
                switch (step)
                {
                    case SimEmit e:
                        await WriteLineAsync(stdout, e.Line, ct).ConfigureAwait(false);
                        break;
                    case SimThink t:
                        var thinkStart = _time.GetTimestamp();
                        await ThinkAsync(t.Duration, ct).ConfigureAwait(false);
                        api += _time.GetElapsedTime(thinkStart);
                        break;
                    case SimPause p:
                        await Task.Delay(p.Duration, _time, ct).ConfigureAwait(false);
                        break;
                    case SimBash b:
                        var (output, exit) = await RunBashAsync(b, dir, controlDir, ct).ConfigureAwait(false);
                        await WriteLineAsync(stdout, SimStreamJson.ToolResult(b.ToolUseId, output, exit != 0, script.SessionId, b.ResultUuid), ct).ConfigureAwait(false);
                        break;
                    case SimWrite w:
                        await WriteFileAsync(w, ct).ConfigureAwait(false);
                        await WriteLineAsync(stdout, SimStreamJson.ToolResult(w.ToolUseId, $"File created successfully at: {w.FilePath}", false, script.SessionId, w.ResultUuid), ct).ConfigureAwait(false);
                        break;
                    case SimBurn:
                        // A busy loop on this thread, as a CLI caught in one: only cancellation ends it.
                        while (!ct.IsCancellationRequested) Thread.SpinWait(50_000);
                        ct.ThrowIfCancellationRequested();
                        break;
                    case SimRead r:
                        await ReadAllAsync(r.Endpoint, ct).ConfigureAwait(false);
                        break;
                    case SimHang:
                        // Silent and idle: no timer fires, no thread spins, until the run is cancelled or killed.
                        await Task.Delay(Timeout.InfiniteTimeSpan, _time, ct).ConfigureAwait(false);
                        break;
                    default:
                        throw new InvalidOperationException($"unknown sim step {step.GetType().Name}");
                }
            }
            var elapsed = _time.GetElapsedTime(start);
            await WriteLineAsync(stdout, script.ResultLine((long)elapsed.TotalMilliseconds, (long)api.TotalMilliseconds), ct).ConfigureAwait(false);
            return script.ExitCode;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return ExitCodes.Interrupted;
        }
        finally
        {
            if (_link is { } link)
            {
                await link.DisposeAsync().ConfigureAwait(false);
                Interlocked.Exchange(ref _sentAtClose, link.BytesSent);
                Interlocked.Exchange(ref _receivedAtClose, link.BytesReceived);
                _link = null;
            }
            TryDelete(controlDir);
            if (ownsDir) TryDelete(dir);
        }
    }

    /// <summary>A model request that reads whatever the server sends, however slowly, until it closes the connection.</summary>
    private static async Task ReadAllAsync(string endpoint, CancellationToken ct)
    {
        int colon = endpoint.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(endpoint.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port))
            throw new UserErrorException($"sim option 'readFrom' must be host:port, got '{endpoint}'", ExitCodes.Usage);
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(endpoint[..colon], port, ct).ConfigureAwait(false);
        var stream = client.GetStream();
        var buffer = new byte[4096];
        while (await stream.ReadAsync(buffer, ct).ConfigureAwait(false) > 0)
        {
        }
    }

    private static int ParseIteration(string? value)
    {
        if (string.IsNullOrEmpty(value)) return 1;
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i >= 1) return i;
        throw new UserErrorException($"{IterationVariable} must be a positive integer, got '{value}'", ExitCodes.Usage);
    }

    private static string CreateWorkdir(string path)
    {
        try
        {
            return Directory.CreateDirectory(Path.GetFullPath(path)).FullName;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserErrorException($"sim workdir '{path}' cannot be created: {e.Message}", ExitCodes.Failure);
        }
    }

    private static void TryDelete(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A leftover temp dir is harmless; the run's outcome must not depend on it.
        }
    }

    private static async Task WriteLineAsync(Stream stdout, string line, CancellationToken ct)
    {
        var bytes = Encoding.UTF8.GetBytes(line + "\n");
        await stdout.WriteAsync(bytes, ct).ConfigureAwait(false);
        await stdout.FlushAsync(ct).ConfigureAwait(false);
    }

    private async Task ThinkAsync(TimeSpan duration, CancellationToken ct)
    {
        if (_options.NetworkKBps <= 0)
        {
            await Task.Delay(duration, _time, ct).ConfigureAwait(false);
            return;
        }
        _link ??= await LoopbackLink.OpenAsync(ct).ConfigureAwait(false);
        await _link.StreamAsync(duration, _options.NetworkKBps, _time, ct).ConfigureAwait(false);
    }

    private async Task<(string Output, int ExitCode)> RunBashAsync(SimBash step, string dir, string controlDir, CancellationToken ct)
    {
        var start = _time.GetTimestamp();
        var psi = new ProcessStartInfo("/bin/sh")
        {
            WorkingDirectory = dir,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(SimScript.WithBurn(step.Command));
        var burn = step.Budget * _options.Cpu;
        var stopFile = Path.Combine(controlDir, $"burn-{step.ToolUseId}.stop");
        psi.Environment[SimScript.BurnVariable] = burn > TimeSpan.Zero ? SimScript.BurnScript(stopFile) : "";

        using var process = Process.Start(psi) ?? throw new InvalidOperationException("/bin/sh did not start");
        lock (_toolPids) _toolPids.Add(process.Id);
        process.StandardInput.Close();
        var stdoutTask = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderrTask = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            if (burn > TimeSpan.Zero)
            {
                await Task.Delay(burn, _time, ct).ConfigureAwait(false);
                await File.WriteAllBytesAsync(stopFile, [], ct).ConfigureAwait(false);
            }
            await process.WaitForExitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // SIGKILL the tool and anything it started (dd), then reap it so no zombie outlives the run.
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It exited between the cancellation and the kill.
            }
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        var output = (await stdoutTask.ConfigureAwait(false) + await stderrTask.ConfigureAwait(false)).TrimEnd('\n');
        var left = step.Budget - _time.GetElapsedTime(start);
        if (left > TimeSpan.Zero) await Task.Delay(left, _time, ct).ConfigureAwait(false);
        return (output, process.ExitCode);
    }

    private static async Task WriteFileAsync(SimWrite step, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(step.FilePath)!);
        var stream = new FileStream(step.FilePath, FileMode.Create, FileAccess.Write, FileShare.Read, 4096, useAsync: false);
        await using (stream.ConfigureAwait(false))
        {
            await stream.WriteAsync(Encoding.UTF8.GetBytes(step.Content), ct).ConfigureAwait(false);
            // fsync(2): make the bytes reach the storage layer so disk write counters move, as an editor's save would.
            stream.Flush(flushToDisk: true);
        }
    }
}
