using System.Collections;

namespace Zeroshot.Agents.Pty;

/// <summary>The one copy of this process's environment that children start from.</summary>
internal static class ProcessEnvironment
{
    /// <summary>A snapshot of this process's environment variables (ordinal names, a missing value as empty), which
    /// the caller may change before handing it to <see cref="PtyStartInfo.Environment"/>.</summary>
    public static Dictionary<string, string> Snapshot()
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            variables[(string)entry.Key] = (string?)entry.Value ?? string.Empty;
        }

        return variables;
    }
}
