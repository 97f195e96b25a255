using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Fleet.Hub;

/// <summary>
/// Takes device websockets (<c>GET /shelly</c> with a websocket upgrade) straight off the socket, before Kestrel: a device
/// connection lives for days, and the transport pipes, HTTP connection and websocket stream layers Kestrel would keep for it
/// were half of what a device costs. Everything else — other paths, plain <c>GET /shelly</c>, anything not a clean RFC 6455
/// upgrade — goes to Kestrel untouched once its request head is complete (the head is only peeked at), where <c>/shelly</c> is
/// also served through <see cref="DeviceHub.HandleAsync"/>. A connection that is silent or still mid-head after
/// <see cref="FleetOptions.HeadTimeout"/> is closed without ever taking one of Kestrel's connection slots.
/// </summary>
public static class DeviceConnections
{
    internal const int MaxHead = 8 * 1024;
    private static readonly byte[] Prefix = "GET /shelly"u8.ToArray();
    private static readonly byte[] HeadEnd = "\r\n\r\n"u8.ToArray();
    internal static readonly byte[] Refused = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 30\r\nConnection: close\r\n\r\n"u8.ToArray();

    /// <summary>Serves <c>/shelly</c> this way on every TCP endpoint Kestrel listens on (a transport of ours in front of
    /// Kestrel's socket transport, <see cref="DeviceListenerFactory"/>); at most <paramref name="maxDevices"/> at once. Device
    /// connections plus connections accepted and not yet sorted stay within <paramref name="maxDevices"/> +
    /// <paramref name="burst"/>: beyond that a new connection is closed at once.</summary>
    public static IWebHostBuilder UseDeviceConnections(this IWebHostBuilder web, long maxDevices, int burst = 256)
    {
        ArgumentNullException.ThrowIfNull(web);
        return web.ConfigureServices(services => services.AddSingleton<IConnectionListenerFactory>(sp => new DeviceListenerFactory(sp, maxDevices, burst)));
    }

    /// <summary>What a device's upgrade request says.</summary>
    internal sealed record Handshake(int Length, string Key, string? Token, bool JsonRpc);

    internal enum Verdict
    {
        Device,
        NotDevice,
        NeedMore,
    }

    /// <summary>Decides from the first bytes whether a connection is a device's websocket upgrade on <c>/shelly</c>.</summary>
    internal static Verdict Parse(ReadOnlySequence<byte> buffer, out Handshake? handshake)
    {
        handshake = null;
        ReadOnlySpan<byte> head = buffer.IsSingleSegment ? buffer.FirstSpan : buffer.ToArray();
        var prefix = Math.Min(head.Length, Prefix.Length);
        if (!head[..prefix].SequenceEqual(Prefix.AsSpan(0, prefix)))
        {
            return Verdict.NotDevice;
        }
        if (head.Length <= Prefix.Length)
        {
            return Verdict.NeedMore;
        }
        if (head[Prefix.Length] is not ((byte)' ' or (byte)'?' or (byte)'/'))
        {
            return Verdict.NotDevice;
        }
        var end = head.IndexOf(HeadEnd);
        if (end < 0)
        {
            return Verdict.NeedMore;
        }
        var lines = Encoding.ASCII.GetString(head[..end]).Split("\r\n");
        var request = lines[0].Split(' ');
        if (request.Length != 3 || request[2] != "HTTP/1.1")
        {
            return Verdict.NotDevice;
        }
        var target = request[1];
        var query = target.IndexOf('?', StringComparison.Ordinal);
        if ((query < 0 ? target : target[..query]) is not ("/shelly" or "/shelly/"))
        {
            return Verdict.NotDevice;
        }
        string? upgrade = null, connection = null, key = null, version = null, protocols = null;
        foreach (var line in lines.AsSpan(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                return Verdict.NotDevice;
            }
            var value = line[(colon + 1)..].Trim();
            switch (line[..colon].Trim().ToLowerInvariant())
            {
                case "upgrade":
                    upgrade = value;
                    break;
                case "connection":
                    connection = value;
                    break;
                case "sec-websocket-key":
                    key = value;
                    break;
                case "sec-websocket-version":
                    version = value;
                    break;
                case "sec-websocket-protocol":
                    protocols = protocols is null ? value : protocols + "," + value;
                    break;
            }
        }
        if (!HasToken(upgrade, "websocket") || !HasToken(connection, "upgrade") || version != "13" || !IsKey(key))
        {
            return Verdict.NotDevice;
        }
        var token = query < 0 ? null : QueryHelpers.ParseQuery(target[query..]).GetValueOrDefault("token").ToString();
        handshake = new Handshake(end + HeadEnd.Length, key!, string.IsNullOrEmpty(token) ? null : token, HasToken(protocols, "json-rpc"));
        return Verdict.Device;
    }

    /// <summary>
    /// True when the bytes hold a whole HTTP/1 request head, or are not plain HTTP/1 at all (a TLS hello, binary): then
    /// there is nothing to wait for here and Kestrel takes over.
    /// </summary>
    internal static bool HeadComplete(ReadOnlySpan<byte> head) =>
        head.Length > 0 && (head[0] is < (byte)'A' or > (byte)'Z' || head.IndexOf(HeadEnd) >= 0);

    private static bool HasToken(string? list, string token) =>
        list is not null && list.Split(',').Any(t => t.Trim().Equals(token, StringComparison.OrdinalIgnoreCase));

    private static bool IsKey(string? key)
    {
        Span<byte> decoded = stackalloc byte[18];
        return key is { Length: 24 } && Convert.TryFromBase64String(key, decoded, out var n) && n == 16;
    }

    /// <summary>The 101 answer of RFC 6455 §4.2.2.</summary>
    internal static byte[] Accept(Handshake handshake)
    {
#pragma warning disable CA5350 // RFC 6455 defines the accept value with SHA-1; it is not used for security here.
        var accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(handshake.Key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
#pragma warning restore CA5350
        var protocol = handshake.JsonRpc ? "Sec-WebSocket-Protocol: json-rpc\r\n" : "";
        return Encoding.ASCII.GetBytes($"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: {accept}\r\n{protocol}\r\n");
    }
}
