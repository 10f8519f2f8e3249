using System.Globalization;

namespace Zeroshot.Agents.Sim;

/// <summary>One step of a sim run; <see cref="SimAgent"/> executes them in order.</summary>
internal abstract record SimStep;

/// <summary>Print one pre-rendered stream-json line.</summary>
internal sealed record SimEmit(string Line) : SimStep;

/// <summary>"The model is thinking": stream over the loopback link for the duration.</summary>
internal sealed record SimThink(TimeSpan Duration) : SimStep;

/// <summary>Idle pause between steps.</summary>
internal sealed record SimPause(TimeSpan Duration) : SimStep;

/// <summary>
/// Run a Bash tool: <c>/bin/sh -c Command</c> in the workdir, then print a tool_result line carrying its
/// output (is_error when it exits non-zero). The step lasts at least <see cref="Budget"/>.
/// </summary>
internal sealed record SimBash(string ToolUseId, string Command, TimeSpan Budget, string ResultUuid) : SimStep;

/// <summary>Run a Write tool in-process (write and fsync the file), then print its tool_result line.</summary>
internal sealed record SimWrite(string ToolUseId, string FilePath, string Content, string ResultUuid) : SimStep;

/// <summary>Go silent and idle until cancelled.</summary>
internal sealed record SimHang : SimStep;

/// <summary>Spin a core without a word until cancelled (the CLI stuck in a busy loop).</summary>
internal sealed record SimBurn : SimStep;

/// <summary>Connect to <paramref name="Endpoint"/> (host:port) and read what it sends until it closes, silently.</summary>
internal sealed record SimRead(string Endpoint) : SimStep;

/// <summary>
/// The deterministic part of a sim run: every stream-json line except the final result (which carries the
/// measured durations), the tool work, the timings, and the totals the result reports. Pure: the same
/// arguments give an equal script.
/// </summary>
internal sealed class SimScript
{
    private SimScript(IReadOnlyList<SimStep> steps, string sessionId, string model, SimUsage totals, int numTurns,
        int exitCode, string resultText, string resultUuid)
    {
        Steps = steps;
        SessionId = sessionId;
        Model = model;
        Totals = totals;
        NumTurns = numTurns;
        ExitCode = exitCode;
        ResultText = resultText;
        ResultUuid = resultUuid;
        CostUsd = SimPrice.ForModel(model).Cost(totals);
    }

    public IReadOnlyList<SimStep> Steps { get; }
    public string SessionId { get; }
    public string Model { get; }

    /// <summary>Sum over unique assistant message ids of each id's last usage.</summary>
    public SimUsage Totals { get; }

    /// <summary>Number of assistant messages (API round trips).</summary>
    public int NumTurns { get; }

    public int ExitCode { get; }
    public string ResultText { get; }
    public string ResultUuid { get; }
    public decimal CostUsd { get; }
    public bool IsError => ExitCode != 0;

    /// <summary>Renders the final result line with the measured durations.</summary>
    public string ResultLine(long durationMs, long durationApiMs) => SimStreamJson.Result(
        IsError, durationMs, durationApiMs, NumTurns, ResultText, SessionId, Model, CostUsd, Totals, ResultUuid);

    private enum Cycle { Survey, Write, Build, Edit, Test }

    /// <summary>
    /// Builds the script. <paramref name="iteration"/> is the cluster iteration (ZEROSHOT_ITERATION);
    /// <paramref name="cwd"/> is the absolute workdir (printed in init and used for Write paths).
    /// A worker implements (survey, write, build, maybe edit, test); in an iteration listed in
    /// <see cref="SimAgentOptions.RejectIterations"/> its tests fail and it exits 1. A validator
    /// (<paramref name="validator"/>) reviews (reads the change, runs the tests) and ends, like a real CLI, with exit
    /// code 0 and a verdict in its last message: a ```json block <c>{"approved", "summary", "issues"}</c>, rejecting
    /// in the iterations listed in RejectIterations. <paramref name="feedbackIssues"/> are the issues a previous
    /// rejection raised (ZEROSHOT_FEEDBACK_FILE): a worker says it addresses them and edits accordingly.
    /// </summary>
    public static SimScript Build(SimAgentOptions options, int seed, string prompt, int iteration, string cwd,
        bool validator = false, IReadOnlyList<string>? feedbackIssues = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (validator && !options.Hang)
            return BuildReview(options, seed, prompt, iteration, cwd);
        var rng = new Random(seed);
        var model = options.Model;
        var sessionId = Uuid(rng);
        var steps = new List<SimStep> { new SimEmit(SimStreamJson.Init(cwd, sessionId, model, Uuid(rng))) };
        if (options.Hang)
        {
            steps.Add(new SimHang());
            return new SimScript(steps, sessionId, model, default, 0, 0, "", Uuid(rng));
        }
        if (options.Stall is { } stall)
        {
            switch (stall)
            {
                case "tool":
                {
                    // A tool call its CLI announced, whose command runs silently for a day.
                    var stallPlanner = new Planner(rng, model, sessionId);
                    var use = stallPlanner.BashUse("sleep 86400", "Wait for the long check");
                    stallPlanner.Message([new SimTextBlock("Running the long check."), use], first: true);
                    stallPlanner.ScaleInto(steps, 0.2);
                    steps.Add(new SimBash(use.Id, use.Input[0].Value, TimeSpan.Zero, Uuid(rng)));
                    break;
                }
                case "burn":
                    steps.Add(new SimBurn());
                    break;
                default:
                    steps.Add(new SimRead(options.ReadFrom!));
                    break;
            }
            steps.Add(new SimHang());
            return new SimScript(steps, sessionId, model, default, 0, 0, "", Uuid(rng));
        }

        var reject = options.RejectIterations.Contains(iteration);
        var exitCode = reject ? ExitCodes.Failure : options.ExitCode;

        // Phases are first laid out in abstract weights, then scaled so the whole run lasts DurationSeconds.
        var planner = new Planner(rng, model, sessionId);
        var plan = planner.Plan;
        var testsTotal = 8 + rng.Next(20);
        var testsFailed = reject ? 1 + rng.Next(3) : 0;

        SimUsage Message(IReadOnlyList<SimBlock> blocks, bool first) => planner.Message(blocks, first);

        SimToolUseBlock BashUse(string command, string description) => planner.BashUse(command, description);

        void Bash(SimToolUseBlock use, double weight) =>
            plan.Add((new SimBash(use.Id, use.Input[0].Value, TimeSpan.Zero, Uuid(rng)), weight));

        var shownPrompt = string.IsNullOrWhiteSpace(prompt) ? "(no prompt given)" : prompt.Trim();
        var cycles = new List<Cycle> { Cycle.Survey, Cycle.Write, Cycle.Build };
        // Feedback from a rejection is always addressed with an edit; otherwise an edit happens now and then.
        if (feedbackIssues is { Count: > 0 } || rng.Next(2) == 0) cycles.Add(Cycle.Edit);
        cycles.Add(Cycle.Test);

        var first = true;
        foreach (var cycle in cycles)
        {
            switch (cycle)
            {
                case Cycle.Survey:
                {
                    var use = BashUse("ls -1A", "List the project files");
                    var opening = feedbackIssues is { Count: > 0 }
                        ? $"The validators rejected the previous attempt. I'll address each issue:\n- {string.Join("\n- ", feedbackIssues)}\n\nLet me look at the project first."
                        : $"I'll work on this task: {shownPrompt}\n\nLet me look at the project first.";
                    Message([new SimTextBlock(opening), use], first);
                    Bash(use, 1.5);
                    break;
                }
                case Cycle.Write:
                case Cycle.Edit:
                {
                    var tests = cycle == Cycle.Edit;
                    var count = tests ? 1 : 1 + rng.Next(2);
                    var editText = feedbackIssues is { Count: > 0 } ? $"Fixing: {feedbackIssues[0]}" : "Let me add tests for the edge cases.";
                    var blocks = new List<SimBlock> { new SimTextBlock(tests ? editText : "Now I'll write the implementation.") };
                    var writes = new List<SimWrite>();
                    for (var i = 0; i < count; i++)
                    {
                        var path = tests ? Path.Combine(cwd, "tests", "test_module0.py") : Path.Combine(cwd, "src", $"module{i}.py");
                        var content = SourceText(rng, 40 + rng.Next(80));
                        var use = new SimToolUseBlock("toolu_01" + Base62(rng, 22), "Write", [new("file_path", path), new("content", content)]);
                        blocks.Add(use);
                        writes.Add(new SimWrite(use.Id, path, content, Uuid(rng)));
                    }
                    Message(blocks, first);
                    foreach (var w in writes) plan.Add((w, 0));
                    plan.Add((new SimPause(TimeSpan.Zero), 0.2 * writes.Count));
                    break;
                }
                case Cycle.Build:
                {
                    // Plain dd operands only (POSIX dd(1)): GNU conv=fsync/status=none do not exist in BSD dd on
                    // macOS. Linux counts write_bytes (proc(5) /proc/pid/io) when the page is dirtied, so no fsync.
                    var blocks = 4 + rng.Next(12);
                    var use = BashUse(($"mkdir -p build && dd if=/dev/zero of=build/app.bin bs=65536 count={blocks} 2>/dev/null && echo \"Build succeeded: build/app.bin ({blocks * 64} KiB)\""),
                        "Build the project");
                    Message([new SimTextBlock("Let me build it."), use], first);
                    Bash(use, 3.0);
                    break;
                }
                case Cycle.Test:
                {
                    var passed = testsTotal - testsFailed;
                    var tail = testsFailed == 0
                        ? $"echo \"{testsTotal} passed, 0 failed\""
                        : $"echo \"FAILED tests/test_module0.py::test_edge_cases\"; echo \"{passed} passed, {testsFailed} failed\"; false";
                    var use = BashUse(tail, "Run the test suite");
                    Message([new SimTextBlock("Running the tests."), use], first);
                    Bash(use, 3.5);
                    break;
                }
            }
            first = false;
            plan.Add((new SimPause(TimeSpan.Zero), 0.2 + 0.3 * rng.NextDouble()));
        }

        var resultText = reject
            ? $"REJECTED: tests fail ({testsFailed} of {testsTotal} failed in iteration {iteration})"
            : exitCode != 0
                ? $"FAILED: simulated failure (exitCode {exitCode})"
                : $"Done. Implemented the change, the build succeeds and all {testsTotal} tests pass.";
        Message([new SimTextBlock(resultText)], first: false);

        planner.ScaleInto(steps, options.DurationSeconds);
        return new SimScript(steps, sessionId, model, planner.Totals, planner.Turns, exitCode, resultText, Uuid(rng));
    }

    /// <summary>A validator's run: read the change, run the tests, give a verdict (exit 0 unless the exitCode option says otherwise).</summary>
    private static SimScript BuildReview(SimAgentOptions options, int seed, string prompt, int iteration, string cwd)
    {
        var rng = new Random(seed);
        var model = options.Model;
        var sessionId = Uuid(rng);
        var steps = new List<SimStep> { new SimEmit(SimStreamJson.Init(cwd, sessionId, model, Uuid(rng))) };
        var reject = options.RejectIterations.Contains(iteration);
        var planner = new Planner(rng, model, sessionId);
        var plan = planner.Plan;
        var testsTotal = 8 + rng.Next(20);
        var testsFailed = reject ? 1 + rng.Next(3) : 0;

        void Message(IReadOnlyList<SimBlock> blocks, bool first) => planner.Message(blocks, first);

        SimToolUseBlock BashUse(string command, string description) => planner.BashUse(command, description);

        var read = BashUse("ls -1AR src tests 2>/dev/null | head -n 40", "Look at the change");
        Message([new SimTextBlock("I'll review the change: first what it touches."), read], first: true);
        plan.Add((new SimBash(read.Id, read.Input[0].Value, TimeSpan.Zero, Uuid(rng)), 1.0));
        plan.Add((new SimPause(TimeSpan.Zero), 0.3));

        var failing = $"tests/test_module0.py::test_edge_cases";
        var tail = testsFailed == 0
            ? $"echo \"{testsTotal} passed, 0 failed\""
            : $"echo \"FAILED {failing}\"; echo \"{testsTotal - testsFailed} passed, {testsFailed} failed\"; false";
        var test = BashUse(tail, "Run the test suite");
        Message([new SimTextBlock("Running the tests."), test], first: false);
        plan.Add((new SimBash(test.Id, test.Input[0].Value, TimeSpan.Zero, Uuid(rng)), 3.0));
        plan.Add((new SimPause(TimeSpan.Zero), 0.3));

        var issues = reject
            ? new List<string> { $"{failing} fails: empty input is not rejected", $"{testsFailed} of {testsTotal} tests fail in iteration {iteration}" }
            : [];
        var summary = reject
            ? $"The change is incomplete: {testsFailed} of {testsTotal} tests fail."
            : $"The change does what the task asks and all {testsTotal} tests pass.";
        var verdict = SimStreamJson.Verdict(!reject, summary, issues);
        var resultText = $"{summary}\n\n```json\n{verdict}\n```";
        Message([new SimTextBlock(resultText)], first: false);

        planner.ScaleInto(steps, options.DurationSeconds);
        return new SimScript(steps, sessionId, model, planner.Totals, planner.Turns, options.ExitCode, resultText, Uuid(rng));
    }

    /// <summary>
    /// Lays a run out in abstract weights (API round trips with their stream-json lines and usage, tool work,
    /// pauses), then scales the weights so the whole run lasts the requested duration.
    /// </summary>
    private sealed class Planner(Random rng, string model, string sessionId)
    {
        private long _context; // tokens already in the prompt cache: what the next request reads from it

        public List<(SimStep Step, double Weight)> Plan { get; } = [];

        /// <summary>Sum over unique assistant message ids of each id's last usage.</summary>
        public SimUsage Totals { get; private set; }

        /// <summary>Assistant messages (API round trips).</summary>
        public int Turns { get; private set; }

        /// <summary>One API round trip: "thinking", then each content block on its own line.</summary>
        public SimUsage Message(IReadOnlyList<SimBlock> blocks, bool first)
        {
            Turns++;
            var id = "msg_01" + Base62(rng, 22);
            var usage = new SimUsage(
                InputTokens: 3 + rng.Next(40),
                CacheCreationInputTokens: first ? 9_000 + rng.Next(6_000) : 150 + rng.Next(2_500),
                CacheReadInputTokens: _context,
                OutputTokens: blocks.Count * 20 + 40 + rng.Next(600));
            _context += usage.CacheCreationInputTokens + usage.InputTokens;
            Plan.Add((new SimThink(TimeSpan.Zero), 1.0 + rng.NextDouble()));
            // Like the real CLI, every content block arrives on its own line with the same message id and
            // the usage so far; output_tokens grows and the last line carries the final count.
            for (var i = 0; i < blocks.Count; i++)
            {
                var partial = usage with { OutputTokens = usage.OutputTokens * (i + 1) / blocks.Count };
                Plan.Add((new SimEmit(SimStreamJson.Assistant(id, model, blocks[i], partial, sessionId, Uuid(rng))), 0));
            }
            Totals += usage;
            return usage;
        }

        /// <summary>A Bash tool call of the next message.</summary>
        public SimToolUseBlock BashUse(string command, string description) =>
            new("toolu_01" + Base62(rng, 22), "Bash", [new("command", command), new("description", description)]);

        /// <summary>Scales the weights to <paramref name="durationSeconds"/>; milliseconds keep the script printable and comparable.</summary>
        public void ScaleInto(List<SimStep> steps, double durationSeconds)
        {
            var totalWeight = Plan.Sum(p => p.Weight);
            var msPerWeight = durationSeconds * 1000 / totalWeight;
            foreach (var (step, weight) in Plan)
            {
                var d = TimeSpan.FromMilliseconds(Math.Round(weight * msPerWeight));
                steps.Add(step switch
                {
                    SimThink => new SimThink(d),
                    SimPause => new SimPause(d),
                    SimBash b => b with { Budget = d },
                    _ => step,
                });
            }
        }
    }

    /// <summary>Environment variable through which the executor hands each Bash tool its CPU burn (<see cref="BurnScript"/>).</summary>
    public const string BurnVariable = "ZEROSHOT_SIM_BURN";

    /// <summary>
    /// POSIX sh that busy-loops on one core, in chunks of 1000 additions (no forks, so the CPU is the tool's own),
    /// until <paramref name="stopFile"/> exists. The executor creates the file when the burn time has passed on its
    /// injected clock, so the burn is portable (no /proc) and fake clocks shorten it. The loop also ends when its
    /// parent is gone (<c>kill -0</c>, POSIX kill(1)), so a SIGKILLed sim cannot leave a spinning orphan behind.
    /// </summary>
    public static string BurnScript(string stopFile) =>
        "while [ ! -e '" + stopFile.Replace("'", "'\\''", StringComparison.Ordinal) + "' ] && kill -0 $PPID 2>/dev/null; do " +
        "i=0; while [ $i -lt 1000 ]; do i=$((i+1)); done; done";

    /// <summary>
    /// What the executor runs for a Bash tool: the visible work first, then the burn it passes in the environment,
    /// keeping the work's exit status. The command shown in the stream (what a person reads) is the work alone.
    /// </summary>
    internal static string WithBurn(string work) => work + "; s=$?; eval \"$" + BurnVariable + "\"; exit $s";

    private static string Uuid(Random rng)
    {
        Span<byte> b = stackalloc byte[16];
        rng.NextBytes(b);
        b[7] = (byte)((b[7] & 0x0F) | 0x40); // RFC 9562 version 4 ...
        b[8] = (byte)((b[8] & 0x3F) | 0x80); // ... and variant 10xx
        return new Guid(b).ToString("D", CultureInfo.InvariantCulture);
    }

    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    private static string Base62(Random rng, int length) => string.Create(length, rng, static (span, r) =>
    {
        for (var i = 0; i < span.Length; i++) span[i] = Alphabet[r.Next(Alphabet.Length)];
    });

    private static readonly string[] Words =
        ["value", "items", "result", "config", "total", "index", "buffer", "count", "name", "state", "cache", "limit"];

    private static string SourceText(Random rng, int lines)
    {
        var sb = new System.Text.StringBuilder();
        sb.Append("\"\"\"Generated by the zeroshot sim agent.\"\"\"\n\n");
        for (var i = 0; i < lines; i++)
        {
            var a = Words[rng.Next(Words.Length)];
            var b = Words[rng.Next(Words.Length)];
            sb.Append(CultureInfo.InvariantCulture, $"def {a}_{i}({b}):\n    return {b} * {rng.Next(100)} + {i}\n\n");
        }
        return sb.ToString();
    }
}
