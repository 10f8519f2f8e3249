using System.CommandLine;
using Zeroshot.Agents;
using Zeroshot.Cli.Commands;
using Zeroshot.Terminal;

namespace Zeroshot.Cli;

/// <summary>Builds the command tree and runs one command line, mapping every failure to an exit code.</summary>
internal static class CliApp
{
    public static RootCommand Build(CliContext context)
    {
        var root = new RootCommand(
            "Zeroshot runs clusters of AI coding agents and shows, live, what each of them is doing: " +
            "CPU, memory, disk and network of every agent's process tree, tokens and cost.");
        root.Subcommands.Add(MetricsCommand.Create(context));
        foreach (var command in ClusterCommands.Create(context)) root.Subcommands.Add(command);
        root.Subcommands.Add(Commands.AttachCommand.Create(context));
        root.Subcommands.Add(WatchCommand.Create(context));
        root.Subcommands.Add(ServeMetricsCommand.Create(context));
        foreach (var command in InteractiveCommands.Create(context)) root.Subcommands.Add(command);
        root.Subcommands.Add(InspectCommand.Create(context));
        root.Subcommands.Add(ReportCommand.Create(context));
        return root;
    }

    /// <summary>Parses and runs; returns the documented exit code (see <see cref="ExitCodes"/>).</summary>
    public static async Task<int> RunAsync(string[] args, CliContext context)
    {
        var root = Build(context);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // A usage error names what is wrong in one line and points at the help; exit 2.
            context.Error.WriteLine($"zeroshot: {Format.Escaped(parse.Errors[0].Message)}");
            context.Error.WriteLine($"Try '{CommandPath(parse)} --help' for more information.");
            return ExitCodes.Usage;
        }
        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration
            {
                // Program owns SIGINT/SIGTERM (CliContext.Shutdown); don't let the parser install its own.
                ProcessTerminationTimeout = null,
                EnableDefaultExceptionHandler = false,
                Output = context.Out,
                Error = context.Error,
            }, context.Shutdown).ConfigureAwait(false);
        }
        catch (UserErrorException e)
        {
            // Messages quote what the user gave (file names, ids, fields): never a control byte of theirs to the terminal.
            context.Error.WriteLine($"zeroshot: {Format.Escaped(e.Message)}");
            return e.ExitCode;
        }
        catch (Microsoft.Data.Sqlite.SqliteException e) when ((e.SqliteErrorCode & 0xFF) is 13 or 10)
        {
            // SQLITE_FULL, SQLITE_IOERR: the disk, not a bug. Say which file and what to do.
            context.Error.WriteLine($"zeroshot: cannot write the state database {Format.Escaped(DatabasePath(context))}: {Format.Escaped(e.Message)}; "
                + "free space on its file system (df) and try again");
            return ExitCodes.Failure;
        }
        catch (OperationCanceledException) when (context.Shutdown.IsCancellationRequested)
        {
            return ExitCodes.Interrupted;
        }
        catch (Microsoft.Data.Sqlite.SqliteException e)
        {
            // The state database failed where no command expected it (damaged pages met by a read, a lock held past the
            // busy timeout): one line naming the file and what to do, not an "internal error".
            context.Error.WriteLine($"zeroshot: {Format.Escaped(Agents.State.StoreErrors.Message(e, DatabasePath(context)))}");
            return ExitCodes.Failure;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug, not a user error: still one line, with the trace only on request.
            context.Error.WriteLine($"zeroshot: internal error: {e.GetType().Name}: {Format.Escaped(e.Message)}" +
                (Environment.GetEnvironmentVariable("ZEROSHOT_DEBUG") == "1" ? Environment.NewLine + e : " (set ZEROSHOT_DEBUG=1 for details)"));
            return ExitCodes.Failure;
        }
    }

    private static string DatabasePath(CliContext context)
    {
        try
        {
            return context.Home().DatabasePath;
        }
        catch (Exception e) when (e is UserErrorException or IOException or InvalidOperationException)
        {
            return "state.db";
        }
    }

    private static string CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var result = parse.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
            names.Insert(0, result.Command is RootCommand ? "zeroshot" : result.Command.Name);
        return string.Join(' ', names);
    }
}
