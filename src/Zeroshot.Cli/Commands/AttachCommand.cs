using System.CommandLine;
using System.Text.Json;
using Zeroshot.Agents;
using Zeroshot.Agents.Control;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;
using Zeroshot.Cli.Attach;
using Zeroshot.Cli.Output;
using Zeroshot.Terminal.Attach;

namespace Zeroshot.Cli.Commands;

/// <summary>
/// <c>zeroshot attach [id] [--agent A] [--read-only] [--no-metrics] [--raw] [--prefix KEY]</c>: without an id, what can be
/// attached; with one, the agent's live screen in this terminal (see <see cref="AttachSession"/>).
/// </summary>
internal static class AttachCommand
{
    public static Command Create(CliContext context)
    {
        var id = new Argument<string?>("id") { Description = "Cluster or task id (a unique prefix is enough); without it, list what can be attached.", Arity = ArgumentArity.ZeroOrOne };
        var agent = new Option<string?>("--agent", "-a") { Description = "The agent to attach to (default: the running worker, else the only running agent)." };
        var readOnly = new Option<bool>("--read-only", "-r") { Description = "Watch only: no keystrokes are sent and the agent's window size is left alone." };
        var noMetrics = new Option<bool>("--no-metrics") { Description = "No status bar: the agent gets every row." };
        var raw = new Option<bool>("--raw") { Description = "Show the PTY screen even for an agent that speaks stream-json (instead of its rendered output)." };
        var prefix = new Option<string?>("--prefix") { Description = "The prefix key (default C-b, or keys.prefix in settings.json), e.g. C-a." };
        var json = new Option<bool>("--json") { Description = "Without an id: one JSON array of {cluster, agent, state, attached}." };
        var command = new Command("attach", "Attach this terminal to a running agent: its live screen, your keys, and a status bar of its metrics (C-b d detaches, C-b ? helps).")
        {
            id, agent, readOnly, noMetrics, raw, prefix, json,
        };
        command.SetAction(async (parse, cancel) =>
        {
            using var env = new ClusterHost.HomeServices(context);
            string? target = parse.GetValue(id);
            if (target is null) return await ListAsync(env, parse.GetValue(json), context, cancel).ConfigureAwait(false);
            return await AttachAsync(env, target, parse.GetValue(agent), parse.GetValue(readOnly), parse.GetValue(noMetrics), parse.GetValue(raw),
                parse.GetValue(prefix), context, cancel).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>Attaches this terminal to agent <paramref name="agentId"/> (or the default one) of cluster <paramref name="target"/>;
    /// <c>task run --interactive</c> comes here after starting its agent.</summary>
    internal static async Task<int> AttachAsync(ClusterHost.HomeServices env, string target, string? agentId, bool readOnly, bool noMetrics, bool raw,
        string? prefixOption, CliContext context, CancellationToken cancel)
    {
        string prefixText = prefixOption ?? env.Settings.PrefixKey ?? "C-b";
        if (!AttachInput.TryParsePrefix(prefixText, out byte prefixByte, out string prefixLabel, out string prefixError))
            throw new UserErrorException(prefixOption is null ? $"{env.Home.SettingsPath}: keys.prefix: {prefixError}" : $"--prefix: {prefixError}", ExitCodes.Usage);
        if (!LocalTerminal.IsInteractive)
            throw new UserErrorException($"attach needs a terminal on standard input and output; in a script follow the output with 'zeroshot logs {target} -f'", ExitCodes.Usage);
        var (record, client) = await ClusterHost.ConnectRunningAsync(env, target,
            id => $"there is nothing to attach to (its output: zeroshot logs {id})", 3, "attach", cancel).ConfigureAwait(false);
        await using (client.ConfigureAwait(false))
        {
            var snapshot = LiveJson.ReadSnapshot(await client.RequestAsync(ControlProtocol.Status, null, cancel).ConfigureAwait(false));
            string? chosen = agentId;
            if (chosen is not null && snapshot.Agents.All(a => a.Id != chosen))
                throw new UserErrorException($"cluster {record.Id} has no agent '{chosen}' (agents: {string.Join(", ", snapshot.Agents.Select(a => a.Id))})");
            chosen ??= Choose(snapshot, context);
            var options = new AttachOptions(record.Id, snapshot.Agents.Select(a => (a.Id, a.OutputDialect)).ToList(), chosen, readOnly,
                !noMetrics, raw, prefixByte, prefixLabel, a => env.Home.AgentLogPath(record.Id, a))
            {
                Notifications = env.Settings.Notifications,
            };
            return await AttachSession.RunAsync(client, options, context, cancel).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The agent to attach to when none was named: the running worker, else the only running agent; when several run,
    /// the user picks one (stdin is a terminal here). Null lets the supervisor decide (it says why when it cannot).
    /// </summary>
    private static string? Choose(ClusterSnapshot snapshot, CliContext context)
    {
        var running = snapshot.Agents.Where(a => a.State == AgentState.Running).ToList();
        if (running.Find(a => a.Role == Agents.Config.AgentRole.Worker) is { } worker) return worker.Id;
        if (running.Count <= 1) return running.FirstOrDefault()?.Id;
        context.Out.WriteLine($"several agents of {snapshot.Id} are running:");
        for (int i = 0; i < running.Count; i++) context.Out.WriteLine($"  {i + 1}) {running[i].Id} ({StatusText.Activity(running[i])})");
        context.Out.Write($"attach to which? [1-{running.Count}] ");
        context.Out.Flush();
        string? answer = Console.In.ReadLine();
        if (int.TryParse(answer, out int n) && n >= 1 && n <= running.Count) return running[n - 1].Id;
        var named = running.Find(a => a.Id == answer?.Trim());
        return named?.Id ?? throw new UserErrorException($"no agent chosen (answer 1 to {running.Count}, or name one with --agent)", ExitCodes.Usage);
    }

    /// <summary>Every agent of every running cluster, with its state and how many clients are attached to it.</summary>
    private static async Task<int> ListAsync(ClusterHost.HomeServices env, bool json, CliContext context, CancellationToken cancel)
    {
        var rows = new List<AttachableAgent>();
        foreach (var record in env.Store.ListClusters().Where(c => c.State == ClusterState.Running && c.SocketPath is not null))
        {
            ClusterSnapshot? live = null;
            try
            {
                var client = await ControlClient.ConnectAsync(record.SocketPath!, cancel).ConfigureAwait(false);
                await using (client.ConfigureAwait(false))
                    live = LiveJson.ReadSnapshot(await client.RequestAsync(ControlProtocol.Status, null, cancel).ConfigureAwait(false));
            }
            catch (Exception e) when (ControlClient.IsUnavailable(e))
            {
                // Its supervisor just ended (or crashed): nothing of it can be attached.
                continue;
            }
            foreach (var a in live.Agents)
                rows.Add(new AttachableAgent(record.Id, a.Id, a.State == AgentState.Running ? StatusText.Activity(a) : StateNames.Text(a.State),
                    a.State == AgentState.Running, a.Attached));
        }
        if (json)
        {
            context.Out.WriteLine(JsonSerializer.Serialize(rows, AttachJson.Default.ListAttachableAgent));
            return ExitCodes.Success;
        }
        if (rows.Count == 0)
        {
            context.Out.WriteLine("nothing to attach to: no cluster is running (start one with 'zeroshot run')");
            return ExitCodes.Success;
        }
        int width = Math.Max(8, rows.Max(r => r.Cluster.Length));
        int agentWidth = Math.Max(6, rows.Max(r => r.Agent.Length));
        context.Out.WriteLine($"{"CLUSTER".PadRight(width)}  {"AGENT".PadRight(agentWidth)}  {"STATE",-16} ATTACHED");
        foreach (var r in rows)
            context.Out.WriteLine($"{r.Cluster.PadRight(width)}  {r.Agent.PadRight(agentWidth)}  {r.State,-16} {r.Attached}");
        context.Out.WriteLine("attach with: zeroshot attach <cluster> [--agent <agent>]");
        return ExitCodes.Success;
    }
}

/// <summary>One row of <c>zeroshot attach</c> without an id (and of its <c>--json</c>).</summary>
/// <param name="Cluster">The cluster id.</param>
/// <param name="Agent">The agent id.</param>
/// <param name="State">Its state, or its activity while it runs (tool:Bash, model, quiet…).</param>
/// <param name="Running">Whether it can be attached now.</param>
/// <param name="Attached">Clients attached to it now.</param>
internal sealed record AttachableAgent(string Cluster, string Agent, string State, bool Running, int Attached);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(List<AttachableAgent>))]
internal sealed partial class AttachJson : System.Text.Json.Serialization.JsonSerializerContext;
