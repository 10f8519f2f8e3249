namespace Zeroshot.Agents.Output;

/// <summary>
/// Plain-text refusals with which an agent CLI declines to start, and what the person should do about each, in
/// one line. Matched on the CLI's own wording (measured with the pinned versions the tests install).
/// </summary>
internal static class CliRefusal
{
    private static readonly (string Sign, string Advice)[] Known =
    [
        // Claude Code as root (2.1.x): "--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons".
        ("cannot be used with root/sudo privileges",
            "Claude Code refuses --permission-mode bypassPermissions as root: run zeroshot as a normal user, or set IS_SANDBOX=1 in the agent's \"env\" if this machine is a disposable sandbox, or give the claude provider another --permission-mode in settings.json"),
        // Codex outside a git repository without --skip-git-repo-check.
        ("Not inside a trusted directory",
            "Codex refuses to run outside a git repository: add --skip-git-repo-check to the codex provider's command in settings.json (the default has it), or run the agent in a git repository"),
        // Gemini CLI 0.61 in an untrusted folder, headless: exit 55.
        ("is not running in a trusted directory",
            "Gemini CLI refuses an untrusted folder when headless: add --skip-trust to the gemini provider's command in settings.json (the default has it), or set GEMINI_CLI_TRUST_WORKSPACE=true in the agent's \"env\""),
        ("Please set an Auth method",
            "Gemini CLI has no credentials: set GEMINI_API_KEY in the agent's \"env\" or the environment"),
    ];

    /// <summary>
    /// Gemini CLI's retry line on stderr (0.61): "Attempt 2 failed with status 500. Retrying with backoff... _ApiError:
    /// {"error":{"code":500,"message":"An internal error has occurred.",…}}": the retry ("500 attempt 2") and the
    /// error ("500 An internal error has occurred."), or null for other lines.
    /// </summary>
    public static (string Detail, string Error)? GeminiRetry(string line)
    {
        var match = System.Text.RegularExpressions.Regex.Match(line, @"^Attempt (\d+) failed(?: with status (\d{3}))?\. Retrying",
            System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromMilliseconds(50));
        if (!match.Success)
            return null;
        var status = match.Groups[2].Success ? match.Groups[2].Value : null;
        var message = System.Text.RegularExpressions.Regex.Match(line, "\"message\":\"((?:[^\"\\\\]|\\\\.)*)\"",
            System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromMilliseconds(50));
        var error = (status is null ? "" : status + " ") + (message.Success ? message.Groups[1].Value : "request failed");
        return ((status is null ? "" : status + " ") + "attempt " + match.Groups[1].Value, error);
    }

    /// <summary>The advice for a refusal line, or null when <paramref name="line"/> is not one.</summary>
    public static string? Explain(string line)
    {
        foreach (var (sign, advice) in Known)
            if (line.Contains(sign, StringComparison.Ordinal))
                return advice;
        return null;
    }
}
