using System.ComponentModel;
using System.Diagnostics;

namespace Zeroshot.Metrics.MacOS;

/// <summary>Outcome of running an external tool.</summary>
internal enum ToolStatus
{
    /// <summary>The tool ran and exited with an accepted code; the output is valid.</summary>
    Ok,

    /// <summary>The tool is not installed (or not executable): the caller should stop trying.</summary>
    Missing,

    /// <summary>The tool ran but failed, timed out, or was killed: try again next time.</summary>
    Failed,
}

/// <summary>Output of one run of an external tool.</summary>
internal readonly record struct ToolResult(ToolStatus Status, string Output);

/// <summary>Runs <c>ps</c>/<c>lsof</c> with a deadline, in the C locale, capturing standard output.</summary>
internal static class ToolRunner
{
    /// <summary>
    /// Runs <paramref name="fileName"/> with <paramref name="arguments"/> (no shell), waits at most
    /// <paramref name="timeout"/> and returns its standard output. Exit codes up to
    /// <paramref name="maxOkExitCode"/> count as success (lsof exits 1 when it found nothing).
    /// Standard error is drained and discarded so the terminal is never written to.
    /// </summary>
    public static ToolResult Run(string fileName, IReadOnlyList<string> arguments, TimeSpan timeout, int maxOkExitCode = 0)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (string a in arguments)
            psi.ArgumentList.Add(a);
        // C locale: ps prints lstart with strftime("%c"), which is locale dependent.
        psi.Environment["LC_ALL"] = "C";

        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new Win32Exception("no process started");
        }
        catch (Win32Exception)
        {
            return new ToolResult(ToolStatus.Missing, "");
        }

        using (process)
        {
            process.StandardInput.Close();
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            bool finished;
            try
            {
                finished = stdout.Wait(timeout) && process.WaitForExit(timeout);
            }
            catch (AggregateException)
            {
                finished = false;
            }
            if (!finished)
            {
                Kill(process);
                return new ToolResult(ToolStatus.Failed, "");
            }
            _ = stderr.Wait(timeout);
            int exitCode = process.ExitCode;
            return exitCode >= 0 && exitCode <= maxOkExitCode
                ? new ToolResult(ToolStatus.Ok, stdout.Result)
                : new ToolResult(ToolStatus.Failed, "");
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
        catch (InvalidOperationException)
        {
            // Exited on its own in the meantime.
        }
        catch (Win32Exception)
        {
            // Could not be killed (already gone or forbidden); nothing more to do.
        }
    }
}
