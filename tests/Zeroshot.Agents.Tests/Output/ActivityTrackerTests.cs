using System.Text;
using Zeroshot.Agents.Output;
using static Zeroshot.Agents.Tests.Output.OutputTestKit;

namespace Zeroshot.Agents.Tests.Output;

public sealed class ActivityTrackerTests
{
    [Fact]
    public void Transitions_with_a_manual_clock()
    {
        var clock = new ManualClock();
        var tracker = new ActivityTracker(clock);
        Assert.Equal((AgentActivity.Quiet, null), tracker.Current());
        Assert.Null(tracker.LastOutputAt);

        tracker.NoteOutput();
        var at = clock.GetUtcNow();
        Assert.Equal(at, tracker.LastOutputAt);
        Assert.Equal((AgentActivity.Output, null), tracker.Current());
        clock.Advance(TimeSpan.FromSeconds(2.9));
        Assert.Equal(AgentActivity.Output, tracker.Current().Activity);
        clock.Advance(TimeSpan.FromSeconds(0.1));
        Assert.Equal(AgentActivity.Quiet, tracker.Current().Activity);

        tracker.ModelRequested();
        Assert.Equal((AgentActivity.Model, null), tracker.Current());
        tracker.ModelResponded("m1", topLevel: true);
        tracker.ToolStarted("t1", "Bash", "m1");
        tracker.ToolStarted("t2", "Read", "m1");
        Assert.Equal((AgentActivity.Tool, "Read"), tracker.Current());
        tracker.ToolFinished("t2");
        Assert.Equal((AgentActivity.Tool, "Bash"), tracker.Current());
        tracker.ToolFinished("t1");
        Assert.Equal(AgentActivity.Quiet, tracker.Current().Activity);

        tracker.ToolStarted("t3", "Task", "m2");
        tracker.ModelResponded("m2", topLevel: false); // a subagent's message does not close the Task
        Assert.Equal((AgentActivity.Tool, "Task"), tracker.Current());
        tracker.ModelResponded("m3", topLevel: true); // the next top-level message: t3's result was lost
        Assert.Equal(AgentActivity.Quiet, tracker.Current().Activity);

        tracker.ToolStarted("t4", "Bash");
        tracker.TurnEnded();
        Assert.Equal(AgentActivity.Quiet, tracker.Current().Activity);
        Assert.Equal(["quiet", "output", "model", "tool"],
            new[] { AgentActivity.Quiet, AgentActivity.Output, AgentActivity.Model, AgentActivity.Tool }.Select(a => a.ToJsonName()));
    }

    [Fact]
    public void Claude_stream_drives_model_and_tool_states()
    {
        var seen = ActivityAfterEachLine("claude-repeated-ids.jsonl");

        Assert.Equal(
        [
            (AgentActivity.Model, null),   // init: the first request is in flight
            (AgentActivity.Quiet, null),   // text answered; output window passed
            (AgentActivity.Tool, "Bash"),
            (AgentActivity.Model, null),   // tool result sent back
            (AgentActivity.Quiet, null),
            (AgentActivity.Tool, "Read"),
            (AgentActivity.Model, null),
            (AgentActivity.Quiet, null),
            (AgentActivity.Quiet, null),
            (AgentActivity.Quiet, null),   // result
        ], seen);
    }

    [Fact]
    public void Codex_stream_drives_model_and_tool_states()
    {
        var seen = ActivityAfterEachLine("codex-exec.jsonl");

        Assert.Equal(
        [
            (AgentActivity.Quiet, null),
            (AgentActivity.Model, null),
            (AgentActivity.Model, null),
            (AgentActivity.Tool, "shell"),
            (AgentActivity.Model, null),
            (AgentActivity.Model, null),
            (AgentActivity.Tool, "shell"),
            (AgentActivity.Model, null),
            (AgentActivity.Quiet, null),
            (AgentActivity.Quiet, null),
            (AgentActivity.Model, null),
            (AgentActivity.Tool, "github.create_pull_request"),
            (AgentActivity.Model, null),
            (AgentActivity.Quiet, null),
            (AgentActivity.Quiet, null),
        ], seen);
    }

    /// <summary>Feeds a fixture line by line, 5 s apart (past the output window: only model/tool remain).</summary>
    private static List<(AgentActivity, string?)> ActivityAfterEachLine(string fixture)
    {
        var clock = new ManualClock();
        var interpreter = new AgentOutputInterpreter(null, new AgentOutputOptions { TimeProvider = clock, OutputWindow = TimeSpan.FromSeconds(3) });
        var seen = new List<(AgentActivity, string?)>();
        foreach (var line in Encoding.UTF8.GetString(Fixture(fixture)).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            interpreter.Feed(Encoding.UTF8.GetBytes(line + "\n"));
            clock.Advance(TimeSpan.FromSeconds(5));
            seen.Add(interpreter.Activity.Current());
        }
        return seen;
    }

    [Fact]
    public void Plain_output_shows_as_output_then_quiet()
    {
        var clock = new ManualClock();
        var interpreter = new AgentOutputInterpreter(null, new AgentOutputOptions { TimeProvider = clock });
        interpreter.Feed("compiling\n"u8);
        Assert.Equal(AgentActivity.Output, interpreter.Activity.Current().Activity);
        Assert.Equal(clock.GetUtcNow(), interpreter.Activity.LastOutputAt);
        clock.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(AgentActivity.Quiet, interpreter.Activity.Current().Activity);
    }
}
