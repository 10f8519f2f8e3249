using Zeroshot.Agents.Config;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;

namespace Zeroshot.Agents.Supervision;

/// <summary>
/// What one finished run of an agent amounts to. Pure: the supervisor hands it the exit and what the interpreter
/// read, and records the answer. Agent CLIs exit 0 whenever a turn completes (<c>claude -p</c>, <c>codex exec</c>),
/// so the exit code alone says little: a validator's verdict is read from its final message, a run the CLI itself
/// reported as an error fails, and a worker whose every tool call was refused did no work.
/// </summary>
internal static class RunOutcome
{
    /// <summary>The answer a validator owes and did not give.</summary>
    public const string NoVerdict = "gave no verdict (expected a JSON object {\"approved\": …, \"summary\": …, \"issues\": […]} in its final message)";

    /// <summary>
    /// Judges a run. <paramref name="state"/> is what the exit alone says (completed, failed, stopped); the answer
    /// is the agent's state, a validator's verdict (null when it gave none, or for workers) and the error that
    /// explains a failure (null when it did not fail).
    /// </summary>
    public static (AgentState State, Verdict? Verdict, string? Error) Judge(AgentConfig agent, AgentState state, string how,
        int? exitCode, AgentOutputInterpreter? output)
    {
        ArgumentNullException.ThrowIfNull(agent);
        if (state == AgentState.Stopped)
            return (state, null, null);
        string? cliError = output?.RunError;
        string? apiError = output?.Activity.LastError;

        if (agent.Role == AgentRole.Validator)
        {
            if (agent.Command is not null)
            {
                // A command validator judges by its exit code, as `test` or `dotnet test` do; one killed by a
                // signal has not judged.
                if (exitCode is null)
                    return (state, null, how);
                return (state, new Verdict(exitCode == 0, how, []), null);
            }
            if (state == AgentState.Failed)
                return (state, null, cliError ?? apiError ?? how);
            if (cliError is not null)
                return (AgentState.Failed, null, cliError);
            if (output?.Verdict is { } given)
                return (AgentState.Completed, given, null);
            return (AgentState.Failed, null, apiError is null ? NoVerdict : $"{NoVerdict}; last error: {apiError}");
        }

        if (state == AgentState.Failed)
            return (state, null, cliError ?? apiError ?? how);
        if (output is not null)
        {
            if (cliError is not null)
                return (AgentState.Failed, null, cliError);
            int refused = output.DeniedToolCalls + output.SandboxFailedToolCalls;
            if (output.ToolCalls > 0 && refused >= output.ToolCalls)
                return (AgentState.Failed, null,
                    $"all {output.ToolCalls} tool calls were refused by the CLI's permission mode or sandbox: it did no work " +
                    "(see the provider defaults in the README, or override the provider's command in settings.json)");
        }
        return (state, null, null);
    }

    /// <summary>The event line for a finished run: "completed: exit code 0", "approved: looks good", "failed: exit code 1 · 401 …".</summary>
    public static string Describe(AgentState state, string how, Verdict? verdict, string? error)
    {
        if (verdict is not null)
        {
            var issues = verdict.Issues.Count switch { 0 => "", 1 => " (1 issue)", var n => $" ({n} issues)" };
            return $"{verdict.Word}{issues}: {(verdict.Summary.Length == 0 ? how : verdict.Summary)}";
        }
        return error is null || error == how ? $"{StateNames.Text(state)}: {how}" : $"{StateNames.Text(state)}: {how} · {error}";
    }
}
