using System.Diagnostics;
using System.Text.Json;

namespace Zeroshot.Cli.Tests;

/// <summary>
/// A runtime directory other users can write (XDG_RUNTIME_DIR 0777 without the sticky bit): another user swaps in a
/// fake supervisor socket; `status` and `stop` refuse it in one line, and the real cluster runs on unaffected.
/// </summary>
[Collection(EndToEndCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ForeignSupervisorTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "zs-fs-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly string _home;
    private readonly string _runtime;
    private readonly Dictionary<string, string> _env;

    public ForeignSupervisorTests()
    {
        _home = Path.Combine(_root, "home");
        _runtime = Path.Combine(_root, "rt");
        Directory.CreateDirectory(_home);
        Directory.CreateDirectory(_runtime);
        File.SetUnixFileMode(_root, (UnixFileMode)0x1ED); // 0755: the other user must reach the runtime directory
        File.SetUnixFileMode(_runtime, (UnixFileMode)0x1ED);
        _env = new() { ["XDG_RUNTIME_DIR"] = _runtime };
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); }
        catch (IOException) { /* a temp dir */ }
    }

    private ZeroshotProcess.Result Z(params string[] args)
    {
        using var running = ZeroshotProcess.Start(_home, _env, args);
        return running.Wait(TimeSpan.FromSeconds(60));
    }

    [Fact]
    public void A_fake_supervisor_planted_by_another_uid_is_refused_and_the_real_cluster_is_unaffected()
    {
        var gate = Path.Combine(_root, "go");
        var cluster = Path.Combine(_root, "c.json");
        File.WriteAllText(cluster, JsonSerializer.Serialize(new
        {
            name = "real",
            prompt = "p",
            agents = new object[] { new { id = "worker", role = "worker", command = new[] { "bash", "-c", $"echo working; while [ ! -e {gate} ]; do sleep 0.05; done; echo done" } } },
        }));
        var started = Z("run", "--detach", cluster);
        Assert.True(started.ExitCode == 0, started.Out + started.Error);
        var id = started.Out.Trim();
        var socket = Path.Combine(_runtime, "zeroshot", id + ".sock");
        Wait.Until(() => File.Exists(socket), "the supervisor's socket");

        // The runtime directory becomes writable by everyone; another user renames ours away and serves its own.
        File.SetUnixFileMode(_runtime, (UnixFileMode)0x1FF);
        var fake = new ProcessStartInfo("setpriv") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in (string[])["--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c",
            "mv \"$1/zeroshot\" \"$1/moved\" && mkdir \"$1/zeroshot\" && exec perl -MIO::Socket::UNIX -e \"$2\" \"$1/zeroshot/$3.sock\"", "sh", _runtime, """
            $| = 1; my $s = IO::Socket::UNIX->new(Local => $ARGV[0], Listen => 5) or die "listen: $!";
            print "ready\n";
            while (my $c = $s->accept) { my ($all, $b) = (''); while (sysread($c, $b, 4096)) { $all .= $b } print "got ", length($all), "\n" }
            """, id]) fake.ArgumentList.Add(a);
        using var attacker = Process.Start(fake)!;
        try
        {
            Assert.Equal("ready", attacker.StandardOutput.ReadLine());

            var status = Z("status", id);
            Assert.Equal(1, status.ExitCode);
            var refusal = $"zeroshot: refusing the control socket directory {Path.Combine(_runtime, "zeroshot")}: it is owned by uid 65534, not by you (uid 0); another user may have replaced it";
            Assert.Equal(refusal, status.Error.Trim());
            Assert.DoesNotContain("running", status.Out);
            var stop = Z("stop", id);
            Assert.Equal(1, stop.ExitCode);
            Assert.Equal(refusal, stop.Error.Trim());

            // A new cluster is refused a runtime directory under a parent anyone can write (the supervisor's side).
            var second = Z("run", cluster);
            Assert.Equal(1, second.ExitCode);
            Assert.Contains($"refusing the control socket directory {Path.Combine(_runtime, "zeroshot")}: its parent {_runtime} (mode 777) is writable by other users", second.Error);
        }
        finally
        {
            attacker.Kill();
        }
        // Not one connection reached the fake (it prints "got N" for each).
        attacker.WaitForExit();
        Assert.Equal("", attacker.StandardOutput.ReadToEnd());

        // The real cluster ran on: its worker finishes once released, and the cluster completes.
        File.WriteAllText(gate, "");
        Wait.Until(() => Z("list", "--json").Out.Contains($"\"id\":\"{id}\"") && ClusterState(id) == "completed", "the real cluster to complete");
        Assert.Contains("done", File.ReadAllText(Path.Combine(_home, "logs", id, "worker.log")));
    }

    private string? ClusterState(string id)
    {
        using var doc = JsonDocument.Parse(Z("list", "--json").Out);
        foreach (var c in doc.RootElement.EnumerateArray())
            if (c.GetProperty("id").GetString() == id) return c.GetProperty("state").GetString();
        return null;
    }
}
