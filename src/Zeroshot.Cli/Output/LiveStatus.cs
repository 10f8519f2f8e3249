using System.Runtime.InteropServices;
using System.Text;
using Zeroshot.Agents.Health;
using Zeroshot.Agents.Output;
using Zeroshot.Agents.State;
using Zeroshot.Agents.Supervision;
using Zeroshot.Terminal;

namespace Zeroshot.Cli.Output;

/// <summary>How the live status is shown during <c>run</c>, <c>task run</c> and <c>logs -f</c>.</summary>
/// <param name="Footer">The footer on a terminal (off with <c>--no-metrics</c>).</param>
/// <param name="Refresh">How often the footer is redrawn.</param>
/// <param name="StatusInterval">Without a terminal: how often a one-line status is printed (zero: never).</param>
internal sealed record LiveStatusOptions(bool Footer, TimeSpan Refresh, TimeSpan StatusInterval);

/// <summary>
/// The status shown while a cluster runs: on a terminal, the footer pinned under the scrolling agent
/// output; elsewhere, a plain status line every <see cref="LiveStatusOptions.StatusInterval"/>.
/// It renders from the supervisor's snapshot (its samples), never sampling on its own: the same object in the
/// supervisor's process, the latest one of the <c>snapshots</c> stream elsewhere.
/// All output to the terminal goes through <see cref="Out"/>, so the footer sees every byte.
/// </summary>
internal sealed class LiveStatus : IAsyncDisposable
{
    private readonly FooterRenderer? _renderer;
    private readonly Func<ClusterSnapshot?> _status;
    private readonly Action<int, int>? _onOutputArea;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly ResizeDebouncer? _debouncer;
    private readonly PosixSignalRegistration? _winch;
    private readonly Action<string>? _plainLine;
    private int _width;
    private int _height;
    private int _lastOutputRows = -1;
    private volatile bool _disposed;

    private LiveStatus(TextWriter output, FooterRenderer? renderer, Func<ClusterSnapshot?> status,
        Action<int, int>? onOutputArea, Action<string>? plainLine, LiveStatusOptions options, TimeProvider time, int width, int height)
    {
        Out = output;
        _renderer = renderer;
        _status = status;
        _onOutputArea = onOutputArea;
        _plainLine = plainLine;
        _time = time;
        _width = width;
        _height = height;
        if (renderer is not null)
        {
            _debouncer = new ResizeDebouncer(time, ResizeDebouncer.DefaultQuiet, OnResized);
            _winch = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGWINCH, _ => _debouncer.Signal());
            _loop = RunAsync(options.Refresh, DrawAsync);
        }
        else if (plainLine is not null && options.StatusInterval > TimeSpan.Zero)
        {
            _loop = RunAsync(options.StatusInterval, PrintPlainAsync, drawFirst: false);
        }
        else
        {
            _loop = Task.CompletedTask;
        }
    }

    /// <summary>Where agent output and events are written.</summary>
    public TextWriter Out { get; }

    /// <summary>Rings the terminal (a notification's bytes) when there is one with the footer on it; output that is not
    /// a terminal gets no bell.</summary>
    public void Ring(byte[] sequence)
    {
        if (!_disposed) _renderer?.Notify(sequence);
    }

    /// <summary>
    /// Starts the live status. <paramref name="status"/> returns the cluster's current snapshot, or null
    /// when there is none (it must not block). <paramref name="onOutputArea"/> is told the columns and rows
    /// left for output whenever they change (the agents' PTY size).
    /// </summary>
    public static LiveStatus Start(CliContext context, LiveStatusOptions options, Func<ClusterSnapshot?> status,
        Action<int, int>? onOutputArea, Action<string> plainLine)
    {
        var caps = TerminalCapabilities.FromEnvironment(Environment.GetEnvironmentVariable);
        bool terminal = context.Colors && !caps.IsDumb;
        if (!terminal || !options.Footer)
        {
            // A writer that writes when flushed (Console.Out writes on every call): one write per chunk of output.
            context.Out.Flush();
            var buffered = new StreamWriter(context.RawOut, new UTF8Encoding(false), 64 * 1024, leaveOpen: true) { AutoFlush = false };
            return new LiveStatus(buffered, null, status, null, terminal ? null : plainLine, options, context.Time, 0, 0);
        }

        var (width, height) = context.TerminalSize();
        context.Out.Flush();
        var renderer = new FooterRenderer(context.RawOut, caps, width, height);
        return new LiveStatus(new FooterWriter(renderer), renderer, status, onOutputArea, null, options, context.Time, width, height);
    }

    private async Task RunAsync(TimeSpan period, Func<CancellationToken, Task> tick, bool drawFirst = true)
    {
        using var timer = new PeriodicTimer(period, _time);
        try
        {
            if (drawFirst) await Safely(tick).ConfigureAwait(false);
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false)) await Safely(tick).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Disposed: the run is over.
        }
    }

    /// <summary>One failed refresh (a status it cannot read, a terminal write that failed) skips one frame.</summary>
    private async Task Safely(Func<CancellationToken, Task> tick)
    {
        try
        {
            await tick(_stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException)
        {
            // Next tick tries again.
        }
    }

    private Task DrawAsync(CancellationToken cancel)
    {
        Draw();
        return Task.CompletedTask;
    }

    private void Draw()
    {
        if (_renderer is null || _status() is not { } snapshot) return;
        int width, height;
        lock (_stop)
        {
            width = _width;
            height = _height;
        }
        _renderer.Draw(FooterView.Render(FooterModelFrom(snapshot, _time.GetUtcNow()), width, height));
        int rows = _renderer.OutputRows;
        if (rows != _lastOutputRows)
        {
            _lastOutputRows = rows;
            _onOutputArea?.Invoke(width, rows);
        }
    }

    private Task PrintPlainAsync(CancellationToken cancel)
    {
        if (_status() is { } snapshot) _plainLine?.Invoke(PlainStatus.Render(FooterModelFrom(snapshot, _time.GetUtcNow())));
        return Task.CompletedTask;
    }

    private void OnResized()
    {
        if (_renderer is null || _disposed) return;
        int width, height;
        try
        {
            width = Console.WindowWidth;
            height = Console.WindowHeight;
        }
        catch (IOException)
        {
            return;
        }
        lock (_stop)
        {
            _width = width;
            _height = height;
        }
        _renderer.Resize(width, height);
        _lastOutputRows = -1;
        _ = Safely(DrawAsync);
    }

    /// <summary>
    /// Maps a cluster's snapshot to the footer's view model. Metrics are rounded as in <c>status --json</c>
    /// (<see cref="Zeroshot.Metrics.TreeSampleJson"/>), so the footer and the document of one snapshot show the same numbers.
    /// </summary>
    internal static FooterModel FooterModelFrom(ClusterSnapshot status, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(status);
        var agents = new List<FooterAgent>(status.Agents.Count);
        foreach (var a in status.Agents)
        {
            bool running = a.State == AgentState.Running;
            string? detail = a.ActivityDetail;
            var (word, kind) = (a.State, a.Activity) switch
            {
                (AgentState.Running, AgentActivity.Tool) => (detail is null ? "tool" : "tool:" + detail, ActivityKind.Tool),
                (AgentState.Running, AgentActivity.Retrying) => (detail is null ? "retrying" : "retrying " + detail, ActivityKind.Failed),
                (AgentState.Running, AgentActivity.NeedsInput) => ("needs-input", ActivityKind.NeedsInput),
                (AgentState.Running, AgentActivity.Idle) => ("idle", ActivityKind.Waiting),
                (AgentState.Running, AgentActivity.Error) => (detail is null ? "error" : "error " + detail, ActivityKind.Failed),
                (AgentState.Running, AgentActivity.Model) => ("model", ActivityKind.Model),
                (AgentState.Running, AgentActivity.Output) => ("output", ActivityKind.Output),
                (AgentState.Running, _) => ("quiet", ActivityKind.Quiet),
                (AgentState.Completed, _) => ("completed", ActivityKind.Completed),
                (AgentState.Failed, _) => ("failed", ActivityKind.Failed),
                (AgentState.Stopped, _) => ("stopped", ActivityKind.Stopped),
                _ => ("waiting", ActivityKind.Idle),
            };
            // Stalled, stuck, busy-idle: the verdict and for how long, in the failure colour.
            if (running && a.Health is { } health && health.Verdict.IsUnhealthy())
                (word, kind) = (health.Verdict.ToJsonName() + " " + Format.Duration(now - health.Since, compact: true), ActivityKind.Failed);
            TimeSpan? ago = a.LastOutputAt is { } last ? now - last : null;
            var agent = new FooterAgent(a.Id, a.Model ?? a.Provider, word, running, kind, Tokens: a.Tokens.Total, CostUsd: a.CostUsd,
                CostEstimated: a.CostEstimated, LastOutputAgo: ago is { } span && span < TimeSpan.Zero ? TimeSpan.Zero : ago)
            {
                Question = running && a.Activity == AgentActivity.NeedsInput ? detail : null,
            };
            if (running && a.Metrics is { } m)
            {
                agent = agent with
                {
                    CpuPercent = Rounded(m.CpuPercent, 1),
                    MemoryMB = Rounded(m.MemoryMB, 1),
                    NetRxBytesPerSec = Rounded(m.NetRxBytesPerSec, 0),
                    NetTxBytesPerSec = Rounded(m.NetTxBytesPerSec, 0),
                };
            }
            agents.Add(agent);
        }
        return new FooterModel(status.Id, StateNames.Text(status.State), Math.Max(1, status.Iteration), status.MaxIterations,
            now - status.StartedAt, agents)
        {
            Warning = status.LogWriteError is { } logError
                ? $"{logError}: logs not written, {Format.Bytes(status.LogBytesLost)} lost"
                : status.BudgetWarning,
        };
    }

    private static double? Rounded(double? value, int decimals) => value is { } v && double.IsFinite(v) ? Math.Round(v, decimals) : null;

    /// <summary>Stops refreshing and leaves the terminal as it was found (full scroll region, cursor visible, footer cleared).</summary>
    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _winch?.Dispose();
        _debouncer?.Dispose();
        // Each step on its own: a failed flush (terminal gone) must not skip restoring the terminal.
        Try(Out.Flush);
        if (_renderer is not null) Try(_renderer.Teardown);
        else Try(Out.Dispose); // the buffered writer; the stream stays open
        _stop.Dispose();

        static void Try(Action step)
        {
            try
            {
                step();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                // The terminal is gone: nothing left to restore on it.
            }
        }
    }

    /// <summary>A text writer whose flushed text goes to the terminal through the footer renderer.</summary>
    private sealed class FooterWriter(FooterRenderer renderer) : TextWriter
    {
        private readonly StringBuilder _pending = new();
        private readonly Encoder _encoder = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetEncoder();
        private readonly Lock _flushing = new();
        private byte[] _bytes = new byte[16 * 1024];

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value)
        {
            lock (_pending) _pending.Append(value);
        }

        public override void Write(string? value)
        {
            lock (_pending) _pending.Append(value);
        }

        public override void Flush()
        {
            // One flush at a time owns the buffer; writers append meanwhile (they take only _pending).
            lock (_flushing)
            {
                int n = 0;
                lock (_pending)
                {
                    if (_pending.Length == 0) return;
                    // Encoded chunk by chunk into one kept buffer: no string and no array per flush (one per output line).
                    int most = Encoding.UTF8.GetMaxByteCount(_pending.Length);
                    if (_bytes.Length < most) _bytes = new byte[Math.Max(most, 2 * _bytes.Length)];
                    foreach (var chunk in _pending.GetChunks())
                        n += _encoder.GetBytes(chunk.Span, _bytes.AsSpan(n), flush: false);
                    n += _encoder.GetBytes([], _bytes.AsSpan(n), flush: true);
                    _pending.Clear();
                }
                renderer.WriteOutput(_bytes.AsSpan(0, n));
            }
        }
    }
}
