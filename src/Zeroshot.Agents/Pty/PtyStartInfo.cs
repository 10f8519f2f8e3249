namespace Zeroshot.Agents.Pty;

/// <summary>What to run on a new pseudo-terminal, see <see cref="PtyProcess.Start"/>.</summary>
internal sealed class PtyStartInfo
{
    /// <summary>
    /// The program. A name without '/' is searched in the PATH of <see cref="Environment"/> (or, when that
    /// has none, of this process), like execvp(3); a relative path with '/' is taken relative to
    /// <see cref="WorkingDirectory"/>, as the child would see it after chdir.
    /// </summary>
    public required string FileName { get; init; }

    /// <summary>argv[1..]; argv[0] is <see cref="FileName"/> as given.</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>
    /// The child's complete environment (nothing is inherited implicitly). Null passes this process's
    /// environment. Set TERM here: a PTY without TERM makes most programs fall back to a dumb terminal.
    /// </summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    /// <summary>The child's working directory; null keeps this process's one.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>
    /// When set, the child's standard input is a file holding these bytes (read to end of file) instead of the
    /// terminal; stdout and stderr stay on the terminal, which stays its controlling terminal. For a prompt: unlike an
    /// argument, it is not in /proc/&lt;pid&gt;/cmdline for every user to read, and it has no 128 KiB limit.
    /// </summary>
    /// <remarks>An array, not a nullable memory: a null array converts silently to an empty (non-null) memory.</remarks>
    public byte[]? StandardInput { get; init; }

    /// <summary>Terminal width in cells, set with TIOCSWINSZ before the child runs.</summary>
    public int Columns { get; init; } = 120;

    /// <summary>Terminal height in rows.</summary>
    public int Rows { get; init; } = 40;
}

/// <summary>How a PTY child ended: exactly one of the two values is set, or neither when the status was lost.</summary>
/// <param name="ExitCode">The exit(3) status, 0..255, when the process exited normally.</param>
/// <param name="Signal">The signal number that terminated the process.</param>
internal readonly record struct PtyExit(int? ExitCode, int? Signal)
{
    /// <summary>
    /// The status was reaped by someone else: .NET reaps every child (waitpid(-1)) when it runs as pid 1
    /// or was started with SIGCHLD ignored; see <see cref="PtyProcess"/>.
    /// </summary>
    public bool StatusLost => ExitCode is null && Signal is null;

    /// <summary>The shell's convention: the exit code, or 128 + signal, or 255 when lost.</summary>
    public int ShellCode => ExitCode ?? (Signal is int s ? 128 + s : 255);

    /// <summary>Decodes a waitpid(2) status (the WIFEXITED/WIFSIGNALED macros of &lt;bits/waitstatus.h&gt;).</summary>
    public static PtyExit FromWaitStatus(int status)
    {
        int low = status & 0x7f;
        if (low == 0)
        {
            return new PtyExit((status >> 8) & 0xff, null);
        }

        return low != 0x7f ? new PtyExit(null, low) : new PtyExit(null, null);
    }

    /// <inheritdoc />
    public override string ToString() =>
        ExitCode is int c ? $"exit code {c}" : Signal is int s ? $"signal {s}" : "unknown exit status";
}

/// <summary>The program of a <see cref="PtyStartInfo"/> does not exist or is not executable.</summary>
internal sealed class ExecutableNotFoundException : FileNotFoundException
{
    /// <summary>Creates the error; the message names the executable and where it was looked for.</summary>
    public ExecutableNotFoundException(string executable, string whereLooked)
        : base($"executable '{executable}' not found ({whereLooked})", executable) => Executable = executable;

    /// <summary>The name or path as the caller gave it.</summary>
    public string Executable { get; }
}
