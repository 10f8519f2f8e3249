using System.Text;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.Transcripts;

namespace Zeroshot.Agents.Tests.Transcripts;

/// <summary>
/// The parsers against transcripts recorded from the real CLIs (tests/Zeroshot.RealAgents.Tests/TranscriptTests.cs,
/// ZEROSHOT_SAVE_TRANSCRIPTS=1) and small hand-made lines. The expected totals are what the scripted server served in
/// those runs: a Bash tool turn and a final text turn each.
/// </summary>
public sealed class TranscriptParserTests
{
    private static IEnumerable<byte[]> SampleLines(string name)
    {
        var bytes = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Transcripts", "Samples", name));
        int start = 0;
        for (int i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] != '\n')
                continue;
            yield return bytes[start..i];
            start = i + 1;
        }
        Assert.Equal(bytes.Length, start); // every recorded line ends with a newline
    }

    private static byte[] U(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void Claude_sample_deduplicates_to_the_served_usage()
    {
        var usage = new ClaudeTranscriptUsage();
        var live = new ClaudeTranscriptUsage();
        foreach (var line in SampleLines("claude-tool-call.jsonl"))
        {
            usage.AddLine(line);
            // Without the cost-state line (written at the end), the message count alone must already be exact.
            if (ClaudeTranscript.Parse(line).Kind != ClaudeLineKind.CostState)
                live.AddLine(line);
        }
        // Served: tool turn (1200, 45, 300, 70) + final turn (1500, 20, 900, 11).
        var served = new TokenCounts(2700, 65, 1200, 81);
        Assert.Equal(served, usage.Tokens);
        Assert.Equal(served, live.Tokens);
        Assert.Equal(2, usage.Messages);
        Assert.Equal(3, live.UsageLines); // the tool message is on two lines (text block, tool_use block)
        Assert.Equal("claude-opus-5-5", usage.Model);
        Assert.Equal(0.012745m, usage.CostUsd);
        Assert.Null(live.CostUsd);
    }

    [Fact]
    public void Claude_TUI_sample_has_no_cost_state_yet_and_messages_give_the_served_usage()
    {
        // Recorded from the interactive TUI in tmux while it was still open: no cost-state line is written before the
        // session ends, so the live total comes from the messages alone.
        var usage = new ClaudeTranscriptUsage();
        foreach (var line in SampleLines("claude-tui-tool-call.jsonl"))
            usage.AddLine(line);
        Assert.Equal(new TokenCounts(2700, 65, 1200, 81), usage.Tokens);
        Assert.Equal(2, usage.Messages);
        Assert.Null(usage.CostUsd);
        Assert.Equal("claude-opus-5-5", usage.Model);
    }

    [Fact]
    public void Claude_same_id_counts_once_and_the_last_usage_wins()
    {
        var usage = new ClaudeTranscriptUsage();
        usage.AddLine(U("""{"type":"assistant","message":{"id":"m1","model":"claude-x","usage":{"input_tokens":10,"output_tokens":1,"cache_read_input_tokens":5,"cache_creation_input_tokens":2}}}"""));
        usage.AddLine(U("""{"message":{"usage":{"input_tokens":10,"output_tokens":7,"cache_read_input_tokens":5,"cache_creation_input_tokens":2},"id":"m1"},"type":"assistant"}"""));
        usage.AddLine(U("""{"type":"assistant","message":{"id":"m2","model":"<synthetic>","usage":{"input_tokens":0,"output_tokens":0}}}"""));
        usage.AddLine(U("""{"type":"user","message":{"role":"user","content":"hi"}}"""));
        Assert.Equal(new TokenCounts(10, 7, 5, 2), usage.Tokens);
        Assert.Equal("claude-x", usage.Model);
        Assert.Equal(2, usage.Messages);
    }

    [Fact]
    public void Claude_cost_state_is_authoritative_and_later_messages_add_on_top()
    {
        var usage = new ClaudeTranscriptUsage();
        usage.AddLine(U("""{"type":"assistant","message":{"id":"m1","usage":{"input_tokens":10,"output_tokens":1}}}"""));
        usage.AddLine(U("""{"type":"cost-state","totalCostUSD":0.5,"modelUsage":{"a":{"inputTokens":100,"outputTokens":2},"haiku":{"inputTokens":3,"outputTokens":1,"cacheReadInputTokens":4,"cacheCreationInputTokens":5}}}"""));
        usage.AddLine(U("""{"type":"assistant","message":{"id":"m1","usage":{"input_tokens":99,"output_tokens":99}}}"""));
        Assert.Equal(new TokenCounts(103, 3, 4, 5), usage.Tokens);
        usage.AddLine(U("""{"type":"assistant","message":{"id":"m2","usage":{"input_tokens":1,"output_tokens":1}}}"""));
        Assert.Equal(new TokenCounts(104, 4, 4, 5), usage.Tokens);
        Assert.Equal(0.5m, usage.CostUsd);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("""{"type":"assistant","message":{"id":"m1","usage":{"input_tokens":10""")]
    [InlineData("[1,2]")]
    [InlineData("""{"type":"assistant"} {}""")]
    public void Claude_malformed_lines_throw_InvalidDataException(string line)
    {
        var usage = new ClaudeTranscriptUsage();
        Assert.Throws<InvalidDataException>(() => usage.AddLine(U(line)));
        Assert.Equal(default, usage.Tokens);
    }

    [Fact]
    public void Claude_path_replaces_every_non_alphanumeric_character()
    {
        var id = "3e674e85-b92f-46e3-90d3-75299b7dde05";
        // As recorded: /root/.cache/zeroshot/test-homes/claude-<guid>/work → -root--cache-zeroshot-test-homes-claude-<guid>-work
        Assert.Equal("-root--cache-zeroshot-test-homes-claude-23f3197b-work", ClaudeTranscript.ProjectDirName("/root/.cache/zeroshot/test-homes/claude-23f3197b/work"));
        Assert.Equal("-a-b-c-d-e-f", ClaudeTranscript.ProjectDirName("/a_b c.d~e/f"));
        var temp = Path.GetFullPath(Path.GetTempPath());
        Assert.Equal(Path.Combine("/cfg", "projects", ClaudeTranscript.ProjectDirName(Path.TrimEndingDirectorySeparator(temp)), id + ".jsonl"),
            ClaudeTranscript.PathFor("/cfg", temp, id));
        var longPath = "/" + new string('x', 300);
        Assert.True(longPath.Length > ClaudeTranscript.MaxProjectDirLength);
        Assert.StartsWith(new string('-', 1) + new string('x', 199) + "-", ClaudeTranscript.ProjectDirName(longPath), StringComparison.Ordinal);
        // Recorded with Claude Code 2.1.332: a 319-character cwd gave the folder "<first 200>-t49cjw".
        var recorded = "/root/.cache/zeroshot/test-homes/claude-898258a298bb490999da037827086029/work/" + new string('d', 120) + "/" + new string('e', 120);
        Assert.Equal("-root--cache-zeroshot-test-homes-claude-898258a298bb490999da037827086029-work-" + new string('d', 120) + "-e-t49cjw",
            ClaudeTranscript.ProjectDirName(recorded));
    }

    [Fact]
    public void Claude_config_dir_honours_CLAUDE_CONFIG_DIR()
    {
        Assert.Equal("/x/cfg", ClaudeTranscript.ConfigDir(n => n == "CLAUDE_CONFIG_DIR" ? "/x/cfg" : "/home/u"));
        Assert.Equal(Path.Combine("/home/u", ".claude"), ClaudeTranscript.ConfigDir(n => n == "HOME" ? "/home/u" : null));
    }

    [Fact]
    public void Codex_sample_last_token_count_is_the_served_usage()
    {
        var usage = new CodexRolloutUsage();
        foreach (var line in SampleLines("codex-tool-call.jsonl"))
            usage.AddLine(line);
        // Served: (2100 + 2500 uncached input, 60 + 33 output, 400 + 1800 cached): token_count says input 6800 incl. cache.
        Assert.Equal(new TokenCounts(4600, 93, 2200, 0), usage.Tokens);
        Assert.Equal(2, usage.TokenCountEvents);
        Assert.Equal("gpt-5.5", usage.Model);
        Assert.Equal("01a23abc-933b-73f0-ad70-c1e1daca3146", usage.ThreadId);
    }

    [Fact]
    public void Codex_TUI_sample_main_thread_total_is_the_served_usage_without_the_title_thread()
    {
        var usage = new CodexRolloutUsage();
        foreach (var line in SampleLines("codex-tui-tool-call.jsonl"))
            usage.AddLine(line);
        Assert.Equal(new TokenCounts(4600, 93, 2200, 0), usage.Tokens);
        Assert.Equal("gpt-5.5", usage.Model);
        Assert.Equal("01a23acc-291d-7521-8284-8a955a65391d", usage.ThreadId);
    }

    [Fact]
    public void Codex_token_count_without_info_and_other_events_change_nothing()
    {
        var usage = new CodexRolloutUsage();
        Assert.True(usage.AddLine(U("""{"type":"event_msg","payload":{"type":"token_count","info":{"total_token_usage":{"input_tokens":50,"cached_input_tokens":20,"output_tokens":5}}}}""")));
        Assert.False(usage.AddLine(U("""{"type":"event_msg","payload":{"type":"token_count","info":null,"rate_limits":{}}}""")));
        Assert.False(usage.AddLine(U("""{"type":"event_msg","payload":{"type":"agent_message","info":{"total_token_usage":{"input_tokens":9}}}}""")));
        Assert.False(usage.AddLine(U("""{"type":"response_item","payload":{"type":"message"}}""")));
        Assert.Equal(new TokenCounts(30, 5, 20, 0), usage.Tokens);
        Assert.Throws<InvalidDataException>(() => usage.AddLine(U("""{"type":"event_msg","payload":{"type":"token_count",""")));
    }

    [Fact]
    public void Codex_finds_the_rollout_of_a_session_by_cwd_and_start_time()
    {
        var home = Directory.CreateTempSubdirectory("zs-codex-").FullName;
        try
        {
            var now = DateTimeOffset.UtcNow;
            var dir = Path.Combine(home, "sessions", now.LocalDateTime.ToString("yyyy/MM/dd", System.Globalization.CultureInfo.InvariantCulture));
            Directory.CreateDirectory(dir);
            void Write(string name, string cwd, DateTimeOffset at, string id) =>
                File.WriteAllText(Path.Combine(dir, name), $$$"""{"timestamp":"{{{at:O}}}","type":"session_meta","payload":{"id":"{{{id}}}","timestamp":"{{{at.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ}}}","cwd":"{{{cwd}}}"}}""" + "\n");
            Write("rollout-a-old.jsonl", "/w", now.AddMinutes(-5), "old");
            Write("rollout-b-other.jsonl", "/other", now.AddSeconds(1), "other");
            Write("rollout-c-ours.jsonl", "/w", now.AddSeconds(2), "ours");
            File.WriteAllText(Path.Combine(dir, "rollout-d-partial.jsonl"), """{"type":"session_meta","payload":{"id":"partial","cwd":"/w" """);
            var found = CodexRollout.FindRollout(home, "/w", now);
            Assert.Equal(("ours", "rollout-c-ours.jsonl"), (found?.ThreadId, Path.GetFileName(found?.Path)));
            Assert.Null(CodexRollout.FindRollout(home, "/nowhere", now));
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    [Fact]
    public void Gemini_sample_deduplicates_to_the_served_usage()
    {
        var usage = new GeminiChatUsage();
        foreach (var line in SampleLines("gemini-tool-call.jsonl"))
            usage.AddLine(line);
        // Served: 3100 + 3300 uncached input, 600 + 2000 cached, 70 + 25 candidates and 9 + 4 thoughts (billed as output).
        Assert.Equal(new TokenCounts(6400, 108, 2600, 0), usage.Tokens);
        Assert.Equal(2, usage.Messages);
        Assert.Equal("gemini-2.5-flash", usage.Model);
    }

    [Fact]
    public void Gemini_malformed_line_throws()
    {
        Assert.Throws<InvalidDataException>(() => GeminiChat.Parse(U("""{"id":"x","type":"gemini","tokens":{"input":""")));
        Assert.False(GeminiChat.Parse(U("""{"$set":{"lastUpdated":"2026-12-03T07:09:25.064Z"}}""")).IsModelMessage);
    }
}
