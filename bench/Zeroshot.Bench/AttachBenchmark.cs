using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Zeroshot.Agents.Pty;
using Zeroshot.Terminal.Screen;

namespace Zeroshot.Bench;

/// <summary>
/// <c>zeroshot attach</c> against <c>tmux attach</c>, in the same run, with the same agent commands: keystroke echo
/// (write one key to the client's terminal, time until it comes back out of the client), output throughput of a fast
/// agent (agent bytes per second until an end marker is on the client's screen: both repaint rather than stream every
/// byte), and the time from starting the client to its first full screen over 2 000 lines of scrollback. The clients run
/// on PTYs this process owns and reads continuously; what they draw is fed to a <see cref="ScreenModel"/> to find text.
/// Usage: attach [--keys 1000] [--megabytes 200] [--runs 2] [--attaches 10] [--aot PATH-TO-AOT-zeroshot] [--only echo|throughput|screen]
/// (without --aot, <c>/tmp/zs-bench-aot/zeroshot</c> when it exists; echo and throughput use the AOT binary when there is one).
/// </summary>
internal static class AttachBenchmark
{
    private const int Columns = 120, Rows = 40;
    private const string EndMarker = "zs-bench-done#"; // '#' never occurs in the data or in either status bar
    private const byte Prefix = 0x02; // C-b, both tools' default prefix

    public static int Run(string[] args)
    {
        int keys = TreeSamplingBenchmark.Arg(args, "--keys", 1000);
        int megabytes = TreeSamplingBenchmark.Arg(args, "--megabytes", 200);
        int runs = TreeSamplingBenchmark.Arg(args, "--runs", 2);
        int attaches = TreeSamplingBenchmark.Arg(args, "--attaches", 10);
        int which = Array.IndexOf(args, "--only");
        string? only = which >= 0 && which + 1 < args.Length ? args[which + 1] : null; // echo, throughput or screen
        string root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../.."));
        string jit = Path.Combine(root, "src/Zeroshot.Cli/bin/Release/net10.0/zeroshot");
        int at = Array.IndexOf(args, "--aot");
        string? aot = at >= 0 && at + 1 < args.Length ? args[at + 1] : "/tmp/zs-bench-aot/zeroshot";
        if (!File.Exists(aot)) aot = null;
        if (!File.Exists(jit) || !File.Exists("/usr/bin/tmux"))
        {
            Console.WriteLine($"attach: skipped ({jit} or tmux missing; build src/Zeroshot.Cli -c Release first)");
            return 0;
        }
        string zeroshot = aot ?? jit;
        PrintMachine();
        Console.WriteLine($"zeroshot for echo and throughput: {(aot is null ? "JIT build" : "Native AOT")} ({zeroshot}); tmux {Capture("tmux", ["-V"]).Trim()}");

        string dir = Directory.CreateTempSubdirectory("zsab-").FullName; // short: it holds sockets
        var rows = new List<string[]>();
        try
        {
            var env = new Harness(dir);
            // 1. Keystroke echo.
            if (only is null or "echo")
            {
                const string echoAgent = "stty raw -echo; exec cat";
                var z = env.WithZeroshot(zeroshot, echoAgent, id => Echo(env.ZeroshotClient(zeroshot, id), Harness.SupervisorPid(id), keys));
                var t = env.WithTmux(echoAgent, () => Echo(env.TmuxClient(), env.TmuxServerPid(), keys));
                Console.WriteLine(F($"echo ({keys} keys): zeroshot {z}; tmux {t}"));
                rows.Add(["keystroke echo p50 / p99", F($"{z.P50:0.00} / {z.P99:0.00} ms"), F($"{t.P50:0.00} / {t.P99:0.00} ms"), "p99 < 5 ms, ≤ tmux"]);
                rows.Add(["CPU per key: server (supervisor / tmux server) + client", F($"{z.ServerUsPerKey:0} + {z.ClientUsPerKey:0} µs"),
                    F($"{t.ServerUsPerKey:0} + {t.ClientUsPerKey:0} µs"), ""]);
            }

            // 2. Throughput of a fast agent.
            if (only is null or "throughput")
            {
                string data = Path.Combine(dir, "data.txt");
                WriteData(data, (long)megabytes << 20);
                string fastAgent = $"stty -echo; read x; cat {data}; printf '\\n{EndMarker}\\n'; exec sleep 1000000";
                var zt = new List<Throughput>();
                var tt = new List<Throughput>();
                var pt = new List<Throughput>();
                for (int r = 0; r < runs; r++)
                {
                    // The ceiling: the same agent on a PTY of ours, read directly (no server, no client).
                    pt.Add(Flood(env.DirectAgent(fastAgent), serverPid: null, megabytes));
                    zt.Add(env.WithZeroshot(zeroshot, fastAgent, id => Flood(env.ZeroshotClient(zeroshot, id), Harness.SupervisorPid(id), megabytes)));
                    tt.Add(env.WithTmux(fastAgent, () => Flood(env.TmuxClient(), env.TmuxServerPid(), megabytes)));
                    Console.WriteLine(F($"throughput run {r + 1} ({megabytes} MB): zeroshot {zt[^1]}; tmux {tt[^1]}; the agent's PTY alone {pt[^1].MegabytesPerSecond:0} MB/s"));
                }
                var zbest = zt.MaxBy(t => t.MegabytesPerSecond)!;
                var tbest = tt.MaxBy(t => t.MegabytesPerSecond)!;
                rows.Add([F($"agent output to the client, {megabytes} MB (best of {runs}; all: zeroshot {string.Join(", ", zt.Select(t => F($"{t.MegabytesPerSecond:0}")))}, tmux {string.Join(", ", tt.Select(t => F($"{t.MegabytesPerSecond:0}")))})"),
                    F($"{zbest.MegabytesPerSecond:0} MB/s"), F($"{tbest.MegabytesPerSecond:0} MB/s"), F($"≥ 100 MB/s, ≥ tmux (the agent's PTY alone, read directly: {pt.Max(t => t.MegabytesPerSecond):0} MB/s)")]);
                rows.Add(["CPU per MB while attached: server (supervisor / tmux server) + client", F($"{zbest.ServerMsPerMb:0.0} + {zbest.ClientMsPerMb:0.0} ms"),
                    F($"{tbest.ServerMsPerMb:0.0} + {tbest.ClientMsPerMb:0.0} ms"), ""]);
            }

            // 3. Attach to a screen over 2 000 lines of scrollback.
            if (only is null or "screen")
            {
                const string scrollAgent = "seq -f 'line %g#' 1 2500; exec sleep 1000000";
                var clients = new List<(string Name, List<double> Times)> { ("zeroshot (JIT)", []) };
                if (aot is not null) clients.Add(("zeroshot (AOT)", []));
                clients.Add(("tmux", []));
                env.WithZeroshot(zeroshot, scrollAgent, id => env.WithTmux(scrollAgent, () =>
                {
                    Thread.Sleep(500); // both agents have printed
                    for (int i = 0; i < attaches + 1; i++)
                    {
                        foreach (var (name, times) in clients)
                        {
                            Func<ClientTerminal> start = name switch
                            {
                                "tmux" => env.TmuxClient,
                                "zeroshot (AOT)" => () => env.ZeroshotClient(aot!, id),
                                _ => () => env.ZeroshotClient(jit, id),
                            };
                            double ms = FirstScreen(start, "line 2500#");
                            if (i > 0) times.Add(ms); // the first: page cache
                        }
                    }
                    return 0;
                }));
                foreach (var (name, times) in clients)
                {
                    times.Sort();
                    Console.WriteLine(F($"attach to first full screen, 2 000 lines of scrollback, {name}: median {times[times.Count / 2]:0.0} ms, min {times[0]:0.0}, max {times[^1]:0.0} ({times.Count} attaches)"));
                }
                string Median(string name)
                {
                    var t = clients.First(c => c.Name == name).Times;
                    return F($"{t[t.Count / 2]:0.0} ms (min {t[0]:0.0})");
                }
                rows.Add(["attach to the first full screen, 2 000 lines of scrollback (median)",
                    aot is null ? Median("zeroshot (JIT)") : $"JIT {Median("zeroshot (JIT)")}, AOT {Median("zeroshot (AOT)")}", Median("tmux"), "< 50 ms"]);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
        Console.WriteLine();
        Console.WriteLine($"load average at the end: {string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3))}");
        Console.WriteLine("| what | zeroshot | tmux | target |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var r in rows) Console.WriteLine($"| {string.Join(" | ", r)} |");
        return 0;
    }

    internal static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    internal static void PrintMachine()
    {
        string cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
        string load = string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        Console.WriteLine($"machine: {cpu}, {Environment.ProcessorCount} cores, load average {load}, {Environment.OSVersion}, .NET {Environment.Version}");
    }

    private sealed record EchoResult(double P50, double P99, double ServerUsPerKey, double ClientUsPerKey)
    {
        public override string ToString() =>
            F($"p50 {P50:0.00} ms p99 {P99:0.00} ms, CPU {ServerUsPerKey:0} µs server + {ClientUsPerKey:0} µs client per key");
    }

    /// <summary>
    /// Keys one at a time; each timed from its write to the client's terminal until it comes back out of it. Also the
    /// whole-process CPU of the server and the client over all keys (clock ticks of 10 ms: ± 10 ms over the run), a
    /// measure steadier than the latency and blind to the host's scheduling.
    /// </summary>
    private static EchoResult Echo(ClientTerminal client, int serverPid, int keys)
    {
        using (client)
        {
            client.WaitQuiet(TimeSpan.FromMilliseconds(300));
            TimeSpan serverBefore = default, clientBefore = default;
            // Letters in neither status bar nor the host name: a repaint of the status bar cannot look like an echo.
            var alphabet = "qjzxyQJZXY".Where(c => !Environment.MachineName.Contains(c, StringComparison.Ordinal)).Select(c => (byte)c).ToArray();
            var times = new double[keys];
            for (int i = -50; i < keys; i++) // 50 to warm up
            {
                if (i == 0)
                {
                    serverBefore = ProcessCpu(serverPid);
                    clientBefore = ProcessCpu(client.Pid);
                }
                double ms = client.TimeEcho(alphabet[(i + 50) % alphabet.Length]);
                if (i >= 0) times[i] = ms;
                client.WaitQuiet(TimeSpan.FromMilliseconds(2)); // the rest of this repaint must not answer the next key
            }
            // (Over the keys, the supervisor's own 1 Hz tick is included: ~0.1 ms a second, ~1 µs a key here.)
            double serverUs = (ProcessCpu(serverPid) - serverBefore).TotalMicroseconds / keys;
            double clientUs = (ProcessCpu(client.Pid) - clientBefore).TotalMicroseconds / keys;
            client.Detach();
            Array.Sort(times);
            return new EchoResult(times[keys / 2], times[(int)(keys * 0.99)], serverUs, clientUs);
        }
    }

    private sealed record Throughput(double MegabytesPerSecond, double ServerMsPerMb, double ClientMsPerMb)
    {
        public override string ToString() => F($"{MegabytesPerSecond:0} MB/s, CPU {ServerMsPerMb:0.0} ms/MB server, {ClientMsPerMb:0.0} ms/MB client");
    }

    /// <summary>Enter starts the agent's output; the time runs until the end marker is on the client's screen.</summary>
    private static Throughput Flood(ClientTerminal client, int? serverPid, int megabytes)
    {
        using (client)
        {
            if (serverPid is null) Thread.Sleep(300); // the agent itself, silent until Enter
            else client.WaitQuiet(TimeSpan.FromMilliseconds(300));
            var server = serverPid is int pid ? ProcessCpu(pid) : TimeSpan.Zero;
            var own = ProcessCpu(client.Pid);
            double seconds = client.TimeUntilVisible("\r"u8.ToArray(), EndMarker, TimeSpan.FromMinutes(5));
            var serverCpu = serverPid is int after ? ProcessCpu(after) - server : TimeSpan.Zero;
            var clientCpu = ProcessCpu(client.Pid) - own;
            if (serverPid is not null) client.Detach(); // the agent alone ends with its PTY
            return new Throughput(megabytes / seconds, serverCpu.TotalMilliseconds / megabytes, clientCpu.TotalMilliseconds / megabytes);
        }
    }

    /// <summary>From starting the client to <paramref name="lastLine"/> being on its screen, in ms.</summary>
    private static double FirstScreen(Func<ClientTerminal> start, string lastLine)
    {
        long started = Stopwatch.GetTimestamp();
        using var client = start();
        double seconds = client.TimeUntilVisible(null, lastLine, TimeSpan.FromSeconds(30), started);
        client.WaitQuiet(TimeSpan.FromMilliseconds(100));
        client.Detach();
        return seconds * 1000;
    }

    /// <summary>Whole-process user+system CPU from /proc/PID/stat (fields 14 and 15, in clock ticks: proc(5)).</summary>
    internal static TimeSpan ProcessCpu(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / 100.0); // USER_HZ is 100 on Linux
    }

    /// <summary>Numbered log-like lines of varied length, no '#', up to <paramref name="size"/> bytes.</summary>
    private static void WriteData(string path, long size)
    {
        string[] words = ["compiling", "src/signup/form.ts", "ok", "PASS", "tests", "the quick brown fox", "jumps over the lazy dog", "elapsed=12ms", "status=200"];
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        var line = new StringBuilder();
        long written = 0;
        for (int n = 0; written < size; n++)
        {
            line.Clear().Append(n.ToString("D8", CultureInfo.InvariantCulture));
            for (int w = 0; w < 3 + n % 9; w++) line.Append(' ').Append(words[(n + w * 7) % words.Length]);
            line.Append('\n');
            var bytes = Encoding.ASCII.GetBytes(line.ToString());
            int take = (int)Math.Min(bytes.Length, size - written);
            file.Write(bytes, 0, take);
            written += take;
        }
    }

    internal static string Capture(string file, string[] args, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(file, args) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (env is not null)
            foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: exit {p.ExitCode}: {error.Trim()}");
        return output;
    }

    /// <summary>The two servers (a zeroshot cluster, a tmux session) running one agent command, and clients attached to them.</summary>
    internal sealed class Harness(string dir)
    {
        private readonly Dictionary<string, string> _env = Environment(dir);
        private readonly string _tmuxSocket = Path.Combine(dir, "tmux.sock");
        private int _clusters;

        internal static Dictionary<string, string> Environment(string dir)
        {
            var env = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (System.Collections.DictionaryEntry e in System.Environment.GetEnvironmentVariables())
                env[(string)e.Key] = (string)e.Value!;
            env.Remove("TMUX"); // tmux refuses to nest
            env["TERM"] = "xterm-256color";
            env["ZEROSHOT_HOME"] = Path.Combine(dir, "home");
            string runtime = Path.Combine(dir, "rt");
            Directory.CreateDirectory(runtime);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(runtime, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            env["XDG_RUNTIME_DIR"] = runtime;
            return env;
        }

        public T WithZeroshot<T>(string zeroshot, string agentCommand, Func<string, T> body)
        {
            string config = Path.Combine(dir, $"cluster{++_clusters}.json");
            using (var file = File.Create(config))
            using (var w = new Utf8JsonWriter(file))
            {
                w.WriteStartObject();
                w.WriteString("name", "bench");
                w.WriteStartArray("agents");
                w.WriteStartObject();
                w.WriteString("id", "worker");
                w.WriteString("role", "worker");
                w.WriteStartArray("command");
                w.WriteStringValue("sh");
                w.WriteStringValue("-c");
                w.WriteStringValue(agentCommand);
                w.WriteEndArray();
                w.WriteEndObject();
                w.WriteEndArray();
                w.WriteEndObject();
            }
            string id = Capture(zeroshot, ["run", config, "--detach"], _env).Trim();
            try
            {
                return body(id);
            }
            finally
            {
                Capture(zeroshot, ["kill", id], _env);
            }
        }

        public T WithTmux<T>(string agentCommand, Func<T> body)
        {
            Capture("tmux", ["-S", _tmuxSocket, "-f", "/dev/null", "new-session", "-d", "-s", "b", "-x", Columns.ToString(CultureInfo.InvariantCulture),
                "-y", Rows.ToString(CultureInfo.InvariantCulture), "sh", "-c", agentCommand], _env);
            try
            {
                return body();
            }
            finally
            {
                Capture("tmux", ["-S", _tmuxSocket, "kill-server"], _env);
            }
        }

        public int TmuxServerPid() => int.Parse(Capture("tmux", ["-S", _tmuxSocket, "display-message", "-p", "#{pid}"], _env).Trim(), CultureInfo.InvariantCulture);

        /// <summary>The supervisor of a detached cluster: the process running <c>zeroshot __supervise ID</c>.</summary>
        public static int SupervisorPid(string id)
        {
            foreach (var d in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(d), out int pid)) continue;
                try
                {
                    var argv = File.ReadAllText(Path.Combine(d, "cmdline")).Split('\0');
                    if (argv.Contains("__supervise") && argv.Contains(id)) return pid;
                }
                catch (IOException)
                {
                    // it exited while we looked
                }
                catch (UnauthorizedAccessException)
                {
                    // another user's
                }
            }
            throw new InvalidOperationException($"no supervisor process for {id}");
        }

        public ClientTerminal ZeroshotClient(string zeroshot, string id) => ClientTerminal.Start(zeroshot, ["attach", id], _env);

        public ClientTerminal DirectAgent(string agentCommand) => ClientTerminal.Start("sh", ["-c", agentCommand], _env);

        public ClientTerminal TmuxClient() => ClientTerminal.Start("tmux", ["-S", _tmuxSocket, "attach", "-t", "b"], _env);
    }

    /// <summary>
    /// A client on a PTY of ours: a reader thread takes everything it writes as soon as it is written (timestamped when
    /// read(2) returns), feeds it to a screen model, and answers the waits below.
    /// </summary>
    internal sealed class ClientTerminal : IDisposable
    {
        private readonly PtyProcess _pty;
        private readonly Thread _reader;
        private readonly ScreenModel _screen = new(Rows, Columns, scrollback: 0);
        private readonly SemaphoreSlim _seen = new(0);
        private long _lastRead;
        private long _bytes;
        private volatile int _expected = -1;
        private volatile string? _text;
        private long _seenAt;
        private long _lastScreenCheck;

        private ClientTerminal(PtyProcess pty)
        {
            _pty = pty;
            _reader = new Thread(ReadLoop) { IsBackground = true, Name = "bench-client-reader" };
            _reader.Start();
        }

        public int Pid => _pty.Pid;

        public static ClientTerminal Start(string file, string[] args, IReadOnlyDictionary<string, string> env) =>
            new(PtyProcess.Start(new PtyStartInfo { FileName = file, Arguments = args, Environment = env, Columns = Columns, Rows = Rows }));

        private void ReadLoop()
        {
            var buffer = new byte[64 * 1024];
            while (true)
            {
                int n;
                try
                {
                    n = _pty.Read(buffer);
                }
                catch (IOException)
                {
                    return;
                }
                if (n == 0) return;
                long now = Stopwatch.GetTimestamp();
                Volatile.Write(ref _lastRead, now);
                Interlocked.Add(ref _bytes, n);
                var chunk = buffer.AsSpan(0, n);
                int expected = _expected;
                if (expected >= 0 && chunk.Contains((byte)expected))
                {
                    _expected = -1;
                    _seenAt = now;
                    _seen.Release();
                }
                lock (_screen)
                {
                    _screen.Feed(chunk);
                    _screen.ClearReplies();
                    if (_text is { } text && (chunk.Contains((byte)text[^1]) || Stopwatch.GetElapsedTime(_lastScreenCheck, now).TotalMilliseconds > 20))
                    {
                        _lastScreenCheck = now;
                        CheckScreen(now);
                    }
                }
            }
        }

        /// <summary>Under the lock: whether the awaited text is on the screen now (then it was seen at <paramref name="now"/>).</summary>
        private void CheckScreen(long now)
        {
            if (_text is not { } text) return;
            for (int row = 0; row < _screen.Rows; row++)
            {
                if (!_screen.RowText(row).Contains(text, StringComparison.Ordinal)) continue;
                _text = null;
                _seenAt = now;
                _seen.Release();
                return;
            }
        }

        /// <summary>Waits until the client has written something and then nothing for <paramref name="quiet"/>.</summary>
        public void WaitQuiet(TimeSpan quiet)
        {
            var deadline = Stopwatch.StartNew();
            while (Interlocked.Read(ref _bytes) == 0 || Stopwatch.GetElapsedTime(Volatile.Read(ref _lastRead)) < quiet)
            {
                if (deadline.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException("the client never went quiet");
                Thread.Sleep(1);
            }
        }

        /// <summary>Writes one key; ms until a read of the client's output holds it.</summary>
        public double TimeEcho(byte key)
        {
            _expected = key;
            long start = Stopwatch.GetTimestamp();
            _pty.Write([key]);
            if (!_seen.Wait(TimeSpan.FromSeconds(10))) throw new TimeoutException($"key '{(char)key}' did not come back");
            return Stopwatch.GetElapsedTime(start, _seenAt).TotalMilliseconds;
        }

        /// <summary>Writes <paramref name="keys"/> (if any); seconds (from <paramref name="since"/>, a timestamp, else from the write) until <paramref name="text"/> is on the screen.</summary>
        public double TimeUntilVisible(byte[]? keys, string text, TimeSpan timeout, long? since = null)
        {
            long start = since ?? Stopwatch.GetTimestamp();
            lock (_screen)
            {
                _text = text;
                // Already painted before we asked (a fast client): seen at the last read.
                if (since is not null) CheckScreen(Volatile.Read(ref _lastRead));
            }
            if (keys is not null) _pty.Write(keys);
            if (!_seen.Wait(timeout)) throw new TimeoutException($"'{text}' never appeared on the client's screen");
            return Stopwatch.GetElapsedTime(start, _seenAt).TotalSeconds;
        }

        /// <summary>C-b d, and the client's exit.</summary>
        public void Detach()
        {
            _pty.Write([Prefix, (byte)'d']);
            if (!_pty.WaitForExitAsync().Wait(TimeSpan.FromSeconds(10))) throw new TimeoutException("the client did not detach");
        }

        public void Dispose()
        {
            _pty.Dispose();
            _reader.Join(TimeSpan.FromSeconds(5));
            _seen.Dispose();
        }
    }
}
