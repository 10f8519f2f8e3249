namespace Zeroshot.Agents.Supervision;

/// <summary>Finds a Codex session's rollout file: <c>$CODEX_HOME/sessions/YYYY/MM/DD/rollout-&lt;time&gt;-&lt;thread id&gt;.jsonl</c>
/// (field notes). Only threads that are sessions have one (a side thread, such as the title's, has none).</summary>
internal static class CodexRollouts
{
    /// <summary>How many of the newest day folders are searched (a session started before midnight ends after it).</summary>
    private const int RecentDays = 3;

    /// <summary>The rollout file of thread <paramref name="threadId"/> under <paramref name="codexHome"/>, or null.</summary>
    public static string? Find(string codexHome, string threadId)
    {
        if (threadId.Length == 0 || threadId.AsSpan().ContainsAny(['/', '\0', '*', '?'])) return null;
        try
        {
            var sessions = Path.Combine(codexHome, "sessions");
            if (!Directory.Exists(sessions)) return null;
            // Newest first by name (the folders are zero-padded numbers), a few days deep: never the whole history.
            var days = Directory.EnumerateDirectories(sessions).OrderDescending(StringComparer.Ordinal).Take(2)
                .SelectMany(y => Directory.EnumerateDirectories(y).OrderDescending(StringComparer.Ordinal).Take(2))
                .SelectMany(m => Directory.EnumerateDirectories(m).OrderDescending(StringComparer.Ordinal).Take(RecentDays))
                .Take(RecentDays);
            foreach (var day in days)
                if (Directory.EnumerateFiles(day, $"rollout-*-{threadId}.jsonl").FirstOrDefault() is { } found)
                    return found;
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
