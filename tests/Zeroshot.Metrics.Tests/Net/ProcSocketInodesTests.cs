using System.Net;
using System.Net.Sockets;
using Zeroshot.Metrics.Linux.Net;

namespace Zeroshot.Metrics.Tests.Net;

public sealed class ProcSocketInodesTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("zs-procfd-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Only_socket_links_of_a_fake_proc_fd_directory_are_collected()
    {
        // A stand-in for /proc/<pid>/fd: symlinks whose targets are what procfs would show.
        var fd = Directory.CreateDirectory(Path.Combine(_root, "4242", "fd")).FullName;
        File.CreateSymbolicLink(Path.Combine(fd, "0"), "/dev/null");
        File.CreateSymbolicLink(Path.Combine(fd, "3"), "socket:[987654]");
        File.CreateSymbolicLink(Path.Combine(fd, "4"), "pipe:[55]");
        File.CreateSymbolicLink(Path.Combine(fd, "17"), "socket:[12]");
        File.CreateSymbolicLink(Path.Combine(fd, "18"), "socket:[oops]");

        var sink = new List<uint>();
        int found = new ProcSocketInodes(_root + "/").Collect(4242, sink);

        Assert.Equal(2, found);
        Assert.Equal([12u, 987654u], sink.Order());
    }

    [Fact]
    public void Missing_pid_or_fd_directory_yields_nothing()
    {
        Directory.CreateDirectory(Path.Combine(_root, "77")); // a pid directory without fd/
        var scanner = new ProcSocketInodes(_root);
        var sink = new List<uint>();
        Assert.Equal(0, scanner.Collect(77, sink));
        Assert.Equal(0, scanner.Collect(78, sink));
        Assert.Equal(0, scanner.Collect(-1, sink));
        Assert.Empty(sink);
    }

    [Fact]
    public void A_socket_this_process_holds_is_found_in_the_real_proc()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var target = new FileInfo($"/proc/self/fd/{socket.Handle}").LinkTarget!;
        Assert.True(ProcSocketInodes.TryParseSocketInode(System.Text.Encoding.ASCII.GetBytes(target), out uint inode));

        var sink = new List<uint>();
        new ProcSocketInodes("/proc").Collect(Environment.ProcessId, sink);
        Assert.Contains(inode, sink);
    }
}
