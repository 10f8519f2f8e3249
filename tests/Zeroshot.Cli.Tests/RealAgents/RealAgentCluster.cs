using System.Text.Json;
using Zeroshot.TestModelServer;

namespace Zeroshot.Cli.Tests.RealAgents;

/// <summary>Cluster files for real-agent tests: a worker and a validator after it, each in its own CLI sandbox.</summary>
internal static class RealAgentCluster
{
    /// <summary>API keys route each agent's requests to its own script on the one model server.</summary>
    public const string WorkerKey = "sk-zeroshot-worker-0123456789abcdefghij";

    /// <inheritdoc cref="WorkerKey"/>
    public const string ValidatorKey = "sk-zeroshot-validator-0123456789abcdefg";

    /// <summary>Writes <c>{folder}/cluster.json</c>: agents "worker" and <paramref name="validatorId"/>, each with its
    /// sandbox's working directory and environment (its CLI, its HOME, its server), and returns the path.</summary>
    public static string Write(string folder, string name, string prompt, (string Provider, AgentSandbox Sandbox) worker,
        string validatorId, (string Provider, AgentSandbox Sandbox) validator, int maxIterations = 3)
    {
        var path = Path.Combine(folder, "cluster.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new
        {
            name,
            prompt,
            maxIterations,
            agents = new object[]
            {
                new { id = "worker", role = "worker", provider = worker.Provider, cwd = worker.Sandbox.WorkDir, env = worker.Sandbox.Environment },
                new { id = validatorId, role = "validator", provider = validator.Provider, cwd = validator.Sandbox.WorkDir, after = new[] { "worker" }, env = validator.Sandbox.Environment },
            },
        }));
        return path;
    }
}
