using System.CommandLine;
using System.Globalization;
using System.Text.Json.Serialization;
using Zeroshot.Agents;
using Zeroshot.Agents.Control;
using Zeroshot.Agents.Health;
using Zeroshot.Agents.Supervision;
using Zeroshot.Metrics;
using Zeroshot.Terminal;

namespace Zeroshot.Cli.Commands;

/// <summary>
/// <c>zeroshot inspect &lt;id&gt; [--agent A] [--json]</c>: why an agent has its health verdict. The verdict and its
/// reasons come from its supervisor (the same as <c>status</c> shows); the evidence (each process of its tree with its
/// state and CPU, each socket with its peer, bytes and time since the last byte) is read here, now.
/// </summary>
internal static class InspectCommand
{
    /// <summary>How long the processes' CPU is measured.</summary>
    private static readonly TimeSpan CpuWindow = TimeSpan.FromMilliseconds(500);

    public static Command Create(CliContext context)
    {
        var id = new Argument<string>("id") { Description = "Cluster or task id (a unique prefix is enough)." };
        var agent = new Option<string?>("--agent", "-a") { Description = "The agent (default: every running agent)." };
        var json = new Option<bool>("--json") { Description = "One JSON object: cluster, agents with health and evidence (processes, sockets)." };
        var command = new Command("inspect", "Show why a running agent has its health verdict: its reasons, and each process and socket of its tree.") { id, agent, json };
        command.SetAction(async (parse, cancel) =>
        {
            using var env = new ClusterHost.HomeServices(context);
            var (record, client) = await ClusterHost.ConnectRunningAsync(env, parse.GetValue(id)!, _ => "no agent of it runs to inspect", 1, "inspect", cancel)
                .ConfigureAwait(false);
            ClusterSnapshot snapshot;
            await using (client.ConfigureAwait(false))
                snapshot = LiveJson.ReadSnapshot(await client.RequestAsync(ControlProtocol.Status, null, cancel).ConfigureAwait(false));
            string? named = parse.GetValue(agent);
            var agents = snapshot.Agents.Where(a => named is null ? a.State == Agents.State.AgentState.Running : a.Id == named).ToList();
            if (named is not null && agents.Count == 0)
                throw new UserErrorException($"cluster {record.Id} has no agent '{named}' (agents: {string.Join(", ", snapshot.Agents.Select(a => a.Id))})");
            if (agents.Count == 0) throw new UserErrorException($"no agent of cluster {record.Id} is running");
            if (named is not null && agents[0].Pid is null)
                throw new UserErrorException($"agent {named} of cluster {record.Id} is not running ({Agents.State.StateNames.Text(agents[0].State)}): nothing to inspect");

            // The trees are read together, one CPU window for all.
            var evidence = agents.Select(a => a.Pid is int pid ? Task.Run(() => TreeInspector.Inspect(pid, CpuWindow), cancel) : Task.FromResult<TreeEvidence?>(null)).ToArray();
            await Task.WhenAll(evidence).ConfigureAwait(false);
            var inspected = agents.Select((a, i) => new InspectedAgent(a.Id, a.Pid, a.ActivityText(), a.Health, evidence[i].Result)).ToList();
            if (parse.GetValue(json))
            {
                context.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(new InspectDocument(record.Id, inspected), InspectJson.Default.InspectDocument));
                return ExitCodes.Success;
            }
            Write(context.Out, record.Id, inspected);
            return ExitCodes.Success;
        });
        return command;
    }

    private static void Write(TextWriter output, string clusterId, List<InspectedAgent> agents)
    {
        var inv = CultureInfo.InvariantCulture;
        foreach (var a in agents)
        {
            string verdict = a.Health is { } h ? h.Verdict.ToJsonName() : "unknown (no sample yet)";
            output.WriteLine($"{clusterId} {Format.Sanitize(a.Id)}: {verdict}" + (a.Pid is int p ? $"  (pid {p.ToString(inv)}, {Format.Sanitize(a.Activity)})" : ""));
            if (a.Health is { } health)
            {
                output.WriteLine($"  since {health.Since.ToLocalTime().ToString("HH:mm:ss", inv)}");
                foreach (var reason in health.Reasons) output.WriteLine("  - " + Format.Sanitize(reason));
            }
            if (a.Evidence is not { } e)
            {
                output.WriteLine("  (its process is gone)");
                continue;
            }
            output.WriteLine("  processes:");
            output.WriteLine("    PID      PPID     STATE  CPU     CPU TIME  MEM       NAME");
            foreach (var pr in e.Processes)
                output.WriteLine(string.Create(inv,
                    $"    {pr.Pid,-8} {pr.ParentPid,-8} {StateWord(pr.State),-6} {Format.Percent(pr.CpuPercent),-7} {pr.CpuSeconds,7:0.00}s  {Format.MegaBytes(pr.MemoryMB),-9} {Format.Sanitize(pr.Name)}"));
            if (e.Sockets is null)
            {
                output.WriteLine("  sockets: cannot be read here (no sock_diag)");
                continue;
            }
            if (e.Sockets.Count == 0)
            {
                output.WriteLine("  sockets: none");
                continue;
            }
            output.WriteLine("  sockets:");
            output.WriteLine("    PID      STATE         PEER                       RECEIVED    SENT        LAST BYTE IN");
            foreach (var s in e.Sockets)
                output.WriteLine(string.Create(inv,
                    $"    {s.Pid,-8} {s.State,-13} {s.Peer,-26} {Format.Bytes(s.BytesReceived),-11} {Format.Bytes(s.BytesSent),-11} {(s.LastReceiveMs is { } ms ? Format.Ago(TimeSpan.FromMilliseconds(ms)) : "-")}"));
        }
    }

    // proc(5): the state letters, in the words ps uses.
    private static string StateWord(char state) => state switch
    {
        'R' => "R run",
        'S' => "S sleep",
        'D' => "D disk",
        'Z' => "Z zomb",
        'T' or 't' => "T stop",
        'I' => "I idle",
        _ => state.ToString(),
    };
}

/// <summary>One inspected agent.</summary>
internal sealed record InspectedAgent(string Id, int? Pid, string Activity, HealthSnapshot? Health, TreeEvidence? Evidence);

/// <summary>The document of <c>inspect --json</c>.</summary>
internal sealed record InspectDocument(string Cluster, IReadOnlyList<InspectedAgent> Agents);

/// <summary>Source-generated JSON of <c>inspect --json</c> (times as everywhere, verdicts as their words).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, Converters = [typeof(IsoTimeConverter), typeof(HealthVerdictConverter)])]
[JsonSerializable(typeof(InspectDocument))]
internal sealed partial class InspectJson : JsonSerializerContext;
