using System.Diagnostics;
using System.Text;

namespace Zeroshot.RealAgents.Tests;

/// <summary>
/// Each CLI on a pseudo-terminal (through util-linux <c>script</c>), to record the terminal bytes it writes around
/// its JSON: what Zeroshot's PTY reader has to skip. With ZEROSHOT_SAVE_TRANSCRIPTS=1 the raw bytes are saved as
/// Transcripts/&lt;cli&gt;-pty.bin (and escaped in .pty.txt).
/// </summary>
public sealed class PtyTests
{
    private static readonly TokenUsage Usage = new(Input: 100, Output: 10, CacheRead: 5);

    public static TheoryData<AgentCli> Clis => [AgentCli.Claude, AgentCli.Codex, AgentCli.Gemini];

    private static string[] Args(AgentCli cli) => cli switch
    {
        AgentCli.Claude => ["-p", "Say hi", "--output-format", "stream-json", "--verbose", "--permission-mode", "bypassPermissions"],
        AgentCli.Codex => ["exec", "--json", "--skip-git-repo-check", "Say hi"],
        _ => GeminiTests.Args("Say hi"),
    };

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    [Theory]
    [MemberData(nameof(Clis))]
    public async Task Json_mode_on_a_pty_ends_with_the_final_line_and_known_escape_bytes(AgentCli cli)
    {
        await using var server = new ModelServer();
        server.Default.Then(ScriptedTurn.Text("PTY-HELLO", Usage));
        using var sandbox = RealAgentClis.Sandbox(cli, server);
        var inner = sandbox.StartInfo(Args(cli));
        var command = string.Join(' ', new[] { inner.FileName }.Concat(inner.ArgumentList).Select(Quote));
        var info = new ProcessStartInfo("script")
        {
            WorkingDirectory = sandbox.WorkDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-q", "-e", "-c", command, "/dev/null" })
            info.ArgumentList.Add(a);
        info.Environment.Clear();
        foreach (var (k, v) in sandbox.Environment)
            info.Environment[k] = v;
        info.Environment["TERM"] = "xterm-256color";

        using var process = Process.Start(info)!;
        using var bytes = new MemoryStream();
        var copy = process.StandardOutput.BaseStream.CopyToAsync(bytes);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);
        await copy;
        var raw = bytes.ToArray();
        var text = Encoding.UTF8.GetString(raw);
        if (Environment.GetEnvironmentVariable("ZEROSHOT_SAVE_TRANSCRIPTS") == "1")
        {
            var dir = Path.Combine(Path.GetDirectoryName(SourceFile())!, "Transcripts");
            var name = $"{RealAgentClis.BinaryName(cli)}-pty";
            File.WriteAllBytes(Path.Combine(dir, name + ".bin"), raw);
            File.WriteAllText(Path.Combine(dir, name + ".txt"), $"exit {process.ExitCode}\n" + Escape(raw));
        }

        Assert.True(process.ExitCode == 0, Escape(raw));
        Assert.Contains("PTY-HELLO", text, StringComparison.Ordinal);
        Assert.Equal(Usage, server.Served());
    }

    private static string SourceFile([System.Runtime.CompilerServices.CallerFilePath] string path = "") => path;

    private static string Escape(byte[] raw)
    {
        var sb = new StringBuilder();
        foreach (var b in raw)
            sb.Append(b switch
            {
                0x1b => "\\e",
                (byte)'\r' => "\\r",
                (byte)'\n' => "\\n\n",
                < 0x20 or 0x7f => $"\\x{b:x2}",
                _ => ((char)b).ToString(),
            });
        return sb.ToString();
    }
}
