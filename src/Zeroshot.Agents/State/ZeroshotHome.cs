namespace Zeroshot.Agents.State;

/// <summary>
/// Where zeroshot keeps its files: <c>$ZEROSHOT_HOME</c>, or <c>~/.zeroshot</c> when unset.
/// Layout: <c>state.db</c> (SQLite, see <see cref="StateStore"/>), <c>settings.json</c>,
/// <c>logs/&lt;cluster&gt;/&lt;agent&gt;.log</c>.
/// </summary>
/// <remarks>
/// One log file per agent per cluster; every iteration appends to the same file (the supervisor writes an
/// iteration marker line). One file keeps <c>zeroshot logs -f</c> a single tail and the agent's history in order.
/// Directories this class creates get mode 0700: prompts, logs and the control socket are private to the user.
/// </remarks>
internal sealed class ZeroshotHome
{
    /// <summary>Mode for directories we create: owner only (rwx------).</summary>
    private const UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public ZeroshotHome(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        Root = Path.GetFullPath(root);
    }

    /// <summary>The home directory (absolute). Not created until <see cref="EnsureCreated"/>.</summary>
    public string Root { get; }

    public string DatabasePath => Path.Combine(Root, "state.db");

    public string SettingsPath => Path.Combine(Root, "settings.json");

    public string LogsRoot => Path.Combine(Root, "logs");

    /// <summary>
    /// Resolves the home from the environment: <c>$ZEROSHOT_HOME</c> when set and non-empty, else
    /// <c>$HOME/.zeroshot</c>. <paramref name="getEnvironmentVariable"/> is injectable for tests.
    /// </summary>
    public static ZeroshotHome FromEnvironment(Func<string, string?>? getEnvironmentVariable = null)
    {
        getEnvironmentVariable ??= Environment.GetEnvironmentVariable;
        var explicitHome = getEnvironmentVariable("ZEROSHOT_HOME");
        if (!string.IsNullOrEmpty(explicitHome))
            return new ZeroshotHome(explicitHome);
        var home = getEnvironmentVariable("HOME");
        if (string.IsNullOrEmpty(home))
            home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (string.IsNullOrEmpty(home))
            throw new UserErrorException("cannot find a home directory: set ZEROSHOT_HOME or HOME", ExitCodes.Failure);
        return new ZeroshotHome(Path.Combine(home, ".zeroshot"));
    }

    /// <summary>Creates the root (0700) if missing and returns this. An existing directory keeps its mode.</summary>
    public ZeroshotHome EnsureCreated()
    {
        CreatePrivateDirectory(Root);
        return this;
    }

    /// <summary>logs/&lt;cluster&gt;/ — not created; see <see cref="EnsureLogDirectory"/>.</summary>
    public string LogDirectory(string clusterId) => Path.Combine(LogsRoot, CheckName(clusterId, nameof(clusterId)));

    /// <summary>Creates logs/ and logs/&lt;cluster&gt;/ (0700) and returns the latter.</summary>
    public string EnsureLogDirectory(string clusterId)
    {
        EnsureCreated();
        CreatePrivateDirectory(LogsRoot);
        var dir = LogDirectory(clusterId);
        CreatePrivateDirectory(dir);
        return dir;
    }

    /// <summary>logs/&lt;cluster&gt;/&lt;agent&gt;.log: one file per agent, all iterations appended.</summary>
    public string AgentLogPath(string clusterId, string agentId) =>
        Path.Combine(LogDirectory(clusterId), CheckName(agentId, nameof(agentId)) + ".log");

    private static void CreatePrivateDirectory(string path)
    {
        if (Directory.Exists(path))
            return;
        try
        {
            // CreateDirectory(path, mode) applies the mode (minus umask) to every directory it creates (mkdir(2)).
            if (OperatingSystem.IsWindows())
                Directory.CreateDirectory(path);
            else
                Directory.CreateDirectory(path, PrivateDirectory);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new UserErrorException($"cannot create {path}: {e.Message}", ExitCodes.Failure);
        }
    }

    // Ids are validated upstream (config loader, IdGenerator); a separator here would be a bug that escapes the tree.
    private static string CheckName(string name, string paramName)
    {
        ArgumentException.ThrowIfNullOrEmpty(name, paramName);
        if (name is "." or ".." || name.Contains('/') || name.Contains('\0'))
            throw new ArgumentException($"'{name}' is not a valid file name component", paramName);
        return name;
    }
}
