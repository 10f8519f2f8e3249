using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Zeroshot.RealAgents.Tests;

/// <summary>The model server on its own, through HttpClient and raw sockets (no CLI): fast checks of the harness.</summary>
public sealed class ModelServerTests
{
    private static readonly TokenUsage Usage = new(Input: 10, Output: 3, CacheRead: 4, CacheCreation: 2, Reasoning: 1);
    private const string Tools = "\"tools\":[{\"name\":\"Bash\",\"input_schema\":{\"type\":\"object\"}}]";

    private static HttpClient Client() => new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(20) };

    private static Task<HttpResponseMessage> PostAnthropic(HttpClient client, ModelServer server, string key, string body,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"{server.BaseUrl}/v1/messages?beta=true") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("x-api-key", key);
        return client.SendAsync(request, completion);
    }

    private static List<JsonElement> SseData(string text) =>
        [.. text.Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Select(l => JsonDocument.Parse(l[6..]).RootElement.Clone())];

    [Fact]
    public async Task Listens_on_loopback_only_and_answers_head_and_keeps_the_connection_alive()
    {
        await using var server = new ModelServer();
        Assert.StartsWith("http://127.0.0.1:", server.BaseUrl, StringComparison.Ordinal);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, server.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync("HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
        var received = new StringBuilder();
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!received.ToString().Contains("\"models\"", StringComparison.Ordinal))
        {
            int n = await stream.ReadAsync(buffer, cts.Token);
            Assert.NotEqual(0, n);
            received.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
        var text = received.ToString();
        Assert.Equal(2, text.Split("HTTP/1.1 200 OK").Length - 1);
        Assert.Equal(2, server.Requests.Count);
        Assert.All(server.Requests, r => Assert.Equal(RequestKind.Other, r.Kind));
    }

    [Fact]
    public async Task Routes_by_api_key_and_sums_served_usage_per_route()
    {
        await using var server = new ModelServer();
        server.Script("worker-key").Then(ScriptedTurn.Text("work", Usage), ScriptedTurn.Text("more work", Usage));
        server.Script("validator-key").Then(ScriptedTurn.Text("{\"verdict\":\"reject\"}", Usage));
        using var client = Client();

        var body = $"{{\"model\":\"m\",\"stream\":true,{Tools},\"messages\":[]}}";
        var worker = await (await PostAnthropic(client, server, "worker-key", body)).Content.ReadAsStringAsync();
        var validator = await (await PostAnthropic(client, server, "validator-key", body)).Content.ReadAsStringAsync();

        Assert.Contains("\"text\":\"work\"", worker, StringComparison.Ordinal);
        Assert.Contains("reject", validator, StringComparison.Ordinal);
        Assert.Equal(1, server.Script("worker-key").Remaining);
        Assert.Equal(0, server.Script("validator-key").Remaining);
        Assert.Equal(Usage, server.Served("worker-key"));
        Assert.Equal(Usage + Usage, server.Served());
        var events = SseData(worker).Select(e => e.GetProperty("type").GetString()).ToList();
        Assert.Equal(["message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"], events);
        var delta = SseData(worker).Single(e => e.GetProperty("type").GetString() == "message_delta");
        Assert.Equal(Usage.Output, delta.GetProperty("usage").GetProperty("output_tokens").GetInt64());
        Assert.Equal(Usage.CacheCreation, delta.GetProperty("usage").GetProperty("cache_creation_input_tokens").GetInt64());
    }

    [Fact]
    public async Task Requests_without_tools_are_side_requests_and_an_empty_script_is_flagged()
    {
        await using var server = new ModelServer();
        server.Default.Then(ScriptedTurn.Text("scripted", Usage));
        using var client = Client();

        var side = await (await PostAnthropic(client, server, "k", "{\"model\":\"claude-haiku\",\"stream\":true,\"messages\":[]}")).Content.ReadAsStringAsync();
        Assert.Contains("Scripted side answer.", side, StringComparison.Ordinal);
        Assert.Equal(1, server.Default.Remaining);
        await PostAnthropic(client, server, "k", $"{{\"model\":\"m\",\"stream\":true,{Tools},\"messages\":[]}}");
        var unscripted = await (await PostAnthropic(client, server, "k", $"{{\"model\":\"m\",\"stream\":true,{Tools},\"messages\":[]}}")).Content.ReadAsStringAsync();

        Assert.Contains("no scripted turn left", unscripted, StringComparison.Ordinal);
        Assert.Equal([RequestKind.Side, RequestKind.Scripted, RequestKind.Unscripted], server.ModelRequests.Select(r => r.Kind));
        Assert.Equal(Usage, server.Served());
    }

    [Fact]
    public async Task Errors_carry_each_protocols_error_body()
    {
        await using var server = new ModelServer();
        server.Default.Then(ScriptedTurn.Error(529), ScriptedTurn.Error(429, retryAfterSeconds: 7), ScriptedTurn.Error(401));
        using var client = Client();

        var overloaded = await PostAnthropic(client, server, "k", $"{{\"model\":\"m\",\"stream\":true,{Tools},\"messages\":[]}}");
        Assert.Equal(529, (int)overloaded.StatusCode);
        var error = JsonDocument.Parse(await overloaded.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("error", error.GetProperty("type").GetString());
        Assert.Equal("overloaded_error", error.GetProperty("error").GetProperty("type").GetString());

        var limited = await client.PostAsync($"{server.BaseUrl}/v1/responses", new StringContent($"{{\"model\":\"m\",\"stream\":true,{Tools}}}"));
        Assert.Equal(429, (int)limited.StatusCode);
        Assert.Equal("7", limited.Headers.GetValues("retry-after").Single());
        Assert.Equal("rate_limit_exceeded", JsonDocument.Parse(await limited.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());

        var gemini = await client.PostAsync($"{server.BaseUrl}/v1beta/models/g:streamGenerateContent?alt=sse",
            new StringContent("{\"tools\":[{\"functionDeclarations\":[{\"name\":\"run_shell_command\"}]}]}"));
        Assert.Equal(401, (int)gemini.StatusCode);
        Assert.Equal("UNAUTHENTICATED", JsonDocument.Parse(await gemini.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("status").GetString());
        Assert.Equal(TokenUsage.Zero, server.Served());
    }

    [Fact]
    public async Task OpenAI_and_Gemini_streams_carry_the_scripted_usage()
    {
        await using var server = new ModelServer();
        server.Default.Then(ScriptedTurn.Shell("echo hi", Usage), ScriptedTurn.Text("done", Usage));
        using var client = Client();

        var openai = await (await client.PostAsync($"{server.BaseUrl}/v1/responses",
            new StringContent("{\"model\":\"gpt-5.5\",\"stream\":true,\"tools\":[{\"type\":\"function\",\"name\":\"exec_command\"}]}"))).Content.ReadAsStringAsync();
        var completed = SseData(openai).Single(e => e.GetProperty("type").GetString() == "response.completed");
        var usage = completed.GetProperty("response").GetProperty("usage");
        Assert.Equal(Usage.Input + Usage.CacheRead, usage.GetProperty("input_tokens").GetInt64());
        Assert.Equal(Usage.CacheRead, usage.GetProperty("input_tokens_details").GetProperty("cached_tokens").GetInt64());
        Assert.Equal(Usage.Reasoning, usage.GetProperty("output_tokens_details").GetProperty("reasoning_tokens").GetInt64());
        var call = SseData(openai).Single(e => e.GetProperty("type").GetString() == "response.output_item.done").GetProperty("item");
        Assert.Equal("exec_command", call.GetProperty("name").GetString());
        Assert.Equal("{\"cmd\":\"echo hi\"}", call.GetProperty("arguments").GetString());

        var gemini = await (await client.PostAsync($"{server.BaseUrl}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            new StringContent("{\"tools\":[{\"functionDeclarations\":[{\"name\":\"run_shell_command\"}]}]}"))).Content.ReadAsStringAsync();
        var last = SseData(gemini)[^1];
        Assert.Equal(Usage.Input + Usage.CacheRead, last.GetProperty("usageMetadata").GetProperty("promptTokenCount").GetInt64());
        Assert.Equal("STOP", last.GetProperty("candidates")[0].GetProperty("finishReason").GetString());
        Assert.Equal(Usage, server.Served(protocol: ModelProtocol.Gemini));
    }

    [Fact]
    public async Task Disposing_ends_a_stalled_stream()
    {
        var server = new ModelServer();
        server.Default.Then(ScriptedTurn.Stall("partial", Usage));
        using var client = Client();
        var response = await PostAnthropic(client, server, "k", $"{{\"model\":\"m\",\"stream\":true,{Tools},\"messages\":[]}}", HttpCompletionOption.ResponseHeadersRead);
        var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[8192];
        var seen = new StringBuilder();
        while (!seen.ToString().Contains("partial", StringComparison.Ordinal))
            seen.Append(Encoding.UTF8.GetString(buffer, 0, await stream.ReadAsync(buffer)));

        var read = stream.ReadAsync(buffer).AsTask();
        Assert.False(read.IsCompleted);
        await server.DisposeAsync();
        var ended = await Record.ExceptionAsync(() => read.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(ended is null or IOException or HttpRequestException, ended?.ToString());
        Assert.Equal(TokenUsage.Zero, server.Served());
        Assert.Equal(Usage with { Output = 1, Reasoning = 0 }, server.ServedPartially());
    }

    [Fact]
    public void A_missing_cli_fails_with_the_install_hint()
    {
        var empty = Directory.CreateTempSubdirectory("zeroshot-no-clis-");
        try
        {
            var error = Assert.Throws<InvalidOperationException>(() => RealAgentClis.Locate(AgentCli.Codex, empty.FullName));
            Assert.Contains("run .ci/install-agent-clis", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', error.Message);
        }
        finally
        {
            empty.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData(AgentCli.Claude)]
    [InlineData(AgentCli.Codex)]
    [InlineData(AgentCli.Gemini)]
    public void The_pinned_clis_are_installed(AgentCli cli) => Assert.True(File.Exists(RealAgentClis.Locate(cli)));

    [Fact]
    public async Task Stops_by_itself_after_its_lifetime()
    {
        await using var server = new ModelServer(maxLifetime: TimeSpan.FromMilliseconds(500));
        server.Default.Then(ScriptedTurn.Stall("partial", Usage));
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, server.Port);
        var stream = tcp.GetStream();
        var body = $"{{\"model\":\"m\",\"stream\":true,{Tools}}}";
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: {body.Length}\r\n\r\n{body}"));

        // The stalled connection is closed by the server when its lifetime ends, and nothing listens any more.
        var buffer = new byte[65536];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            while (await stream.ReadAsync(buffer, cts.Token) > 0)
            {
            }
        }
        catch (IOException)
        {
        }
        Assert.True(server.Stopped);
        using var late = new TcpClient();
        await Assert.ThrowsAnyAsync<SocketException>(() => late.ConnectAsync(IPAddress.Loopback, server.Port));
    }
}
