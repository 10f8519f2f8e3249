using System.Text.Json;
using Zeroshot.Agents.Sim;
using static Zeroshot.Agents.Tests.Sim.StreamJsonFacts;

namespace Zeroshot.Agents.Tests.Sim;

public class SimScriptTests
{
    private const string Cwd = "/work/project";

    private static SimScript Build(string json = "{}", int seed = 42, string prompt = "Add a cache", int iteration = 1) =>
        SimScript.Build(SimAgentOptions.Parse(json), seed, prompt, iteration, Cwd);

    private static List<JsonElement> Lines(SimScript s) => ParseLines(s.Steps.OfType<SimEmit>().Select(e => e.Line));

    [Fact]
    public void Same_seed_gives_the_same_script_and_another_seed_another()
    {
        var a = Build(seed: 5);
        var b = Build(seed: 5);
        var c = Build(seed: 6);
        Assert.Equal(a.Steps, b.Steps);
        Assert.Equal(a.Totals, b.Totals);
        Assert.NotEqual(a.Steps.OfType<SimEmit>().Select(e => e.Line), c.Steps.OfType<SimEmit>().Select(e => e.Line));
    }

    [Fact]
    public void Seed_42_has_these_exact_totals_and_cost()
    {
        var s = Build(seed: 42);
        Assert.Equal(new SimUsage(InputTokens: 115, CacheCreationInputTokens: 16842, CacheReadInputTokens: 63927, OutputTokens: 2962), s.Totals);
        Assert.Equal(0.1271106m, s.CostUsd); // (115×3 + 16842×3.75 + 63927×0.30 + 2962×15) / 1e6 USD
        Assert.Equal(6, s.NumTurns);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(42)]
    [InlineData(1234567)]
    public void Totals_are_the_sum_over_unique_message_ids_of_the_last_value(int seed)
    {
        var s = Build(seed: seed);
        var lines = Lines(s);
        Assert.Equal(s.Totals, TotalsLastValueWins(lines));
        Assert.Equal(s.NumTurns, AssistantUsageById(lines).Count);
        Assert.Equal(SimPrice.Sonnet.Cost(s.Totals), s.CostUsd);
    }

    [Fact]
    public void Message_ids_repeat_across_lines_with_growing_output_tokens()
    {
        var byId = AssistantUsageById(Lines(Build()));
        var repeated = byId.Where(m => m.Lines.Count > 1).ToList();
        Assert.True(repeated.Count >= 3, $"only {repeated.Count} message ids span several lines");
        foreach (var (id, usages) in repeated)
        {
            for (var i = 1; i < usages.Count; i++)
            {
                Assert.True(usages[i].OutputTokens > usages[i - 1].OutputTokens, $"{id}: output_tokens did not grow at line {i}");
                Assert.Equal(usages[0] with { OutputTokens = 0 }, usages[i] with { OutputTokens = 0 });
            }
        }
    }

    [Fact]
    public void Every_tool_use_is_executed_once_after_it_is_announced()
    {
        var s = Build();
        var uses = ToolUses(Lines(s));
        Assert.Contains(uses, u => u.Name == "Bash");
        Assert.Contains(uses, u => u.Name == "Write");
        var emitted = 0;
        var seen = new HashSet<string>();
        foreach (var step in s.Steps)
        {
            switch (step)
            {
                case SimEmit e:
                    emitted += ToolUses(ParseLines([e.Line])).Count;
                    break;
                case SimBash b:
                    var bashUse = uses.Single(u => u.Id == b.ToolUseId);
                    Assert.True(uses.IndexOf(bashUse) < emitted, $"{b.ToolUseId} runs before its tool_use line");
                    Assert.Equal(b.Command, bashUse.Input.GetProperty("command").GetString());
                    Assert.True(seen.Add(b.ToolUseId), $"{b.ToolUseId} runs twice");
                    break;
                case SimWrite w:
                    var writeUse = uses.Single(u => u.Id == w.ToolUseId);
                    Assert.True(uses.IndexOf(writeUse) < emitted, $"{w.ToolUseId} runs before its tool_use line");
                    Assert.Equal(w.FilePath, writeUse.Input.GetProperty("file_path").GetString());
                    Assert.Equal(w.Content, writeUse.Input.GetProperty("content").GetString());
                    Assert.StartsWith(Cwd + "/", w.FilePath, StringComparison.Ordinal);
                    Assert.True(seen.Add(w.ToolUseId), $"{w.ToolUseId} runs twice");
                    break;
            }
        }
        Assert.Equal(uses.Select(u => u.Id).ToHashSet(), seen);
    }

    [Fact]
    public void Lines_have_the_stream_json_shapes_and_the_prompt_is_echoed()
    {
        var s = Build(prompt: "Make the parser reject NaN");
        var lines = Lines(s);
        var init = lines[0];
        Assert.Equal("system", Type(init));
        Assert.Equal("init", init.GetProperty("subtype").GetString());
        Assert.Equal(s.SessionId, init.GetProperty("session_id").GetString());
        Assert.Equal(SimAgentOptions.DefaultModel, init.GetProperty("model").GetString());
        Assert.Equal(Cwd, init.GetProperty("cwd").GetString());
        Assert.Contains("Bash", init.GetProperty("tools").EnumerateArray().Select(t => t.GetString()));
        foreach (var line in lines.Skip(1))
        {
            Assert.Equal("assistant", Type(line));
            Assert.Equal(s.SessionId, line.GetProperty("session_id").GetString());
            var message = line.GetProperty("message");
            Assert.StartsWith("msg_", message.GetProperty("id").GetString(), StringComparison.Ordinal);
            Assert.Equal("assistant", message.GetProperty("role").GetString());
            Assert.Equal(1, message.GetProperty("content").GetArrayLength());
        }
        var firstText = lines[1].GetProperty("message").GetProperty("content")[0].GetProperty("text").GetString();
        Assert.Contains("Make the parser reject NaN", firstText, StringComparison.Ordinal);
    }

    [Fact]
    public void Phases_add_up_to_the_target_duration()
    {
        var s = Build("""{"durationSeconds": 7}""");
        var total = s.Steps.Sum(step => step switch
        {
            SimThink t => t.Duration.TotalMilliseconds,
            SimPause p => p.Duration.TotalMilliseconds,
            SimBash b => b.Budget.TotalMilliseconds,
            _ => 0,
        });
        // Each phase is rounded to a millisecond.
        Assert.InRange(total, 7000 - s.Steps.Count, 7000 + s.Steps.Count);
    }

    [Fact]
    public void A_reject_iteration_fails_the_tests_and_exits_1()
    {
        var rejected = Build("""{"rejectIterations": [2, 3]}""", iteration: 2);
        Assert.Equal(1, rejected.ExitCode);
        Assert.True(rejected.IsError);
        Assert.StartsWith("REJECTED: tests fail", rejected.ResultText, StringComparison.Ordinal);
        Assert.Contains(rejected.Steps.OfType<SimBash>(), b => b.Command.EndsWith("failed\"; false", StringComparison.Ordinal));
        var result = ParseLines([rejected.ResultLine(10, 5)])[0];
        Assert.True(result.GetProperty("is_error").GetBoolean());
        Assert.Equal(rejected.ResultText, result.GetProperty("result").GetString());

        var accepted = Build("""{"rejectIterations": [2, 3]}""", iteration: 1);
        Assert.Equal(0, accepted.ExitCode);
        Assert.DoesNotContain(accepted.Steps.OfType<SimBash>(), b => b.Command.Contains("failed\"; false;", StringComparison.Ordinal));
    }

    [Fact]
    public void The_exit_code_option_is_a_described_failure()
    {
        var s = Build("""{"exitCode": 3}""");
        Assert.Equal(3, s.ExitCode);
        Assert.Equal("FAILED: simulated failure (exitCode 3)", s.ResultText);
    }

    [Fact]
    public void Hang_is_init_then_silence()
    {
        var s = Build("""{"hang": true}""");
        Assert.Equal(2, s.Steps.Count);
        Assert.IsType<SimEmit>(s.Steps[0]);
        Assert.IsType<SimHang>(s.Steps[1]);
    }

    [Fact]
    public void The_result_line_reports_totals_cost_and_durations()
    {
        var s = Build("""{"model": "claude-opus-4-1-20250805"}""");
        var r = ParseLines([s.ResultLine(12_345, 6_789)])[0];
        Assert.Equal("result", Type(r));
        Assert.Equal("success", r.GetProperty("subtype").GetString());
        Assert.False(r.GetProperty("is_error").GetBoolean());
        Assert.Equal(12_345, r.GetProperty("duration_ms").GetInt64());
        Assert.Equal(6_789, r.GetProperty("duration_api_ms").GetInt64());
        Assert.Equal(s.NumTurns, r.GetProperty("num_turns").GetInt32());
        Assert.Equal(s.SessionId, r.GetProperty("session_id").GetString());
        Assert.Equal(s.Totals, Usage(r.GetProperty("usage")));
        Assert.Equal(SimPrice.Opus4.Cost(s.Totals), r.GetProperty("total_cost_usd").GetDecimal());
    }

    [Fact]
    public void Price_table_is_per_million_tokens()
    {
        Assert.Equal(3m + 3.75m + 0.30m + 15m, SimPrice.Sonnet.Cost(new SimUsage(1_000_000, 1_000_000, 1_000_000, 1_000_000)));
        Assert.Equal(0.000025m, SimPrice.Opus45.Cost(new SimUsage(0, 0, 0, 1)));
        Assert.Equal(SimPrice.Haiku45, SimPrice.ForModel("claude-haiku-4-5"));
        Assert.Equal(SimPrice.Haiku35, SimPrice.ForModel("claude-3-5-haiku-20241022"));
        Assert.Equal(SimPrice.Opus45, SimPrice.ForModel("claude-opus-4-5"));
        Assert.Equal(SimPrice.Opus4, SimPrice.ForModel("claude-opus-4-1"));
        Assert.Equal(SimPrice.Sonnet, SimPrice.ForModel("anything-else"));
    }
}

public sealed class SimBurnScriptTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("zeroshot-sim-burn-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task The_burn_spends_cpu_in_the_shell_until_the_stop_file_appears()
    {
        var stop = Path.Combine(_dir, "it's.stop"); // a quote in the path must survive the sh quoting
        // `times` (POSIX sh builtin) prints the shell's own user and system CPU time first.
        var psi = new System.Diagnostics.ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(SimScript.BurnScript(stop) + "; times");
        using var p = System.Diagnostics.Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (p.TotalProcessorTime == TimeSpan.Zero)
        {
            Assert.False(p.HasExited, "the burn ended before its stop file existed");
            Assert.True(DateTime.UtcNow < deadline, "the burn spent no CPU within 20 s");
            await Task.Delay(20);
        }
        await File.WriteAllBytesAsync(stop, []);
        await p.WaitForExitAsync();

        Assert.Equal(0, p.ExitCode);
        var user = (await output).Split(' ', '\n')[0]; // e.g. 0m0.290000s
        var seconds = double.Parse(user[(user.IndexOf('m', StringComparison.Ordinal) + 1)..^1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(seconds > 0, $"no user CPU reported by the shell: {user}");
    }

    [Fact]
    public async Task An_orphaned_burn_stops_by_itself()
    {
        // The outer shell starts a burning shell and exits at once, as a SIGKILLed sim would leave its tool.
        var psi = new System.Diagnostics.ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, UseShellExecute = false };
        psi.Environment["B"] = SimScript.BurnScript(Path.Combine(_dir, "never.stop"));
        psi.ArgumentList.Add("-c");
        // The fifo holds the outer shell until the inner one has started, so the inner's $PPID is the outer shell.
        psi.ArgumentList.Add($"cd '{_dir}' && mkfifo up || exit 1; /bin/sh -c 'echo $PPID >up; eval \"$B\"' >/dev/null & read ppid <up; echo $!");
        int orphan;
        using (var p = System.Diagnostics.Process.Start(psi)!)
        {
            orphan = int.Parse((await p.StandardOutput.ReadLineAsync())!, System.Globalization.CultureInfo.InvariantCulture);
            await p.WaitForExitAsync();
        }

        // Gone, or a zombie waiting for a reaper that is not us.
        static bool Ended(int pid)
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                return true;
            }
        }
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!Ended(orphan))
        {
            if (DateTime.UtcNow > deadline)
            {
                System.Diagnostics.Process.GetProcessById(orphan).Kill();
                Assert.Fail($"orphaned burn {orphan} still running after 20 s");
            }
            await Task.Delay(25);
        }
    }
}
