using System.Runtime.InteropServices;

namespace Zeroshot.Cli.Attach;

/// <summary>
/// The user's own terminal while <c>zeroshot attach</c> runs: raw mode on standard input (termios(3) <c>cfmakeraw</c>:
/// every key reaches us, Ctrl+C included, nothing is echoed), its window size, and putting it back exactly as it was.
/// Thin: the bytes it writes come from the painter; it only reads, writes and switches modes.
/// </summary>
internal sealed partial class LocalTerminal : IDisposable
{
    private const int StdIn = 0, StdOut = 1;
    private const int TCSANOW = 0, TCSADRAIN = 1;
    private const nuint TIOCGWINSZ = 0x5413;
    private const int EINTR = 4, EAGAIN = 11;

    // struct termios is 60 bytes on Linux (glibc and musl); room to spare, copied whole, never interpreted here.
    private readonly byte[] _saved = new byte[128];
    private readonly Stream _out;
    private bool _raw;
    private int _restored;

    private LocalTerminal(Stream output) => _out = output;

    /// <summary>Whether standard input and standard output are both terminals (attach needs both).</summary>
    public static bool IsInteractive => isatty(StdIn) == 1 && isatty(StdOut) == 1;

    /// <summary>Switches standard input to raw mode, remembering the settings to restore.</summary>
    /// <exception cref="IOException">Standard input is not a terminal.</exception>
    public static unsafe LocalTerminal EnterRaw(Stream output)
    {
        var terminal = new LocalTerminal(output);
        fixed (byte* saved = terminal._saved)
        {
            if (tcgetattr(StdIn, saved) != 0) throw new IOException($"standard input is not a terminal (tcgetattr: errno {Marshal.GetLastPInvokeError()})");
            byte* raw = stackalloc byte[128];
            new ReadOnlySpan<byte>(saved, 128).CopyTo(new Span<byte>(raw, 128));
            cfmakeraw(raw);
            if (tcsetattr(StdIn, TCSANOW, raw) != 0) throw new IOException($"cannot switch the terminal to raw mode (errno {Marshal.GetLastPInvokeError()})");
        }
        terminal._raw = true;
        return terminal;
    }

    /// <summary>The window size (columns, rows) of standard output; null when it is not a terminal or says 0.</summary>
    public static unsafe (int Columns, int Rows)? WindowSize()
    {
        ushort* size = stackalloc ushort[4]; // struct winsize: rows, columns, xpixel, ypixel
        if (ioctl(StdOut, TIOCGWINSZ, size) != 0 || size[0] == 0 || size[1] == 0) return null;
        return (size[1], size[0]);
    }

    /// <summary>Reads what the user typed (blocks in read(2)); 0 at end of input.</summary>
    public static unsafe int Read(Span<byte> buffer)
    {
        while (true)
        {
            nint n;
            fixed (byte* p = buffer) n = read(StdIn, p, (nuint)buffer.Length);
            if (n >= 0) return (int)n;
            int errno = Marshal.GetLastPInvokeError();
            if (errno is EINTR or EAGAIN) continue;
            throw new IOException($"reading the terminal failed (errno {errno})");
        }
    }

    /// <summary>Writes one frame to the terminal in one go.</summary>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        _out.Write(bytes);
        _out.Flush();
    }

    /// <summary>
    /// Writes <paramref name="reset"/> (what undoes every mode the painter set) and puts the saved termios back.
    /// Idempotent and safe from any thread (a signal handler, an unhandled-exception handler, the normal exit).
    /// </summary>
    public unsafe void Restore(ReadOnlySpan<byte> reset)
    {
        if (Interlocked.Exchange(ref _restored, 1) == 1) return;
        try
        {
            _out.Write(reset);
            _out.Flush();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The terminal is gone (SIGHUP): nothing left to restore on it.
        }
        if (_raw)
        {
            // TCSADRAIN: the reset sequence reaches the terminal before the line discipline changes back.
            fixed (byte* saved = _saved) _ = tcsetattr(StdIn, TCSADRAIN, saved);
        }
    }

    /// <inheritdoc/>
    public void Dispose() => Restore([]);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int tcgetattr(int fd, byte* termios);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int tcsetattr(int fd, int optionalActions, byte* termios);

    [LibraryImport("libc")]
    private static unsafe partial void cfmakeraw(byte* termios);

    [LibraryImport("libc")]
    private static partial int isatty(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int ioctl(int fd, nuint request, void* arg);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial nint read(int fd, byte* buffer, nuint count);
}
