using System.IO.Compression;
using System.Net.Sockets;
using System.Text;

namespace Zeroshot.TestModelServer;

/// <summary>One HTTP/1.1 request as received.</summary>
internal sealed record HttpRequest(string Method, string Target, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body)
{
    public string Path => Target.Split('?', 2)[0];
    public string Query => Target.Contains('?', StringComparison.Ordinal) ? Target.Split('?', 2)[1] : "";

    public string? Header(string name)
    {
        foreach (var (key, value) in Headers)
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
                return value;
        return null;
    }
}

/// <summary>
/// A minimal hand-written HTTP/1.1 connection: requests with Content-Length or chunked bodies (gzip, deflate or
/// br content encodings decoded), responses with Content-Length or chunked (for SSE, one chunk per event, flushed).
/// Hand-written so a test controls every byte and every pause: stalls, trickles, keep-alive.
/// </summary>
internal sealed class HttpConnection(NetworkStream stream)
{
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    public NetworkStream Stream { get; } = stream;

    /// <summary>The next request, or null at the end of the connection.</summary>
    public async Task<HttpRequest?> ReadRequestAsync(CancellationToken ct)
    {
        var headerBytes = await ReadUntilAsync("\r\n\r\n"u8.ToArray(), 1 << 20, ct).ConfigureAwait(false);
        if (headerBytes is null)
            return null;
        var lines = Encoding.Latin1.GetString(headerBytes).Split("\r\n");
        var first = lines[0].Split(' ');
        if (first.Length < 3)
            throw new IOException($"bad request line: {lines[0]}");
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var line in lines.Skip(1))
        {
            if (line.Length == 0)
                continue;
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
                headers.Add(new(line[..colon].Trim(), line[(colon + 1)..].Trim()));
        }
        var request = new HttpRequest(first[0], first[1], headers, []);
        if (string.Equals(request.Header("Expect"), "100-continue", StringComparison.OrdinalIgnoreCase))
            await WriteAsync("HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray(), ct).ConfigureAwait(false);

        byte[] body;
        if (request.Header("Transfer-Encoding") is { } te && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            using var all = new MemoryStream();
            while (true)
            {
                var sizeLine = await ReadUntilAsync("\r\n"u8.ToArray(), 4096, ct).ConfigureAwait(false)
                    ?? throw new IOException("connection closed in a chunked body");
                var sizeText = Encoding.ASCII.GetString(sizeLine).Split(';')[0].Trim();
                int size = Convert.ToInt32(sizeText, 16);
                if (size == 0)
                {
                    // Trailers, up to the empty line.
                    while ((await ReadUntilAsync("\r\n"u8.ToArray(), 4096, ct).ConfigureAwait(false))?.Length > 0)
                    {
                    }
                    break;
                }
                all.Write(await ReadExactAsync(size, ct).ConfigureAwait(false));
                await ReadExactAsync(2, ct).ConfigureAwait(false);
            }
            body = all.ToArray();
        }
        else if (long.TryParse(request.Header("Content-Length"), out long length) && length > 0)
        {
            body = await ReadExactAsync(checked((int)length), ct).ConfigureAwait(false);
        }
        else
        {
            body = [];
        }
        return request with { Body = Decode(body, request.Header("Content-Encoding")) };
    }

    private static byte[] Decode(byte[] body, string? encoding)
    {
        if (body.Length == 0 || string.IsNullOrEmpty(encoding) || encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
            return body;
        using var input = new MemoryStream(body);
        using Stream decoder = encoding.ToLowerInvariant() switch
        {
            "gzip" => new GZipStream(input, CompressionMode.Decompress),
            "deflate" => new ZLibStream(input, CompressionMode.Decompress),
            "br" => new BrotliStream(input, CompressionMode.Decompress),
            _ => input,
        };
        using var output = new MemoryStream();
        decoder.CopyTo(output);
        return output.ToArray();
    }

    /// <summary>Bytes up to (excluding) <paramref name="delimiter"/>; null if the connection ends first with nothing read.</summary>
    private async Task<byte[]?> ReadUntilAsync(byte[] delimiter, int max, CancellationToken ct)
    {
        while (true)
        {
            int at = _buffer.AsSpan(_start, _end - _start).IndexOf(delimiter);
            if (at >= 0)
            {
                var result = _buffer.AsSpan(_start, at).ToArray();
                _start += at + delimiter.Length;
                return result;
            }
            if (_end - _start > max)
                throw new IOException("header too long");
            if (!await FillAsync(ct).ConfigureAwait(false))
            {
                if (_end == _start)
                    return null;
                throw new IOException("connection closed mid-request");
            }
        }
    }

    private async Task<byte[]> ReadExactAsync(int count, CancellationToken ct)
    {
        var result = new byte[count];
        int done = 0;
        while (done < count)
        {
            if (_end == _start && !await FillAsync(ct).ConfigureAwait(false))
                throw new IOException("connection closed mid-body");
            int n = Math.Min(count - done, _end - _start);
            _buffer.AsSpan(_start, n).CopyTo(result.AsSpan(done));
            _start += n;
            done += n;
        }
        return result;
    }

    private async Task<bool> FillAsync(CancellationToken ct)
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length)
            throw new IOException("request head larger than the buffer");
        int n = await Stream.ReadAsync(_buffer.AsMemory(_end), ct).ConfigureAwait(false);
        if (n == 0)
            return false;
        _end += n;
        return true;
    }

    /// <summary>Waits until the client closes the connection (or sends anything, or <paramref name="ct"/> fires).</summary>
    public async Task WaitForClientCloseAsync(CancellationToken ct)
    {
        var one = new byte[1];
        try
        {
            while (await Stream.ReadAsync(one, ct).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    public async Task WriteAsync(byte[] bytes, CancellationToken ct)
    {
        await Stream.WriteAsync(bytes, ct).ConfigureAwait(false);
        await Stream.FlushAsync(ct).ConfigureAwait(false);
    }

    public Task WriteFullAsync(int status, string contentType, byte[] body, CancellationToken ct, IEnumerable<KeyValuePair<string, string>>? extraHeaders = null, bool headOnly = false)
    {
        var head = new StringBuilder();
        head.Append("HTTP/1.1 ").Append(status).Append(' ').Append(Reason(status)).Append("\r\n");
        head.Append("Content-Type: ").Append(contentType).Append("\r\n");
        head.Append("Content-Length: ").Append(body.Length).Append("\r\n");
        foreach (var (k, v) in extraHeaders ?? [])
            head.Append(k).Append(": ").Append(v).Append("\r\n");
        head.Append("\r\n");
        var bytes = Encoding.ASCII.GetBytes(head.ToString());
        return WriteAsync(headOnly ? bytes : [.. bytes, .. body], ct);
    }

    public Task StartChunkedAsync(string contentType, CancellationToken ct, IEnumerable<KeyValuePair<string, string>>? extraHeaders = null)
    {
        var head = new StringBuilder();
        head.Append("HTTP/1.1 200 OK\r\nContent-Type: ").Append(contentType).Append("\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n");
        foreach (var (k, v) in extraHeaders ?? [])
            head.Append(k).Append(": ").Append(v).Append("\r\n");
        head.Append("\r\n");
        return WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), ct);
    }

    public Task WriteChunkAsync(string text, CancellationToken ct)
    {
        var data = Encoding.UTF8.GetBytes(text);
        var prefix = Encoding.ASCII.GetBytes($"{data.Length:x}\r\n");
        return WriteAsync([.. prefix, .. data, .. "\r\n"u8], ct);
    }

    public Task EndChunkedAsync(CancellationToken ct) => WriteAsync("0\r\n\r\n"u8.ToArray(), ct);

    private static string Reason(int status) => status switch
    {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        529 => "Overloaded",
        _ => "Status",
    };
}
