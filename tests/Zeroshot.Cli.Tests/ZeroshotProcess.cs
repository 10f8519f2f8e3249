using System.Diagnostics;
using System.Text;

namespace Zeroshot.Cli.Tests;

/// <summary>Runs the built <c>zeroshot</c> as a real process and captures what it printed.</summary>
internal static class ZeroshotProcess
{
    public sealed record Result(int ExitCode, string Out, string Error);

    public static string Dll => Path.Combine(AppContext.BaseDirectory, "zeroshot.dll");

    /// <summary>The native binary the tests run instead of the built zeroshot.dll, when ZEROSHOT_TEST_BINARY names one
    /// (<c>.ci/run</c> runs the end-to-end classes again against the installed Native AOT binary); null: the dll.</summary>
    public static string? Native { get; } = Environment.GetEnvironmentVariable("ZEROSHOT_TEST_BINARY") is { Length: > 0 } path ? Path.GetFullPath(path) : null;

    /// <summary>The zeroshot under test as a shell command line's first words: <c>dotnet …/zeroshot.dll</c> or the native binary.</summary>
    public static string Command => Native ?? $"dotnet {Dll}";

    /// <summary>The zeroshot under test as a program and its first arguments (for ProcessStartInfo or exec).</summary>
    public static string[] Argv => Native is { } native ? [native] : ["dotnet", Dll];

    /// <summary>A pattern (pgrep/pkill -f) for the command line of a zeroshot under test whose arguments start with <paramref name="arguments"/>.</summary>
    public static string CommandLinePattern(string arguments) => Native is { } native ? $"^{native} {arguments}" : $"^dotnet [^ ]*zeroshot.dll {arguments}";

    /// <summary>A start info for the zeroshot under test with <paramref name="args"/>.</summary>
    public static ProcessStartInfo StartInfo(params string[] args)
    {
        var info = new ProcessStartInfo(Argv[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in Argv[1..]) info.ArgumentList.Add(a);
        foreach (var a in args) info.ArgumentList.Add(a);
        return info;
    }

    public static Result Run(params string[] args) => RunIn(null, TimeSpan.FromSeconds(60), args);

    public static Result RunIn(string? home, params string[] args) => RunIn(home, TimeSpan.FromSeconds(120), args);

    public static Result RunIn(string? home, TimeSpan timeout, params string[] args)
    {
        using var running = Start(home, args);
        return running.Wait(timeout);
    }

    public static Running Start(string? home, params string[] args) => Start(home, null, args);

    public static Running Start(string? home, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var info = StartInfo(args);
        info.RedirectStandardInput = true;
        if (home is not null) info.Environment["ZEROSHOT_HOME"] = home;
        info.Environment.Remove("NO_COLOR");
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) info.Environment[key] = value;
        return new Running(Process.Start(info)!);
    }

    /// <summary>A zeroshot process still running: its output is collected as it comes.</summary>
    public sealed class Running : IDisposable
    {
        private readonly StringBuilder _out = new();
        private readonly StringBuilder _err = new();
        private readonly Task _reading;

        public Running(Process process)
        {
            Process = process;
            _reading = Task.WhenAll(Copy(process.StandardOutput, _out), Copy(process.StandardError, _err));
        }

        public Process Process { get; }

        public string OutSoFar { get { lock (_out) return _out.ToString(); } }

        public string ErrorSoFar { get { lock (_err) return _err.ToString(); } }

        private static async Task Copy(StreamReader reader, StringBuilder into)
        {
            var buffer = new char[4096];
            int n;
            while ((n = await reader.ReadAsync(buffer)) > 0)
                lock (into) into.Append(buffer, 0, n);
        }

        public Result Wait(TimeSpan timeout)
        {
            if (!Process.WaitForExit(timeout))
            {
                Process.Kill(entireProcessTree: true);
                throw new TimeoutException($"zeroshot did not finish in {timeout}; output so far:\n{OutSoFar}");
            }
            _reading.Wait(TimeSpan.FromSeconds(10));
            lock (_out) lock (_err) return new Result(Process.ExitCode, _out.ToString(), _err.ToString());
        }

        public void Dispose()
        {
            try { if (!Process.HasExited) Process.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { /* gone */ }
            Process.Dispose();
        }
    }
}
