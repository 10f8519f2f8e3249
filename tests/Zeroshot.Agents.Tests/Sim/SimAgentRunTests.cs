using System.Text;
using System.Text.Json;
using Zeroshot.Agents.Sim;
using static Zeroshot.Agents.Tests.Sim.StreamJsonFacts;

namespace Zeroshot.Agents.Tests.Sim;

/// <summary>Real runs: real /bin/sh tools, real loopback TCP, real files, the system clock.</summary>
public sealed class SimAgentRunTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("zeroshot-sim-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Func<string, string?> Env(string prompt, int iteration) => name => name switch
    {
        SimAgent.PromptVariable => prompt,
        SimAgent.IterationVariable => iteration.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => null,
    };

    private static List<string> SplitLines(string text)
    {
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        return [.. text[..^1].Split('\n')];
    }

    private static async Task WaitFor(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out after 20 s waiting for {what}");
            await Task.Delay(25);
        }
    }

    [Fact]
    public async Task A_short_run_prints_valid_stream_json_and_really_works()
    {
        var options = SimAgentOptions.Parse($$"""{"durationSeconds": 1.5, "seed": 7, "cpu": 0.5, "networkKBps": 200, "workdir": "{{_dir}}"}""");
        var agent = new SimAgent(options, Env("Add a cache to the parser", 1), TimeProvider.System);
        using var stdout = new MemoryStream();

        var exit = await agent.RunAsync(stdout, CancellationToken.None);

        Assert.Equal(0, exit);
        var lines = ParseLines(SplitLines(Encoding.UTF8.GetString(stdout.ToArray())));
        Assert.Equal("system", Type(lines[0]));
        var result = lines[^1];
        Assert.Equal("result", Type(result));
        Assert.Single(lines, l => Type(l) == "result");
        Assert.False(result.GetProperty("is_error").GetBoolean());
        Assert.True(result.GetProperty("duration_ms").GetInt64() > 0);

        // Accounting: each message id once, last value wins, equals the reported usage and cost.
        var totals = TotalsLastValueWins(lines);
        Assert.Equal(totals, Usage(result.GetProperty("usage")));
        Assert.Equal(agent.Script!.CostUsd, result.GetProperty("total_cost_usd").GetDecimal());
        Assert.Equal(SimPrice.Sonnet.Cost(totals), result.GetProperty("total_cost_usd").GetDecimal());

        // tool_use and tool_result pair up one to one, in order, and the real tools succeeded.
        var uses = ToolUses(lines);
        var results = ToolResults(lines);
        Assert.Equal(uses.Select(u => u.Id), results.Select(r => r.Id));
        Assert.All(results, r => Assert.False(r.IsError, r.Content));
        Assert.Contains(results, r => r.Content.Contains("passed, 0 failed", StringComparison.Ordinal));

        // The tools really ran: processes started, dd wrote the build output, Write wrote the source.
        Assert.Equal(uses.Count(u => u.Name == "Bash"), agent.ToolProcessIds.Count);
        var build = uses.Single(u => u.Input.TryGetProperty("command", out var c) && c.GetString()!.Contains("dd if=", StringComparison.Ordinal));
        var blocks = int.Parse(build.Input.GetProperty("command").GetString()!.Split("count=")[1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(blocks * 65536L, new FileInfo(Path.Combine(_dir, "build", "app.bin")).Length);
        foreach (var write in uses.Where(u => u.Name == "Write"))
            Assert.Equal(write.Input.GetProperty("content").GetString(), await File.ReadAllTextAsync(write.Input.GetProperty("file_path").GetString()!));

        // Loopback bytes flowed both ways while thinking.
        Assert.True(agent.LoopbackBytesSent > 0, "nothing sent on the loopback link");
        Assert.True(agent.LoopbackBytesReceived > 0, "nothing received on the loopback link");
    }

    [Fact]
    public async Task With_a_fake_clock_a_ten_minute_script_runs_at_once_and_reports_virtual_durations()
    {
        var options = SimAgentOptions.Parse($$"""{"durationSeconds": 600, "seed": 9, "cpu": 1, "networkKBps": 1, "workdir": "{{_dir}}"}""");
        var agent = new SimAgent(options, _ => null, new InstantClock());
        using var stdout = new MemoryStream();

        Assert.Equal(0, await agent.RunAsync(stdout, CancellationToken.None));

        var result = ParseLines(SplitLines(Encoding.UTF8.GetString(stdout.ToArray())))[^1];
        var durationMs = result.GetProperty("duration_ms").GetInt64();
        var apiMs = result.GetProperty("duration_api_ms").GetInt64();
        // Virtual time: the phases were scaled to 600 s, each rounded to a millisecond.
        Assert.InRange(durationMs, 600_000 - 50, 600_000 + 50);
        Assert.InRange(apiMs, 1, durationMs - 1);
    }

    [Fact]
    public async Task Two_real_runs_with_one_seed_print_the_same_stream_apart_from_durations()
    {
        var workdir = Path.Combine(_dir, "w");
        var options = SimAgentOptions.Parse($$"""{"durationSeconds": 0.3, "seed": 21, "cpu": 0, "networkKBps": 0, "workdir": "{{workdir}}"}""");

        async Task<List<string>> RunOnce()
        {
            if (Directory.Exists(workdir)) Directory.Delete(workdir, recursive: true);
            using var stdout = new MemoryStream();
            Assert.Equal(0, await new SimAgent(options, Env("same", 1), TimeProvider.System).RunAsync(stdout, CancellationToken.None));
            var lines = SplitLines(Encoding.UTF8.GetString(stdout.ToArray()));
            // The result line's durations are measured; blank them out.
            lines[^1] = System.Text.RegularExpressions.Regex.Replace(lines[^1], "\"duration(_api)?_ms\":\\d+", "\"duration$1_ms\":0");
            return lines;
        }

        var first = await RunOnce();
        var second = await RunOnce();
        Assert.Equal(first, second);
    }

    [Fact]
    public async Task A_reject_iteration_exits_1_with_the_reason()
    {
        var options = SimAgentOptions.Parse($$"""{"durationSeconds": 0.3, "seed": 3, "rejectIterations": [2], "networkKBps": 0, "workdir": "{{_dir}}"}""");
        using var stdout = new MemoryStream();

        var exit = await new SimAgent(options, Env("review", 2), TimeProvider.System).RunAsync(stdout, CancellationToken.None);

        Assert.Equal(1, exit);
        var lines = ParseLines(SplitLines(Encoding.UTF8.GetString(stdout.ToArray())));
        var result = lines[^1];
        Assert.True(result.GetProperty("is_error").GetBoolean());
        Assert.StartsWith("REJECTED: tests fail", result.GetProperty("result").GetString(), StringComparison.Ordinal);
        Assert.Contains(ToolResults(lines), r => r.IsError && r.Content.Contains("failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_exit_code_option_is_returned_and_the_temp_workdir_removed()
    {
        var options = SimAgentOptions.Parse("""{"durationSeconds": 0.3, "exitCode": 3, "networkKBps": 0}""");
        var agent = new SimAgent(options, _ => null, TimeProvider.System);
        using var stdout = new MemoryStream();

        Assert.Equal(3, await agent.RunAsync(stdout, CancellationToken.None));

        var result = ParseLines(SplitLines(Encoding.UTF8.GetString(stdout.ToArray())))[^1];
        Assert.True(result.GetProperty("is_error").GetBoolean());
        Assert.NotNull(agent.WorkDirectory);
        Assert.False(Directory.Exists(agent.WorkDirectory), "the sim's own temp workdir was left behind");
    }

    [Fact]
    public async Task Hang_prints_init_then_nothing_until_cancelled()
    {
        var options = SimAgentOptions.Parse($$"""{"hang": true, "workdir": "{{_dir}}"}""");
        var agent = new SimAgent(options, _ => null, TimeProvider.System);
        using var stdout = new LineSink();
        using var cts = new CancellationTokenSource();

        var run = agent.RunAsync(stdout, cts.Token);
        await WaitFor(() => stdout.Lines.Count >= 1, "the init line");
        // Give a misbehaving sim a moment to print more before the cut-off.
        await Task.Delay(200);
        Assert.False(run.IsCompleted, "a hanging sim returned on its own");
        await cts.CancelAsync();

        Assert.Equal(ExitCodes.Interrupted, await run);
        var line = Assert.Single(stdout.Lines);
        Assert.Equal("init", ParseLines([line])[0].GetProperty("subtype").GetString());
        Assert.Empty(agent.ToolProcessIds);
        Assert.Equal(0L, agent.LoopbackBytesSent);
    }

    [Fact]
    public async Task Cancellation_kills_the_running_tool_and_closes_up()
    {
        var options = SimAgentOptions.Parse("""{"durationSeconds": 20, "seed": 11, "cpu": 1, "networkKBps": 50}""");
        var agent = new SimAgent(options, _ => null, TimeProvider.System);
        using var stdout = new LineSink();
        using var cts = new CancellationTokenSource();

        var run = agent.RunAsync(stdout, cts.Token);
        await WaitFor(() => agent.ToolProcessIds.Count > 0, "the first tool subprocess");
        var pid = agent.ToolProcessIds[0];
        Assert.True(Directory.Exists($"/proc/{pid}"), "the tool is not running");
        Assert.True(agent.LoopbackBytesReceived > 0, "no loopback traffic before the first tool");
        await cts.CancelAsync();

        Assert.Equal(ExitCodes.Interrupted, await run);
        Assert.False(Directory.Exists($"/proc/{pid}"), $"tool pid {pid} survived cancellation");
        Assert.DoesNotContain(stdout.Lines, l => l.Contains("\"type\":\"result\"", StringComparison.Ordinal));
        Assert.False(Directory.Exists(agent.WorkDirectory), "the sim's own temp workdir was left behind");
    }

    [Fact]
    public async Task A_malformed_iteration_is_a_usage_error()
    {
        var agent = new SimAgent(new SimAgentOptions(), n => n == SimAgent.IterationVariable ? "two" : null, TimeProvider.System);
        var e = await Assert.ThrowsAsync<UserErrorException>(() => agent.RunAsync(Stream.Null, CancellationToken.None));
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.Contains("ZEROSHOT_ITERATION", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_command_line_entry_rejects_bad_options_before_running()
    {
        var e = await Assert.ThrowsAsync<UserErrorException>(() => SimAgent.RunFromCommandLineAsync("""{"speed": 2}""", CancellationToken.None));
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.Contains("'speed'", e.Message, StringComparison.Ordinal);
    }

    /// <summary>A write-only stream another thread can read lines from while the sim writes.</summary>
    private sealed class LineSink : Stream
    {
        private readonly MemoryStream _buffer = new();

        public IReadOnlyList<string> Lines
        {
            get
            {
                lock (_buffer)
                {
                    var text = Encoding.UTF8.GetString(_buffer.GetBuffer(), 0, (int)_buffer.Length);
                    return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries)];
                }
            }
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            lock (_buffer) _buffer.Write(buffer, offset, count);
        }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) _buffer.Dispose();
            base.Dispose(disposing);
        }
    }
}
