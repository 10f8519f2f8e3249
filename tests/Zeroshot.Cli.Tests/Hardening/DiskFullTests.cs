using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Zeroshot.Cli.Tests.Hardening;

/// <summary>
/// A full disk under <c>ZEROSHOT_HOME</c> (a 2 MiB tmpfs, nearly filled): the agent is never blocked by our logging,
/// the loss is counted to the byte and said at once, every command keeps working, and writing resumes when space
/// returns.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed partial class DiskFullTests : IDisposable
{
    private const int OutputBytes = 1_000_000;
    private const string Marker = "RECOVERED-MARKER";
    private readonly string _work = Path.Combine(Path.GetTempPath(), "zs-df-" + Guid.NewGuid().ToString("N")[..12]);

    public DiskFullTests() => Directory.CreateDirectory(_work);

    public void Dispose()
    {
        try { Directory.Delete(_work, recursive: true); }
        catch (IOException) { /* a temp dir */ }
    }

    [TmpfsFact]
    public void On_a_full_disk_the_agent_runs_on_the_lost_bytes_are_counted_exactly_and_logging_resumes_when_space_returns()
    {
        using var tmpfs = Tmpfs.Mount("2m");
        string home = tmpfs.Path;
        Assert.Equal(0, ZeroshotProcess.RunIn(home, "list").ExitCode); // creates the database while there is room

        // The agent writes 1 000 000 bytes with no newline (the PTY changes nothing in them), says it got through,
        // waits for space to come back, then writes a marker.
        string reached = Path.Combine(_work, "reached"), go = Path.Combine(_work, "go");
        string script = $"head -c {OutputBytes} /dev/zero | tr '\\0' x; touch {reached}; while [ ! -e {go} ]; do sleep 0.05; done; printf '\\n{Marker}\\n'";
        string file = Path.Combine(_work, "cluster.json");
        File.WriteAllText(file, $$"""{ "name": "full", "agents": [ { "id": "w", "role": "worker", "command": {{JsonSerializer.Serialize(new[] { "bash", "-c", script })}} } ] }""");

        // Leave 256 KiB: enough for the database's next pages, far less than the output.
        string filler = Path.Combine(home, "filler");
        File.WriteAllBytes(filler, new byte[tmpfs.Available - 256 * 1024]);

        using var run = ZeroshotProcess.Start(home, "run", file);
        // Before: the pump stopped at the first failed write, the agent blocked in write(2) and never got here.
        try
        {
            Wait.Until(() => File.Exists(reached), "the agent to get through its 1 MB of output on a full disk", 60_000);
        }
        catch (TimeoutException e)
        {
            string error = run.Process.HasExited ? run.Wait(TimeSpan.FromSeconds(5)).Error : "(still running)";
            throw new TimeoutException($"{e.Message}; zeroshot printed:\n{run.OutSoFar}\n{error}\n{ZeroshotProcess.RunIn(home, "list").Out}", e);
        }
        Wait.Until(() => run.OutSoFar.Contains("disk full: logs of cluster ", StringComparison.Ordinal), "the disk-full notice");
        var notice = NoticeRegex().Match(run.OutSoFar);
        Assert.True(notice.Success, run.OutSoFar);
        string id = notice.Groups["id"].Value;
        string log = Path.Combine(home, "logs", id, "w.log");

        // Every command still works; status says what is lost, exactly: output - what reached the file.
        Assert.Equal(0, ZeroshotProcess.RunIn(home, "list").ExitCode);
        long lost = 0;
        Wait.Until(() =>
        {
            var status = ZeroshotProcess.RunIn(home, "status", id, "--json");
            if (status.ExitCode != 0) return false;
            using var doc = JsonDocument.Parse(status.Out);
            lost = doc.RootElement.GetProperty("logBytesLost").GetInt64();
            return doc.RootElement.TryGetProperty("logWriteError", out var error) && error.GetString() == "disk full"
                && lost + new FileInfo(log).Length == OutputBytes;
        }, "status --json to count every byte that did not reach the log");
        Assert.True(lost > 0);
        var text = ZeroshotProcess.RunIn(home, "status", id);
        Assert.Contains($"logs: disk full: not being written ({lost.ToString(CultureInfo.InvariantCulture)} bytes lost so far)", text.Out, StringComparison.Ordinal);

        // Space returns: the next write gets in, and the run ends normally.
        long before = new FileInfo(log).Length;
        File.Delete(filler);
        File.WriteAllText(go, "");
        var result = run.Wait(TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 0, result.Out + result.Error);
        Assert.Contains($"logs of cluster {id} are written again ({lost.ToString(CultureInfo.InvariantCulture)} bytes were lost)", result.Out, StringComparison.Ordinal);
        Assert.Equal(before + $"\r\n{Marker}\r\n".Length, new FileInfo(log).Length);
        Assert.EndsWith($"x\r\n{Marker}\r\n", File.ReadAllText(log), StringComparison.Ordinal);
        // The display got the whole line all along.
        Assert.Contains(Marker, result.Out, StringComparison.Ordinal);
        Assert.Contains("w: completed", result.Out, StringComparison.Ordinal);
        var final = ZeroshotProcess.RunIn(home, "status", id, "--json");
        Assert.Equal(0, final.ExitCode);
        using var finalDoc = JsonDocument.Parse(final.Out);
        Assert.Equal("completed", finalDoc.RootElement.GetProperty("state").GetString());
    }

    [TmpfsFact]
    public void On_a_terminal_the_footer_says_at_once_that_the_logs_are_not_written_and_stops_saying_it_when_they_are()
    {
        using var tmpfs = Tmpfs.Mount("2m");
        string home = tmpfs.Path;
        Assert.Equal(0, ZeroshotProcess.RunIn(home, "list").ExitCode);
        string go = Path.Combine(_work, "go");
        string script = $"head -c {OutputBytes} /dev/zero | tr '\\0' x; echo; echo flooded; while [ ! -e {go} ]; do sleep 0.05; done; echo {Marker}; sleep 2";
        string file = Path.Combine(_work, "cluster.json");
        File.WriteAllText(file, $$"""{ "name": "full", "agents": [ { "id": "w", "role": "worker", "command": {{JsonSerializer.Serialize(new[] { "bash", "-c", script })}} } ] }""");
        string filler = Path.Combine(home, "filler");
        File.WriteAllBytes(filler, new byte[tmpfs.Available - 256 * 1024]);

        using var tmux = Zeroshot.Terminal.Tests.Support.TmuxSession.Start(120, 30, "env PS1='$ ' bash --norc --noprofile",
            new Dictionary<string, string> { ["ZEROSHOT_HOME"] = home, ["TERM"] = "xterm-256color" });
        tmux.WaitFor(s => s.Any(l => l.StartsWith('$')), "the prompt");
        tmux.SendText($"{ZeroshotProcess.Command} run {file}; echo EXIT=$?");
        tmux.SendKeys("Enter");
        var screen = tmux.WaitFor(s => s.Any(l => l.StartsWith("┌─", StringComparison.Ordinal) && l.Contains("disk full: logs not written", StringComparison.Ordinal)),
            "the footer's disk-full warning", TimeSpan.FromSeconds(60));
        Assert.Contains(screen, l => l.Contains("│ flooded", StringComparison.Ordinal)); // the agent went on

        File.Delete(filler);
        File.WriteAllText(go, "");
        tmux.WaitFor(s => s.Any(l => l.Contains("│ " + Marker, StringComparison.Ordinal))
            && s.Any(l => l.StartsWith("┌─", StringComparison.Ordinal) && !l.Contains("disk full", StringComparison.Ordinal)),
            "the warning gone once a write worked", TimeSpan.FromSeconds(60));
        tmux.WaitForText("EXIT=0", TimeSpan.FromSeconds(60));
    }

    [TmpfsFact]
    public void A_detached_supervisor_writes_the_disk_full_notice_to_its_log_once_there_is_room()
    {
        using var tmpfs = Tmpfs.Mount("2m");
        string home = tmpfs.Path;
        Assert.Equal(0, ZeroshotProcess.RunIn(home, "list").ExitCode);
        string reached = Path.Combine(_work, "reached"), go = Path.Combine(_work, "go");
        string script = $"head -c {OutputBytes} /dev/zero | tr '\\0' x; touch {reached}; while [ ! -e {go} ]; do sleep 0.05; done; echo {Marker}";
        string file = Path.Combine(_work, "cluster.json");
        File.WriteAllText(file, $$"""{ "name": "full", "agents": [ { "id": "w", "role": "worker", "command": {{JsonSerializer.Serialize(new[] { "bash", "-c", script })}} } ] }""");
        string filler = Path.Combine(home, "filler");
        File.WriteAllBytes(filler, new byte[tmpfs.Available - 256 * 1024]);

        var detach = ZeroshotProcess.RunIn(home, "run", file, "--detach");
        Assert.True(detach.ExitCode == 0, detach.Error);
        string id = detach.Out.Trim();
        Wait.Until(() => File.Exists(reached), "the detached agent to get through its output on a full disk");
        long lost = 0;
        Wait.Until(() =>
        {
            var status = ZeroshotProcess.RunIn(home, "status", id, "--json");
            if (status.ExitCode != 0) return false;
            using var doc = JsonDocument.Parse(status.Out);
            lost = doc.RootElement.GetProperty("logBytesLost").GetInt64();
            return lost + new FileInfo(Path.Combine(home, "logs", id, "w.log")).Length == OutputBytes;
        }, "every lost byte counted");

        File.Delete(filler);
        File.WriteAllText(go, "");
        string log = Path.Combine(home, "logs", id, "supervisor.log");
        Wait.Until(() => File.Exists(log) && File.ReadAllText(log).Contains("cluster completed", StringComparison.Ordinal), "the cluster to end");
        string text = File.ReadAllText(log);
        var notice = NoticeRegex().Match(text);
        Assert.True(notice.Success, text);
        Assert.Equal(id, notice.Groups["id"].Value);
        Assert.Contains($"logs of cluster {id} are written again ({lost.ToString(CultureInfo.InvariantCulture)} bytes were lost)", text, StringComparison.Ordinal);
        Assert.True(text.IndexOf("disk full: logs of cluster", StringComparison.Ordinal) < text.IndexOf("are written again", StringComparison.Ordinal), text);
    }

    [GeneratedRegex(@"disk full: logs of cluster (?<id>[a-z0-9-]+) are not being written \((?<n>\d+) bytes lost so far\)")]
    private static partial Regex NoticeRegex();
}
