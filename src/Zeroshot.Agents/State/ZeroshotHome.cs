namespace Zeroshot.Agents.State;

/// <summary>
/// Where zeroshot keeps its files: <c>$ZEROSHOT_HOME</c>, or <c>~/.zeroshot</c> when unset.
/// Layout: <c>state.db</c> (SQLite, see <see cref="StateStore"/>), <c>settings.json</c>,
/// <c>logs/&lt;cluster&gt;/&lt;agent&gt;.log</c>.
/// </summary>
/// <remarks>
/// One log file per agent per cluster; every iteration appends to the same file (the supervisor writes an
/// iteration marker line). One file keeps <c>zeroshot logs -f</c> a single tail and the agent's history in order.
/// Directories get mode 0700 and files 0600 (<see cref="PrivateFiles"/>): prompts, logs and secrets are private to the user.
/// </remarks>
internal sealed class ZeroshotHome
{
    /// <param name="root">The home directory.</param>
    /// <param name="notice">Receives one-line notices (an existing directory made private); null drops them.</param>
    public ZeroshotHome(string root, Action<string>? notice = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        Root = Path.GetFullPath(root);
        Notice = notice;
    }

    /// <summary>Where one-line notices go (the CLI: stderr, prefixed "zeroshot: ").</summary>
    public Action<string>? Notice { get; }

    /// <summary>The home directory (absolute). Not created until <see cref="EnsureCreated"/>.</summary>
    public string Root { get; }

    public string DatabasePath => Path.Combine(Root, "state.db");

    public string SettingsPath => Path.Combine(Root, "settings.json");

    public string LogsRoot => Path.Combine(Root, "logs");

    /// <summary>
    /// Resolves the home from the environment: <c>$ZEROSHOT_HOME</c> when set and non-empty, else
    /// <c>$HOME/.zeroshot</c>. <paramref name="getEnvironmentVariable"/> is injectable for tests.
    /// </summary>
    public static ZeroshotHome FromEnvironment(Func<string, string?>? getEnvironmentVariable = null, Action<string>? notice = null)
    {
        getEnvironmentVariable ??= Environment.GetEnvironmentVariable;
        var explicitHome = getEnvironmentVariable("ZEROSHOT_HOME");
        if (!string.IsNullOrEmpty(explicitHome))
            return new ZeroshotHome(explicitHome, notice);
        var home = getEnvironmentVariable("HOME");
        if (string.IsNullOrEmpty(home))
            home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (string.IsNullOrEmpty(home))
            throw new UserErrorException("cannot find a home directory: set ZEROSHOT_HOME or HOME", ExitCodes.Failure);
        return new ZeroshotHome(Path.Combine(home, ".zeroshot"), notice);
    }

    /// <summary>
    /// Creates the root (0700) if missing and returns this. An existing root that others can read is made 0700 (with a
    /// notice), one owned by another user refused (<see cref="PrivateFiles.SecureExistingDirectory"/>).
    /// </summary>
    public ZeroshotHome EnsureCreated()
    {
        PrivateFiles.EnsureDirectory(Root, Notice);
        return this;
    }

    /// <summary>logs/&lt;cluster&gt;/ — not created; see <see cref="EnsureLogDirectory"/>.</summary>
    public string LogDirectory(string clusterId) => Path.Combine(LogsRoot, CheckName(clusterId, nameof(clusterId)));

    /// <summary>Creates logs/ and logs/&lt;cluster&gt;/ (0700) and returns the latter.</summary>
    public string EnsureLogDirectory(string clusterId)
    {
        EnsureCreated();
        PrivateFiles.EnsureDirectory(LogsRoot, Notice);
        var dir = LogDirectory(clusterId);
        PrivateFiles.EnsureDirectory(dir, Notice);
        return dir;
    }

    /// <summary>logs/&lt;cluster&gt;/&lt;agent&gt;.log: one file per agent, all iterations appended.</summary>
    public string AgentLogPath(string clusterId, string agentId) =>
        Path.Combine(LogDirectory(clusterId), CheckName(agentId, nameof(agentId)) + ".log");

    // Ids are validated upstream (config loader, IdGenerator); a separator here would be a bug that escapes the tree.
    private static string CheckName(string name, string paramName)
    {
        ArgumentException.ThrowIfNullOrEmpty(name, paramName);
        if (name is "." or ".." || name.Contains('/') || name.Contains('\0'))
            throw new ArgumentException($"'{name}' is not a valid file name component", paramName);
        return name;
    }
}
