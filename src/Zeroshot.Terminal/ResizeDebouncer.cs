namespace Zeroshot.Terminal;

/// <summary>
/// Coalesces bursts of SIGWINCH (a window being dragged sends dozens) into one callback after the size
/// has been quiet for a while, so the footer is redrawn once for the final size instead of fighting
/// the terminal's own reflow. Feed it from <c>PosixSignalRegistration.Create(PosixSignal.SIGWINCH, …)</c>
/// and read the size in the callback. The callback runs on a timer thread.
/// </summary>
internal sealed class ResizeDebouncer : IDisposable
{
    /// <summary>Quiet period that feels immediate yet spans a drag's signal burst.</summary>
    public static readonly TimeSpan DefaultQuiet = TimeSpan.FromMilliseconds(100);

    private readonly ITimer _timer;
    private readonly TimeSpan _quiet;

    /// <summary>Creates a debouncer that calls <paramref name="onSettled"/> once per burst.</summary>
    public ResizeDebouncer(TimeProvider time, TimeSpan quiet, Action onSettled)
    {
        _quiet = quiet;
        _timer = time.CreateTimer(_ => onSettled(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>A resize signal arrived: (re)starts the quiet period.</summary>
    public void Signal() => _timer.Change(_quiet, Timeout.InfiniteTimeSpan);

    /// <summary>Stops the timer; a pending callback is dropped.</summary>
    public void Dispose() => _timer.Dispose();
}
