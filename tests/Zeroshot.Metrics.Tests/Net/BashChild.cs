using System.Diagnostics;

namespace Zeroshot.Metrics.Tests.Net;

/// <summary>A bash child driven line by line over stdin/stdout, killed with its descendants on dispose.</summary>
internal sealed class BashChild : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly Process _process;

    private BashChild(Process process) => _process = process;

    public int Pid => _process.Id;

    public static BashChild Start(string script)
    {
        var psi = new ProcessStartInfo("bash")
        {
            ArgumentList = { "-c", script },
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        return new BashChild(Process.Start(psi)!);
    }

    public void Send(string line)
    {
        _process.StandardInput.WriteLine(line);
        _process.StandardInput.Flush();
    }

    /// <summary>Reads the next stdout line, failing clearly if none comes within the deadline.</summary>
    public string ReadLine()
    {
        var read = _process.StandardOutput.ReadLineAsync();
        if (!read.Wait(Timeout)) throw new TimeoutException($"bash child {Pid} printed nothing within {Timeout.TotalSeconds} s");
        return read.Result ?? throw new InvalidOperationException($"bash child {Pid} exited (code {(_process.HasExited ? _process.ExitCode : -1)})");
    }

    public void Expect(string line) => Assert.Equal(line, ReadLine());

    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        try { Kill(); }
        catch (InvalidOperationException) { } // never started or already reaped
        _process.Dispose();
    }
}
