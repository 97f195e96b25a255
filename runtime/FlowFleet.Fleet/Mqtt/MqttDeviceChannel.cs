using System.Net.WebSockets;
using System.Threading.Channels;
using FlowFleet.Fleet.Hub;

namespace FlowFleet.Fleet.Mqtt;

/// <summary>
/// One Shelly device over MQTT seen as the message channel a <see cref="DeviceSession"/> talks through: frames the device
/// publishes (<c>&lt;prefix&gt;/events/rpc</c>, answers on the server's reply topic) are read as text messages, frames the
/// session sends are published to <c>&lt;prefix&gt;/rpc</c>. It ends when the device goes offline (<c>&lt;prefix&gt;/online</c>
/// false, its will) or the hub closes it. The hub, registry, fleet nodes and pages then treat it like a websocket device.
/// </summary>
internal sealed class MqttDeviceChannel(string prefix, string source, Func<byte[], Task> send, Action<MqttDeviceChannel, bool> ended) : WebSocket, IDeviceChannel
{
    // Status reports may be dropped under a flood (the next one carries the state); at most this many wait.
    private readonly Channel<byte[]> _inbox = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
    private byte[]? _current;
    private int _offset;
    private int _state = (int)WebSocketState.Open;
    private WebSocketCloseStatus? _closeStatus;
    private string? _closeDescription;
    private byte[]? _partial;

    public string Prefix => prefix;

    public string Transport => "mqtt";

    /// <summary>The server's reply topic for this device: the session's requests carry it, so no frame is rewritten on the way out.</summary>
    public string Source => source;

    public override WebSocketCloseStatus? CloseStatus => _closeStatus;

    public override string? CloseStatusDescription => _closeDescription;

    public override WebSocketState State => (WebSocketState)Volatile.Read(ref _state);

    public override string? SubProtocol => null;

    /// <summary>A frame from the device; false once the channel has ended.</summary>
    public bool Deliver(byte[] frame) => State == WebSocketState.Open && _inbox.Writer.TryWrite(frame);

    /// <summary>The device went offline: the session reads a close after the frames already queued.</summary>
    public void DeviceGone()
    {
        _closeStatus ??= WebSocketCloseStatus.NormalClosure;
        _closeDescription ??= "offline";
        _inbox.Writer.TryComplete();
    }

    public override async ValueTask<ValueWebSocketReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (_current is null)
        {
            while (!_inbox.Reader.TryRead(out _current))
            {
                if (State is not (WebSocketState.Open or WebSocketState.CloseSent)
                    || !await _inbox.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    Finish(WebSocketState.Closed);
                    return new ValueWebSocketReceiveResult(0, WebSocketMessageType.Close, true);
                }
            }
            _offset = 0;
        }
        if (buffer.IsEmpty)
        {
            return new ValueWebSocketReceiveResult(0, WebSocketMessageType.Text, false);
        }
        var n = Math.Min(buffer.Length, _current.Length - _offset);
        _current.AsSpan(_offset, n).CopyTo(buffer.Span);
        _offset += n;
        var end = _offset == _current.Length;
        if (end)
        {
            _current = null;
        }
        return new ValueWebSocketReceiveResult(n, WebSocketMessageType.Text, end);
    }

    public override async Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken)
    {
        var r = await ReceiveAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
        return new WebSocketReceiveResult(r.Count, r.MessageType, r.EndOfMessage, r.MessageType == WebSocketMessageType.Close ? _closeStatus : null, _closeDescription);
    }

    public override async ValueTask SendAsync(ReadOnlyMemory<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken)
    {
        if (State != WebSocketState.Open)
        {
            throw new WebSocketException(WebSocketError.InvalidState, $"Device {prefix} is offline");
        }
        byte[] frame;
        if (_partial is null && endOfMessage)
        {
            frame = buffer.ToArray();
        }
        else
        {
            _partial = [.. _partial ?? [], .. buffer.Span];
            if (!endOfMessage)
            {
                return;
            }
            (frame, _partial) = (_partial, null);
        }
        try
        {
            await send(frame).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or MQTTnet.Exceptions.MqttCommunicationException or ObjectDisposedException)
        {
            throw new WebSocketException(WebSocketError.ConnectionClosedPrematurely, $"Publishing to {prefix}/rpc failed: {ex.Message}", ex);
        }
    }

    public override Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken) =>
        SendAsync(buffer.AsMemory(), messageType, endOfMessage, cancellationToken).AsTask();

    /// <summary>The hub closes the session (denied, replaced, refused): the device's further frames are ignored for a while.</summary>
    public override Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _state, (int)WebSocketState.CloseSent, (int)WebSocketState.Open) == (int)WebSocketState.Open)
        {
            _closeStatus ??= closeStatus;
            _closeDescription ??= statusDescription;
            ended(this, true);
        }
        _inbox.Writer.TryComplete();
        return Task.CompletedTask;
    }

    public override Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) =>
        CloseOutputAsync(closeStatus, statusDescription, cancellationToken);

    public override void Abort()
    {
        Finish(WebSocketState.Aborted);
        _inbox.Writer.TryComplete();
    }

    private void Finish(WebSocketState state)
    {
        var old = (WebSocketState)Interlocked.Exchange(ref _state, (int)state);
        if (old == WebSocketState.Open)
        {
            ended(this, false);
        }
    }

    public override void Dispose() => Finish(WebSocketState.Closed);
}
