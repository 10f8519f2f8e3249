using System.CommandLine;
using System.Text;
using System.Text.Json;
using Zeroshot.Agents;
using Zeroshot.Agents.Control;
using Zeroshot.Agents.State;

namespace Zeroshot.Cli.Commands;

/// <summary>Interactive agents: <c>send</c> (type a prompt into one) and the hidden <c>hook</c> their CLIs call.</summary>
internal static class InteractiveCommands
{
    /// <summary>The commands.</summary>
    public static IEnumerable<Command> Create(CliContext context) => [Send(context), Hook(context)];

    private static Command Send(CliContext context)
    {
        var id = new Argument<string>("id") { Description = "Cluster or task id (a unique prefix is enough)." };
        var text = new Argument<string>("text") { Description = "What to type: sent as a paste, then Enter on its own." };
        var agent = new Option<string?>("--agent", "-a") { Description = "The interactive agent (default: the only running one)." };
        var command = new Command("send", "Type a prompt into a running interactive agent, as if a person typed it and pressed Enter.") { id, text, agent };
        command.SetAction(async (parse, cancel) =>
        {
            string message = parse.GetValue(text)!;
            if (message.Length == 0) throw new UserErrorException("send: the text is empty", ExitCodes.Usage);
            using var env = new ClusterHost.HomeServices(context);
            var (record, client) = await ClusterHost.ConnectRunningAsync(env, parse.GetValue(id)!, _ => "no agent of it reads prompts", 5, "send", cancel)
                .ConfigureAwait(false);
            await using (client.ConfigureAwait(false))
            {
                string? named = parse.GetValue(agent);
                try
                {
                    var result = await client.RequestAsync(ControlProtocol.Send, w =>
                    {
                        w.WriteString("text", message);
                        if (named is not null) w.WriteString("agent", named);
                    }, cancel).ConfigureAwait(false);
                    string typedTo = result.TryGetProperty("agent", out var a) ? a.GetString() ?? "" : named ?? "";
                    context.Error.WriteLine($"zeroshot: sent to {record.Id} {typedTo}");
                    return ExitCodes.Success;
                }
                catch (ControlErrorException e) when (e.Code == "not-interactive")
                {
                    throw new UserErrorException(e.Message);
                }
            }
        });
        return command;
    }

    /// <summary>Most a hook's input may be: Claude Code's inputs are a few KB, a PostToolUse with a long output more.</summary>
    private const int MaxPayloadBytes = 4 << 20;

    /// <summary>How long a hook may take to reach the supervisor: the CLI waits for it (Claude runs hooks before going on).</summary>
    private static readonly TimeSpan HookDeadline = TimeSpan.FromSeconds(3);

    /// <summary>
    /// What an interactive agent's CLI runs on its events: Claude Code's hooks (the event as JSON on stdin), Codex's
    /// notify program (JSON as its last argument). Relays it to the agent's supervisor (ZEROSHOT_CONTROL_SOCKET,
    /// ZEROSHOT_AGENT_ID, inherited from the agent) and prints nothing: a Claude Code hook's output would be read as
    /// its decision or as context for the model. Always exits 0, so the CLI goes on whatever happens here.
    /// </summary>
    private static Command Hook(CliContext context)
    {
        var from = new Option<string>("--from") { Description = "The CLI calling: claude or codex.", Required = true };
        var payload = new Argument<string?>("payload") { Description = "The event as JSON (Codex's notify); without it, read from stdin.", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("hook", "Relays an interactive agent's CLI event to its supervisor.") { from, payload };
        command.Hidden = true;
        command.SetAction(async (parse, cancel) =>
        {
            string? socket = Environment.GetEnvironmentVariable("ZEROSHOT_CONTROL_SOCKET");
            string? agent = Environment.GetEnvironmentVariable("ZEROSHOT_AGENT_ID");
            if (string.IsNullOrEmpty(socket) || string.IsNullOrEmpty(agent))
            {
                context.Error.WriteLine("zeroshot hook: not started by a zeroshot agent (ZEROSHOT_CONTROL_SOCKET and ZEROSHOT_AGENT_ID unset)");
                return ExitCodes.Success;
            }
            byte[] json;
            if (parse.GetValue(payload) is { } given)
            {
                json = Encoding.UTF8.GetBytes(given);
            }
            else
            {
                using var stdin = Console.OpenStandardInput();
                using var buffer = new MemoryStream();
                await stdin.CopyToAsync(buffer, cancel).ConfigureAwait(false);
                if (buffer.Length > MaxPayloadBytes)
                {
                    context.Error.WriteLine($"zeroshot hook: input over {MaxPayloadBytes} bytes ignored");
                    return ExitCodes.Success;
                }
                json = buffer.ToArray();
            }
            try
            {
                using var document = JsonDocument.Parse(json);
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancel);
                deadline.CancelAfter(HookDeadline);
                var client = await ControlClient.ConnectAsync(socket, deadline.Token).ConfigureAwait(false);
                await using (client.ConfigureAwait(false))
                {
                    await client.RequestAsync(ControlProtocol.Hook, w =>
                    {
                        w.WriteString("agent", agent);
                        w.WriteString("from", parse.GetValue(from));
                        w.WritePropertyName("payload");
                        document.RootElement.WriteTo(w);
                        // Codex's rollout files are under its home, which only its own environment names.
                        if (parse.GetValue(from) == Agents.Config.ProviderCatalog.Codex)
                            w.WriteString("codexHome", Environment.GetEnvironmentVariable("CODEX_HOME") is { Length: > 0 } codexHome
                                ? codexHome : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".codex"));
                    }, deadline.Token).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is JsonException or ControlErrorException or OperationCanceledException || ControlClient.IsUnavailable(e))
            {
                // The CLI must go on: say why on stderr (Claude shows it in its transcript view), exit 0.
                context.Error.WriteLine($"zeroshot hook: not relayed: {Agents.Output.InteractiveActivity.OneLine(e.Message)}");
            }
            return ExitCodes.Success;
        });
        return command;
    }
}
