using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Zeroshot.Terminal.Tests.Support;

namespace Zeroshot.Cli.Tests.Hardening;

/// <summary>
/// An agent whose output attacks the terminal: an OSC 52 clipboard write, OSC 0/2 title changes, device queries (DA1,
/// DA2, DSR: the terminal's answers would be typed into the shell after exit), the alternate screen, mouse and keypad
/// modes, a scroll region and 8-bit C1 controls. Through <c>run</c> (with and without the footer), <c>logs</c> and
/// <c>logs --raw</c> on a real terminal (tmux), and through pipes.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class HostileOutputTests : IDisposable
{
    private const int Width = 100;
    private const int Height = 30;

    /// <summary>printf(1) format of the attack; every piece is followed by a visible word.</summary>
    private const string Attack =
        @"printf 'line-1\n';"
        + @"printf '\033]52;c;SGVsbG8gY2xpcGJvYXJk\007clip-bel\n';"
        + @"printf '\033]52;c;cGFzdGVk\033\\clip-st\n';"
        + @"printf '\033]0;PWNED-TITLE\007\033]2;PWNED-TITLE2\007title\n';"
        + @"printf '\033[c\033[>c\033[6n\033[5n query\n';"
        + @"printf '\033[?1049h\033[?1000h\033[?1006h\033=\033[5;10r modes\n';"
        + @"printf '\302\2336n c1-utf8\n';"
        + @"printf '\2336n c1-raw\n';"
        + @"printf '\033[31mred-text\033[0m\n';"
        + @"printf 'line-2\n'";

    private readonly string _home = Path.Combine(Path.GetTempPath(), "zs-hostile-" + Guid.NewGuid().ToString("N")[..12]);

    public HostileOutputTests() => Directory.CreateDirectory(_home);

    public void Dispose()
    {
        try { Directory.Delete(_home, recursive: true); }
        catch (IOException) { /* a temp dir */ }
    }

    private string ClusterFile()
    {
        var path = Path.Combine(_home, "hostile.json");
        File.WriteAllText(path, $$"""{ "name": "hostile", "agents": [ { "id": "w", "role": "worker", "command": {{JsonSerializer.Serialize(new[] { "bash", "-c", Attack })}} } ] }""");
        return path;
    }

    private static string Zeroshot(string args) => $"{ZeroshotProcess.Command} {args}";

    private static void Type(TmuxSession tmux, string line)
    {
        tmux.SendText(line);
        tmux.SendKeys("Enter");
    }

    private const string Modes = "#{mouse_any_flag}#{mouse_sgr_flag}#{keypad_flag}#{keypad_cursor_flag}";

    private static string Display(TmuxSession tmux, string format) => tmux.Run("display-message", "-p", "-t", tmux.Name, format).Trim();

    /// <summary>The clipboard (tmux paste buffers, fed by OSC 52 with set-clipboard on), the title and the screen are as found.</summary>
    private static void AssertUntouched(TmuxSession tmux, string title, string modes, string after)
    {
        Assert.True(tmux.Run("list-buffers").Trim().Length == 0, $"after {after}: OSC 52 reached the clipboard: {tmux.Run("list-buffers")}");
        Assert.True(Display(tmux, "#{pane_title}") == title, $"after {after}: the title changed to '{Display(tmux, "#{pane_title}")}'");
        Assert.True(Display(tmux, "#{alternate_on}") == "0", $"after {after}: the alternate screen was left on");
        Assert.True(Display(tmux, Modes) == modes, $"after {after}: mouse or keypad modes changed from {modes} to {Display(tmux, Modes)}");
    }

    [Fact]
    public void Hostile_output_in_run_and_logs_leaves_the_clipboard_title_screen_and_shell_as_they_were()
    {
        var file = ClusterFile();
        using var tmux = TmuxSession.Start(Width, Height, "env PS1='$ ' bash --norc --noprofile",
            new Dictionary<string, string> { ["ZEROSHOT_HOME"] = _home, ["TERM"] = "xterm-256color" });
        tmux.WaitFor(s => s.Any(l => l.StartsWith('$')), "the prompt");
        // tmux takes OSC 52 into a paste buffer only with set-clipboard on: with it, a clipboard write would show.
        tmux.Run("set-option", "-s", "set-clipboard", "on");
        string title = Display(tmux, "#{pane_title}");
        string modes = Display(tmux, Modes);

        Type(tmux, Zeroshot($"run {file}") + "; echo EXIT1=$?");
        tmux.WaitForText("EXIT1=0", TimeSpan.FromSeconds(90));
        AssertUntouched(tmux, title, modes, "run with the footer");
        var screen = tmux.Capture(scrollback: true);
        Assert.Contains(screen, l => l.Contains("│ red-text", StringComparison.Ordinal));
        Assert.Contains(screen, l => l.Contains("│ line-2", StringComparison.Ordinal));
        Assert.Contains(screen, l => l.Contains("│ clip-bel", StringComparison.Ordinal));

        Type(tmux, Zeroshot($"run --no-metrics {file}") + "; echo EXIT2=$?");
        tmux.WaitForText("EXIT2=0", TimeSpan.FromSeconds(90));
        AssertUntouched(tmux, title, modes, "run --no-metrics");

        var list = ZeroshotProcess.RunIn(_home, "list", "--json");
        using var doc = JsonDocument.Parse(list.Out);
        string id = doc.RootElement[0].GetProperty("id").GetString()!;

        Type(tmux, Zeroshot($"logs {id}") + "; echo EXIT3=$?");
        tmux.WaitForText("EXIT3=0", TimeSpan.FromSeconds(60));
        AssertUntouched(tmux, title, modes, "logs");

        Type(tmux, Zeroshot($"logs -f {id}") + "; echo EXIT4=$?");
        tmux.WaitForText("EXIT4=0", TimeSpan.FromSeconds(60));
        AssertUntouched(tmux, title, modes, "logs -f");

        // Before: the log's bytes went to the terminal as they are.
        Type(tmux, "clear; " + Zeroshot($"logs {id} --agent w --raw") + "; echo EXIT5=$?");
        var refused = tmux.WaitForText("EXIT5=2", TimeSpan.FromSeconds(60));
        AssertUntouched(tmux, title, modes, "logs --raw");
        string message = string.Join("", refused); // wrapped at the pane's width
        Assert.Contains("not to a terminal", message, StringComparison.Ordinal);
        Assert.Contains("cat -v", message, StringComparison.Ordinal);

        // No answer to a query was typed into the shell: the next command line is exactly what we type.
        Type(tmux, "clear; echo END-$((6*7))");
        var end = tmux.WaitFor(s => s.Any(l => l.Trim() == "END-42"), "the shell to run a clean line", TimeSpan.FromSeconds(20));
        Assert.DoesNotContain(end, l => l.Contains("command not found", StringComparison.Ordinal) || l.Contains("1;2c", StringComparison.Ordinal));
        Assert.True(Display(tmux, "#{alternate_on}") == "0");
    }

    [Fact]
    public void Through_pipes_no_escape_or_C1_byte_passes_and_logs_raw_gives_the_log_byte_for_byte()
    {
        var file = ClusterFile();
        var run = RunBytes("run", file);
        Assert.Equal(0, run.Code);
        AssertNoControls(run.Out, "run into a pipe");
        string text = Encoding.UTF8.GetString(run.Out);
        Assert.Contains("│ red-text", text, StringComparison.Ordinal);
        Assert.Contains("c1-raw", text, StringComparison.Ordinal);

        var list = ZeroshotProcess.RunIn(_home, "list", "--json");
        using var doc = JsonDocument.Parse(list.Out);
        string id = doc.RootElement[0].GetProperty("id").GetString()!;
        var logs = RunBytes("logs", id);
        Assert.Equal(0, logs.Code);
        AssertNoControls(logs.Out, "logs into a pipe");

        var raw = RunBytes("logs", id, "--agent", "w", "--raw");
        Assert.Equal(0, raw.Code);
        Assert.Equal(File.ReadAllBytes(Path.Combine(_home, "logs", id, "w.log")), raw.Out);
        Assert.Contains((byte)0x9B, raw.Out); // the attack is really in the log
    }

    private static void AssertNoControls(byte[] output, string what)
    {
        Assert.True(Array.IndexOf(output, (byte)0x1B) < 0, $"{what}: ESC passed");
        Assert.True(Array.IndexOf(output, (byte)0x07) < 0, $"{what}: BEL passed");
        // Our output is ASCII, box drawing (E2 94 xx), the ellipsis and U+FFFD: a 0x9B byte is an 8-bit CSI.
        Assert.True(Array.IndexOf(output, (byte)0x9B) < 0, $"{what}: an 8-bit C1 control passed");
        TerminalChecks.AssertPlain(Encoding.UTF8.GetString(output));
    }

    private (int Code, byte[] Out) RunBytes(params string[] args)
    {
        var info = ZeroshotProcess.StartInfo(args);
        info.Environment["ZEROSHOT_HOME"] = _home;
        using var p = Process.Start(info)!;
        var error = p.StandardError.ReadToEndAsync();
        using var buffer = new MemoryStream();
        p.StandardOutput.BaseStream.CopyTo(buffer);
        Assert.True(p.WaitForExit(120_000), "zeroshot did not finish");
        _ = error.Result;
        return (p.ExitCode, buffer.ToArray());
    }
}
