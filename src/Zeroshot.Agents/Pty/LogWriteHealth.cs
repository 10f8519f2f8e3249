namespace Zeroshot.Agents.Pty;

/// <summary>
/// Whether a cluster's agent logs are being written, shared by the output pumps of all its agents: a write that
/// failed (a full disk: ENOSPC, a quota: EDQUOT, an I/O error) is counted here byte for byte, and the first failure
/// of a streak and the first success after one are reported to <see cref="Changed"/>, so the supervisor can say so
/// at once instead of the agent hanging on a pump that stopped reading.
/// </summary>
internal sealed class LogWriteHealth
{
    private readonly object _gate = new();
    private long _bytesLost;
    private string? _failure;

    /// <summary>Called (on a pump thread, outside any lock; must not block) when writing starts failing or works again.</summary>
    public Action<LogWriteHealth>? Changed { get; init; }

    /// <summary>Bytes of agent output that never reached a log file.</summary>
    public long BytesLost => Interlocked.Read(ref _bytesLost);

    /// <summary>Why the last log write failed ("disk full", …) while writing fails; null while it works.</summary>
    public string? Failure => Volatile.Read(ref _failure);

    /// <summary>Records <paramref name="bytes"/> lost because a log write failed with <paramref name="error"/>.</summary>
    public void Lost(long bytes, IOException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        bool first;
        lock (_gate)
        {
            Interlocked.Add(ref _bytesLost, bytes);
            first = _failure is null;
            Volatile.Write(ref _failure, Describe(error));
        }
        if (first) Changed?.Invoke(this);
    }

    /// <summary>Records a write that worked: a failing streak, if any, is over.</summary>
    public void Written()
    {
        if (Volatile.Read(ref _failure) is null) return; // the common case: no lock
        lock (_gate)
        {
            if (_failure is null) return;
            Volatile.Write(ref _failure, null);
        }
        Changed?.Invoke(this);
    }

    /// <summary>"disk full" for ENOSPC and EDQUOT (write(2)), else the error's own message.</summary>
    internal static string Describe(IOException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        // .NET puts the errno in HResult for I/O errors on Unix; the message is the fallback (strerror text).
        const int Enospc = 28, Edquot = 122;
        if (error.HResult is Enospc or Edquot || error.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase)
            || error.Message.Contains("quota", StringComparison.OrdinalIgnoreCase))
            return "disk full";
        return error.Message;
    }
}
