using System.Net.Security;
using System.Net.Sockets;

namespace FlowFleet.Nodes.Core.Network;

/// <summary>
/// TLS done by FlowFleet beneath <see cref="SocketsHttpHandler"/>, for a tls-config with a server name (SNI) or an ALPN
/// protocol: the handler's own TLS sets the target host to the URL's host and ALPN to its HTTP versions whatever
/// <c>SslOptions</c> say, so both settings were lost. Such a request goes to the handler as plain <c>http://</c>
/// (<c>ws://</c>) to the same host and port with the URL's authority as its Host header, and the connect callback hands the
/// handler a stream already secured with the tls-config's options (certificates, CA check, SNI, ALPN).
/// </summary>
internal static class TlsTunnel
{
    private static readonly HttpRequestOptionsKey<bool> s_marker = new("FlowFleet.TlsTunnel");

    /// <summary>True when the tls-config sets something only the tunnel can apply.</summary>
    public static bool Wanted(TlsConfigNode tls) => tls.ServerName.Length > 0 || tls.AlpnProtocol.Length > 0;

    /// <summary>
    /// The handler's connect callback: a TCP connection, secured with the options for the host when the request was routed
    /// through the tunnel (or always, for a handler used for nothing else).
    /// </summary>
    public static Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> Connect(
        Func<string, SslClientAuthenticationOptions> options, bool always = false) =>
        async (context, cancellationToken) =>
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
            var stream = new NetworkStream(socket, ownsSocket: true);
            if (!always && !(context.InitialRequestMessage.Options.TryGetValue(s_marker, out var routed) && routed))
            {
                return stream;
            }
            var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
            try
            {
                await ssl.AuthenticateAsClientAsync(options(context.DnsEndPoint.Host), cancellationToken);
                return ssl;
            }
            catch
            {
                await ssl.DisposeAsync();
                throw;
            }
        };

    /// <summary>Routes an https request through the tunnel (the Host header is set unless the message sets its own).</summary>
    public static void Route(HttpRequestMessage request)
    {
        var original = request.RequestUri!;
        request.RequestUri = Plain(original);
        request.Options.Set(s_marker, true);
        if (request.Headers.Host is null)
        {
            request.Headers.Host = original.Authority;
        }
    }

    /// <summary>The same host, port and path with the plain scheme (https → http, wss → ws).</summary>
    public static Uri Plain(Uri uri) => new UriBuilder(uri) { Scheme = uri.Scheme == "wss" ? "ws" : "http", Port = uri.Port }.Uri;

    /// <summary>The URL a user sees for a tunnelled one (the response URL after redirects on the same server).</summary>
    public static Uri Restore(Uri final, Uri original)
    {
        var plain = Plain(original);
        return final.Scheme == plain.Scheme && final.Authority == plain.Authority
            ? new UriBuilder(final) { Scheme = original.Scheme, Port = original.Port }.Uri
            : final;
    }
}
