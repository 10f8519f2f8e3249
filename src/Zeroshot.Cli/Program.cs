using System.Runtime.InteropServices;
using Zeroshot.Cli;
using Zeroshot.Metrics;

// The composition root: the only place that builds real implementations (the system clock, the
// platform sampler, the real console streams). Commands receive them through CliContext.
using var shutdown = new CancellationTokenSource();
// Ctrl+C and SIGTERM cancel the running command, which then ends cleanly and picks its exit code.
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);

var context = new CliContext(
    Out: Console.Out,
    Error: Console.Error,
    Time: TimeProvider.System,
    CreateSampler: options => MetricsEngine.CreatePlatformSampler(options, TimeProvider.System),
    Shutdown: shutdown.Token);
return await CliApp.RunAsync(args, context);

void Cancel(PosixSignalContext signal)
{
    signal.Cancel = true;
    shutdown.Cancel();
}
