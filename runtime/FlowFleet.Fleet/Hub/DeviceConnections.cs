using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Fleet.Hub;

/// <summary>
/// Takes device websockets (<c>GET /shelly</c> with a websocket upgrade) straight off the connection, before Kestrel's HTTP
/// layer: a device connection lives for days, and the HTTP connection, request and response objects Kestrel would keep
/// for it are a third of what a device costs. Everything else — other paths, plain <c>GET /shelly</c>, anything not a clean
/// RFC 6455 upgrade, a head that is slow to arrive — passes to Kestrel untouched (nothing is consumed), where <c>/shelly</c>
/// is also served through <see cref="DeviceHub.HandleAsync"/>.
/// </summary>
public static class DeviceConnections
{
    private const int MaxHead = 8 * 1024;
    private static readonly byte[] Prefix = "GET /shelly"u8.ToArray();
    private static readonly byte[] HeadEnd = "\r\n\r\n"u8.ToArray();
    private static readonly byte[] Refused = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 30\r\nConnection: close\r\n\r\n"u8.ToArray();

    /// <summary>Serves <c>/shelly</c> this way on every endpoint Kestrel listens on; at most <paramref name="maxDevices"/> at once.</summary>
    public static KestrelServerOptions UseDeviceConnections(this KestrelServerOptions kestrel, long maxDevices)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        kestrel.ConfigureEndpointDefaults(listen => listen.Use(next =>
        {
            DeviceHub? hub = null;
            return connection => ServeAsync(connection, next, hub ??= listen.ApplicationServices.GetRequiredService<DeviceHub>(), maxDevices);
        }));
        return kestrel;
    }

    /// <summary>What a device's upgrade request says.</summary>
    internal sealed record Handshake(int Length, string Key, string? Token, bool JsonRpc);

    internal enum Verdict
    {
        Device,
        NotDevice,
        NeedMore,
    }

    private static async Task ServeAsync(ConnectionContext connection, ConnectionDelegate next, DeviceHub hub, long maxDevices)
    {
        var handshake = await ReadHandshakeAsync(connection.Transport.Input, hub).ConfigureAwait(false);
        if (handshake is null)
        {
            await next(connection).ConfigureAwait(false);
            return;
        }
        var output = connection.Transport.Output;
        if (!hub.TryOpenDirect(maxDevices))
        {
            // At the connection budget (see the server's ConnectionBudget): the device retries later.
            await output.WriteAsync(Refused).ConfigureAwait(false);
            return;
        }
        try
        {
            await output.WriteAsync(Accept(handshake)).ConfigureAwait(false);
            using var stream = new DuplexPipeStream(connection.Transport);
            using var socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions
            {
                IsServer = true,
                SubProtocol = handshake.JsonRpc ? "json-rpc" : null,
                KeepAliveInterval = hub.Options.PingInterval,
                KeepAliveTimeout = hub.Options.PingTimeout,
            });
            var remote = (connection.RemoteEndPoint as IPEndPoint)?.Address.ToString();
            await hub.ServeAsync(socket, remote, handshake.Token, connection.ConnectionClosed).ConfigureAwait(false);
        }
        finally
        {
            hub.CloseDirect();
        }
    }

    /// <summary>Reads the request head when it is a device's upgrade; otherwise leaves every byte in the pipe and returns null.</summary>
    private static async Task<Handshake?> ReadHandshakeAsync(PipeReader input, DeviceHub hub)
    {
        // A head that takes longer than a device's first frame may goes to Kestrel, whose own timeouts then apply.
        using var deadline = new CancellationTokenSource();
        hub.TrackHandshake(deadline);
        try
        {
            while (true)
            {
                ReadResult read;
                try
                {
                    read = await input.ReadAsync(deadline.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return null;
                }
                var buffer = read.Buffer;
                var verdict = Parse(buffer.Length > MaxHead ? buffer.Slice(0, MaxHead) : buffer, out var handshake);
                if (verdict == Verdict.Device)
                {
                    input.AdvanceTo(buffer.GetPosition(handshake!.Length));
                    return handshake;
                }
                if (verdict == Verdict.NeedMore && !read.IsCompleted && buffer.Length < MaxHead)
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                    continue;
                }
                input.AdvanceTo(buffer.Start);
                return null;
            }
        }
        finally
        {
            hub.ForgetHandshake(deadline);
        }
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
