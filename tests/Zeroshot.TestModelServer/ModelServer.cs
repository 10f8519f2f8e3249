using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Zeroshot.TestModelServer;

/// <summary>What a recorded request was used for.</summary>
public enum RequestKind
{
    /// <summary>A model request that consumed a scripted turn.</summary>
    Scripted,

    /// <summary>A model request the CLI makes on the side (no tools: titles, routing, next-speaker checks):
    /// answered with zero usage, consumes no turn.</summary>
    Side,

    /// <summary>A model request that came when the route's script was empty: answered with a text saying so and
    /// zero usage. A test that sees one scripted too few turns.</summary>
    Unscripted,

    /// <summary>Anything else (HEAD /, token counting, model lists...): answered harmlessly.</summary>
    Other,
}

/// <summary>One request as received, with what it was used for.</summary>
/// <param name="Protocol">Protocol of a model request; null for <see cref="RequestKind.Other"/>.</param>
/// <param name="Route">The route (API key) it was served from.</param>
/// <param name="Turn">The scripted turn that answered it, if any.</param>
public sealed record RecordedRequest(
    DateTimeOffset At,
    string Method,
    string Target,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    string Body,
    ModelProtocol? Protocol,
    RequestKind Kind,
    string Route,
    ScriptedTurn? Turn)
{
    /// <summary>The body parsed as JSON, or null when it is not JSON.</summary>
    public JsonElement? Json
    {
        get
        {
            try
            {
                return string.IsNullOrEmpty(Body) ? null : JsonDocument.Parse(Body).RootElement.Clone();
            }
            catch (JsonException)
            {
                return null;
            }
        }
    }
}

/// <summary>
/// A scripted model server for tests, listening on 127.0.0.1 with an ephemeral port (and nothing else). It speaks
/// the Anthropic Messages API, the OpenAI Responses API and the Gemini API, streaming SSE as the real CLIs expect,
/// and answers each model request with the next turn of the route's <see cref="ModelScript"/>. Routes are API keys:
/// <c>server.Script("worker-key")</c> answers requests made with that key, <see cref="Default"/> every other one.
/// Every request is recorded (<see cref="Requests"/>); <see cref="Served"/> sums the usage of scripted responses
/// sent completely. The server stops when disposed, and by itself after <see cref="MaxLifetime"/>.
/// </summary>
public sealed class ModelServer : IAsyncDisposable, IDisposable
{
    /// <summary>Hard upper bound of a server's life, whatever the test does.</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromMinutes(10);

    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, ModelScript> _scripts = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly ConcurrentDictionary<(string Route, ModelProtocol Protocol), TokenUsage> _served = new();
    private readonly ConcurrentDictionary<(string Route, ModelProtocol Protocol), TokenUsage> _partial = new();
    private readonly ConcurrentDictionary<Task, byte> _connections = new();
    private readonly List<Socket> _sockets = [];
    private readonly Lock _socketsGate = new();
    private readonly Task _acceptLoop;
    private long _ids;
    private int _disposed;

    /// <summary>Route name of <see cref="Default"/>.</summary>
    public const string DefaultRoute = "*";

    /// <summary>Starts a server on 127.0.0.1 and an ephemeral port.</summary>
    /// <param name="maxLifetime">When it stops by itself (listener and every connection), at most <see cref="MaxLifetime"/>.</param>
    public ModelServer(TimeSpan? maxLifetime = null)
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        Default = Script(DefaultRoute);
        var lifetime = maxLifetime is { } wanted && wanted < MaxLifetime ? wanted : MaxLifetime;
        _stop.CancelAfter(lifetime);
        _stop.Token.Register(StopListening);
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary><c>http://127.0.0.1:PORT</c>, no trailing slash.</summary>
    public string BaseUrl => $"http://127.0.0.1:{Port}";

    /// <summary>The script of requests whose API key has no script of its own.</summary>
    public ModelScript Default { get; }

    /// <summary>Text of side answers (requests without tools), per protocol. Gemini's default is JSON that
    /// satisfies its router and next-speaker checks.</summary>
    public Dictionary<ModelProtocol, string> SideText { get; } = new()
    {
        [ModelProtocol.Anthropic] = "Scripted side answer.",
        [ModelProtocol.OpenAIResponses] = "Scripted side answer.",
        [ModelProtocol.Gemini] = "{\"complexity_reasoning\":\"scripted test\",\"complexity_score\":10,\"reasoning\":\"scripted test\",\"next_speaker\":\"user\"}",
    };

    /// <summary>The script for requests made with <paramref name="apiKey"/> (created on first use).</summary>
    public ModelScript Script(string apiKey) => _scripts.GetOrAdd(apiKey, key => new ModelScript(key));

    /// <summary>Every request so far, in arrival order.</summary>
    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    /// <summary>Model requests (scripted, side, unscripted) so far.</summary>
    public IReadOnlyList<RecordedRequest> ModelRequests => [.. _requests.Where(r => r.Kind != RequestKind.Other)];

    /// <summary>Sum of the scripted usage sent in complete responses, for one route (null: all) and protocol (null: all).</summary>
    public TokenUsage Served(string? route = null, ModelProtocol? protocol = null)
    {
        var sum = TokenUsage.Zero;
        foreach (var ((r, p), usage) in _served)
            if ((route is null || r == route) && (protocol is null || p == protocol))
                sum += usage;
        return sum;
    }

    /// <summary>Usage put on the wire by responses that never completed (stalls): Anthropic's message_start carries
    /// input, cache and output_tokens ≤ 1, and Claude Code counts them in its result although the stream was abandoned.</summary>
    public TokenUsage ServedPartially(string? route = null, ModelProtocol? protocol = null)
    {
        var sum = TokenUsage.Zero;
        foreach (var ((r, p), usage) in _partial)
            if ((route is null || r == route) && (protocol is null || p == protocol))
                sum += usage;
        return sum;
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or InvalidOperationException)
            {
                break;
            }
            lock (_socketsGate)
                _sockets.Add(socket);
            var task = Task.Run(() => ServeConnectionAsync(socket));
            _connections[task] = 0;
            _ = task.ContinueWith(t => _connections.TryRemove(t, out _), TaskScheduler.Default);
        }
    }

    private async Task ServeConnectionAsync(Socket socket)
    {
        var ct = _stop.Token;
        try
        {
            socket.NoDelay = true;
            await using var stream = new NetworkStream(socket, ownsSocket: true);
            var connection = new HttpConnection(stream);
            while (!ct.IsCancellationRequested)
            {
                var request = await connection.ReadRequestAsync(ct).ConfigureAwait(false);
                if (request is null)
                    break;
                bool keepOpen = await HandleAsync(connection, request, ct).ConfigureAwait(false);
                if (!keepOpen || string.Equals(request.Header("Connection"), "close", StringComparison.OrdinalIgnoreCase))
                    break;
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away or the server stops.
        }
        finally
        {
            lock (_socketsGate)
                _sockets.Remove(socket);
            socket.Dispose();
        }
    }

    internal string NextId(string prefix) => $"{prefix}{Interlocked.Increment(ref _ids):D6}";

    private static string RouteKey(HttpRequest request)
    {
        if (request.Header("x-api-key") is { Length: > 0 } apiKey)
            return apiKey;
        if (request.Header("x-goog-api-key") is { Length: > 0 } googKey)
            return googKey;
        if (request.Header("Authorization") is { } auth && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return auth[7..].Trim();
        foreach (var part in request.Query.Split('&'))
            if (part.StartsWith("key=", StringComparison.Ordinal))
                return Uri.UnescapeDataString(part[4..]);
        return "";
    }

    /// <summary>Serves one request; false to close the connection afterwards.</summary>
    private async Task<bool> HandleAsync(HttpConnection connection, HttpRequest request, CancellationToken ct)
    {
        string body = Encoding.UTF8.GetString(request.Body);
        string key = RouteKey(request);
        string path = request.Path;
        ModelProtocol? protocol = null;
        bool streaming = false;
        if (request.Method == "POST" && path.EndsWith("/v1/messages", StringComparison.Ordinal))
        {
            protocol = ModelProtocol.Anthropic;
            streaming = JsonBool(body, "stream");
        }
        else if (request.Method == "POST" && path.EndsWith("/v1/responses", StringComparison.Ordinal))
        {
            protocol = ModelProtocol.OpenAIResponses;
            streaming = JsonBool(body, "stream");
        }
        else if (request.Method == "POST" && path.Contains(":streamGenerateContent", StringComparison.Ordinal))
        {
            protocol = ModelProtocol.Gemini;
            streaming = true;
        }
        else if (request.Method == "POST" && path.Contains(":generateContent", StringComparison.Ordinal))
        {
            protocol = ModelProtocol.Gemini;
        }

        if (protocol is not { } p)
        {
            Record(request, body, null, RequestKind.Other, "", null);
            await AnswerOtherAsync(connection, request, ct).ConfigureAwait(false);
            return true;
        }

        JsonElement json;
        try
        {
            json = JsonDocument.Parse(body).RootElement.Clone();
        }
        catch (JsonException)
        {
            Record(request, body, p, RequestKind.Other, "", null);
            await connection.WriteFullAsync(400, "application/json", "{\"error\":{\"message\":\"body is not JSON\"}}"u8.ToArray(), ct).ConfigureAwait(false);
            return true;
        }

        var script = _scripts.TryGetValue(key, out var own) ? own : Default;
        var writer = ProtocolWriter.For(p, this, connection, json, request, streaming);
        if (!writer.HasTools || (p == ModelProtocol.Gemini && !streaming))
        {
            Record(request, body, p, RequestKind.Side, script.Route, null);
            await writer.WriteTextAsync(TextTurnOf(SideText[p]), ct).ConfigureAwait(false);
            return true;
        }

        var turn = script.Next();
        if (turn is null)
        {
            Record(request, body, p, RequestKind.Unscripted, script.Route, null);
            await writer.WriteTextAsync(TextTurnOf($"(the test model server has no scripted turn left for route '{script.Route}')"), ct).ConfigureAwait(false);
            return true;
        }

        Record(request, body, p, RequestKind.Scripted, script.Route, turn);
        switch (turn)
        {
            case ErrorTurn error:
                await writer.WriteErrorAsync(error, ct).ConfigureAwait(false);
                return true;
            case StallTurn stall:
                var sent = await writer.WriteStallStartAsync(stall, ct).ConfigureAwait(false);
                _partial.AddOrUpdate((script.Route, p), sent, (_, sum) => sum + sent);
                await connection.WaitForClientCloseAsync(ct).ConfigureAwait(false);
                return false;
            case ShellTurn shell:
                await writer.WriteShellAsync(shell, ct).ConfigureAwait(false);
                break;
            case ToolTurn tool:
                await writer.WriteToolAsync(tool.Name, tool.ArgumentsJson, tool.Preamble, tool.Usage, ct).ConfigureAwait(false);
                break;
            case TextTurn text:
                await writer.WriteTextAsync(text, ct).ConfigureAwait(false);
                break;
        }
        _served.AddOrUpdate((script.Route, p), turn.Usage, (_, sum) => sum + turn.Usage);
        return true;
    }

    private static TextTurn TextTurnOf(string text) => new([text], TimeSpan.Zero) { Usage = TokenUsage.Zero };

    private static bool JsonBool(string body, string property)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.True;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private void Record(HttpRequest request, string body, ModelProtocol? protocol, RequestKind kind, string route, ScriptedTurn? turn) =>
        _requests.Enqueue(new RecordedRequest(DateTimeOffset.UtcNow, request.Method, request.Target, request.Headers, body, protocol, kind, route, turn));

    private static Task AnswerOtherAsync(HttpConnection connection, HttpRequest request, CancellationToken ct)
    {
        string path = request.Path;
        string json =
            path.EndsWith("/count_tokens", StringComparison.Ordinal) ? "{\"input_tokens\":0}"
            : path.Contains(":countTokens", StringComparison.Ordinal) ? "{\"totalTokens\":0}"
            : path.EndsWith("/models", StringComparison.Ordinal) ? "{\"data\":[],\"models\":[]}"
            : "{}";
        return connection.WriteFullAsync(200, "application/json", Encoding.UTF8.GetBytes(json), ct, headOnly: request.Method == "HEAD");
    }

    /// <summary>Whether the server stopped (disposed or past its lifetime).</summary>
    public bool Stopped => _stop.IsCancellationRequested;

    private void StopListening()
    {
        _listener.Stop();
        lock (_socketsGate)
            foreach (var socket in _sockets)
                socket.Dispose();
    }

    /// <summary>Stops listening, ends every connection (stalled streams included) and waits for them.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        await _stop.CancelAsync().ConfigureAwait(false);
        StopListening();
        try
        {
            await Task.WhenAll([_acceptLoop, .. _connections.Keys]).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException or IOException or SocketException)
        {
        }
        _stop.Dispose();
    }

    /// <inheritdoc cref="DisposeAsync"/>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
