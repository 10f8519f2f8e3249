namespace Zeroshot.Agents;

/// <summary>Documented process exit codes of the <c>zeroshot</c> command.</summary>
public static class ExitCodes
{
    /// <summary>The command did what was asked (a cluster completed, a stream ended normally).</summary>
    public const int Success = 0;

    /// <summary>The command failed: no such process or cluster, a cluster that failed, a missing provider CLI.</summary>
    public const int Failure = 1;

    /// <summary>The command line or an input file is invalid.</summary>
    public const int Usage = 2;

    /// <summary>Interrupted by Ctrl+C or SIGTERM (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;
}

/// <summary>
/// An expected failure caused by the user's input or environment (a bad id, an invalid cluster file,
/// a missing executable). The CLI prints <see cref="Exception.Message"/> as one line, without a stack
/// trace, and exits with <see cref="ExitCode"/>. Anything else that escapes is a bug.
/// </summary>
public sealed class UserErrorException : Exception
{
    /// <summary>Creates the error with the one-line message shown to the user and the exit code.</summary>
    public UserErrorException(string message, int exitCode = ExitCodes.Failure) : base(message) => ExitCode = exitCode;

    /// <summary>Creates the error with a message, the default exit code and an inner exception.</summary>
    public UserErrorException(string message, Exception innerException) : base(message, innerException) => ExitCode = ExitCodes.Failure;

    /// <summary>The documented exit code to return.</summary>
    public int ExitCode { get; }
}
