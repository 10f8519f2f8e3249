namespace Zeroshot.Agents.Config;

/// <summary>Built-in clusters: what <c>zeroshot run "prompt"</c>, <c>zeroshot task</c> and the demo start.</summary>
/// <remarks>Tests round-trip every template through <see cref="ClusterConfigLoader"/>, so none can say what a file may not.</remarks>
internal static class ClusterTemplates
{
    /// <summary>Instructions of the default validator, appended to the cluster prompt.</summary>
    /// <remarks>
    /// Provider CLIs (claude -p, codex exec) exit 0 whatever the model concludes, so the verdict is asked for as a
    /// last line the supervisor can read; a <c>command</c> validator reports by its exit status instead.
    /// </remarks>
    public const string ReviewPrompt =
        "You are the validator. Review the change the worker just made for the task above: read the diff, run the " +
        "relevant tests, and check that the task is fully and correctly done. If there are problems, list each one " +
        "concretely. End your reply with a last line that is exactly APPROVED or exactly REJECTED.";

    /// <summary>One worker and one validator (after the worker) on <paramref name="provider"/> (default claude).</summary>
    public static ClusterConfig DefaultForPrompt(string prompt, string? provider = null, string? model = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(prompt);
        provider ??= ProviderCatalog.Claude;
        CheckProvider(provider);
        return new ClusterConfig(
            NameFromPrompt(prompt),
            prompt,
            ClusterConfig.DefaultMaxIterations,
            [
                new AgentConfig("worker", AgentRole.Worker, provider, Model: model),
                new AgentConfig("validator", AgentRole.Validator, provider, Model: model, Prompt: ReviewPrompt, After: ["worker"]),
            ]);
    }

    /// <summary>A one-agent cluster of kind task.</summary>
    public static ClusterConfig Task(string prompt, string? provider = null, string? model = null, string? cwd = null, bool interactive = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(prompt);
        provider ??= ProviderCatalog.Claude;
        CheckProvider(provider);
        if (interactive && provider == ProviderCatalog.Sim)
            throw new UserErrorException("--interactive needs a provider with a TUI (claude, codex or gemini); sim has none", ExitCodes.Usage);
        return new ClusterConfig(
            NameFromPrompt(prompt),
            prompt,
            1,
            [new AgentConfig("worker", AgentRole.Worker, provider, Model: model, Cwd: cwd is null ? null : Path.GetFullPath(cwd)) { Interactive = interactive }],
            ClusterKind.Task);
    }

    /// <summary>The cluster file of the built-in demo (see <see cref="Demo"/>).</summary>
    public const string DemoJson = """
        {
          "name": "demo",
          "prompt": "Add input validation to the signup form and cover it with tests.",
          "maxIterations": 3,
          "agents": [
            { "id": "worker", "role": "worker", "provider": "sim",
              "options": { "durationSeconds": 12, "seed": 1 } },
            { "id": "reviewer", "role": "validator", "provider": "sim", "after": ["worker"],
              "prompt": "Review the change for correctness and style.",
              "options": { "durationSeconds": 8, "seed": 2 } },
            { "id": "tester", "role": "validator", "provider": "sim", "after": ["worker"],
              "prompt": "Run the tests and reject if any fail.",
              "options": { "durationSeconds": 8, "seed": 3, "rejectIterations": [1] } }
          ]
        }
        """;

    /// <summary>
    /// The demo: a sim worker (~12 s) and two sim validators (~8 s, in parallel after it). The tester rejects
    /// iteration 1, so the cluster runs a second iteration and completes after about 40 s. Needs no API keys.
    /// </summary>
    public static ClusterConfig Demo() => ClusterConfigLoader.LoadFromJson(DemoJson, "built-in demo");

    private static void CheckProvider(string provider)
    {
        if (!ProviderCatalog.IsKnownProvider(provider))
            throw new UserErrorException(
                $"unknown provider '{provider}' (expected {string.Join(", ", ProviderCatalog.KnownProviders)})", ExitCodes.Usage);
    }

    /// <summary>A short name from the first words of the prompt: "Fix the login bug…" → "fix-the-login-bug".</summary>
    internal static string NameFromPrompt(string prompt)
    {
        var words = prompt.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
            .Select(w => new string(w.Where(char.IsAsciiLetterOrDigit).ToArray()).ToLowerInvariant())
            .Where(w => w.Length > 0)
            .Take(4);
        var name = string.Join('-', words);
        return name.Length == 0 ? "prompt" : name.Length > 40 ? name[..40].TrimEnd('-') : name;
    }
}
