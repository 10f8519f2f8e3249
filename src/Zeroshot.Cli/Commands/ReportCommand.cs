using System.CommandLine;
using Zeroshot.Agents;
using Zeroshot.Agents.State;
using Zeroshot.Cli.Report;

namespace Zeroshot.Cli.Commands;

/// <summary><c>zeroshot report &lt;id&gt; [--out FILE]</c>: the run report, during or after a run (see <see cref="RunReport"/>).</summary>
internal static class ReportCommand
{
    public static Command Create(CliContext context)
    {
        var id = new Argument<string>("id") { Description = "Cluster or task id (a unique prefix is enough)." };
        var output = new Option<string?>("--out", "-o") { Description = "The HTML file to write (default: zeroshot-report-<id>.html here; - for standard output)." };
        var command = new Command("report", "Write a self-contained HTML report of a run: charts of each agent's CPU, memory, network, tokens and cost over time, its states, health and iterations, the validators' verdicts and a summary.")
        {
            id, output,
        };
        command.SetAction((parse, cancel) =>
        {
            using var env = new ClusterHost.HomeServices(context);
            var record = env.Store.GetCluster(env.Store.ResolveId(parse.GetValue(id)!))!;
            var events = env.Store.ReadEvents(record.Id).Select(Agents.Supervision.ClusterEventRows.FromRow).OfType<Agents.Supervision.ClusterEvent>().ToList();
            string html = RunReport.Render(new RunData(record, env.Store.ReadSamples(record.Id), events, context.Time.GetUtcNow()));
            string path = parse.GetValue(output) ?? $"zeroshot-report-{record.Id}.html";
            if (path == "-")
            {
                context.Out.Write(html);
                return Task.FromResult(ExitCodes.Success);
            }
            string full = Path.GetFullPath(path);
            // Written beside and renamed over: a reader never sees half a report, a failed write leaves the old one.
            string temp = full + ".tmp-" + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
            try
            {
                File.WriteAllText(temp, html);
                File.Move(temp, full, overwrite: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                try { File.Delete(temp); }
                catch (IOException) { /* the temporary file could not be removed either */ }
                throw new UserErrorException($"cannot write the report to {full}: {e.Message}");
            }
            context.Error.WriteLine($"zeroshot: report of {record.Id} written to {full}");
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }
}
