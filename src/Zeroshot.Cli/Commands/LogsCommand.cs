using System.Text.Json;
using Zeroshot.Agents;
using Zeroshot.Agents.Control;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;
using Zeroshot.Cli.Output;
using Zeroshot.Terminal;
using Zeroshot.Terminal.Escapes;

namespace Zeroshot.Cli.Commands;

/// <summary>
/// <c>zeroshot logs</c>: the last lines of each agent's log, then (with -f) the output as it arrives.
/// One agent's log is written byte for byte; several agents are interleaved line by line with prefixes.
/// </summary>
internal static class LogsCommand
{
    public static async Task<int> RunAsync(ClusterRecord record, ClusterHost.HomeServices env, List<string> agents, int lines, bool follow,
        bool raw, LiveStatusOptions liveOptions, CliContext context, CancellationToken cancel)
    {
        // One agent with --raw: the log byte for byte. Otherwise lines through an interpreter per agent
        // (rendered, or as written with --raw), prefixed when there are several agents.
        bool bytes = raw && agents.Count == 1;
        // The log's bytes are the agent's own, escape sequences and all (clipboard writes, title changes, device
        // queries whose answers a terminal types into the shell): a file or a pipe may have them, a terminal may not.
        if (bytes && context.OutputIsTerminal)
            throw new UserErrorException(
                $"logs --raw writes the log's bytes as the agent wrote them, escape sequences and all, so not to a terminal: redirect it (zeroshot logs {record.Id} --agent {agents[0]} --raw > {agents[0]}.log) or pipe it to 'cat -v'",
                ExitCodes.Usage);
        ControlClient? client = null;
        if (follow && record.State == ClusterState.Running && record.SocketPath is not null)
        {
            try
            {
                client = await ControlClient.ConnectAsync(record.SocketPath, cancel).ConfigureAwait(false);
            }
            catch (Exception e) when (ControlClient.IsUnavailable(e))
            {
                // The supervisor is gone (the cluster just ended, or crashed): what is logged is all there is.
            }
        }
        // Following a live cluster shows its status footer too, drawn from the supervisor's snapshots stream (pushed
        // once a tick, no polling); raw bytes to a pipe get none.
        SnapshotFollower? follower = client is null || bytes ? null : await SnapshotFollower.StartAsync(client, cancel).ConfigureAwait(false);
        var live = follower is null
            ? null
            : LiveStatus.Start(context, liveOptions, () => follower.Latest, null, line => context.Out.WriteLine("zeroshot │ " + line));
        try
        {
            return await RunAsync(record, env, agents, lines, client, bytes, raw, live?.Out ?? context.Out, context, cancel).ConfigureAwait(false);
        }
        finally
        {
            if (live is not null) await live.DisposeAsync().ConfigureAwait(false);
            if (follower is not null) await follower.DisposeAsync().ConfigureAwait(false);
            if (client is not null) await client.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task<int> RunAsync(ClusterRecord record, ClusterHost.HomeServices env, List<string> agents, int lines, ControlClient? client,
        bool bytes, bool raw, TextWriter output, CliContext context, CancellationToken cancel)
    {
        var home = env.Home;
        var printer = new ClusterPrinter(output, context.Colors, agents, prefix: agents.Count > 1);
        var interpreters = agents.ToDictionary(a => a, a => new AgentOutputInterpreter(line => printer.OnLine(a, line), new AgentOutputOptions
        {
            Raw = raw,
            PriceFor = env.Settings.PriceFor,
            Model = record.FindAgent(a)?.Model,
            TimeProvider = context.Time,
        }));
        void Emit(string agent, ReadOnlySpan<byte> chunk)
        {
            if (bytes)
            {
                context.Out.Flush();
                context.RawOut.Write(chunk);
                context.RawOut.Flush();
            }
            else
            {
                interpreters[agent].Feed(chunk);
            }
        }
        async Task Finish()
        {
            foreach (var interpreter in interpreters.Values) interpreter.Complete();
            await printer.DrainAsync().ConfigureAwait(false);
            output.Flush();
        }

        if (client is null)
        {
            foreach (var agent in agents) CopyTail(home.AgentLogPath(record.Id, agent), lines, long.MaxValue, b => Emit(agent, b));
            await Finish().ConfigureAwait(false);
            if (!bytes) WriteEvents(env.Store.ReadEvents(record.Id), agents, output);
            return ExitCodes.Success;
        }
        {
            var streams = new List<Task>();
            foreach (var agent in agents)
            {
                // The subscription says where in the log it starts: print the log up to there, then the stream.
                ControlSubscription subscription;
                try
                {
                    subscription = await client.SubscribeAsync(ControlProtocol.OutputStream, w =>
                    {
                        w.WriteStartObject();
                        w.WriteString("agent", agent);
                        w.WriteEndObject();
                    }, cancellationToken: cancel).ConfigureAwait(false);
                }
                catch (Exception e) when (ControlClient.IsUnavailable(e))
                {
                    // The cluster ended between our connect and this subscribe: the log is complete.
                    CopyTail(home.AgentLogPath(record.Id, agent), lines, long.MaxValue, b => Emit(agent, b));
                    continue;
                }
                long offset = subscription.Result.TryGetProperty("offset", out var o) && o.ValueKind == JsonValueKind.Number ? o.GetInt64() : 0;
                CopyTail(home.AgentLogPath(record.Id, agent), lines, offset, b => Emit(agent, b));
                streams.Add(Pump(agent, subscription, offset));
            }
            try
            {
                await Task.WhenAll(streams).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                // Ctrl+C ends following, as with tail -f.
            }
        }
        await Finish().ConfigureAwait(false);
        return ExitCodes.Success;

        async Task Pump(string agent, ControlSubscription subscription, long position)
        {
            try
            {
                await using (subscription.ConfigureAwait(false))
                {
                    await foreach (var chunk in subscription.ReadAllAsync(cancel).ConfigureAwait(false))
                    {
                        Emit(agent, chunk.Span);
                        position += chunk.Length;
                    }
                }
            }
            catch (Exception e) when (ControlClient.IsUnavailable(e))
            {
                // The stream ended early (the supervisor exited before its last frames reached us, or we
                // were too slow): the log has every byte.
            }
            if (!cancel.IsCancellationRequested)
            {
                // Whatever the stream did not deliver is in the log after `position`.
                CopyRange(home.AgentLogPath(record.Id, agent), position, b => Emit(agent, b));
            }
        }
    }

    /// <summary>
    /// The cluster's recorded events after its output, one per line in time order: those of the cluster itself and of
    /// the agents shown.
    /// </summary>
    internal static void WriteEvents(IReadOnlyList<StoredEvent> events, IReadOnlyCollection<string> agents, TextWriter output)
    {
        var shown = events.Where(e => e.AgentId is null || agents.Contains(e.AgentId)).ToList();
        if (shown.Count == 0) return;
        output.WriteLine("── events ──");
        // Verdicts, errors and summaries are the agents' words: no escape sequence or control of theirs reaches the terminal.
        foreach (var e in shown) output.WriteLine(Format.Sanitize(EscapeStripper.Strip(ClusterEventRows.Line(e))));
        output.Flush();
    }

    /// <summary>Copies the last <paramref name="lines"/> lines of the first <paramref name="limit"/> bytes of a log.</summary>
    internal static void CopyTail(string path, int lines, long limit, Action<ReadOnlySpan<byte>> emit)
    {
        if (lines == 0 || !File.Exists(path)) return;
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        long end = Math.Min(limit, file.Length);
        long start = TailStart(file, end, lines);
        var buffer = new byte[64 * 1024];
        file.Position = start;
        for (long left = end - start; left > 0;)
        {
            int n = file.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (n == 0) break;
            emit(buffer.AsSpan(0, n));
            left -= n;
        }
    }

    /// <summary>Copies a log from <paramref name="start"/> to its current end.</summary>
    internal static void CopyRange(string path, long start, Action<ReadOnlySpan<byte>> emit)
    {
        if (!File.Exists(path)) return;
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (start >= file.Length) return;
        file.Position = start;
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = file.Read(buffer, 0, buffer.Length)) > 0) emit(buffer.AsSpan(0, n));
    }

    /// <summary>Where the last <paramref name="lines"/> lines before <paramref name="end"/> begin (reading backwards).</summary>
    internal static long TailStart(Stream file, long end, int lines)
    {
        var buffer = new byte[8192];
        int newlines = 0;
        long position = end;
        // A final newline ends the last line; it does not start another.
        bool skipFinal = true;
        while (position > 0)
        {
            int n = (int)Math.Min(buffer.Length, position);
            position -= n;
            file.Position = position;
            file.ReadExactly(buffer, 0, n);
            for (int i = n - 1; i >= 0; i--)
            {
                if (buffer[i] != (byte)'\n') { skipFinal = false; continue; }
                if (skipFinal) { skipFinal = false; continue; }
                if (++newlines == lines) return position + i + 1;
            }
        }
        return 0;
    }
}

/// <summary>
/// Follows a supervisor's <c>snapshots</c> stream and keeps the latest snapshot for the footer. A supervisor that does
/// not offer the stream (protocol version 1), or a stream that ends, leaves the last one (or none) in place.
/// </summary>
internal sealed class SnapshotFollower : IAsyncDisposable
{
    private readonly ControlSubscription? _subscription;
    private readonly Task _reader;
    private ClusterSnapshot? _latest;

    private SnapshotFollower(ControlSubscription? subscription)
    {
        _subscription = subscription;
        _reader = subscription is null ? Task.CompletedTask : ReadAsync(subscription);
    }

    /// <summary>The newest snapshot received; null before the first.</summary>
    public ClusterSnapshot? Latest => Volatile.Read(ref _latest);

    /// <summary>Subscribes on <paramref name="client"/>; without the stream, a follower that never has a snapshot.</summary>
    public static async Task<SnapshotFollower> StartAsync(ControlClient client, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(client);
        try
        {
            return new SnapshotFollower(await client.SubscribeAsync(ControlProtocol.SnapshotsStream, cancellationToken: cancel).ConfigureAwait(false));
        }
        catch (Exception e) when (ControlClient.IsUnavailable(e))
        {
            return new SnapshotFollower(null);
        }
    }

    private async Task ReadAsync(ControlSubscription subscription)
    {
        try
        {
            await foreach (var frame in subscription.ReadAllAsync().ConfigureAwait(false))
            {
                var message = LiveJson.ReadMessage(frame.Span);
                if (message.Snapshot is { } snapshot) Volatile.Write(ref _latest, snapshot);
            }
        }
        catch (Exception e) when (ControlClient.IsUnavailable(e) || e is OperationCanceledException)
        {
            // The cluster ended or the connection went: the footer keeps the last snapshot until the logs are done.
        }
    }

    /// <summary>Unsubscribes and waits for the reader.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_subscription is not null) await _subscription.DisposeAsync().ConfigureAwait(false);
        await _reader.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }
}
