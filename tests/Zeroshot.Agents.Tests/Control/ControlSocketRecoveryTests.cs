using System.Net.Sockets;
using System.Runtime.Versioning;
using Zeroshot.Agents.Control;
using static Zeroshot.Agents.Tests.Control.ControlTestSupport;

namespace Zeroshot.Agents.Tests.Control;

/// <summary>A supervisor's socket file that disappears (a logout removes $XDG_RUNTIME_DIR) is bound again.</summary>
[SupportedOSPlatform("linux")]
public sealed class ControlSocketRecoveryTests : IDisposable
{
    private readonly TempDir _temp = new(Mode0755);
    private readonly TestHandler _handler = new();

    public void Dispose() => _temp.Dispose();

    private ControlServer StartServer(TimeSpan check) =>
        ControlServer.Start("c1", _handler, new ControlServerOptions { RuntimeDirectory = _temp.Combine("rt"), SocketCheckInterval = check });

    [Fact]
    public async Task A_deleted_runtime_directory_and_socket_come_back_and_answer()
    {
        await using var server = StartServer(TimeSpan.FromHours(1)); // checked by hand below
        Assert.False(server.EnsureSocketFile()); // its own file: nothing to do
        Directory.Delete(_temp.Combine("rt"), recursive: true);
        await Assert.ThrowsAsync<ControlUnavailableException>(() => ControlClient.ConnectAsync(server.SocketPath));

        Assert.True(server.EnsureSocketFile());
        Assert.Equal(1, server.Rebinds);
        await using (var client = await ControlClient.ConnectAsync(server.SocketPath))
            Assert.Equal("c1", client.ClusterId);
        // The re-created directory is as private as the first one.
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_temp.Combine("rt")));
        Assert.False(server.EnsureSocketFile());
    }

    [Fact]
    public async Task The_periodic_check_rebinds_by_itself_but_never_replaces_a_live_socket()
    {
        await using var server = StartServer(TimeSpan.FromMilliseconds(50));
        File.Delete(server.SocketPath);
        await WaitUntil(() => File.Exists(server.SocketPath), "the socket to be bound again");
        await using (var client = await ControlClient.ConnectAsync(server.SocketPath))
            Assert.Equal("c1", client.ClusterId);

        // Someone else's live socket at our path is left alone (only a dead one would be replaced). It is bound and
        // listening elsewhere, then renamed into place: bound at our path directly, it would be dead (bound, not yet
        // listening) for a moment, and a check in that moment rightly replaces it (CI saw that race).
        string elsewhere = _temp.Combine("stranger.sock");
        using var stranger = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        stranger.Bind(new UnixDomainSocketEndPoint(elsewhere));
        stranger.Listen(1);
        File.Delete(server.SocketPath);
        try
        {
            File.Move(elsewhere, server.SocketPath, overwrite: false);
        }
        catch (IOException)
        {
            return; // the check was quicker than us: nothing left to prove here
        }
        long before = server.Rebinds;
        Assert.False(server.EnsureSocketFile());
        Assert.Equal(before, server.Rebinds);
    }
}
