using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using static Zeroshot.Agents.Pty.PtyNative;

namespace Zeroshot.Agents.Pty;

/// <summary>
/// A child process running on its own pseudo-terminal, as session leader with the PTY slave as its
/// controlling terminal (stdin, stdout and stderr all on the slave). <see cref="Pid"/> is also the id of
/// its process group and session.
/// </summary>
/// <remarks>
/// <para>Started with posix_spawn(3), never fork: glibc's posix_spawn uses clone(CLONE_VM|CLONE_VFORK), which is
/// safe in a multithreaded runtime. POSIX_SPAWN_SETSID makes the child a session leader; the file action
/// that opens the slave path as fd 0 (without O_NOCTTY) then makes it the controlling terminal
/// (open(2), O_NOCTTY: a terminal opened by a session leader without one becomes its controlling terminal).</para>
/// <para>Signals: .NET ignores SIGPIPE and handles others in its own process; an ignored disposition
/// survives execve(2) and the signal mask is inherited, so the child gets an empty mask
/// (POSIX_SPAWN_SETSIGMASK) and every signal at SIG_DFL (POSIX_SPAWN_SETSIGDEF with a full set).</para>
/// <para>Descriptors: the master is opened O_CLOEXEC, .NET opens its own descriptors O_CLOEXEC, and on
/// glibc &gt;= 2.34 posix_spawn_file_actions_addclosefrom_np(3) also closes every descriptor from 3 up in
/// the child, so nothing else leaks into the agent.</para>
/// <para>Reaping: a dedicated background thread per child blocks in waitpid(pid). .NET's own SIGCHLD
/// handling (System.Diagnostics.ProcessWaitState.CheckChildren, System.Native pal_signal.c) only reaps
/// the pids it started through System.Diagnostics.Process — it peeks with waitid(WNOWAIT) and leaves
/// unknown pids alone — except in "reap all" mode, which it enters when it runs as pid 1 or when SIGCHLD
/// was SIG_IGN at startup. In that mode it may reap our child first; waitpid then fails with ECHILD and
/// the exit is reported with <see cref="PtyExit.StatusLost"/>.</para>
/// <para>Output processing: the terminal keeps the kernel's default termios, as a real terminal has it:
/// OPOST|ONLCR turns every "\n" the child writes into "\r\n", and ECHO echoes <see cref="Write"/> input.
/// A child that wants raw bytes runs <c>stty -opost</c> (or sets termios itself).</para>
/// <para>One thread may call <see cref="Read"/> at a time (the <see cref="AgentOutputPump"/> does).</para>
/// </remarks>
internal sealed class PtyProcess : IDisposable, IAsyncDisposable
{
    private const short POLLOUT = 0x4;

    private readonly SafeFileHandle _master;
    // One eventfd per direction, so a Write waiting in poll can never consume a wake-up meant for a Read.
    private readonly SafeFileHandle _readWake;
    private readonly SafeFileHandle _writeWake;
    private readonly TaskCompletionSource<PtyExit> _exit = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;
    private volatile bool _eof;
    private volatile bool _sessionGone;

    private PtyProcess(SafeFileHandle master, SafeFileHandle readWake, SafeFileHandle writeWake, int pid, string terminalPath)
    {
        _master = master;
        _readWake = readWake;
        _writeWake = writeWake;
        Pid = pid;
        TerminalPath = terminalPath;
        var waiter = new Thread(static state => ((PtyProcess)state!).ReapLoop(), maxStackSize: 256 * 1024)
        {
            IsBackground = true,
            Name = $"pty-wait {pid}",
        };
        waiter.Start(this);
    }

    /// <summary>The child's pid, which is also its process-group id and session id.</summary>
    public int Pid { get; }

    /// <summary>The slave device, e.g. /dev/pts/3.</summary>
    public string TerminalPath { get; }

    /// <summary>True once the child has been reaped.</summary>
    public bool HasExited => _exit.Task.IsCompleted;

    /// <summary>
    /// Opens a PTY, sets its window size and spawns the program on it.
    /// </summary>
    /// <exception cref="ExecutableNotFoundException">The program is not found or not executable.</exception>
    /// <exception cref="DirectoryNotFoundException">The working directory does not exist.</exception>
    /// <exception cref="ArgumentException">A string contains NUL, an environment name is empty or has '=', or the size is out of range.</exception>
    /// <exception cref="IOException">The kernel refused the PTY or the spawn.</exception>
    public static PtyProcess Start(PtyStartInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        ValidateSize(info.Columns, info.Rows);
        if (info.WorkingDirectory is { } cwd && !Directory.Exists(cwd))
        {
            throw new DirectoryNotFoundException($"working directory '{cwd}' does not exist");
        }

        string executable = ResolveExecutable(info);
        var argv = new List<string>(info.Arguments.Count + 1) { info.FileName };
        argv.AddRange(info.Arguments);
        List<string> envp = BuildEnvironment(info.Environment);

        SafeFileHandle? master = null;
        SafeFileHandle? readWake = null;
        SafeFileHandle? writeWake = null;
        using SafeFileHandle? input = info.StandardInput is { } bytes ? InputFile(bytes) : null;
        try
        {
            master = OpenMaster(out byte[] slavePath);
            SetWindowSize(master, info.Columns, info.Rows);
            readWake = OpenEventFd();
            writeWake = OpenEventFd();
            int pid = Spawn(executable, slavePath, info.WorkingDirectory, argv, envp, inputFd: input is null ? -1 : (int)input.DangerousGetHandle());
            return new PtyProcess(master, readWake, writeWake, pid, Encoding.UTF8.GetString(slavePath.AsSpan(0, slavePath.Length - 1)));
        }
        catch
        {
            master?.Dispose();
            readWake?.Dispose();
            writeWake?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Blocks until output is available and copies it into <paramref name="buffer"/> (one read(2), at most
    /// the buffer's length; 64 KiB is a good size). Returns 0 at end of output: when every holder of the
    /// slave has closed it (the master then reads EIO, pty(7)) or after <see cref="Dispose"/>.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="IOException">read(2) failed with something other than EIO.</exception>
    public unsafe int Read(Span<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            throw new ArgumentException("the buffer is empty: a read of 0 bytes would look like end of output", nameof(buffer));
        }

        using var lease = new Lease(this, _readWake);
        if (!lease.Acquired || _eof)
        {
            return 0;
        }

        using CancellationTokenRegistration registration = RegisterWake(cancellationToken, _readWake);
        while (true)
        {
            if (Volatile.Read(ref _disposed) != 0)
            {
                return 0;
            }

            cancellationToken.ThrowIfCancellationRequested();
            nint n;
            fixed (byte* p = buffer)
            {
                n = read(lease.Master, p, (nuint)buffer.Length);
            }

            if (n > 0)
            {
                return (int)n;
            }

            int errno = n == 0 ? 0 : Errno;
            if (n == 0 || errno == EIO)
            {
                // EIO: no process holds the slave any more; buffered output has been read before it.
                _eof = true;
                return 0;
            }

            if (errno == EAGAIN)
            {
                _ = WaitReady(lease, POLLIN);
            }
            else if (errno != EINTR)
            {
                throw new IOException($"reading the terminal of pid {Pid} failed: {Describe(errno)}");
            }
        }
    }

    /// <summary>
    /// Writes input to the terminal (what a user would type), blocking while the terminal's input queue is
    /// full.
    /// </summary>
    /// <exception cref="IOException">The terminal is closed: no process holds it any more (seen by <see cref="Read"/> as end of output, or here when input cannot be queued).</exception>
    /// <exception cref="ObjectDisposedException">This object was disposed.</exception>
    public void Write(ReadOnlySpan<byte> data, CancellationToken cancellationToken = default)
    {
        using var lease = new Lease(this, _writeWake);
        ObjectDisposedException.ThrowIf(!lease.Acquired, this);
        using CancellationTokenRegistration registration = RegisterWake(cancellationToken, _writeWake);
        while (!data.IsEmpty)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            cancellationToken.ThrowIfCancellationRequested();
            if (_eof)
            {
                throw new IOException($"the terminal of pid {Pid} is closed: no process reads input any more");
            }

            int n = WriteSome(lease.Master, data);
            if (n > 0)
            {
                data = data[n..];
            }
            // POLLHUP: every holder closed the slave, input would only be discarded (and poll would spin).
            else if ((WaitReady(lease, POLLOUT) & (POLLHUP | POLLERR)) != 0)
            {
                _eof = true;
            }
        }
    }

    /// <summary>
    /// Writes as much of <paramref name="data"/> as the terminal's input queue takes now, without waiting (the master is
    /// non-blocking): the bytes written, 0 when the queue is full. A keystroke goes in at once this way, on the thread
    /// that received it, instead of waking a writer thread for it.
    /// </summary>
    /// <exception cref="IOException">The terminal is closed, or the write failed.</exception>
    /// <exception cref="ObjectDisposedException">This object was disposed.</exception>
    public int TryWrite(ReadOnlySpan<byte> data)
    {
        using var lease = new Lease(this, _writeWake);
        ObjectDisposedException.ThrowIf(!lease.Acquired, this);
        if (_eof) throw new IOException($"the terminal of pid {Pid} is closed: no process reads input any more");
        return WriteSome(lease.Master, data);
    }

    /// <summary>One write(2) to the non-blocking master (again after EINTR): the bytes taken, 0 when it would block.</summary>
    private unsafe int WriteSome(int master, ReadOnlySpan<byte> data)
    {
        while (true)
        {
            nint n;
            fixed (byte* p = data)
            {
                n = write(master, p, (nuint)data.Length);
            }
            if (n >= 0) return (int)n;
            int errno = Errno;
            if (errno == EAGAIN) return 0;
            if (errno != EINTR) throw new IOException($"writing to the terminal of pid {Pid} failed: {Describe(errno)}");
        }
    }

    /// <summary>Changes the window size; the kernel sends SIGWINCH to the terminal's foreground process group (tty_ioctl(4)).</summary>
    public void Resize(int columns, int rows)
    {
        ValidateSize(columns, rows);
        using var lease = new Lease(this, _readWake);
        ObjectDisposedException.ThrowIf(!lease.Acquired, this);
        SetWindowSize(_master, columns, rows);
    }

    /// <summary>The window size as the kernel has it (columns, rows).</summary>
    public unsafe (int Columns, int Rows) GetSize()
    {
        using var lease = new Lease(this, _readWake);
        ObjectDisposedException.ThrowIf(!lease.Acquired, this);
        WinSize size;
        Check(ioctl(lease.Master, TIOCGWINSZ, &size), "ioctl(TIOCGWINSZ)");
        return (size.Columns, size.Rows);
    }

    /// <summary>
    /// Sends <paramref name="signal"/> to the child's whole process group (kill(-pgid)). False when the group
    /// has no member left.
    /// </summary>
    public bool Signal(int signal)
    {
        if (_sessionGone)
        {
            return false;
        }

        if (kill(-Pid, signal) == 0)
        {
            return true;
        }

        int errno = Errno;
        return errno == ESRCH ? false : throw new IOException($"kill(-{Pid}, {signal}) failed: {Describe(errno)}");
    }

    /// <summary>
    /// Sends <paramref name="signal"/> to the terminal's foreground process group (what the kernel would signal for
    /// a typed Ctrl+C: the job in front, e.g. a command a shell runs, not the shell). TIOCGPGRP on the master side
    /// answers for the slave (tty_ioctl(4)). False when there is no foreground group or it is gone.
    /// </summary>
    public unsafe bool SignalForeground(int signal)
    {
        using var lease = new Lease(this, _readWake);
        if (!lease.Acquired) return false;
        int group;
        if (ioctl(lease.Master, TIOCGPGRP, &group) != 0 || group <= 0) return false;
        return kill(-group, signal) == 0;
    }

    /// <summary>
    /// Whether the terminal's line discipline is in canonical mode (ICANON, termios(3)): TCGETS on the master side
    /// answers with the slave's settings (tty_mode_ioctl). True when it cannot be read.
    /// </summary>
    public unsafe bool IsCanonical()
    {
        using var lease = new Lease(this, _readWake);
        if (!lease.Acquired) return true;
        uint* termios = stackalloc uint[16]; // c_iflag, c_oflag, c_cflag, c_lflag, …: 60 bytes on Linux
        if (ioctl(lease.Master, TCGETS, termios) != 0) return true;
        return (termios[3] & ICANON) != 0;
    }

    /// <summary>Completes when the child has been reaped.</summary>
    public Task<PtyExit> WaitForExitAsync(CancellationToken cancellationToken = default) =>
        _exit.Task.WaitAsync(cancellationToken);

    /// <summary>
    /// Stops the agent and everything it started in its session: SIGTERM to the process group and to every
    /// other live member of the session (with SIGCONT, so stopped ones see it), then, if any is still alive after <paramref name="grace"/>, SIGKILL to
    /// all of them; returns once the child is reaped and no live (non-zombie) process remains in its session or
    /// group. A descendant that left the session with setsid(2) is not reached.
    /// </summary>
    /// <exception cref="TimeoutException">Processes survived SIGKILL for 10 s (uninterruptible sleep).</exception>
    public async Task<PtyExit> StopAsync(TimeSpan grace, CancellationToken cancellationToken = default)
    {
        SignalSession(SIGTERM);
        // A stopped process (Ctrl+Z, SIGSTOP) keeps SIGTERM pending until continued, as systemd knows too.
        SignalSession(SIGCONT);
        if (await WaitUntilGoneAsync(grace, cancellationToken).ConfigureAwait(false))
        {
            return await _exit.Task.ConfigureAwait(false);
        }

        SignalSession(SIGKILL);
        if (!await WaitUntilGoneAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false))
        {
            throw new TimeoutException($"processes of session {Pid} survived SIGKILL");
        }

        return await _exit.Task.ConfigureAwait(false);
    }

    /// <summary>
    /// SIGKILLs whatever still runs in the session (no grace: call <see cref="StopAsync"/> first for a clean
    /// stop), wakes a blocked <see cref="Read"/> (which returns 0) and closes the terminal.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        SignalSession(SIGKILL);
        Wake(_readWake);
        Wake(_writeWake);
        // SafeHandle reference counting defers the close until a Read/Write in progress has returned.
        _master.Dispose();
        _readWake.Dispose();
        _writeWake.Dispose();
    }

    /// <summary>Disposes, then waits (up to 10 s) for the child to be reaped.</summary>
    public async ValueTask DisposeAsync()
    {
        Dispose();
        try
        {
            await _exit.Task.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A child stuck in uninterruptible sleep: the reaper thread reports it whenever it dies.
        }
    }

    /// <summary>Signals the process group and every other live member of the session.</summary>
    private void SignalSession(int signal)
    {
        if (_sessionGone)
        {
            return;
        }

        bool exited = HasExited;
        _ = kill(-Pid, signal); // ESRCH: the group is empty.
        List<int> members = ProcessGroupScanner.FindLiveMembers(Pid);
        foreach (int member in members)
        {
            _ = kill(member, signal);
        }

        NoteIfGone(exited, members.Count);
    }

    /// <summary>
    /// Once the leader is reaped and nothing is left in its session, the pid number is free for reuse
    /// (a pid is not recycled while any process still uses it as process-group or session id), and a later
    /// kill(-pid) could hit a stranger's group, such as another agent's: from then on nothing is signalled.
    /// </summary>
    private void NoteIfGone(bool exitedBeforeScan, int liveMembers)
    {
        if (exitedBeforeScan && liveMembers == 0)
        {
            _sessionGone = true;
        }
    }

    private async Task<bool> WaitUntilGoneAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (true)
        {
            bool exited = HasExited;
            if (exited)
            {
                NoteIfGone(exited, ProcessGroupScanner.FindLiveMembers(Pid).Count);
                if (_sessionGone)
                {
                    return true;
                }
            }

            long left = deadline - Environment.TickCount64;
            if (left <= 0)
            {
                return false;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(left, 20)), cancellationToken).ConfigureAwait(false);
        }
    }

    private unsafe void ReapLoop()
    {
        while (true)
        {
            int status;
            int result = waitpid(Pid, &status, 0);
            if (result == Pid)
            {
                _exit.TrySetResult(PtyExit.FromWaitStatus(status));
                return;
            }

            if (result < 0 && Errno == EINTR)
            {
                continue;
            }

            // ECHILD: reaped by .NET's reap-all mode (see the remarks on the class).
            _exit.TrySetResult(new PtyExit(null, null));
            return;
        }
    }

    private static CancellationTokenRegistration RegisterWake(CancellationToken cancellationToken, SafeFileHandle wake) =>
        cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static state => Wake((SafeFileHandle)state!), wake)
            : default;

    /// <summary>
    /// An anonymous in-memory file (memfd_create(2)) holding <paramref name="bytes"/>, its offset at 0: never on disk,
    /// gone when the last descriptor closes, and reachable through /proc only by its owner (ptrace access mode, proc(5)).
    /// A regular file rather than a pipe: the child reads it to end of file at its own pace, no writer thread, no size limit.
    /// </summary>
    private static unsafe SafeFileHandle InputFile(ReadOnlySpan<byte> bytes)
    {
        byte* name = stackalloc byte[] { (byte)'s', (byte)'t', (byte)'d', (byte)'i', (byte)'n', 0 };
        var handle = new SafeFileHandle(Check(memfd_create(name, MFD_CLOEXEC), "memfd_create"), ownsHandle: true);
        try
        {
            // pwrite(2): the file offset the child inherits stays at 0.
            RandomAccess.Write(handle, bytes, 0);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
        return handle;
    }

    private static SafeFileHandle OpenEventFd() =>
        new(Check(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "eventfd"), ownsHandle: true);

    /// <summary>Makes the eventfd readable so a thread blocked in poll(2) returns.</summary>
    private static unsafe void Wake(SafeFileHandle wake)
    {
        bool added = false;
        try
        {
            wake.DangerousAddRef(ref added);
            ulong one = 1;
            _ = write((int)wake.DangerousGetHandle(), (byte*)&one, sizeof(ulong));
        }
        catch (ObjectDisposedException)
        {
            // Closed already: nobody can be waiting on it.
        }
        finally
        {
            if (added)
            {
                wake.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Waits until the master is ready for <paramref name="events"/> or the wake eventfd fires; returns the
    /// master's revents.
    /// </summary>
    private unsafe short WaitReady(in Lease lease, short events)
    {
        PollFd* fds = stackalloc PollFd[2];
        fds[0] = new PollFd { Fd = lease.Master, Events = events };
        fds[1] = new PollFd { Fd = lease.Wake, Events = POLLIN };
        while (poll(fds, 2, -1) < 0)
        {
            int errno = Errno;
            if (errno != EINTR)
            {
                throw new IOException($"poll on the terminal of pid {Pid} failed: {Describe(errno)}");
            }
        }

        if (fds[1].REvents != 0)
        {
            // Consume the wake-up; the caller's loop re-checks disposal and cancellation.
            ulong value;
            _ = read(lease.Wake, (byte*)&value, sizeof(ulong));
        }

        return fds[0].REvents;
    }

    /// <summary>Holds references on both descriptors so Dispose cannot close them under a running call.</summary>
    private readonly ref struct Lease
    {
        private readonly PtyProcess _owner;
        private readonly SafeFileHandle _wakeHandle;

        public Lease(PtyProcess owner, SafeFileHandle wakeHandle)
        {
            _owner = owner;
            _wakeHandle = wakeHandle;
            bool master = false;
            bool wake = false;
            try
            {
                owner._master.DangerousAddRef(ref master);
                wakeHandle.DangerousAddRef(ref wake);
            }
            catch (ObjectDisposedException)
            {
            }

            if (master && wake)
            {
                Acquired = true;
                Master = (int)owner._master.DangerousGetHandle();
                Wake = (int)wakeHandle.DangerousGetHandle();
                return;
            }

            if (master)
            {
                owner._master.DangerousRelease();
            }

            if (wake)
            {
                wakeHandle.DangerousRelease();
            }
        }

        public bool Acquired { get; }

        public int Master { get; }

        public int Wake { get; }

        public void Dispose()
        {
            if (Acquired)
            {
                _owner._master.DangerousRelease();
                _wakeHandle.DangerousRelease();
            }
        }
    }

    private static void ValidateSize(int columns, int rows)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(columns, ushort.MaxValue);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rows, ushort.MaxValue);
    }

    private static unsafe void SetWindowSize(SafeFileHandle master, int columns, int rows)
    {
        var size = new WinSize { Columns = (ushort)columns, Rows = (ushort)rows };
        Check(ioctl((int)master.DangerousGetHandle(), TIOCSWINSZ, &size), "ioctl(TIOCSWINSZ)");
    }

    private static int Check(int result, string what) =>
        result >= 0 ? result : throw new IOException($"{what} failed: {Describe(Errno)}");

    /// <summary>posix_openpt(3) + grantpt + unlockpt + ptsname_r; returns the NUL-terminated slave path.</summary>
    private static unsafe SafeFileHandle OpenMaster(out byte[] slavePath)
    {
        // O_NONBLOCK: reads and writes wait in poll(2) together with the wake eventfd, so Dispose and
        // cancellation can interrupt them. O_NOCTTY: the PTY must never become OUR controlling terminal.
        const int O_NONBLOCK = 0x800;
        int fd = Check(posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK), "posix_openpt");
        var master = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            Check(grantpt(fd), "grantpt");
            Check(unlockpt(fd), "unlockpt");
            byte* buffer = stackalloc byte[128];
            int error = ptsname_r(fd, buffer, 128);
            if (error != 0)
            {
                throw new IOException($"ptsname_r failed: {Describe(error)}");
            }

            slavePath = new ReadOnlySpan<byte>(buffer, 128)[..(MemoryMarshal.CreateReadOnlySpanFromNullTerminated(buffer).Length + 1)].ToArray();
            return master;
        }
        catch
        {
            master.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Starts a process in a new session with no terminal: stdin from /dev/null, stdout and stderr
    /// appended to <paramref name="outputPath"/>. Used for the detached supervisor, which must survive
    /// the terminal closing and must not hold the caller's pipes open. The caller does not reap it:
    /// the caller exits at once and init adopts the child. A null <paramref name="environment"/> passes this
    /// process's own (<see cref="ProcessEnvironment.Snapshot"/>).
    /// </summary>
    public static int SpawnDetached(string executable, IReadOnlyList<string> argv, IReadOnlyDictionary<string, string>? environment,
        string? workingDirectory, string outputPath)
    {
        var envp = BuildEnvironment(environment);
        return Spawn(executable, NullTerminated("/dev/null"), workingDirectory, argv.ToList(), envp, NullTerminated(outputPath));
    }

    private static unsafe int Spawn(string executable, byte[] slavePath, string? workingDirectory, List<string> argv, List<string> envp,
        byte[]? outputPath = null, int inputFd = -1)
    {
        void* attr = NativeMemory.AllocZeroed(SpawnAttrSize);
        void* actions = NativeMemory.AllocZeroed(FileActionsSize);
        void* mask = NativeMemory.AllocZeroed(SigSetSize);
        void* defaults = NativeMemory.AllocZeroed(SigSetSize);
        byte** nativeArgv = null;
        byte** nativeEnvp = null;
        bool attrReady = false;
        bool actionsReady = false;
        try
        {
            nativeArgv = AllocStringArray(argv);
            nativeEnvp = AllocStringArray(envp);
            SpawnCheck(posix_spawnattr_init(attr), "posix_spawnattr_init");
            attrReady = true;
            SpawnCheck(posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init");
            actionsReady = true;

            SpawnCheck(posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF),
                "posix_spawnattr_setflags");
            _ = sigemptyset(mask);
            SpawnCheck(posix_spawnattr_setsigmask(attr, mask), "posix_spawnattr_setsigmask");
            _ = sigfillset(defaults);
            SpawnCheck(posix_spawnattr_setsigdefault(attr, defaults), "posix_spawnattr_setsigdefault");

            if (workingDirectory is not null)
            {
                // Before the open, so a relative slave path could never be affected (it is absolute anyway).
                byte[] cwd = NullTerminated(workingDirectory);
                fixed (byte* p = cwd)
                {
                    SpawnCheck(posix_spawn_file_actions_addchdir_np(actions, p), "posix_spawn_file_actions_addchdir_np");
                }
            }

            fixed (byte* slave = slavePath)
            {
                // Without O_NOCTTY: opened by a session leader, the slave becomes its controlling terminal.
                SpawnCheck(posix_spawn_file_actions_addopen(actions, 0, slave, O_RDWR, 0), "posix_spawn_file_actions_addopen");
            }

            if (outputPath is null)
            {
                SpawnCheck(posix_spawn_file_actions_adddup2(actions, 0, 1), "posix_spawn_file_actions_adddup2");
            }
            else
            {
                fixed (byte* output = outputPath)
                {
                    // O_WRONLY | O_CREAT | O_APPEND, mode 0600.
                    SpawnCheck(posix_spawn_file_actions_addopen(actions, 1, output, 0x1 | 0x40 | 0x400, 0x180), "posix_spawn_file_actions_addopen");
                }
            }
            SpawnCheck(posix_spawn_file_actions_adddup2(actions, 1, 2), "posix_spawn_file_actions_adddup2");
            if (inputFd >= 0)
            {
                // After the slave became the controlling terminal through fd 0 (a session keeps its controlling
                // terminal when the descriptor closes), stdin is replaced by the input file; dup2 clears its CLOEXEC.
                SpawnCheck(posix_spawn_file_actions_adddup2(actions, inputFd, 0), "posix_spawn_file_actions_adddup2");
            }
            AddCloseFrom(actions);

            int pid;
            int error;
            fixed (byte* path = NullTerminated(executable))
            {
                error = posix_spawn(&pid, path, actions, attr, nativeArgv, nativeEnvp);
            }

            return error switch
            {
                0 => pid,
                ENOENT or 13 /* EACCES */ or 8 /* ENOEXEC */ =>
                    throw new ExecutableNotFoundException(executable, $"cannot execute: {Describe(error)}"),
                _ => throw new IOException($"posix_spawn of '{executable}' failed: {Describe(error)}"),
            };
        }
        finally
        {
            if (actionsReady)
            {
                _ = posix_spawn_file_actions_destroy(actions);
            }

            if (attrReady)
            {
                _ = posix_spawnattr_destroy(attr);
            }

            NativeMemory.Free(attr);
            NativeMemory.Free(actions);
            NativeMemory.Free(mask);
            NativeMemory.Free(defaults);
            NativeMemory.Free(nativeArgv);
            NativeMemory.Free(nativeEnvp);
        }
    }

    private static unsafe void AddCloseFrom(void* actions)
    {
        try
        {
            SpawnCheck(posix_spawn_file_actions_addclosefrom_np(actions, 3), "posix_spawn_file_actions_addclosefrom_np");
        }
        catch (EntryPointNotFoundException)
        {
            // glibc < 2.34: rely on O_CLOEXEC alone.
        }
    }

    private static void SpawnCheck(int error, string what)
    {
        if (error != 0)
        {
            throw new IOException($"{what} failed: {Describe(error)}");
        }
    }

    /// <summary>One native block: a NULL-terminated pointer array followed by the NUL-terminated UTF-8 strings.</summary>
    private static unsafe byte** AllocStringArray(List<string> items)
    {
        nuint pointers = (nuint)(items.Count + 1) * (nuint)sizeof(byte*);
        nuint total = pointers;
        foreach (string item in items)
        {
            total += (nuint)Encoding.UTF8.GetByteCount(item) + 1;
        }

        byte* block = (byte*)NativeMemory.Alloc(total);
        byte** array = (byte**)block;
        byte* next = block + pointers;
        byte* end = block + total;
        for (int i = 0; i < items.Count; i++)
        {
            array[i] = next;
            int written = Encoding.UTF8.GetBytes(items[i], new Span<byte>(next, (int)(end - next)));
            next[written] = 0;
            next += written + 1;
        }

        array[items.Count] = null;
        return array;
    }

    private static byte[] NullTerminated(string value)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(value) + 1];
        Encoding.UTF8.GetBytes(value, bytes);
        return bytes;
    }

    private static void RejectNul(string value, string what)
    {
        if (value.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"{what} contains a NUL character");
        }
    }

    private static List<string> BuildEnvironment(IReadOnlyDictionary<string, string>? environment)
    {
        var list = new List<string>();
        if (environment is null)
        {
            foreach ((string name, string value) in ProcessEnvironment.Snapshot())
            {
                list.Add($"{name}={value}");
            }

            return list;
        }

        foreach ((string name, string value) in environment)
        {
            if (name.Length == 0 || name.Contains('=', StringComparison.Ordinal))
            {
                throw new ArgumentException($"invalid environment variable name '{name}'");
            }

            RejectNul(name, "an environment variable name");
            RejectNul(value, $"environment variable {name}");
            list.Add($"{name}={value}");
        }

        return list;
    }

    /// <summary>Finds the program like execvp(3), but in the child's PATH and with a clear error.</summary>
    internal static string ResolveExecutable(PtyStartInfo info)
    {
        string name = info.FileName;
        if (string.IsNullOrEmpty(name))
        {
            throw new ArgumentException("the executable name is empty");
        }

        RejectNul(name, "the executable name");
        foreach (string argument in info.Arguments)
        {
            RejectNul(argument, "an argument");
        }

        string baseDirectory = info.WorkingDirectory ?? Environment.CurrentDirectory;
        if (name.Contains('/', StringComparison.Ordinal))
        {
            string full = Path.GetFullPath(name, baseDirectory);
            return IsExecutableFile(full)
                ? full
                : throw new ExecutableNotFoundException(name, $"no executable file at {full}");
        }

        string? path = null;
        if (info.Environment is { } env)
        {
            _ = env.TryGetValue("PATH", out path);
        }

        path ??= Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin";
        foreach (string directory in path.Split(':'))
        {
            // An empty PATH entry means the current directory (execvp(3)), here the child's.
            string candidate = Path.Combine(directory.Length == 0 ? baseDirectory : Path.GetFullPath(directory, baseDirectory), name);
            if (IsExecutableFile(candidate))
            {
                return candidate;
            }
        }

        throw new ExecutableNotFoundException(name, "not on PATH");
    }

    private static unsafe bool IsExecutableFile(string path)
    {
        if (!File.Exists(path))
        {
            return false; // missing, or a directory
        }

        fixed (byte* p = NullTerminated(path))
        {
            return access(p, X_OK) == 0;
        }
    }
}
