using System.Buffers;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Zeroshot.Agents.Pty;

namespace Zeroshot.Agents.Control;

/// <summary>
/// Reads control frames from a connected socket on the calling thread with poll(2) and recv(2), never through the
/// .NET socket engine. There, every arrival wakes the engine's epoll thread, which queues a pool work item, which wakes
/// a worker: two thread hops per frame before anyone sees a keystroke. tmux's server and client each wake once per
/// read; a thread of our own blocked in poll(2) does the same. One reader per connection; not thread-safe.
/// </summary>
/// <remarks>
/// The descriptor may be non-blocking (the engine sets O_NONBLOCK once any async operation ran on it, such as a send
/// that had to wait): recv uses MSG_DONTWAIT and waits in poll either way. Closing the connection from another thread
/// is done with shutdown(2), which wakes the poll with POLLHUP and makes recv return 0.
/// </remarks>
internal sealed partial class SocketFrameSource
{
    /// <summary>What <see cref="Next"/> found.</summary>
    internal enum Result
    {
        /// <summary>A whole frame.</summary>
        Frame,

        /// <summary>No byte arrived within the timeout.</summary>
        TimedOut,

        /// <summary>The peer closed the connection (or it was shut down here) between frames.</summary>
        Closed,
    }

    private const int MsgDontWait = 0x40; // sys/socket.h (Linux)
    private const int EIntr = 4, EAgain = 11;

    private readonly Socket _socket;
    private readonly FrameLimits _limits;
    private byte[] _buffer;
    private int _start, _end;

    /// <summary>A reader of <paramref name="socket"/> enforcing <paramref name="limits"/>.</summary>
    public SocketFrameSource(Socket socket, FrameLimits limits, int bufferSize = 64 * 1024)
    {
        _socket = socket;
        _limits = limits;
        _buffer = new byte[bufferSize];
    }

    /// <summary>True when bytes of an unfinished frame are buffered.</summary>
    public bool MidFrame => _end > _start;

    /// <summary>
    /// The next frame, waiting at most <paramref name="timeoutMs"/> (-1: forever) for each arrival of bytes. The
    /// frame's payload aliases this reader's buffer until the next call.
    /// </summary>
    /// <exception cref="InvalidDataException">A malformed frame, or the connection ended inside one.</exception>
    /// <exception cref="IOException">recv or poll failed (the connection was reset).</exception>
    /// <exception cref="ObjectDisposedException">The socket was disposed.</exception>
    public Result Next(int timeoutMs, out Frame frame)
    {
        while (true)
        {
            var buffered = new ReadOnlySequence<byte>(_buffer, _start, _end - _start);
            if (FrameReader.TryRead(ref buffered, _limits, out frame))
            {
                _start = _end - (int)buffered.Length;
                return Result.Frame;
            }
            MakeRoom();
            int received = Receive(timeoutMs);
            if (received < 0) return Result.TimedOut;
            if (received == 0)
            {
                FrameReader.EnsureComplete(new ReadOnlySequence<byte>(_buffer, _start, _end - _start));
                return Result.Closed;
            }
            _end += received;
        }
    }

    /// <summary>Moves the unfinished frame to the front, and grows the buffer when it is full of one frame.</summary>
    private void MakeRoom()
    {
        if (_start == _end) _start = _end = 0;
        if (_end < _buffer.Length) return;
        int kept = _end - _start;
        // FrameReader has already refused a header announcing more than the limits, so this growth is bounded.
        var target = kept == _buffer.Length ? new byte[_buffer.Length * 2] : _buffer;
        Buffer.BlockCopy(_buffer, _start, target, 0, kept);
        _buffer = target;
        _start = 0;
        _end = kept;
    }

    /// <summary>Bytes received into the free end of the buffer; 0 at the end of the stream, -1 on timeout.</summary>
    private unsafe int Receive(int timeoutMs)
    {
        var handle = _socket.SafeHandle;
        bool added = false;
        try
        {
            // Held across the calls: a socket disposed meanwhile cannot have its descriptor number reused under us.
            handle.DangerousAddRef(ref added);
            int fd = (int)handle.DangerousGetHandle();
            while (true)
            {
                fixed (byte* p = &_buffer[_end])
                {
                    nint n = RecvNative(fd, p, (nuint)(_buffer.Length - _end), MsgDontWait);
                    if (n >= 0) return (int)n;
                }
                int errno = Marshal.GetLastPInvokeError();
                if (errno == EIntr) continue;
                if (errno != EAgain) throw new IOException($"recv on the control socket: {Marshal.GetPInvokeErrorMessage(errno)}");
                var poll = new PtyNative.PollFd { Fd = fd, Events = PtyNative.POLLIN };
                int ready = PtyNative.poll(&poll, 1, timeoutMs);
                if (ready == 0) return -1;
                if (ready < 0 && Marshal.GetLastPInvokeError() is var pollErrno && pollErrno != EIntr)
                    throw new IOException($"poll on the control socket: {Marshal.GetPInvokeErrorMessage(pollErrno)}");
                // Readable, hung up or in error: recv says which.
            }
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    /// <summary>
    /// Runs a connection's read loop on a background thread of its own (it waits in poll(2), so it must not hold a pool
    /// thread); the task ends with the loop's result or exception.
    /// </summary>
    public static Task<T> RunOnOwnThread<T>(string name, Func<T> loop)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                done.SetResult(loop());
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        })
        {
            IsBackground = true,
            Name = name,
        };
        thread.UnsafeStart();
        return done.Task;
    }

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static unsafe partial nint RecvNative(int fd, byte* buffer, nuint length, int flags);
}
