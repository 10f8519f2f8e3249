using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Zeroshot.Agents.Control;

namespace Zeroshot.Cli.Tests.Hardening;

/// <summary>
/// A hundred clients that subscribe to an agent's output and never read, against an agent that floods: each queue is
/// bounded, and now so is their total (the largest backlogs are dropped first), so the supervisor's memory stays
/// bounded while a client that does read still gets every byte.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class SubscriberMemoryTests : IDisposable
{
    private const long FloodBytes = 150_000_000;
    private const long RssBoundKb = 300 * 1024;
    private readonly string _home = Path.Combine(Path.GetTempPath(), "zs-subs-" + Guid.NewGuid().ToString("N")[..12]);

    public SubscriberMemoryTests() => Directory.CreateDirectory(_home);

    public void Dispose()
    {
        try { Directory.Delete(_home, recursive: true); }
        catch (IOException) { /* a temp dir */ }
    }

    [Fact]
    public void A_hundred_subscribers_that_never_read_do_not_grow_the_supervisor_past_a_bound_and_a_reader_gets_everything()
    {
        string go = Path.Combine(_home, "go");
        string script = $"while [ ! -e {go} ]; do sleep 0.05; done; yes 'flood-line-0123456789abcdefghijklmnopqrstuvwxyz' | head -c {FloodBytes}";
        string file = Path.Combine(_home, "flood.json");
        File.WriteAllText(file, $$"""{ "name": "flood", "agents": [ { "id": "w", "role": "worker", "command": {{JsonSerializer.Serialize(new[] { "bash", "-c", script })}} } ] }""");
        var detach = ZeroshotProcess.RunIn(_home, "run", file, "--detach");
        Assert.True(detach.ExitCode == 0, detach.Error);
        string id = detach.Out.Trim();
        var (pid, socketPath) = Supervisor(id);

        // A reader: logs -f --raw into a pipe, counted; all of the log before its subscription too, whenever it comes.
        var reader = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        reader.ArgumentList.Add("-c");
        reader.ArgumentList.Add($"{ZeroshotProcess.Command} logs {id} -f --raw --agent w --lines 1000000000 | wc -c");
        reader.Environment["ZEROSHOT_HOME"] = _home;
        using var counting = Process.Start(reader)!;

        // A hundred raw clients: hello, subscribe to the output, then never read a byte.
        var silent = new List<Socket>();
        try
        {
            for (int i = 0; i < 100; i++)
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                socket.Connect(new UnixDomainSocketEndPoint(socketPath));
                socket.ReceiveBufferSize = 4096;
                socket.Send(ControlProtocol.MessageFrame(1, ControlProtocol.Hello, w =>
                {
                    w.WriteStartArray("versions");
                    w.WriteNumberValue(ControlProtocol.Version);
                    w.WriteEndArray();
                }));
                socket.Send(ControlProtocol.MessageFrame(2, ControlProtocol.Subscribe, w =>
                {
                    w.WriteNumber("streamId", 1);
                    w.WriteString("stream", ControlProtocol.OutputStream);
                    w.WritePropertyName("args");
                    w.WriteStartObject();
                    w.WriteString("agent", "w");
                    w.WriteEndObject();
                }));
                silent.Add(socket);
            }
            Wait.Until(() => Threads(pid) > 0 && File.Exists(Path.Combine(_home, "logs", id, "w.log")), "the supervisor");
            File.WriteAllText(go, "");

            // Before: 100 × 8 MiB queues, 872 MB. The bound is generous; the shedding keeps it far below.
            long peakKb = 0;
            while (!counting.HasExited || Rss(pid) > 0)
            {
                long rss = Rss(pid);
                if (rss == 0) break; // the supervisor is gone: the cluster ended
                peakKb = Math.Max(peakKb, rss);
                Assert.True(rss < RssBoundKb, $"supervisor RSS {rss} kB passed {RssBoundKb} kB");
                using var pause = new ManualResetEventSlim();
                pause.Wait(20);
            }
            Assert.True(counting.WaitForExit(120_000), "logs -f did not end with the cluster");
            long received = long.Parse(counting.StandardOutput.ReadToEnd().Trim(), CultureInfo.InvariantCulture);
            long logged = new FileInfo(Path.Combine(_home, "logs", id, "w.log")).Length;
            Assert.True(logged >= FloodBytes, $"log has {logged} bytes");
            Assert.Equal(logged, received);
            Assert.True(peakKb > 0);
        }
        finally
        {
            foreach (var s in silent) s.Dispose();
        }
    }

    private (int Pid, string Socket) Supervisor(string id)
    {
        using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(_home, "state.db"), Pooling = false }.ToString());
        db.Open();
        using var command = db.CreateCommand();
        command.CommandText = "SELECT supervisor_pid, socket_path FROM clusters WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        using var row = command.ExecuteReader();
        Assert.True(row.Read());
        return (row.GetInt32(0), row.GetString(1));
    }

    /// <summary>VmRSS in kB from /proc/&lt;pid&gt;/status; 0 when the process is gone.</summary>
    private static long Rss(int pid) => StatusField(pid, "VmRSS:");

    private static long Threads(int pid) => StatusField(pid, "Threads:");

    private static long StatusField(int pid, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith(field, StringComparison.Ordinal))
                    return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0; // gone
        }
        return 0;
    }
}
