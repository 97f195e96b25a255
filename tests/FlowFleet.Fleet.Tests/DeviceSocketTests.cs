using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using FlowFleet.Fleet.Hub;

namespace FlowFleet.Fleet.Tests;

/// <summary>The server end of a direct device websocket, against hand-made RFC 6455 frames on a loopback socket.</summary>
public sealed class DeviceSocketTests : IAsyncLifetime
{
    private static readonly byte[] Mask = [0x37, 0xfa, 0x21, 0x3d];
    private Socket _device = null!;
    private DeviceSocket _server = null!;

    public async Task InitializeAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        _device = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await _device.ConnectAsync(listener.LocalEndPoint!);
        _server = new DeviceSocket(await listener.AcceptAsync(), "json-rpc");
    }

    public Task DisposeAsync()
    {
        _server.Dispose();
        _device.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>A client frame: masked, as RFC 6455 §5.3 requires of clients.</summary>
    internal static byte[] Frame(int opcode, byte[] payload, bool fin = true, bool masked = true)
    {
        var extra = payload.Length < 126 ? 0 : payload.Length <= ushort.MaxValue ? 2 : 8;
        var frame = new byte[2 + extra + (masked ? 4 : 0) + payload.Length];
        frame[0] = (byte)((fin ? 0x80 : 0) | opcode);
        frame[1] = (byte)((masked ? 0x80 : 0) | (extra == 0 ? payload.Length : extra == 2 ? 126 : 127));
        if (extra == 2)
        {
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)payload.Length);
        }
        else if (extra == 8)
        {
            BinaryPrimitives.WriteUInt64BigEndian(frame.AsSpan(2), (ulong)payload.Length);
        }
        var at = 2 + extra;
        if (masked)
        {
            Mask.CopyTo(frame, at);
            at += 4;
        }
        for (var i = 0; i < payload.Length; i++)
        {
            frame[at + i] = (byte)(payload[i] ^ (masked ? Mask[i & 3] : 0));
        }
        return frame;
    }

    private async Task SendInPiecesAsync(byte[] bytes, int piece)
    {
        foreach (var chunk in bytes.Chunk(piece))
        {
            await _device.SendAsync(chunk);
            await Task.Delay(2);
        }
    }

    /// <summary>Reads one server frame: (fin, opcode, payload); server frames carry no mask.</summary>
    private async Task<(bool Fin, int Opcode, byte[] Payload)> ReadServerFrameAsync()
    {
        var head = await ReadExactlyAsync(2);
        Assert.Equal(0, head[1] & 0x80);
        var len = (long)(head[1] & 0x7f);
        if (len == 126)
        {
            len = BinaryPrimitives.ReadUInt16BigEndian(await ReadExactlyAsync(2));
        }
        else if (len == 127)
        {
            len = (long)BinaryPrimitives.ReadUInt64BigEndian(await ReadExactlyAsync(8));
        }
        return ((head[0] & 0x80) != 0, head[0] & 0x0f, await ReadExactlyAsync((int)len));
    }

    private async Task<byte[]> ReadExactlyAsync(int count)
    {
        var buffer = new byte[count];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        for (var read = 0; read < count;)
        {
            var n = await _device.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, timeout.Token);
            Assert.NotEqual(0, n);
            read += n;
        }
        return buffer;
    }

    private async Task<(string Text, WebSocketMessageType Type)> ReceiveMessageAsync(int chunk)
    {
        var text = new MemoryStream();
        var buffer = new byte[chunk];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        // The hub's way: a zero-byte read first, then the message in pieces.
        var peek = await _server.ReceiveAsync(Memory<byte>.Empty, timeout.Token);
        Assert.Equal(0, peek.Count);
        while (true)
        {
            var r = await _server.ReceiveAsync(buffer.AsMemory(), timeout.Token);
            text.Write(buffer, 0, r.Count);
            if (r.EndOfMessage || r.MessageType == WebSocketMessageType.Close)
            {
                return (Encoding.UTF8.GetString(text.ToArray()), r.MessageType);
            }
        }
    }

    [Fact]
    public async Task A_fragmented_masked_message_arrives_whole_whatever_the_pieces()
    {
        var part1 = new string('a', 300) + "é";
        var part2 = new string('z', 70_000);
        var bytes = Frame(1, Encoding.UTF8.GetBytes(part1), fin: false)
            .Concat(Frame(9, "are you there"u8.ToArray()))
            .Concat(Frame(0, Encoding.UTF8.GetBytes(part2), fin: true))
            .Concat(Frame(1, "{}"u8.ToArray()))
            .ToArray();
        var sending = SendInPiecesAsync(bytes, 4_999);
        var (text, type) = await ReceiveMessageAsync(7);
        Assert.Equal((part1 + part2, WebSocketMessageType.Text), (text, type));
        Assert.Equal("{}", (await ReceiveMessageAsync(4096)).Text);
        await sending;
        // The ping in the middle of the message was answered with its payload.
        var pong = await ReadServerFrameAsync();
        Assert.Equal((true, 10, "are you there"), (pong.Fin, pong.Opcode, Encoding.UTF8.GetString(pong.Payload)));
    }

    [Fact]
    public async Task Frames_sent_carry_the_right_length_form_and_no_mask()
    {
        foreach (var size in new[] { 5, 125, 126, 300, 65_535, 65_536, 100_000 })
        {
            var payload = Encoding.ASCII.GetBytes(new string('x', size));
            await _server.SendAsync(payload.AsMemory(), WebSocketMessageType.Text, true, CancellationToken.None);
            var frame = await ReadServerFrameAsync();
            Assert.Equal((true, 1, size), (frame.Fin, frame.Opcode, frame.Payload.Length));
        }
        // A message sent in two parts: text, then continuation.
        await _server.SendAsync("ab"u8.ToArray().AsMemory(), WebSocketMessageType.Text, false, CancellationToken.None);
        await _server.SendAsync("cd"u8.ToArray().AsMemory(), WebSocketMessageType.Text, true, CancellationToken.None);
        var first = await ReadServerFrameAsync();
        var second = await ReadServerFrameAsync();
        Assert.Equal((false, 1, true, 0), (first.Fin, first.Opcode, second.Fin, second.Opcode));
    }

    [Theory]
    [InlineData(new byte[] { 0x03, 0xe7 }, 1002)]
    [InlineData(new byte[] { 0x03, 0xed }, 1002)]
    [InlineData(new byte[] { 0x03, 0xee }, 1002)]
    [InlineData(new byte[] { 0x07, 0xd0 }, 1002)]
    [InlineData(new byte[] { 0x03 }, 1002)]
    [InlineData(new byte[] { 0x03, 0xe8, 0xff, 0xfe }, 1007)]
    [InlineData(new byte[] { 0x0f, 0xa0 }, 4000)]
    public async Task An_invalid_close_code_is_answered_with_1002_not_echoed(byte[] payload, int answer)
    {
        // Issue 13 item 13: 999 (and 1005, 1006, 2000, a 1-byte payload) may not be sent by a peer; a reason must be UTF-8.
        await _device.SendAsync(Frame(8, payload));
        Assert.Equal(WebSocketMessageType.Close, (await ReceiveMessageAsync(64)).Type);
        var echo = await ReadServerFrameAsync();
        Assert.Equal((8, answer), (echo.Opcode, (int)BinaryPrimitives.ReadUInt16BigEndian(echo.Payload)));
    }

    [Fact]
    public async Task An_endless_run_of_empty_fragments_is_a_protocol_error()
    {
        await _device.SendAsync(Frame(1, [], fin: false));
        for (var i = 0; i < 40; i++)
        {
            await _device.SendAsync(Frame(0, [], fin: false));
        }
        await Assert.ThrowsAsync<WebSocketException>(async () =>
        {
            for (var i = 0; i < 100; i++)
            {
                await _server.ReceiveAsync(new byte[16].AsMemory(), CancellationToken.None);
            }
        });
        var close = await ReadServerFrameAsync();
        Assert.Equal((8, 1002), (close.Opcode, (int)BinaryPrimitives.ReadUInt16BigEndian(close.Payload)));
    }

    [Fact]
    public async Task A_close_from_the_device_is_echoed_with_its_code()
    {
        var payload = new byte[] { 0x03, 0xe9 }.Concat("going away"u8.ToArray()).ToArray();
        await _device.SendAsync(Frame(8, payload));
        var (_, type) = await ReceiveMessageAsync(64);
        Assert.Equal(WebSocketMessageType.Close, type);
        Assert.Equal((WebSocketCloseStatus.EndpointUnavailable, "going away", WebSocketState.Closed), (_server.CloseStatus, _server.CloseStatusDescription, _server.State));
        var echo = await ReadServerFrameAsync();
        Assert.Equal((8, 1001), (echo.Opcode, (int)BinaryPrimitives.ReadUInt16BigEndian(echo.Payload)));
        await Assert.ThrowsAsync<WebSocketException>(() => _server.SendAsync("late"u8.ToArray().AsMemory(), WebSocketMessageType.Text, true, CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task The_server_closes_first_and_the_device_answers()
    {
        await _server.CloseOutputAsync(WebSocketCloseStatus.PolicyViolation, "Rate limit", CancellationToken.None);
        Assert.Equal(WebSocketState.CloseSent, _server.State);
        var close = await ReadServerFrameAsync();
        Assert.Equal((8, 1008, "Rate limit"), (close.Opcode, (int)BinaryPrimitives.ReadUInt16BigEndian(close.Payload), Encoding.UTF8.GetString(close.Payload, 2, close.Payload.Length - 2)));
        await _device.SendAsync(Frame(8, close.Payload[..2]));
        Assert.Equal(WebSocketMessageType.Close, (await ReceiveMessageAsync(64)).Type);
        Assert.Equal(WebSocketState.Closed, _server.State);
    }

    [Fact]
    public async Task An_unmasked_frame_is_a_protocol_error()
    {
        await _device.SendAsync(Frame(1, "{}"u8.ToArray(), masked: false));
        await Assert.ThrowsAsync<WebSocketException>(() => ReceiveMessageAsync(64));
        var close = await ReadServerFrameAsync();
        Assert.Equal((8, 1002), (close.Opcode, (int)BinaryPrimitives.ReadUInt16BigEndian(close.Payload)));
        Assert.Equal(WebSocketState.Aborted, _server.State);
    }

    [Fact]
    public async Task A_continuation_without_a_message_is_a_protocol_error()
    {
        await _device.SendAsync(Frame(0, "{}"u8.ToArray()));
        await Assert.ThrowsAsync<WebSocketException>(() => ReceiveMessageAsync(64));
    }

    [Fact]
    public async Task A_device_that_goes_quiet_is_pinged_then_cut_off()
    {
        var now = Environment.TickCount64;
        _server.KeepAlive(now, 1_000, 2_000);
        _server.KeepAlive(now + 1_000, 1_000, 2_000);
        // One ping per interval however often the sweep looks.
        _server.KeepAlive(now + 1_200, 1_000, 2_000);
        var ping = await ReadServerFrameAsync();
        Assert.Equal(9, ping.Opcode);
        using (var none = new CancellationTokenSource(TimeSpan.FromMilliseconds(200)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await _device.ReceiveAsync(new byte[16].AsMemory(), SocketFlags.None, none.Token));
        }
        Assert.Equal(WebSocketState.Open, _server.State);
        _server.KeepAlive(now + 2_000, 1_000, 2_000);
        Assert.Equal(WebSocketState.Aborted, _server.State);
    }

    [Fact]
    public async Task A_pong_or_any_frame_counts_as_a_sign_of_life()
    {
        await _device.SendAsync(Frame(10, []));
        await _device.SendAsync(Frame(1, "{}"u8.ToArray()));
        Assert.Equal("{}", (await ReceiveMessageAsync(64)).Text);
        _server.KeepAlive(Environment.TickCount64 + 500, 1_000, 2_000);
        Assert.Equal(WebSocketState.Open, _server.State);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public void Unmasking_from_any_offset_matches_the_bytewise_rule(int offset)
    {
        var data = Enumerable.Range(0, 37).Select(i => (byte)(i * 7)).ToArray();
        var expected = data.Select((b, i) => (byte)(b ^ Mask[(offset + i) & 3])).ToArray();
        DeviceSocket.Unmask(data, BinaryPrimitives.ReadUInt32LittleEndian(Mask), offset);
        Assert.Equal(expected, data);
    }
}
