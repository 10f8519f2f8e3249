using System.Globalization;
using System.Net;
using System.Net.Sockets;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Zeroshot.Agents;

namespace Zeroshot.Export;

/// <summary>Where the Prometheus endpoint listens: <c>host:port</c> (<c>[::1]:port</c> for an IPv6 address).</summary>
/// <param name="Host">A host name or an address.</param>
/// <param name="Port">1..65535.</param>
internal sealed record ListenAddress(string Host, int Port)
{
    /// <summary>Loopback only unless asked otherwise: the agents' figures are nobody else's business by default.</summary>
    public const string Default = "127.0.0.1:9464";

    /// <summary>
    /// Parses <paramref name="text"/> given to <paramref name="option"/>; anything else than <c>host:port</c> with a port of
    /// 1..65535 is a usage error.
    /// </summary>
    public static ListenAddress Parse(string text, string option)
    {
        ArgumentNullException.ThrowIfNull(text);
        int colon = text.LastIndexOf(':');
        string host = colon > 0 ? text[..colon] : "";
        // An IPv6 address needs its brackets: "::1:80" could be an address without a port.
        bool bracketed = host.StartsWith('[') && host.EndsWith(']');
        if (bracketed) host = host[1..^1];
        if (colon <= 0 || host.Length == 0 || host.Contains(']') || (host.Contains(':') && (!bracketed || !IPAddress.TryParse(host, out _)))
            || host.Any(c => char.IsWhiteSpace(c) || c is '/' or '?' or '#' or '@')
            || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
            throw new UserErrorException($"{option}: expected host:port with a port of 1..65535 (e.g. {Default}), got '{text}'", ExitCodes.Usage);
        return new ListenAddress(host, port);
    }

    /// <summary>The scrape URL a person or Prometheus uses.</summary>
    public string Url
    {
        get
        {
            string host = IPAddress.TryParse(Host, out var address) && address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{Host}]" : Host;
            return $"http://{host}:{Port.ToString(CultureInfo.InvariantCulture)}/metrics";
        }
    }

    /// <inheritdoc/>
    public override string ToString() => Url;
}

/// <summary>
/// The OpenTelemetry SDK's meter provider over the <c>zeroshot.agent</c> meter: a Prometheus endpoint (the SDK's
/// HttpListener exporter) and/or an OTLP push (the OTLP exporter, HTTP/protobuf). Disposing stops both (OTLP pushes once
/// more first).
/// </summary>
internal sealed class MetricsExporter : IDisposable
{
    // Each agent has 5 state and 9 health series: the SDK's default of 2000 series per instrument stops at a few hundred
    // agents; 10 000 serves about a thousand on one machine. Not more: the SDK allocates every series' slot
    // up front (a MetricPoint array of this length per instrument): 100 000 cost serve-metrics 75 MB of heap from its
    // start, which each collection's garbage collections then walked (~50 ms of CPU per scrape every 15 s).
    private const int SeriesPerInstrument = 10_000;

    private readonly AgentInstruments _instruments;
    private readonly MeterProvider _provider;

    private MetricsExporter(AgentInstruments instruments, MeterProvider provider)
    {
        _instruments = instruments;
        _provider = provider;
    }

    /// <summary>The Prometheus endpoint's address, or null without one.</summary>
    public ListenAddress? Listen { get; private init; }

    /// <summary>The OTLP endpoint metrics are pushed to, or null.</summary>
    public Uri? Otlp { get; private init; }

    /// <summary>
    /// Starts publishing <paramref name="store"/>: at <paramref name="listen"/> for Prometheus, to <paramref name="otlp"/>
    /// (a base URL; <c>/v1/metrics</c> is appended unless given) by OTLP. A port in use, or an address not of this host,
    /// is a <see cref="UserErrorException"/>.
    /// </summary>
    public static MetricsExporter Start(ClusterMetricsStore store, ListenAddress? listen, Uri? otlp)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (listen is null && otlp is null) throw new ArgumentException("nothing to export to");
        // Bind first with a plain socket: the HttpListener exporter fails a busy port deep in its constructor with an
        // exception that names neither the address nor the reason a person can act on.
        if (listen is not null) CheckBindable(listen);
        var instruments = new AgentInstruments(store);
        try
        {
            var builder = Sdk.CreateMeterProviderBuilder()
                .ConfigureResource(r => r.AddService("zeroshot", serviceVersion: typeof(MetricsExporter).Assembly.GetName().Version?.ToString()))
                .AddMeter(AgentInstruments.MeterName)
                .AddView("zeroshot.agent.*", new MetricStreamConfiguration { CardinalityLimit = SeriesPerInstrument });
            if (listen is not null)
            {
                builder.AddPrometheusHttpListener(o =>
                {
                    o.Host = WildcardHost(listen.Host);
                    o.Port = listen.Port;
                    o.ScrapeEndpointPath = "/metrics";
                });
            }
            if (otlp is not null)
            {
                builder.AddOtlpExporter(o =>
                {
                    o.Protocol = OtlpExportProtocol.HttpProtobuf;
                    o.Endpoint = MetricsPath(otlp);
                });
            }
            var provider = builder.Build();
            return new MetricsExporter(instruments, provider) { Listen = listen, Otlp = otlp is null ? null : MetricsPath(otlp) };
        }
        catch (Exception e) when (e is HttpListenerException or SocketException or InvalidOperationException)
        {
            instruments.Dispose();
            throw new UserErrorException($"cannot serve metrics on {listen?.Host}:{listen?.Port}: {Innermost(e).Message}");
        }
    }

    /// <summary>Parses <c>--otlp-endpoint</c>: an absolute http(s) URL.</summary>
    public static Uri ParseOtlpEndpoint(string text, string option)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new UserErrorException($"{option}: expected an http(s) URL such as http://127.0.0.1:4318, got '{text}'", ExitCodes.Usage);
        return uri;
    }

    /// <summary>The OTLP/HTTP metrics URL of a collector's base URL (as <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is read).</summary>
    private static Uri MetricsPath(Uri endpoint)
    {
        if (endpoint.AbsolutePath.EndsWith("/v1/metrics", StringComparison.Ordinal)) return endpoint;
        var builder = new UriBuilder(endpoint);
        builder.Path = builder.Path.TrimEnd('/') + "/v1/metrics";
        return builder.Uri;
    }

    /// <summary>The HttpListener's name for "every address": a prefix on 0.0.0.0 would match only requests that name it.</summary>
    private static string WildcardHost(string host) => host is "0.0.0.0" or "::" ? "*" : host;

    /// <summary>Fails as a person reads it when the address is not this host's or its port is taken.</summary>
    private static void CheckBindable(ListenAddress listen)
    {
        IPAddress[] addresses;
        try
        {
            addresses = IPAddress.TryParse(listen.Host, out var parsed) ? [parsed] : Dns.GetHostAddresses(listen.Host);
        }
        catch (SocketException e)
        {
            throw new UserErrorException($"cannot serve metrics on {listen.Host}:{listen.Port}: {e.Message}");
        }
        foreach (var address in addresses)
        {
            try
            {
                using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(address, listen.Port));
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                throw new UserErrorException($"cannot serve metrics on {listen.Host}:{listen.Port}: the port is in use");
            }
            catch (SocketException)
            {
                // Not an address of this host (or of this family): try the name's next one.
            }
        }
        throw new UserErrorException($"cannot serve metrics on {listen.Host}:{listen.Port}: not an address of this host");
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }

    /// <summary>Stops the endpoint and the push (a last OTLP export first).</summary>
    public void Dispose()
    {
        _provider.Dispose();
        _instruments.Dispose();
    }
}
