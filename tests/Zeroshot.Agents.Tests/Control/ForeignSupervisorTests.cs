using System.Diagnostics;
using System.Runtime.Versioning;
using Zeroshot.Agents.Control;
using static Zeroshot.Agents.Tests.Control.ControlTestSupport;

namespace Zeroshot.Agents.Tests.Control;

/// <summary>
/// Clients trust only a supervisor of their own uid, reached through directories no other user can write; servers
/// refuse such directories too. Another user is simulated with setpriv (uid 65534), so these run as root.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class ForeignSupervisorTests
{
    private const UnixFileMode Mode1777 = Mode0777 | UnixFileMode.StickyBit;

    /// <summary>
    /// Starts perl as uid 65534 listening on <paramref name="path"/>: it accepts, counts what it is sent, and
    /// prints "ready" once listening, then "got N" for each connection.
    /// </summary>
    private static Process ListenAsNobody(string path)
    {
        var info = new ProcessStartInfo("setpriv") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in (string[])["--reuid=65534", "--regid=65534", "--clear-groups", "perl", "-MIO::Socket::UNIX", "-e", """
            $| = 1; my $s = IO::Socket::UNIX->new(Local => $ARGV[0], Listen => 5) or die "listen: $!";
            print "ready\n";
            while (my $c = $s->accept) { my ($all, $b) = (''); while (sysread($c, $b, 4096)) { $all .= $b } print "got ", length($all), "\n" }
            """, path]) info.ArgumentList.Add(a);
        var process = Process.Start(info)!;
        Assert.Equal("ready", process.StandardOutput.ReadLine());
        return process;
    }

    [Fact]
    public async Task A_client_refuses_a_socket_served_by_another_uid_before_sending_anything()
    {
        Assert.Equal(0u, ControlNative.EffectiveUid);
        using var shared = new TempDir(Mode0777);
        using var mine = new TempDir();
        string ours = RuntimeDirectory.EnsureSecure(mine.Combine("rt"));
        // The other user's socket ends up in our own private directory (a rename keeps the listening socket working),
        // so every directory check passes and only SO_PEERCRED can tell.
        string planted = shared.Combine("s.sock");
        using var fake = ListenAsNobody(planted);
        try
        {
            string path = Path.Combine(ours, "c1.sock");
            File.Move(planted, path);
            var e = await Assert.ThrowsAsync<UserErrorException>(() => ControlClient.ConnectAsync(path));
            Assert.Equal($"refusing the supervisor on {path}: it runs as uid 65534 (pid {fake.Id}), not as you (uid 0); another user may be impersonating it",
                e.Message);
            // The connection was closed without a byte: the fake reports an empty conversation.
            Assert.Equal("got 0", await fake.StandardOutput.ReadLineAsync().WaitAsync(Deadline));
        }
        finally
        {
            fake.Kill();
        }
    }

    [Fact]
    public void A_runtime_directory_under_a_parent_others_can_write_is_refused_unless_sticky()
    {
        using var open = new TempDir(Mode0777);
        var e = Assert.Throws<UserErrorException>(() => RuntimeDirectory.EnsureSecure(open.Combine("zeroshot")));
        Assert.Equal($"refusing the control socket directory {open.Combine("zeroshot")}: its parent {open.Path} (mode 777) is writable by other users, " +
            "who could replace it with their own; run 'chmod o-w,g-w' or 'chmod +t' on it, or set XDG_RUNTIME_DIR to a private directory", e.Message);
        Assert.False(Directory.Exists(open.Combine("zeroshot")), "nothing is created in an unsafe parent");
        // Further up the chain counts too.
        Directory.CreateDirectory(open.Combine("a"));
        Assert.Contains($"its parent {open.Path} (mode 777)", Assert.Throws<UserErrorException>(() => RuntimeDirectory.EnsureSecure(open.Combine("a/zeroshot"))).Message);
        // Sticky, as /tmp: nobody else can rename or remove our entries.
        File.SetUnixFileMode(open.Path, Mode1777);
        Assert.Equal(open.Combine("zeroshot"), RuntimeDirectory.EnsureSecure(open.Combine("zeroshot")));
    }

    [Fact]
    public async Task A_parent_owned_by_another_user_is_refused_by_server_and_client()
    {
        using var temp = new TempDir(Mode0755);
        string theirs = temp.Combine("theirs");
        Directory.CreateDirectory(theirs);
        var chown = Process.Start("chown", ["65534", theirs]);
        await chown.WaitForExitAsync();
        Assert.Equal(0, chown.ExitCode);
        string dir = Path.Combine(theirs, "zeroshot");
        Assert.Contains($"its parent {theirs} is owned by uid 65534", Assert.Throws<UserErrorException>(() => RuntimeDirectory.EnsureSecure(dir)).Message);
        // A private directory of ours inside theirs: its owner can still rename it away and put another in its place.
        Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Assert.Contains($"its parent {theirs} is owned by uid 65534",
            (await Assert.ThrowsAsync<UserErrorException>(() => ControlClient.ConnectAsync(Path.Combine(dir, "c1.sock")))).Message);
    }
}
