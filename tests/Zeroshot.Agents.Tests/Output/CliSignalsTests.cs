using System.Text;
using Zeroshot.Agents.Output;

namespace Zeroshot.Agents.Tests.Output;

/// <summary>Retries, API errors, denied tools and the model, as the real CLIs print them.</summary>
public sealed class CliSignalsTests
{
    private static (List<DisplayLine> Lines, AgentOutputInterpreter Interpreter) Feed(string provider, bool complete, params string[] lines) =>
        OutputTestKit.Run(Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n"), new AgentOutputOptions { Provider = provider }, complete: complete);

    [Fact]
    public void Claude_api_retry_reads_retrying_with_status_attempt_and_delay_until_a_response_arrives()
    {
        var (lines, interpreter) = Feed("claude", complete: false,
            """{"type":"system","subtype":"init","model":"claude-sonnet-4-5-20250929","session_id":"s"}""",
            """{"type":"system","subtype":"api_retry","attempt":3,"max_retries":10,"retry_delay_ms":4000,"error_status":529,"error":"overloaded_error"}""");
        Assert.Equal((AgentActivity.Retrying, "529 3/10 in 4.0s"), interpreter.Activity.Current());
        Assert.Contains("529", interpreter.Activity.LastError, StringComparison.Ordinal);
        Assert.Contains(lines, l => l.Text.StartsWith("↻ retrying 529 3/10 in 4.0s", StringComparison.Ordinal) && l.Style == DisplayStyle.Error);
        Assert.Equal("claude-sonnet-4-5-20250929", interpreter.Usage.Model);

        OutputTestKit.Feed(interpreter, Encoding.UTF8.GetBytes(
            """{"type":"assistant","message":{"id":"m1","content":[{"type":"text","text":"hi"}],"usage":{"input_tokens":1,"output_tokens":1}}}""" + "\n"));
        Assert.NotEqual(AgentActivity.Retrying, interpreter.Activity.Current().Activity);
        Assert.Null(interpreter.Activity.LastError);
    }

    [Fact]
    public void Claude_denied_bash_is_shown_as_denied_and_counted()
    {
        var (lines, interpreter) = Feed("claude", complete: true,
            """{"type":"assistant","message":{"id":"m1","content":[{"type":"tool_use","id":"t1","name":"Bash","input":{"command":"echo hi > out.txt"}}],"usage":{"input_tokens":1,"output_tokens":1}}}""",
            """{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t1","is_error":true,"content":"Claude requested permissions to use Bash, but you haven't granted it yet."}]}}""");
        Assert.Contains(lines, l => l.Text == "✗ Bash denied: Claude requested permissions to use Bash, but you haven't granted it yet." && l.Style == DisplayStyle.Error);
        Assert.Equal(1, interpreter.ToolCalls);
        Assert.Equal(1, interpreter.DeniedToolCalls);
    }

    [Fact]
    public void Claude_error_result_and_authentication_error_are_the_run_error()
    {
        var (lines, interpreter) = Feed("claude", complete: true,
            """{"type":"assistant","message":{"id":"m1","content":[{"type":"text","text":"Invalid API key · Please run /login"}]},"error":"authentication_failed"}""",
            """{"type":"result","subtype":"success","is_error":true,"result":"Invalid API key · Please run /login","usage":{"input_tokens":0,"output_tokens":0},"total_cost_usd":0}""");
        Assert.Equal("Invalid API key · Please run /login", interpreter.RunError);
        Assert.Contains(lines, l => l.Text == "✗ authentication_failed: Invalid API key · Please run /login");
    }

    [Fact]
    public void Codex_sandbox_failure_and_reconnects_are_named()
    {
        var (lines, interpreter) = Feed("codex", complete: false,
            """{"type":"error","message":"Reconnecting... 2/5 (unexpected status 500 Internal Server Error)"}""");
        Assert.Equal((AgentActivity.Retrying, "500 2/5"), interpreter.Activity.Current());

        OutputTestKit.Feed(interpreter, Encoding.UTF8.GetBytes(string.Join('\n',
            """{"type":"item.started","item":{"id":"c1","type":"command_execution","command":"bash -lc 'echo hi > out.txt'","status":"in_progress"}}""",
            """{"type":"item.completed","item":{"id":"c1","type":"command_execution","command":"bash -lc 'echo hi > out.txt'","aggregated_output":"bash: line 1: out.txt: Read-only file system\n","exit_code":1,"status":"failed"}}""") + "\n"));
        interpreter.Complete();
        Assert.Contains(lines, l => l.Text == "✗ shell failed: read-only file system");
        Assert.Equal(1, interpreter.ToolCalls);
        Assert.Equal(1, interpreter.SandboxFailedToolCalls);
    }

    [Fact]
    public void Gemini_stream_json_is_rendered_and_accounted()
    {
        var (lines, interpreter) = Feed("gemini", complete: true,
            """{"type":"init","timestamp":"2026-01-01T00:00:00.000Z","session_id":"g1","model":"gemini-2.5-pro"}""",
            """{"type":"message","role":"user","content":"do it"}""",
            """{"type":"message","role":"assistant","content":"I'll ","delta":true}""",
            """{"type":"message","role":"assistant","content":"write it.","delta":true}""",
            """{"type":"tool_use","tool_name":"run_shell_command","tool_id":"x1","parameters":{"command":"echo hi > out.txt"}}""",
            """{"type":"tool_result","tool_id":"x1","status":"success","output":""}""",
            """{"type":"message","role":"assistant","content":"Done.","delta":true}""",
            """{"type":"result","status":"success","stats":{"total_tokens":1300,"input_tokens":1200,"output_tokens":100,"cached":200,"duration_ms":1500,"tool_calls":1}}""");
        Assert.Equal(["● session g1 · model gemini-2.5-pro", "I'll write it.", "⚙ run_shell_command: echo hi > out.txt", "  ↳ (no output)", "Done."],
            lines.Take(5).Select(l => l.Text));
        Assert.StartsWith("✓ done in 1.5s · 1.3K tokens", lines[5].Text, StringComparison.Ordinal);
        var usage = interpreter.Usage.Snapshot();
        Assert.Equal(new TokenCounts(1000, 100, 200, 0), usage.Tokens);
        Assert.True(usage.CostEstimated);
        Assert.Equal("gemini-2.5-pro", interpreter.Usage.Model);
        Assert.Equal("Done.", interpreter.FinalText);
    }

    [Fact]
    public void Claude_refusing_root_says_what_to_do_in_one_line()
    {
        var (lines, interpreter) = OutputTestKit.Run(Encoding.UTF8.GetBytes(
            "--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons\r\n"));
        Assert.StartsWith("Claude Code refuses --permission-mode bypassPermissions as root: ", interpreter.RunError, StringComparison.Ordinal);
        Assert.Contains("IS_SANDBOX=1", interpreter.RunError, StringComparison.Ordinal);
        Assert.Equal(DisplayStyle.Error, lines[^1].Style);
        Assert.DoesNotContain('\n', interpreter.RunError!);
    }

    [Fact]
    public void Gemini_retries_on_stderr_read_as_retrying_until_a_response_arrives()
    {
        // As Gemini CLI 0.61 printed it against the test server (Transcripts/gemini-429-500-retry.notes.txt); on a
        // PTY stderr and stdout share the terminal.
        var (_, interpreter) = Feed("gemini", complete: false,
            """{"type":"init","timestamp":"2026-12-02T08:17:09.778Z","session_id":"s","model":"gemini-2.5-flash"}""",
            """Attempt 2 failed with status 500. Retrying with backoff... _ApiError: {"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}""",
            "    at throwErrorIfNotOK (file:///x/chunk.js:267833:24)");
        Assert.Equal((AgentActivity.Retrying, "500 attempt 2"), interpreter.Activity.Current());
        Assert.Equal("500 An internal error has occurred.", interpreter.Activity.LastError);
        OutputTestKit.Feed(interpreter, Encoding.UTF8.GetBytes("""{"type":"message","role":"assistant","content":"Recovered.","delta":true}""" + "\n"));
        Assert.NotEqual(AgentActivity.Retrying, interpreter.Activity.Current().Activity);
        Assert.Null(interpreter.Activity.LastError);
    }
}
