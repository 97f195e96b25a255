using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowFleet.Fleet.Ble.Station;

/// <summary>
/// The <c>/ble</c> station protocol: JSON text frames. Server → station requests <c>{id, method, params}</c> (scan.start,
/// scan.stop, connect, read, write, subscribe, unsubscribe, disconnect) answered with <c>{id, result}</c> or <c>{id, error}</c>;
/// station → server events <c>{event:"hello"|"status"|"adv"|"notify", ...}</c>. Bytes travel as base64.
/// </summary>
public static class StationSocket
{
    /// <summary>Largest frame either side accepts (an answer chunk is at most a few hundred bytes).</summary>
    public const int MaxFrameBytes = 64 * 1024;

    public static async Task SendAsync(WebSocket socket, SemaphoreSlim gate, JsonObject frame, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(gate);
        ArgumentNullException.ThrowIfNull(frame);
        var bytes = JsonSerializer.SerializeToUtf8Bytes(frame);
        await gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await socket.SendAsync(bytes, WebSocketMessageType.Text, true, ct).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>The next JSON object, or null when the socket closed. A frame over the limit or not JSON closes it (1009/1007).</summary>
    public static async Task<JsonObject?> ReceiveAsync(WebSocket socket, byte[] buffer, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(buffer);
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.MessageTooBig, "frame too big", ct).ConfigureAwait(false);
                return null;
            }
            var r = await socket.ReceiveAsync(buffer.AsMemory(length), ct).ConfigureAwait(false);
            if (r.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }
            length += r.Count;
            if (r.EndOfMessage)
            {
                break;
            }
        }
        try
        {
            return JsonNode.Parse(buffer.AsSpan(0, length)) as JsonObject ?? throw new JsonException("not an object");
        }
        catch (JsonException)
        {
            await socket.CloseOutputAsync(WebSocketCloseStatus.InvalidPayloadData, "not a JSON object", ct).ConfigureAwait(false);
            return null;
        }
    }

    public static string? Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public static int? Int(JsonNode? n) => n is JsonValue v && v.TryGetValue<double>(out var d) && d is >= int.MinValue and <= int.MaxValue ? (int)d : null;

    public static Guid Guid(JsonNode? n) => System.Guid.TryParse(Str(n), out var g) ? g : throw new BleException("a UUID is required");

    public static byte[] Bytes(JsonNode? n)
    {
        try
        {
            return Convert.FromBase64String(Str(n) ?? "");
        }
        catch (FormatException ex)
        {
            throw new BleException("bad base64 value", ex);
        }
    }

    public static string Text(BleAdapterStatus status) => status.State.ToString();

    public static BleAdapterStatus Status(JsonNode? state, JsonNode? detail) =>
        Enum.TryParse<BleAdapterState>(Str(state), out var s) ? new BleAdapterStatus(s, Str(detail)) : new BleAdapterStatus(BleAdapterState.Unavailable, "unknown state from the station");

    internal static string Sanitize(string? name)
    {
        var clean = new StringBuilder();
        foreach (var c in name ?? "")
        {
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')
            {
                clean.Append(c);
            }
        }
        return clean.Length == 0 ? "station" : clean.ToString(0, Math.Min(40, clean.Length));
    }
}
