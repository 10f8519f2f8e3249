using System.Runtime.InteropServices;

namespace Zeroshot.Cli.Output;

/// <summary>Facts about standard output that .NET's Console hides.</summary>
internal static partial class StandardOutput
{
    private const short PollErr = 0x008, PollHup = 0x010; // <poll.h>

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int Poll(ref PollFd fds, nuint count, int timeout);

    /// <summary>
    /// True when standard output is a pipe whose reader has gone (<c>zeroshot metrics | head -1</c>).
    /// .NET ignores SIGPIPE and its console swallows EPIPE, so a writer would otherwise go on forever;
    /// poll(2) reports POLLERR on the write end of a pipe without readers.
    /// </summary>
    public static bool ReaderGone()
    {
        if (OperatingSystem.IsWindows()) return false;
        var fd = new PollFd { Fd = 1, Events = 0 };
        return Poll(ref fd, 1, 0) == 1 && (fd.Revents & (PollErr | PollHup)) != 0;
    }
}
