using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;

namespace FlowFleet.Tests;

// Compiled into every test project (tests/Directory.Build.props links tests/Shared/*.cs).

/// <summary>
/// A TLS server on a loopback port 0 for the tls-config tests: each connection is authenticated with the test CA's server
/// certificate (and, when asked, a client certificate it issued), then handed to a handler. <see cref="Failures"/>
/// collects the handshakes that failed, so a test can tell "refused" from "never tried".
/// </summary>
internal sealed class TlsTestServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public TlsTestServer(TestPki pki, bool requireClientCertificate, Func<SslStream, CancellationToken, Task> handler)
    {
        _listener.Start();
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket socket;
                try
                {
                    socket = await _listener.AcceptSocketAsync(_stop.Token);
                }
                catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }
                _ = Task.Run(async () =>
                {
                    await using var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true));
                    try
                    {
                        await ssl.AuthenticateAsServerAsync(pki.ServerOptions(requireClientCertificate), _stop.Token);
                    }
                    catch (Exception ex) when (ex is IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException)
                    {
                        Failures.Writer.TryWrite(ex.Message);
                        return;
                    }
                    try
                    {
                        await handler(ssl, _stop.Token);
                    }
                    catch (Exception ex) when (ex is IOException or OperationCanceledException or WebSocketException or ObjectDisposedException)
                    {
                    }
                });
            }
        });
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public System.Threading.Channels.Channel<string> Failures { get; } = System.Threading.Channels.Channel.CreateUnbounded<string>();

    /// <summary>Answers one HTTP request with 200 and "hello &lt;client certificate subject or anonymous&gt;".</summary>
    public static async Task HttpHelloAsync(SslStream ssl, CancellationToken ct)
    {
        await ReadHeadAsync(ssl, ct);
        var body = Encoding.UTF8.GetBytes("hello " + (ssl.RemoteCertificate?.Subject ?? "anonymous"));
        var head = $"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n";
        await ssl.WriteAsync(Encoding.ASCII.GetBytes(head), ct);
        await ssl.WriteAsync(body, ct);
        await ssl.FlushAsync(ct);
    }

    /// <summary>Accepts a websocket upgrade, sends "hello wss" and echoes what arrives until the client closes.</summary>
    public static async Task WebSocketHelloAsync(SslStream ssl, CancellationToken ct)
    {
        var head = await ReadHeadAsync(ssl, ct);
        var key = head.Split("\r\n").Select(l => l.Split(':', 2)).First(p => p.Length == 2 && p[0].Trim().Equals("Sec-WebSocket-Key", StringComparison.OrdinalIgnoreCase))[1].Trim();
        var accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
        await ssl.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"), ct);
        using var ws = WebSocket.CreateFromStream(ssl, new WebSocketCreationOptions { IsServer = true });
        await ws.SendAsync("hello wss"u8.ToArray(), WebSocketMessageType.Text, true, ct);
        var buffer = new byte[4096];
        while (true)
        {
            var r = await ws.ReceiveAsync(buffer, ct);
            if (r.MessageType == WebSocketMessageType.Close)
            {
                await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", ct);
                return;
            }
            await ws.SendAsync(buffer.AsMemory(0, r.Count), r.MessageType, r.EndOfMessage, ct);
        }
    }

    /// <summary>Echoes every chunk back until the client closes (a TLS tcp server).</summary>
    public static async Task EchoAsync(SslStream ssl, CancellationToken ct)
    {
        var buffer = new byte[4096];
        int n;
        while ((n = await ssl.ReadAsync(buffer, ct)) > 0)
        {
            await ssl.WriteAsync(buffer.AsMemory(0, n), ct);
        }
    }

    private static async Task<string> ReadHeadAsync(Stream s, CancellationToken ct)
    {
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await s.ReadAsync(one, ct) == 0)
            {
                break;
            }
            head.Append((char)one[0]);
        }
        return head.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _loop;
        _stop.Dispose();
    }
}
