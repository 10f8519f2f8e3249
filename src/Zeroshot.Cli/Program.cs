using System.Runtime.InteropServices;
using Zeroshot.Agents.State;
using Zeroshot.Cli;
using Zeroshot.Metrics;

// The composition root: the only place that builds real implementations (the system clock, the
// platform sampler, the real console streams). Commands receive them through CliContext.
if (args.Length > 0 && args[0] == "watch")
{
    // The dashboard's work is a few small messages a second from each supervisor. A thread-pool worker that runs out
    // of work spins (sched_yield) before it sleeps, waiting for more that will not come for a second: measured here,
    // 800 sched_yield a second, most of the dashboard's CPU. Set before the pool starts (it reads this once).
    AppContext.SetData("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit", 0);
}
using var shutdown = new CancellationTokenSource();
using var forceKill = new CancellationTokenSource();
int signals = 0;
// Ctrl+C and SIGTERM cancel the running command, which then ends cleanly and picks its exit code.
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);
// The terminal went away: stop the same way, so agents end and the state is recorded.
using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, Cancel);

using var rawOut = Console.OpenStandardOutput();
var context = new CliContext(
    Out: Console.Out,
    Error: Console.Error,
    Time: TimeProvider.System,
    CreateSampler: options => PlatformSampler.Create(options, TimeProvider.System),
    Shutdown: shutdown.Token,
    RawOut: rawOut,
    Colors: !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("NO_COLOR") is null or "" && Environment.GetEnvironmentVariable("TERM") != "dumb",
    Home: () => ZeroshotHome.FromEnvironment(notice: line => Console.Error.WriteLine($"zeroshot: {line}")),
    SelfCommand: SelfCommand())
{
    ForceKill = forceKill.Token,
    OutputIsTerminal = !Console.IsOutputRedirected,
};
int exitCode = await CliApp.RunAsync(args, context);
// System.Console switches a terminal to application keypad mode when it initializes (it writes terminfo's smkx,
// ESC [ ? 1 h ESC =, so that it could read arrow keys) and never switches it back: the shell we return to would get
// ESC O A for its arrow keys. Leave the terminal as we found it (a shell prompt: normal keypad, rmkx). Not for the
// hidden commands, whose output is an agent's or a log's.
if (context.OutputIsTerminal && args is not ["sim-agent", ..] and not ["__supervise", ..])
{
    try
    {
        rawOut.Write("\u001b[?1l\u001b>"u8);
        rawOut.Flush();
    }
    catch (IOException)
    {
        // The terminal is gone: nothing to restore.
    }
}
return exitCode;

// How to start this executable again: the apphost or AOT binary itself, or `dotnet zeroshot.dll`.
static IReadOnlyList<string> SelfCommand()
{
    var path = Environment.ProcessPath ?? "zeroshot";
    return Path.GetFileNameWithoutExtension(path) == "dotnet"
        ? [path, Path.Combine(AppContext.BaseDirectory, "zeroshot.dll")]
        : [path];
}

void Cancel(PosixSignalContext signal)
{
    signal.Cancel = true;
    // First signal: stop gracefully. Second: kill the agents now. Third: let the default action end us
    // (the terminal is still restored by the finally blocks that run on the way out where possible).
    switch (Interlocked.Increment(ref signals))
    {
        case 1: shutdown.Cancel(); break;
        case 2: forceKill.Cancel(); break;
        default: signal.Cancel = false; break;
    }
}
