using System.CommandLine;
using System.Text.Json;
using Zeroshot.Agents;
using Zeroshot.Agents.Supervision;
using Zeroshot.Cli.Attach;
using Zeroshot.Cli.Watch;
using Zeroshot.Dashboard;

namespace Zeroshot.Cli.Commands;

/// <summary>
/// <c>zeroshot watch [--once] [--json]</c>: the live dashboard of every cluster and agent of this home (see
/// <see cref="WatchSession"/>); <c>--once</c> prints the table once as plain text, <c>--json</c> the clusters' snapshots.
/// </summary>
internal static class WatchCommand
{
    public static Command Create(CliContext context)
    {
        var once = new Option<bool>("--once") { Description = "Print the table once, as plain text, and exit." };
        var json = new Option<bool>("--json") { Description = "Print one JSON array of the clusters' snapshots (as status --json) and exit." };
        var width = new Option<int?>("--width") { Description = "With --once: the width of the table (default: the terminal's, else 120)." };
        var command = new Command("watch", "The live dashboard: every cluster and agent with CPU, memory, network, tokens and cost; attach, logs, stop, kill from it (? for its keys).")
        {
            once, json, width,
        };
        command.SetAction(async (parse, cancel) =>
        {
            int? requestedWidth = parse.GetValue(width);
            if (requestedWidth is < DashboardView.MinColumns or > 1000)
                throw new UserErrorException($"--width must be {DashboardView.MinColumns}..1000", ExitCodes.Usage);
            using var env = new ClusterHost.HomeServices(context);
            if (parse.GetValue(json) || parse.GetValue(once))
            {
                var state = await WatchSession.CollectOnceAsync(env, context, cancel).ConfigureAwait(false);
                var now = context.Time.GetUtcNow();
                if (parse.GetValue(json))
                {
                    var clusters = state.Rows(now).Where(r => !r.IsAgent).Select(r => r.Cluster.Snapshot).ToList();
                    context.Out.WriteLine(JsonSerializer.Serialize(clusters, LiveJson.Default.ListClusterSnapshot));
                    return ExitCodes.Success;
                }
                int columns = requestedWidth ?? (context.OutputIsTerminal ? context.TerminalSize().Columns : 120);
                foreach (var line in DashboardView.RenderPlain(state, columns, now)) context.Out.WriteLine(line.TrimEnd());
                return ExitCodes.Success;
            }
            if (!LocalTerminal.IsInteractive)
                throw new UserErrorException("watch needs a terminal on standard input and output; in a script use 'zeroshot watch --once' or '--json'", ExitCodes.Usage);
            return await WatchSession.RunAsync(env, context, cancel).ConfigureAwait(false);
        });
        return command;
    }
}
