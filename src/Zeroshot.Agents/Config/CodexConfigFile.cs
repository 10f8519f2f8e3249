namespace Zeroshot.Agents.Config;

/// <summary>
/// What Zeroshot reads from Codex's own <c>$CODEX_HOME/config.toml</c> (default <c>~/.codex</c>): the model it will
/// use when the agent names none. <c>codex exec --json</c> never prints its model, and pricing a gpt-5 run at the
/// default (Claude Sonnet) rates over-states its cost about twofold.
/// </summary>
internal static class CodexConfigFile
{
    /// <summary>Longest config file read; a bigger one is not Codex's.</summary>
    private const int MaxBytes = 1 << 20;

    /// <summary>The config file for an agent environment: <c>CODEX_HOME</c> from <paramref name="env"/>, else this process's, else <c>~/.codex</c>.</summary>
    public static string PathFor(IReadOnlyDictionary<string, string>? env)
    {
        string? home = env is not null && env.TryGetValue("CODEX_HOME", out var h) ? h : Environment.GetEnvironmentVariable("CODEX_HOME");
        if (string.IsNullOrEmpty(home))
            home = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".codex");
        return Path.Combine(home, "config.toml");
    }

    /// <summary>The top-level <c>model</c> of the config file, or null (no file, no key, unreadable).</summary>
    public static string? ReadModel(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists || info.Length > MaxBytes)
                return null;
            return ParseModel(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// The value of the top-level key <c>model</c> (before the first table header), as a TOML basic or literal
    /// string; null when absent. Only this one key is read: a full TOML parser is not needed for it.
    /// </summary>
    internal static string? ParseModel(string toml)
    {
        foreach (var raw in toml.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith('['))
                return null; // keys after a table header belong to that table
            if (!line.StartsWith("model", StringComparison.Ordinal))
                continue;
            var rest = line[5..].TrimStart();
            if (!rest.StartsWith('='))
                continue;
            rest = rest[1..].Trim();
            if (rest.Length < 2 || rest[0] is not ('"' or '\''))
                return null;
            int end = rest.IndexOf(rest[0], 1);
            return end > 1 ? rest[1..end] : null;
        }
        return null;
    }
}
