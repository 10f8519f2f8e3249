using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Zeroshot.TestModelServer;

/// <summary>The real agent CLIs the tests drive.</summary>
public enum AgentCli
{
    /// <summary>Claude Code (<c>@anthropic-ai/claude-code</c>).</summary>
    Claude,

    /// <summary>Codex (<c>@openai/codex</c>).</summary>
    Codex,

    /// <summary>Gemini CLI (<c>@google/gemini-cli</c>).</summary>
    Gemini,
}

/// <summary>
/// Where the pinned real CLIs are (<c>$ZEROSHOT_AGENT_CLIS</c>, else <c>$HOME/.cache/zeroshot/agent-clis</c>, as
/// installed by <c>.ci/install-agent-clis</c>) and isolated environments to run them against a <see cref="ModelServer"/>.
/// </summary>
public static partial class RealAgentClis
{
    /// <summary>The install folder (holds package.json and node_modules).</summary>
    public static string InstallRoot =>
        Environment.GetEnvironmentVariable("ZEROSHOT_AGENT_CLIS") is { Length: > 0 } dir
            ? dir
            : Path.Combine(HomeDirectory, ".cache", "zeroshot", "agent-clis");

    /// <summary>node_modules/.bin of <see cref="InstallRoot"/>.</summary>
    public static string BinDirectory => Path.Combine(InstallRoot, "node_modules", ".bin");

    internal static string HomeDirectory =>
        Environment.GetEnvironmentVariable("HOME") is { Length: > 0 } home ? home : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    /// <summary>The executable's name in node_modules/.bin.</summary>
    public static string BinaryName(AgentCli cli) => cli switch
    {
        AgentCli.Claude => "claude",
        AgentCli.Codex => "codex",
        _ => "gemini",
    };

    /// <summary>Full path of the CLI; throws (failing the test, never skipping it) when it is not installed.</summary>
    public static string Locate(AgentCli cli) => Locate(cli, InstallRoot);

    /// <summary>Full path of the CLI under <paramref name="installRoot"/>; throws when it is not installed there.</summary>
    public static string Locate(AgentCli cli, string installRoot)
    {
        var path = Path.Combine(installRoot, "node_modules", ".bin", BinaryName(cli));
        if (!File.Exists(path))
            throw new InvalidOperationException(
                $"{BinaryName(cli)} is not installed at {path}: run .ci/install-agent-clis (or set ZEROSHOT_AGENT_CLIS to its install folder)");
        return path;
    }

    /// <summary>An isolated home, config and working directory for <paramref name="cli"/>, pointed at <paramref name="server"/>.</summary>
    public static AgentSandbox Sandbox(AgentCli cli, ModelServer server, AgentSandboxOptions? options = null) =>
        new(cli, server, options ?? new AgentSandboxOptions());

    /// <summary>Whether this process runs as root (Claude Code then refuses to bypass permissions unless IS_SANDBOX=1).</summary>
    public static bool IsRoot => GetEuid() == 0;

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();
}

/// <summary>Options of an <see cref="AgentSandbox"/>.</summary>
public sealed record AgentSandboxOptions
{
    /// <summary>API key the CLI sends: also the <see cref="ModelServer"/> route whose script answers it.</summary>
    public string ApiKey { get; init; } = "sk-zeroshot-test-key-0123456789abcdefghij";

    /// <summary>Retries after an API error (Claude <c>CLAUDE_CODE_MAX_RETRIES</c>; Codex request/stream retries;
    /// Gemini has no such setting). Null: the CLI's default (Claude retries 10 times over minutes).</summary>
    public int? MaxRetries { get; init; } = 2;

    /// <summary>Codex: how long a stream may stay silent before Codex gives up on it.</summary>
    public TimeSpan? StreamIdleTimeout { get; init; }

    /// <summary>Codex model slug (must be one Codex has metadata for, else it errors about missing model metadata).</summary>
    public string CodexModel { get; init; } = "gpt-5.5";

    /// <summary>Extra environment variables (override the sandbox's).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>Extra lines appended to Codex's config.toml.</summary>
    public string? CodexConfigExtra { get; init; }
}

/// <summary>
/// A throw-away environment for one real CLI: a root folder under <c>$HOME/.cache/zeroshot/test-homes</c> (not /tmp:
/// Codex warns when CODEX_HOME is under /tmp) with a home, the CLI's seeded configuration, and a working directory.
/// The environment is built from scratch (nothing from the test process leaks in but PATH and the locale), and
/// every proxy variable points at a closed loopback port with only 127.0.0.1 exempt, so any traffic to the
/// vendor fails fast instead of leaving the machine.
/// </summary>
public sealed class AgentSandbox : IDisposable
{
    private readonly Dictionary<string, string> _environment = new(StringComparer.Ordinal);

    internal AgentSandbox(AgentCli cli, ModelServer server, AgentSandboxOptions options)
    {
        Cli = cli;
        Server = server;
        Options = options;
        Executable = RealAgentClis.Locate(cli);
        Root = Path.Combine(RealAgentClis.HomeDirectory, ".cache", "zeroshot", "test-homes", $"{RealAgentClis.BinaryName(cli)}-{Guid.NewGuid():N}");
        Home = Path.Combine(Root, "home");
        WorkDir = Path.Combine(Root, "work");
        Directory.CreateDirectory(Home);
        Directory.CreateDirectory(WorkDir);

        var path = $"{RealAgentClis.BinDirectory}:{System.Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin"}";
        _environment["PATH"] = path;
        _environment["HOME"] = Home;
        _environment["USER"] = System.Environment.UserName;
        _environment["LANG"] = "C.UTF-8";
        _environment["TERM"] = "dumb";
        _environment["TMPDIR"] = Path.Combine(Root, "tmp");
        Directory.CreateDirectory(_environment["TMPDIR"]);
        foreach (var name in new[] { "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy" })
            _environment[name] = "http://127.0.0.1:9";
        _environment["NO_PROXY"] = _environment["no_proxy"] = "127.0.0.1,localhost";

        switch (cli)
        {
            case AgentCli.Claude:
                SeedClaude();
                break;
            case AgentCli.Codex:
                SeedCodex();
                break;
            case AgentCli.Gemini:
                SeedGemini();
                break;
        }
        foreach (var (k, v) in options.Environment)
            _environment[k] = v;
    }

    /// <summary>The CLI.</summary>
    public AgentCli Cli { get; }

    /// <summary>The server it talks to.</summary>
    public ModelServer Server { get; }

    /// <summary>Options used.</summary>
    public AgentSandboxOptions Options { get; }

    /// <summary>Full path of the CLI.</summary>
    public string Executable { get; }

    /// <summary>Root folder, deleted on dispose.</summary>
    public string Root { get; }

    /// <summary>HOME of the CLI.</summary>
    public string Home { get; }

    /// <summary>Working directory to run the CLI in (empty, not a git repository).</summary>
    public string WorkDir { get; }

    /// <summary>Claude: CLAUDE_CONFIG_DIR; Codex: CODEX_HOME; Gemini: $HOME/.gemini.</summary>
    public string ConfigDir { get; private set; } = "";

    /// <summary>The complete environment the CLI gets.</summary>
    public IReadOnlyDictionary<string, string> Environment => _environment;

    private void SeedClaude()
    {
        ConfigDir = Path.Combine(Home, ".claude");
        Directory.CreateDirectory(ConfigDir);
        _environment["ANTHROPIC_BASE_URL"] = Server.BaseUrl;
        _environment["ANTHROPIC_API_KEY"] = Options.ApiKey;
        _environment["CLAUDE_CONFIG_DIR"] = ConfigDir;
        _environment["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1";
        _environment["DISABLE_AUTOUPDATER"] = "1";
        _environment["DISABLE_TELEMETRY"] = "1";
        _environment["DISABLE_ERROR_REPORTING"] = "1";
        if (Options.MaxRetries is { } retries)
            _environment["CLAUDE_CODE_MAX_RETRIES"] = retries.ToString(System.Globalization.CultureInfo.InvariantCulture);
        // As root, --dangerously-skip-permissions / bypassPermissions are refused unless IS_SANDBOX=1 (field notes).
        if (RealAgentClis.IsRoot)
            _environment["IS_SANDBOX"] = "1";
        // Without this seed Claude Code tries to reach the vendor for onboarding and exits 1 (field notes):
        // onboarding done, the custom key approved (its last 20 characters), the sandbox root trusted.
        string key = Options.ApiKey;
        var seed = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["hasCompletedOnboarding"] = true,
            ["lastOnboardingVersion"] = "2.1.332",
            ["numStartups"] = 1,
            ["customApiKeyResponses"] = new { approved = new[] { key.Length > 20 ? key[^20..] : key }, rejected = Array.Empty<string>() },
            ["projects"] = new Dictionary<string, object>
            {
                [Root] = new { hasTrustDialogAccepted = true, hasCompletedProjectOnboarding = true, allowedTools = Array.Empty<string>() },
            },
        });
        File.WriteAllText(Path.Combine(Home, ".claude.json"), seed);
        File.WriteAllText(Path.Combine(ConfigDir, ".claude.json"), seed);
    }

    private void SeedCodex()
    {
        ConfigDir = Path.Combine(Root, "codex-home");
        Directory.CreateDirectory(ConfigDir);
        _environment["CODEX_HOME"] = ConfigDir;
        _environment["ZEROSHOT_TEST_OPENAI_KEY"] = Options.ApiKey;
        var toml = new StringBuilder();
        toml.AppendLine($"model = \"{Options.CodexModel}\"");
        toml.AppendLine("model_provider = \"zeroshot_test\"");
        toml.AppendLine();
        toml.AppendLine("[model_providers.zeroshot_test]");
        toml.AppendLine("name = \"Zeroshot test model server\"");
        toml.AppendLine($"base_url = \"{Server.BaseUrl}/v1\"");
        toml.AppendLine("wire_api = \"responses\"");
        toml.AppendLine("env_key = \"ZEROSHOT_TEST_OPENAI_KEY\"");
        if (Options.MaxRetries is { } retries)
        {
            toml.AppendLine($"request_max_retries = {retries}");
            toml.AppendLine($"stream_max_retries = {retries}");
        }
        if (Options.StreamIdleTimeout is { } idle)
            toml.AppendLine($"stream_idle_timeout_ms = {(long)idle.TotalMilliseconds}");
        if (Options.CodexConfigExtra is { } extra)
            toml.AppendLine().AppendLine(extra);
        File.WriteAllText(Path.Combine(ConfigDir, "config.toml"), toml.ToString());
    }

    private void SeedGemini()
    {
        ConfigDir = Path.Combine(Home, ".gemini");
        Directory.CreateDirectory(ConfigDir);
        _environment["GEMINI_API_KEY"] = Options.ApiKey;
        _environment["GOOGLE_GEMINI_BASE_URL"] = Server.BaseUrl;
        _environment["GEMINI_TELEMETRY_ENABLED"] = "false";
        // Without a selected auth type, gemini -p exits 41 ("Invalid auth method selected").
        var settings = JsonSerializer.Serialize(new
        {
            security = new { auth = new { selectedType = "gemini-api-key" } },
            privacy = new { usageStatisticsEnabled = false },
            general = new { enableAutoUpdate = false, enableAutoUpdateNotification = false },
        });
        File.WriteAllText(Path.Combine(ConfigDir, "settings.json"), settings);
        // The TUI asks whether to trust the working folder (then restarts itself to apply the answer): answered in
        // advance, as a person who trusted it once would have (`gemini -p` is given --skip-trust instead).
        File.WriteAllText(Path.Combine(ConfigDir, "trustedFolders.json"),
            JsonSerializer.Serialize(new Dictionary<string, string> { [WorkDir] = "TRUST_FOLDER" }));
    }

    /// <summary>A start info for the CLI with <paramref name="arguments"/>, in <see cref="WorkDir"/>, with exactly <see cref="Environment"/>.</summary>
    public ProcessStartInfo StartInfo(IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(Executable)
        {
            WorkingDirectory = WorkDir,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        info.Environment.Clear();
        foreach (var (k, v) in _environment)
            info.Environment[k] = v;
        return info;
    }

    /// <summary>Runs the CLI to its end (or kills its tree after <paramref name="timeout"/>), feeding <paramref name="stdin"/>.</summary>
    /// <remarks>Stdout is read line by line as it comes: <see cref="AgentRun.Timeline"/> has each line's arrival time.</remarks>
    /// <param name="arguments">The CLI's arguments.</param>
    /// <param name="stdin">Written to stdin, which is then closed (closed at once when null).</param>
    /// <param name="timeout">Kills the process tree after this long (default 90 s: runs take 1–25 s, but Gemini alone
    /// took 44 s to start on a 2-core machine at load average 18).</param>
    /// <param name="kill">Kills the process tree when cancelled (e.g. some time after a condition); counts as timed out.</param>
    public async Task<AgentRun> RunAsync(IEnumerable<string> arguments, string? stdin = null, TimeSpan? timeout = null, CancellationToken kill = default)
    {
        var args = arguments.ToList();
        var info = StartInfo(args);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {Executable}");
        var timeline = new List<(TimeSpan At, string Line)>();
        var stdout = Task.Run(async () =>
        {
            var all = new StringBuilder();
            while (await process.StandardOutput.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                timeline.Add((clock.Elapsed, line));
                all.Append(line).Append('\n');
            }
            return all.ToString();
        });
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            if (stdin is not null)
                await process.StandardInput.WriteAsync(stdin).ConfigureAwait(false);
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The CLI does not read stdin and already exited.
        }
        bool timedOut = false;
        using (var cts = CancellationTokenSource.CreateLinkedTokenSource(kill))
        {
            cts.CancelAfter(timeout ?? TimeSpan.FromSeconds(90));
            try
            {
                await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                timedOut = true;
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync().ConfigureAwait(false);
            }
        }
        var output = await stdout.ConfigureAwait(false);
        return new AgentRun(args, process.ExitCode, output, await stderr.ConfigureAwait(false), timedOut, clock.Elapsed) { Timeline = timeline };
    }

    /// <summary>Deletes <see cref="Root"/>, retrying for up to 2 s: a shell the CLI started may still be writing
    /// (a leftover <c>home/.bash_history</c> was seen once).</summary>
    public void Dispose()
    {
        var deadline = DateTime.UtcNow.AddSeconds(2);
        while (Directory.Exists(Root))
        {
            try
            {
                Directory.Delete(Root, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                if (DateTime.UtcNow > deadline)
                    return;
                using var pause = new ManualResetEventSlim();
                pause.Wait(100);
            }
        }
    }
}

/// <summary>How a CLI run ended and what it wrote.</summary>
public sealed record AgentRun(IReadOnlyList<string> Arguments, int ExitCode, string Stdout, string Stderr, bool TimedOut, TimeSpan Elapsed)
{
    /// <summary>Each stdout line with the time it arrived, from the start of the process.</summary>
    public IReadOnlyList<(TimeSpan At, string Line)> Timeline { get; init; } = [];

    /// <summary>Stdout lines that are JSON objects, parsed.</summary>
    public IReadOnlyList<JsonElement> JsonLines
    {
        get
        {
            var list = new List<JsonElement>();
            foreach (var line in Stdout.Split('\n'))
            {
                var trimmed = line.Trim();
                if (!trimmed.StartsWith('{'))
                    continue;
                try
                {
                    list.Add(JsonDocument.Parse(trimmed).RootElement.Clone());
                }
                catch (JsonException)
                {
                }
            }
            return list;
        }
    }

    /// <summary>JSON lines whose <c>type</c> is <paramref name="type"/> (and <c>subtype</c> if given).</summary>
    public IReadOnlyList<JsonElement> OfType(string type, string? subtype = null) =>
        [.. JsonLines.Where(l => l.TryGetProperty("type", out var t) && t.GetString() == type
            && (subtype is null || (l.TryGetProperty("subtype", out var s) && s.GetString() == subtype)))];

    /// <summary>A one-paragraph description for assertion messages.</summary>
    public override string ToString() =>
        $"exit {ExitCode}{(TimedOut ? " (timed out)" : "")} after {Elapsed.TotalSeconds:F1}s\n--- stdout ---\n{Cut(Stdout)}\n--- stderr ---\n{Cut(Stderr)}";

    private static string Cut(string text) => text.Length > 6000 ? text[..3000] + "\n…\n" + text[^3000..] : text;
}
