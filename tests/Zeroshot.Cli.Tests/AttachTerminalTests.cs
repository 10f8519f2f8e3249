using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Zeroshot.Terminal.Screen;
using Zeroshot.Terminal.Tests.Support;

namespace Zeroshot.Cli.Tests;

/// <summary>
/// <c>zeroshot attach</c> in a real terminal: tmux runs the client, capture-pane reads what it drew, and every byte the
/// client wrote to its terminal is recorded (pipe-pane) and replayed into a screen model to prove no mode leaked.
/// The agents are real programs on real PTYs under a real detached supervisor.
/// </summary>
[Collection(EndToEndCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class AttachTerminalTests : IDisposable
{
    private const int Width = 100;
    private const int Height = 30;
    private readonly DetachedClusters _clusters = new("zs-att-");

    private string Root => _clusters.Root;
    private string HomeDir => _clusters.Home;
    private string RuntimeDir => _clusters.Runtime;
    private Dictionary<string, string> Env => _clusters.Env;

    public void Dispose() => _clusters.Dispose();

    private ZeroshotProcess.Result Z(params string[] args) => _clusters.Z(args);

    /// <summary>Starts a detached cluster whose worker is an interactive shell with a plain prompt.</summary>
    private string StartShellCluster(string name = "shell") =>
        _clusters.Start(name, new { id = "worker", role = "worker", command = new[] { "sh", "-i" }, env = new Dictionary<string, string> { ["PS1"] = "$ ", ["ENV"] = "" } });

    /// <summary>A tmux pane running <c>zeroshot attach</c> (then EXIT=code), its output recorded to <paramref name="record"/>.</summary>
    private TmuxSession Attach(string args, string? record = null, int width = Width, int height = Height)
    {
        var env = new Dictionary<string, string>(Env) { ["ZEROSHOT_HOME"] = HomeDir, ["TERM"] = "xterm-256color" };
        var tmux = TmuxSession.Start(width, height, $"{ZeroshotProcess.Command} attach {args}; echo EXIT=$?; {SttyCheck}; sleep 600", env);
        if (record is not null) tmux.Run("pipe-pane", "-o", "-t", tmux.Name, $"cat >> '{record}'");
        return tmux;
    }

    // After the client: the terminal's line discipline as the shell left it (canonical, echoing), printed for the test.
    private const string SttyCheck = "stty -a | tr ' ;' '\\n\\n' | grep -x -e '-\\?icanon' -e '-\\?echo' | tr '\\n' ' '; echo";

    private static void AssertCanonical(string[] screen) =>
        Assert.Contains(screen, l => l.Trim() == "icanon echo");

    private static bool StatusBar(string[] screen) => screen.Length > 0 && screen[0].StartsWith("─ worker", StringComparison.Ordinal) && screen[0].Contains("C-b d detach", StringComparison.Ordinal);

    private static void Type(TmuxSession tmux, string line)
    {
        tmux.SendText(line);
        tmux.SendKeys("Enter");
    }

    private string AgentState(string id)
    {
        using var doc = JsonDocument.Parse(Z("status", id, "--json").Out);
        return doc.RootElement.GetProperty("agents")[0].GetProperty("state").GetString()!;
    }

    /// <summary>What the client left the user's terminal in: its recorded bytes replayed into a fresh screen model.</summary>
    private static ScreenModel Replayed(string record, int width = Width, int height = Height)
    {
        var model = new ScreenModel(height, width);
        model.Feed(File.ReadAllBytes(record));
        return model;
    }

    private static void AssertNoModeLeft(ScreenModel terminal, TmuxSession tmux)
    {
        Assert.False(terminal.IsAlternateScreen, "alternate screen left on");
        Assert.True(terminal.CursorVisible, "cursor left hidden");
        Assert.False(terminal.ApplicationCursorKeys, "application cursor keys left on");
        Assert.False(terminal.ApplicationKeypad, "application keypad left on");
        Assert.False(terminal.BracketedPaste, "bracketed paste left on");
        Assert.False(terminal.FocusEvents, "focus events left on");
        Assert.Equal(MouseTracking.None, terminal.Mouse);
        Assert.Equal((0, terminal.Rows - 1), (terminal.ScrollTop, terminal.ScrollBottom));
        Assert.True(terminal.Pen.Equals(default), "a colour or attribute left set");
        Assert.True(terminal.AutoWrap);
        Assert.False(terminal.OriginMode);
        Assert.False(terminal.InsertMode);
        // And tmux, the real terminal, agrees.
        var flags = tmux.Run("display-message", "-p", "-t", tmux.Name,
            "#{alternate_on} #{cursor_flag} #{keypad_cursor_flag} #{keypad_flag} #{mouse_any_flag} #{insert_flag} #{origin_flag} #{scroll_region_upper} #{scroll_region_lower}").Trim();
        Assert.Equal($"0 1 0 0 0 0 0 0 {terminal.Rows - 1}", flags);
    }

    [Fact]
    public void Attach_to_a_shell_type_resize_give_the_status_row_back_detach_and_find_the_same_screen_again()
    {
        var id = StartShellCluster();
        Assert.Contains("worker", Z("attach").Out); // the list of what can be attached
        var record = Path.Combine(Root, "client.bin");
        using (var tmux = Attach(id, record))
        {
            tmux.WaitFor(s => StatusBar(s) && s.Any(l => l.StartsWith('$')), "the status bar and the prompt");
            Type(tmux, "echo hel''lo; stty size");
            // The agent has the window minus the status bar.
            tmux.WaitFor(s => s.Contains("hello") && s.Contains($"{Height - 1} {Width}"), "the answer and the size");

            tmux.Resize(90, 25);
            Type(tmux, "stty size");
            tmux.WaitFor(s => s.Contains("24 90"), "the agent learns the new size");

            tmux.SendKeys("C-b", "m"); // status bar off: the agent gets the row back
            Type(tmux, "stty size");
            var bare = tmux.WaitFor(s => s.Contains("25 90"), "the row given back");
            Assert.False(StatusBar(bare));
            tmux.SendKeys("C-b", "m");
            Type(tmux, "echo marker-before-detach");
            var before = tmux.WaitFor(s => StatusBar(s) && s.Count(l => l == "marker-before-detach") == 1 && s.Last(l => l.Length > 0) == "$", "the status bar again");

            tmux.SendKeys("C-b", "d");
            var after = tmux.WaitFor(s => s.Any(l => l.StartsWith("EXIT=", StringComparison.Ordinal)), "the client to end");
            Assert.Contains($"[detached from {id}/worker]", after);
            Assert.Contains("EXIT=0", after);
            AssertCanonical(tmux.WaitFor(s => s.Any(l => l.Contains("icanon", StringComparison.Ordinal)), "the stty check"));
            Assert.Equal("running", AgentState(id));
            AssertNoModeLeft(Replayed(record, 90, 25), tmux);

            // Attach again in the same terminal: the same screen (below the status bar), the agent's rows unchanged.
            tmux.Run("respawn-pane", "-k", "-t", tmux.Name, $"env ZEROSHOT_HOME={HomeDir} XDG_RUNTIME_DIR={RuntimeDir} TERM=xterm-256color {ZeroshotProcess.Command} attach {id}; echo EXIT=$?; sleep 600");
            var again = tmux.WaitFor(s => StatusBar(s) && s.Contains("marker-before-detach"), "the same screen after re-attaching");
            Assert.Equal(before[1..], again[1..]);
            tmux.SendKeys("C-b", "d");
            tmux.WaitFor(s => s.Contains("EXIT=0"), "the second detach");
        }
    }

    public static TheoryData<string, string, string, string> FullScreenPrograms => new()
    {
        // program command, what shows it is drawn, the key that quits it
        { "less", "less -N {file}", "100 line-100", "q" },
        { "vi", "vi -u NONE -i NONE {file}", "line-1", ":q!\r" },
        { "top", "top -d 100", "PID", "q" },
    };

    [Theory]
    [MemberData(nameof(FullScreenPrograms))]
    public void A_full_screen_program_comes_back_intact_after_detach_and_the_terminal_keeps_no_mode(string name, string command, string drawn, string quit)
    {
        var file = Path.Combine(Root, "long.txt");
        File.WriteAllLines(file, Enumerable.Range(1, 500).Select(i => $"line-{i}"));
        var id = StartShellCluster(name);
        var record = Path.Combine(Root, name + ".bin");
        using var tmux = Attach(id, record);
        tmux.WaitFor(s => StatusBar(s) && s.Any(l => l.StartsWith('$')), "the prompt");
        Type(tmux, command.Replace("{file}", file, StringComparison.Ordinal));
        if (name == "less")
        {
            tmux.WaitFor(s => s.Any(l => l.Contains("1 line-1", StringComparison.Ordinal)), "less started");
            tmux.SendKeys("G"); // to the end: line 500 at the bottom
        }
        var shown = tmux.WaitFor(s => StatusBar(s) && s.Any(l => l.Contains(name == "less" ? "500 line-500" : drawn, StringComparison.Ordinal)), $"{name} drawn");
        if (name == "top") shown = tmux.WaitFor(s => s.Any(l => l.Contains("PID", StringComparison.Ordinal)) && s.Any(l => l.Contains("top", StringComparison.Ordinal)), "top's table");

        // Detach while the program runs (its modes are on in the agent's terminal), then look at the user's terminal.
        tmux.SendKeys("C-b", "d");
        tmux.WaitFor(s => s.Contains("EXIT=0"), "the detach");
        AssertNoModeLeft(Replayed(record), tmux);
        Assert.Equal("running", AgentState(id));

        tmux.Run("respawn-pane", "-k", "-t", tmux.Name, $"env ZEROSHOT_HOME={HomeDir} XDG_RUNTIME_DIR={RuntimeDir} TERM=xterm-256color {ZeroshotProcess.Command} attach {id}; echo EXIT=$?; sleep 600");
        tmux.Run("pipe-pane", "-o", "-t", tmux.Name, $"cat >> '{record}'"); // -o: only if the first pipe did not survive the respawn
        var again = tmux.WaitFor(s => StatusBar(s) && s.Length == Height && !string.IsNullOrEmpty(s[^1]), $"{name} again");
        if (name == "top")
        {
            // top repaints its figures; its layout (header rows, the table's head) is what must come back.
            int head = Array.FindIndex(shown, l => l.Contains("PID", StringComparison.Ordinal));
            Assert.Equal(head, Array.FindIndex(again, l => l.Contains("PID", StringComparison.Ordinal)));
            Assert.Equal(Regex.Replace(shown[head], @"\s+", " "), Regex.Replace(again[head], @"\s+", " "));
        }
        else
        {
            Assert.Equal(shown[1..], again[1..]);
        }

        // Quit it, detach for good: still no mode left.
        tmux.SendText(quit.TrimEnd('\r'));
        if (quit.EndsWith('\r')) tmux.SendKeys("Enter");
        tmux.WaitFor(s => s.Length > 0 && s.Last(l => l.Length > 0).EndsWith('$'), "the prompt after quitting");
        tmux.SendKeys("C-b", "d");
        tmux.WaitFor(s => s.Contains("EXIT=0"), "the final detach");
        AssertNoModeLeft(Replayed(record), tmux);
    }

    [Theory]
    [InlineData("TERM")]
    [InlineData("HUP")]
    public void A_signal_to_the_client_restores_the_terminal_and_leaves_the_agent_running(string signal)
    {
        var id = StartShellCluster("sig" + signal);
        var record = Path.Combine(Root, signal + ".bin");
        using var tmux = Attach(id, record);
        tmux.WaitFor(s => StatusBar(s) && s.Any(l => l.StartsWith('$')), "the prompt");
        // vi switches on the modes a client mirrors (cursor keys, keypad) and hides the cursor now and then.
        Type(tmux, "vi -u NONE -i NONE");
        tmux.WaitFor(s => s.Count(l => l == "~") > 5, "vi");
        // The client itself (not tmux's server nor the pane's shell, whose command lines also name it).
        using (var kill = Process.Start("pkill", ["-" + signal, "-f", ZeroshotProcess.CommandLinePattern($"attach {id}")])) kill.WaitForExit();
        var screen = tmux.WaitFor(s => s.Any(l => l.StartsWith("EXIT=", StringComparison.Ordinal)) && s.Any(l => l.Contains("icanon", StringComparison.Ordinal)), "the client to end");
        Assert.Contains("EXIT=130", screen);
        Assert.Contains($"[detached from {id}/worker: interrupted]", screen);
        AssertCanonical(screen);
        AssertNoModeLeft(Replayed(record), tmux);
        Assert.Equal("running", AgentState(id));
    }

    [Fact]
    public async Task When_the_supervisor_goes_away_the_client_says_so_returns_1_and_restores_the_terminal()
    {
        var id = StartShellCluster("gone");
        var record = Path.Combine(Root, "gone.bin");
        using var tmux = Attach(id, record);
        tmux.WaitFor(s => StatusBar(s) && s.Any(l => l.StartsWith('$')), "the prompt");
        int supervisor;
        await using (var client = await Zeroshot.Agents.Control.ControlClient.ConnectAsync(Path.Combine(RuntimeDir, "zeroshot", id + ".sock")))
            supervisor = client.ServerPid;
        Process.GetProcessById(supervisor).Kill(); // SIGKILL: no goodbye on the socket
        var screen = tmux.WaitFor(s => s.Any(l => l.StartsWith("EXIT=", StringComparison.Ordinal)) && s.Any(l => l.Contains("icanon", StringComparison.Ordinal)), "the client to end");
        Assert.Contains(screen, l => l.StartsWith($"[the supervisor of {id} went away", StringComparison.Ordinal));
        Assert.Contains("EXIT=1", screen);
        AssertCanonical(screen);
        AssertNoModeLeft(Replayed(record), tmux);
    }

    [Fact]
    public void The_status_bar_figures_move_and_two_read_only_viewers_watch_without_typing()
    {
        var id = StartShellCluster("watched");
        using var writer = Attach(id);
        writer.WaitFor(s => StatusBar(s) && s.Any(l => l.StartsWith('$')), "the prompt");
        using var viewer1 = Attach($"{id} --read-only");
        using var viewer2 = Attach($"{id} --agent worker --read-only");
        foreach (var v in new[] { viewer1, viewer2 })
            v.WaitFor(s => StatusBar(s) && s[0].Contains("read-only", StringComparison.Ordinal) && s.Any(l => l.StartsWith('$')), "a viewer with the same screen");
        // The figures come on their own subscription, after the screen: under load the first can take a while. The
        // busy loop below must run while they are shown, or there is nothing to see move.
        viewer2.WaitFor(s => s.Length > 0 && CpuFigure().IsMatch(s[0]), "the viewer's status bar with its figures", TimeSpan.FromSeconds(30));

        // Keys typed in a viewer go nowhere.
        Type(viewer1, "echo from-viewer");
        // The writer makes the agent busy: its CPU figure and its output age move in every client's status bar.
        // The loop spins until the test has seen the figures move (a loop of fixed length may end within one tick).
        string stop = Path.Combine(Root, "stop-busy");
        Type(writer, $"while [ ! -e {stop} ]; do :; done; echo busy-done");
        var bars = new HashSet<string>();
        viewer2.WaitFor(s =>
        {
            if (s.Length > 0) bars.Add(s[0]);
            return bars.Count >= 2 && bars.Any(b => CpuFigure().Match(b) is { Success: true } m && m.Groups[1].Value != "0");
        }, "the status bar to change and show the busy agent's CPU", TimeSpan.FromSeconds(60));
        File.WriteAllText(stop, "");
        var busy = viewer2.WaitFor(s => s.Any(l => l == "busy-done"), "the loop to finish", TimeSpan.FromSeconds(30));
        Assert.Contains(viewer1.Capture(), l => l == "busy-done");
        Assert.DoesNotContain(writer.Capture(), l => l.Contains("from-viewer", StringComparison.Ordinal));
        Assert.DoesNotContain(busy, l => l.Contains("from-viewer", StringComparison.Ordinal));

        // The list says how many are attached.
        Wait.Until(() => Z("attach").Out.Split('\n').Any(l => l.StartsWith(id, StringComparison.Ordinal) && l.TrimEnd().EndsWith(" 3", StringComparison.Ordinal)),
            "three clients counted");

        // The agent exits: every client says so and returns 0.
        Type(writer, "exit 3");
        foreach (var t in new[] { writer, viewer1, viewer2 })
        {
            var end = t.WaitFor(s => s.Any(l => l.StartsWith("EXIT=", StringComparison.Ordinal)), "the client to end");
            Assert.Contains($"[{id}/worker exited with code 3]", end);
            Assert.Contains("EXIT=0", end);
        }
    }

    [GeneratedRegex(@"CPU (\d+)%")]
    private static partial Regex CpuFigure();

    [Fact]
    public void Attach_explains_what_is_wrong_in_one_line()
    {
        Assert.Equal("nothing to attach to: no cluster is running (start one with 'zeroshot run')", Z("attach").Out.Trim());
        var id = StartShellCluster("errors");
        // Not a terminal: a script is told what to use instead.
        var piped = Z("attach", id);
        Assert.Equal(2, piped.ExitCode);
        Assert.Equal($"zeroshot: attach needs a terminal on standard input and output; in a script follow the output with 'zeroshot logs {id} -f'", piped.Error.Trim());
        var badPrefix = Z("attach", id, "--prefix", "C-Ω");
        Assert.Equal(2, badPrefix.ExitCode);
        Assert.StartsWith("zeroshot: --prefix: ", badPrefix.Error.Trim(), StringComparison.Ordinal);
        using var tmux = Attach($"{id} --agent nobody");
        var screen = tmux.WaitFor(s => s.Any(l => l.StartsWith("EXIT=", StringComparison.Ordinal)), "the refusal");
        Assert.Contains($"zeroshot: cluster {id} has no agent 'nobody' (agents: worker)", screen);
        Assert.Contains("EXIT=1", screen);
    }

    [Fact]
    public void Another_uid_is_refused_even_when_the_socket_is_reachable()
    {
        Assert.Equal(0, (int)Zeroshot.Agents.Control.ControlNative.EffectiveUid); // the premise: root, and root is not special
        var id = StartShellCluster("foreign");
        var socket = Path.Combine(RuntimeDir, "zeroshot", id + ".sock");
        Wait.Until(() => File.Exists(socket) && File.Exists(Path.Combine(HomeDir, "logs", id, "worker.log")), "the socket and the agent");
        // Open the file system's way to the socket, so that only the supervisor's SO_PEERCRED check can refuse.
        var open = (UnixFileMode)0x1ED; // 0755
        foreach (var dir in new[] { Root, RuntimeDir, Path.GetDirectoryName(socket)! }) File.SetUnixFileMode(dir, open);
        File.SetUnixFileMode(socket, (UnixFileMode)0x1B6); // 0666
        string output;
        try
        {
            var info = new ProcessStartInfo("setpriv") { RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in (string[])["--reuid=65534", "--regid=65534", "--clear-groups", "perl", "-e", PerlAttach, socket]) info.ArgumentList.Add(a);
            using var perl = Process.Start(info)!;
            output = perl.StandardOutput.ReadToEnd();
            Assert.True(perl.WaitForExit(30_000));
        }
        finally
        {
            File.SetUnixFileMode(socket, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            foreach (var dir in new[] { Path.GetDirectoryName(socket)!, RuntimeDir, Root })
                File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        Assert.DoesNotContain("connect-failed", output);
        Assert.Contains("\"code\":\"forbidden\"", output);
        Assert.DoesNotContain("frame 2", output); // not one byte of the agent's screen
        // Its keystrokes never reached the agent.
        Assert.DoesNotContain("intruder", File.ReadAllText(Path.Combine(HomeDir, "logs", id, "worker.log")));
        Assert.Equal("running", AgentState(id));
    }

    // Another user's client: hello, subscribe to attach, type a command; prints every frame it gets.
    private const string PerlAttach = """
        use strict; use Socket; use IO::Socket::UNIX;
        $SIG{PIPE} = 'IGNORE';
        my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $ARGV[0]) or do { print "connect-failed: $!\n"; exit 3 };
        sub msg { my $j = shift; syswrite($s, pack("NC", length($j) + 1, 1) . $j) }
        msg('{"v":3,"id":1,"type":"hello","versions":[3]}');
        msg('{"v":3,"id":2,"type":"subscribe","streamId":1,"stream":"attach","args":{}}');
        my $keys = "echo intruder\r";
        syswrite($s, pack("NCN", length($keys) + 5, 2, 1) . $keys);
        my ($all, $buf) = ('', '');
        while (sysread($s, $buf, 65536)) { $all .= $buf }
        while (length($all) >= 5) { my ($len, $type) = unpack("NC", $all); print "frame $type: ", substr($all, 5, $len - 1), "\n"; $all = substr($all, 4 + $len) }
        print "eof\n";
        """;
}
