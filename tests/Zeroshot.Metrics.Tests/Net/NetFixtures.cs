using System.Runtime.CompilerServices;

namespace Zeroshot.Metrics.Tests.Net;

/// <summary>
/// Real NETLINK_SOCK_DIAG bytes recorded on Linux 6.18 by
/// <c>dotnet run --project bench/Zeroshot.Bench -- sockdiag --capture tests/Zeroshot.Metrics.Tests/Net/Fixtures</c>:
/// one loopback connection, client → server 100000 bytes, server → client 4321 bytes.
/// <c>{inet,inet6}-dump.bin</c>: the reply messages of the listener, client and accepted socket plus the
/// real NLMSG_DONE (sequence 7); <c>{inet,inet6}-destroy.bin</c>: their destroy notifications after close.
/// </summary>
internal static class NetFixtures
{
    public const int ClientToServer = 100_000, ServerToClient = 4321;

    public static byte[] Read(string name) => File.ReadAllBytes(Path.Combine(Directory(), name));

    // Next to the test assembly when the project copies them, else beside this source file.
    private static string Directory([CallerFilePath] string source = "")
    {
        var copied = Path.Combine(AppContext.BaseDirectory, "Net", "Fixtures");
        return System.IO.Directory.Exists(copied) ? copied : Path.Combine(Path.GetDirectoryName(source)!, "Fixtures");
    }
}
