using System.Collections.Concurrent;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Network;

/// <summary>How the network nodes turn payloads into bytes and back, as Node's <c>Buffer</c> does.</summary>
internal static class NetData
{
    /// <summary>A buffer as is; a string (base64-decoded when asked); anything else as JavaScript's <c>""+value</c>.</summary>
    public static byte[] ToBytes(JsonNode? payload, bool base64)
    {
        if (JsonTools.IsBuffer(payload))
        {
            return JsonTools.BufferBytes(payload!);
        }
        if (base64 && JsonTools.IsString(payload, out var b64))
        {
            try
            {
                return Convert.FromBase64String(b64);
            }
            catch (FormatException)
            {
                return [];
            }
        }
        return Encoding.UTF8.GetBytes(JsString(payload));
    }

    /// <summary>JavaScript's <c>""+value</c>: objects are "[object Object]", arrays their items joined with commas.</summary>
    public static string JsString(JsonNode? v) => v switch
    {
        JsonObject => "[object Object]",
        JsonArray a => string.Join(",", a.Select(x => x is null ? "" : JsString(x))),
        _ => JsonTools.ToJsString(v),
    };

    public static JsonNode Decode(ReadOnlySpan<byte> data, string datatype) => datatype switch
    {
        "utf8" => JsonValue.Create(Encoding.UTF8.GetString(data)),
        "base64" => JsonValue.Create(Convert.ToBase64String(data)),
        _ => JsonTools.Buffer(data),
    };

    public static string Unescape(string? s) => (s ?? "").Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\r", "\r", StringComparison.Ordinal).Replace("\\t", "\t", StringComparison.Ordinal);

    public static JsonObject Session(string id, string type = "tcp") => new() { ["type"] = type, ["id"] = id };
}

/// <summary>
/// One open TCP connection that reply nodes can write to by its session id: <see cref="Stream"/> is the socket's own
/// stream, or the TLS stream over it when the node uses a tls-config.
/// </summary>
internal sealed class TcpSession(Socket socket, Stream stream) : IDisposable
{
    private readonly SemaphoreSlim _write = new(1, 1);

    public string Id { get; } = MessageId.New();

    public Socket Socket { get; } = socket;

    public Stream Stream { get; } = stream;

    public async Task WriteAsync(byte[] data, CancellationToken ct = default)
    {
        try
        {
            await _write.WaitAsync(ct);
        }
        catch (ObjectDisposedException)
        {
            return;
        }
        try
        {
            await Stream.WriteAsync(data, ct);
        }
        catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException or NotSupportedException)
        {
            // The peer went away: the read loop reports the close.
        }
        finally
        {
            _write.Release();
        }
    }

    /// <summary>Half-closes after sending what was written (Node's <c>socket.end()</c>); TLS says goodbye (close_notify) first.</summary>
    public void End() => _ = EndAsync();

    public async Task EndAsync()
    {
        try
        {
            if (Stream is SslStream ssl)
            {
                await _write.WaitAsync();
                try
                {
                    await ssl.ShutdownAsync();
                }
                finally
                {
                    _write.Release();
                }
            }
            Socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException or InvalidOperationException or NotSupportedException)
        {
        }
    }

    public void Dispose()
    {
        TcpSessions.Pool.TryRemove(Id, out _);
        Stream.Dispose();
        Socket.Dispose();
    }
}

/// <summary>Node-RED's <c>connectionPool</c>: every tcp in connection by id, so a tcp out in reply mode can answer it.</summary>
internal static class TcpSessions
{
    public static ConcurrentDictionary<string, TcpSession> Pool { get; } = new(StringComparer.Ordinal);

    public static TcpSession Add(Socket socket, Stream stream)
    {
        var s = new TcpSession(socket, stream);
        Pool[s.Id] = s;
        return s;
    }
}

/// <summary>The TLS handshake of the tcp nodes (Node's <c>tls.connect</c> / <c>tls.createServer</c>), or the plain socket stream.</summary>
internal static class TcpTls
{
    private static readonly TimeSpan s_handshakeTimeout = TimeSpan.FromSeconds(10);

    /// <summary>True for what a failed handshake or a broken connection throws.</summary>
    public static bool IsFailure(Exception ex) =>
        ex is System.Security.Authentication.AuthenticationException or IOException or SocketException or InvalidOperationException or ObjectDisposedException or OperationCanceledException;

    public static async Task<Stream> ClientAsync(Socket socket, TlsConfigNode? tls, string host, CancellationToken ct)
    {
        var plain = new NetworkStream(socket, ownsSocket: false);
        if (tls is null)
        {
            return plain;
        }
        var ssl = new SslStream(plain, leaveInnerStreamOpen: false);
        string? refused = null;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(s_handshakeTimeout);
            await ssl.AuthenticateAsClientAsync(tls.ClientOptions(host, rejected: why => refused = why), timeout.Token);
            return ssl;
        }
        catch (System.Security.Authentication.AuthenticationException ex) when (refused is not null)
        {
            await ssl.DisposeAsync();
            throw new System.Security.Authentication.AuthenticationException(refused, ex);
        }
        catch
        {
            await ssl.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Accepts connections until <paramref name="ct"/> ends (tcp in and tcp out as servers). Each connection's TLS handshake,
    /// when <paramref name="options"/> are given, runs off the accept loop; a failed one is logged and closed, and
    /// <paramref name="serve"/> gets the socket and its stream.
    /// </summary>
    public static async Task AcceptLoopAsync(TcpListener listener, SslServerAuthenticationOptions? options, INodeHost node, Func<Socket, Stream, Task> serve, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync(ct);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = Task.Run(async () =>
            {
                Stream stream;
                try
                {
                    stream = await ServerAsync(socket, options, ct);
                }
                catch (Exception ex) when (IsFailure(ex))
                {
                    node.Log($"TLS handshake with {socket.RemoteEndPoint} failed: {ex.Message}");
                    socket.Dispose();
                    return;
                }
                await serve(socket, stream);
            }, CancellationToken.None);
        }
    }

    public static async Task<Stream> ServerAsync(Socket socket, SslServerAuthenticationOptions? options, CancellationToken ct)
    {
        var plain = new NetworkStream(socket, ownsSocket: false);
        if (options is null)
        {
            return plain;
        }
        var ssl = new SslStream(plain, leaveInnerStreamOpen: false);
        try
        {
            // A client that never finishes its hello must not hold the connection for ever.
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(s_handshakeTimeout);
            await ssl.AuthenticateAsServerAsync(options, timeout.Token);
            return ssl;
        }
        catch
        {
            await ssl.DisposeAsync();
            throw;
        }
    }
}
