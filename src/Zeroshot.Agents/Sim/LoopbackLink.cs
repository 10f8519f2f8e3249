using System.Net;
using System.Net.Sockets;

namespace Zeroshot.Agents.Sim;

/// <summary>
/// A TCP connection from the sim to itself over 127.0.0.1, standing in for the HTTPS stream to the model
/// API: while "thinking" the client uploads a little and the server streams a lot back. Both ends live in
/// the sim process, so the process (and its tree) shows real TCP rx and tx bytes in sock_diag/tcp_info.
/// </summary>
internal sealed class LoopbackLink : IAsyncDisposable
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(50);
    private static readonly byte[] Payload = CreatePayload();

    private readonly TcpClient _client;
    private readonly TcpClient _server;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _clientReader;
    private readonly Task _serverReader;
    private long _sent;
    private long _received;

    private LoopbackLink(TcpClient client, TcpClient server)
    {
        _client = client;
        _server = server;
        _clientReader = DrainAsync(client.GetStream());
        _serverReader = DrainAsync(server.GetStream());
    }

    /// <summary>Bytes written by both ends so far.</summary>
    public long BytesSent => Interlocked.Read(ref _sent);

    /// <summary>Bytes read by both ends so far.</summary>
    public long BytesReceived => Interlocked.Read(ref _received);

    /// <summary>Listens on an ephemeral loopback port, connects to it and accepts; the listener is closed again.</summary>
    public static async Task<LoopbackLink> OpenAsync(CancellationToken ct)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start(1);
        var client = new TcpClient { NoDelay = true };
        try
        {
            var accept = listener.AcceptTcpClientAsync(ct).AsTask();
            await client.ConnectAsync((IPEndPoint)listener.LocalEndpoint, ct).ConfigureAwait(false);
            var server = await accept.ConfigureAwait(false);
            server.NoDelay = true;
            return new LoopbackLink(client, server);
        }
        catch
        {
            client.Dispose();
            throw;
        }
        finally
        {
            listener.Stop();
        }
    }

    /// <summary>
    /// Streams for <paramref name="duration"/>: every 50 ms the server sends <paramref name="kibPerSecond"/>/20 KiB
    /// and the client a quarter of that. Pacing uses <paramref name="time"/>.
    /// </summary>
    public async Task StreamAsync(TimeSpan duration, double kibPerSecond, TimeProvider time, CancellationToken ct)
    {
        var down = Math.Max(1, (int)(kibPerSecond * 1024 * Tick.TotalSeconds));
        var up = Math.Max(1, down / 4);
        var start = time.GetTimestamp();
        while (true)
        {
            var left = duration - time.GetElapsedTime(start);
            if (left <= TimeSpan.Zero) return;
            await WriteAsync(_client.GetStream(), up, ct).ConfigureAwait(false);
            await WriteAsync(_server.GetStream(), down, ct).ConfigureAwait(false);
            await Task.Delay(left < Tick ? left : Tick, time, ct).ConfigureAwait(false);
        }
    }

    private async Task WriteAsync(NetworkStream stream, int count, CancellationToken ct)
    {
        while (count > 0)
        {
            var n = Math.Min(count, Payload.Length);
            await stream.WriteAsync(Payload.AsMemory(0, n), ct).ConfigureAwait(false);
            Interlocked.Add(ref _sent, n);
            count -= n;
        }
    }

    private async Task DrainAsync(NetworkStream stream)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer, _stop.Token).ConfigureAwait(false)) > 0)
                Interlocked.Add(ref _received, n);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or SocketException)
        {
            // The link is being closed: the reader's end is expected.
        }
    }

    private static byte[] CreatePayload()
    {
        // Random bytes rather than zeros, so nothing on the path could compress them away.
        var b = new byte[16 * 1024];
        new Random(7).NextBytes(b);
        return b;
    }

    /// <summary>Closes both sockets and waits for the readers.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _client.Dispose();
        _server.Dispose();
        await Task.WhenAll(_clientReader, _serverReader).ConfigureAwait(false);
        _stop.Dispose();
    }
}
