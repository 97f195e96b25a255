using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;

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

/// <summary>One open TCP connection that reply nodes can write to by its session id.</summary>
internal sealed class TcpSession(Socket socket) : IDisposable
{
    private readonly SemaphoreSlim _write = new(1, 1);

    public string Id { get; } = MessageId.New();

    public Socket Socket { get; } = socket;

    public async Task WriteAsync(byte[] data, CancellationToken ct = default)
    {
        await _write.WaitAsync(ct);
        try
        {
            await Socket.SendAsync(data, SocketFlags.None, ct);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // The peer went away: the read loop reports the close.
        }
        finally
        {
            _write.Release();
        }
    }

    /// <summary>Half-closes after sending what was written (Node's <c>socket.end()</c>).</summary>
    public void End()
    {
        try
        {
            Socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        TcpSessions.Pool.TryRemove(Id, out _);
        Socket.Dispose();
        _write.Dispose();
    }
}

/// <summary>Node-RED's <c>connectionPool</c>: every tcp in connection by id, so a tcp out in reply mode can answer it.</summary>
internal static class TcpSessions
{
    public static ConcurrentDictionary<string, TcpSession> Pool { get; } = new(StringComparer.Ordinal);

    public static TcpSession Add(Socket socket)
    {
        var s = new TcpSession(socket);
        Pool[s.Id] = s;
        return s;
    }
}
