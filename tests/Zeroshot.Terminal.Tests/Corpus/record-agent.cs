#:project ../../Zeroshot.TestModelServer/Zeroshot.TestModelServer.csproj
#:property PublishAot=false
// Records a real agent CLI's interactive TUI (Claude Code or Codex) for the differential corpus, as record.sh does
// for the other programs: an 80x24 tmux pane (TERM=xterm-256color) whose output `pipe-pane -o` copies to a file.
// The CLI runs in a sandbox of the real-agent tests (Zeroshot.TestModelServer: seeded configuration, no traffic
// beyond 127.0.0.1) against the local model server, which answers the one prompt with a scripted text.
// Usage: dotnet run --file record-agent.cs -- claude|codex <output.bin>
// Not part of the test project (its .csproj removes Corpus/**/*.cs from the compilation).
using System.Diagnostics;
using Zeroshot.TestModelServer;

if (args.Length != 2 || args[0] is not ("claude" or "codex"))
{
    Console.Error.WriteLine("usage: dotnet run --file record-agent.cs -- claude|codex <output.bin>");
    return 2;
}
var cli = args[0] == "claude" ? AgentCli.Claude : AgentCli.Codex;
var output = Path.GetFullPath(args[1]);
const string Answer = "The corpus answer: 日本語 ✓ done.";

await using var server = new ModelServer(TimeSpan.FromMinutes(3));
// Two turns: a side thread (e.g. Codex's title generation) may take one; the prompt gets the other.
server.Default.Then(ScriptedTurn.Text(Answer, new TokenUsage(1200, 20)), ScriptedTurn.Text(Answer, new TokenUsage(1200, 20)));
var options = new AgentSandboxOptions
{
    // The route "*" (server.Default) answers whatever key the CLI sends.
    Environment = new Dictionary<string, string> { ["TERM"] = "xterm-256color", ["COLORTERM"] = "truecolor" },
    // Codex offers to migrate gpt-5.5 to a newer model on a screen of its own: answered in advance (field notes).
    CodexConfigExtra = "[notice.model_migrations]\n\"gpt-5.5\" = \"gpt-6-sol\"",
};
using var sandbox = RealAgentClis.Sandbox(cli, server, options);
string sock = $"zs-record-agent-{Environment.ProcessId}";
string Tmux(params string[] arguments)
{
    var info = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, UseShellExecute = false };
    foreach (var a in (string[])["-L", sock, "-f", "/dev/null", .. arguments]) info.ArgumentList.Add(a);
    using var p = Process.Start(info)!;
    var text = p.StandardOutput.ReadToEnd();
    p.WaitForExit();
    return text;
}
static string Quote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

string[] cliArgs = cli == AgentCli.Codex ? ["--no-daemon"] : [];
// env -i: the CLI gets exactly the sandbox's environment (as the real-agent tests run it), not tmux's.
var command = "stty -echo; sleep 0.3; exec env -i " + string.Join(' ', sandbox.Environment.Select(kv => Quote($"{kv.Key}={kv.Value}")))
    + " " + Quote(sandbox.Executable) + " " + string.Join(' ', cliArgs.Select(Quote));
File.Delete(output);
Tmux("new-session", "-d", "-s", "rec", "-x", "80", "-y", "24", "-c", sandbox.WorkDir, command);
Tmux("set-option", "-t", "rec", "remain-on-exit", "on");
Tmux("pipe-pane", "-o", "-t", "rec", $"cat >> {Quote(output)}");
try
{
    // Ready when the input box is drawn (Claude: its "❯" prompt line; Codex: its start-up hints).
    string ready = cli == AgentCli.Claude ? "❯" : "To get started";
    WaitFor(ready, TimeSpan.FromSeconds(90));
    Thread.Sleep(500);
    // The prompt as a bracketed paste, a pause, then Enter alone (field notes: text and Enter in one write is a
    // paste to Codex, not a submission).
    Tmux("set-buffer", "-b", "prompt", "Say the corpus answer.");
    Tmux("paste-buffer", "-p", "-d", "-b", "prompt", "-t", "rec");
    Thread.Sleep(400);
    Tmux("send-keys", "-t", "rec", "Enter");
    WaitFor("corpus answer:", TimeSpan.FromSeconds(90));
    Thread.Sleep(800);
    return 0;
}
catch (TimeoutException e)
{
    Console.Error.WriteLine($"{e.Message}\n--- screen\n{Tmux("capture-pane", "-p", "-t", "rec")}");
    return 1;
}
finally
{
    Tmux("kill-server");
}

void WaitFor(string text, TimeSpan timeout)
{
    var deadline = DateTime.UtcNow + timeout;
    while (!Tmux("capture-pane", "-p", "-t", "rec").Contains(text, StringComparison.Ordinal))
    {
        if (DateTime.UtcNow > deadline) throw new TimeoutException($"\"{text}\" never appeared");
        Thread.Sleep(200);
    }
}
