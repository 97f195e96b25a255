using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FlowFleet.Fleet.Hub;

/// <summary>Kestrel's transport for TCP endpoints when devices connect directly (see <see cref="DeviceConnections"/>);
/// other endpoints (Unix sockets, handles) stay with Kestrel's own socket transport.</summary>
internal sealed class DeviceListenerFactory(IServiceProvider services, long maxDevices, int burst) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        var transport = services.GetRequiredService<IOptions<SocketTransportOptions>>().Value;
        var contexts = new SocketConnectionContextFactory(new SocketConnectionFactoryOptions
        {
            IOQueueCount = transport.IOQueueCount,
            WaitForDataBeforeAllocatingBuffer = transport.WaitForDataBeforeAllocatingBuffer,
            MaxReadBufferSize = transport.MaxReadBufferSize,
            MaxWriteBufferSize = transport.MaxWriteBufferSize,
            UnsafePreferInlineScheduling = transport.UnsafePreferInlineScheduling,
        }, services.GetRequiredService<ILoggerFactory>().CreateLogger("Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets"));
        var listener = new DeviceListener((IPEndPoint)endpoint, services.GetRequiredService<DeviceHub>(), contexts, maxDevices, burst, transport.Backlog);
        return new ValueTask<IConnectionListener>(listener);
    }
}

/// <summary>
/// Accepts the TCP connections of one endpoint and sorts them by their first bytes, which it only peeks at: a device's
/// websocket upgrade on <c>/shelly</c> is answered here and served on the bare socket (<see cref="DeviceSocket"/>); every
/// other connection is handed to Kestrel with nothing consumed, as Kestrel's own socket transport would have.
/// </summary>
internal sealed class DeviceListener : IConnectionListener
{
    private readonly Socket _listen;
    private readonly DeviceHub _hub;
    private readonly SocketConnectionContextFactory _contexts;
    private readonly long _maxDevices;
    private readonly long _maxHeld;
    // Sockets accepted and not yet a device, handed to Kestrel or closed: every one is a file descriptor, and a process
    // out of descriptors dies (the JIT needs one), so devices plus these stay within the device budget plus a burst.
    private int _unsorted;
    private readonly UnsortedConnections _sorting;
    private readonly Channel<ConnectionContext> _http = Channel.CreateUnbounded<ConnectionContext>();
    private readonly Task _accepting;
    private int _unbound;

    public DeviceListener(IPEndPoint endpoint, DeviceHub hub, SocketConnectionContextFactory contexts, long maxDevices, int burst, int backlog)
    {
        _hub = hub;
        _contexts = contexts;
        _maxDevices = maxDevices;
        _maxHeld = maxDevices > long.MaxValue - burst ? long.MaxValue : maxDevices + burst;
        _sorting = new UnsortedConnections(hub.Options.MaxUnsortedPerAddress, TimeSpan.FromSeconds(1));
        _listen = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (endpoint.Address.Equals(IPAddress.IPv6Any))
        {
            _listen.DualMode = true;
        }
        try
        {
            _listen.Bind(endpoint);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            _listen.Dispose();
            throw new AddressInUseException(ex.Message, ex);
        }
        _listen.Listen(backlog);
        EndPoint = _listen.LocalEndPoint!;
        _accepting = AcceptLoopAsync();
    }

    public EndPoint EndPoint { get; }

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                Socket socket;
                try
                {
                    socket = await _listen.AcceptAsync().ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException && Volatile.Read(ref _unbound) == 1)
                {
                    return;
                }
                catch (SocketException)
                {
                    // Out of descriptors, or the connection reset before it was accepted: try again shortly.
                    await Task.Delay(10).ConfigureAwait(false);
                    continue;
                }
                if (Interlocked.Increment(ref _unsorted) + _hub.DirectConnections > _maxHeld)
                {
                    // Devices and connections being sorted would pass the budget (a storm at the ceiling): closed at
                    // once, the device retries with its backoff.
                    Interlocked.Decrement(ref _unsorted);
                    _hub.CountRefused(_maxDevices);
                    socket.Dispose();
                    continue;
                }
                socket.NoDelay = true;
                _ = SortAsync(socket);
            }
        }
        finally
        {
            _http.Writer.TryComplete();
        }
    }

    private async Task SortAsync(Socket socket)
    {
        var address = (socket.RemoteEndPoint as IPEndPoint)?.Address;
        var entry = _sorting.Add(address is { IsIPv4MappedToIPv6: true } ? address.MapToIPv4() : address);
        (Sorted, DeviceConnections.Handshake?) sorted;
        try
        {
            // The hub's sweep cancels it at the head deadline (no timer per connection); a newer connection from the same
            // address may cancel it sooner (UnsortedConnections).
            _hub.TrackHandshake(entry.Cancel, _hub.Options.HeadTimeout);
            sorted = await PeekHeadAsync(socket, entry.Cancel.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            sorted = (Sorted.Drop, null);
        }
        finally
        {
            _hub.ForgetHandshake(entry.Cancel);
            _sorting.Remove(entry);
            entry.Dispose();
        }
        switch (sorted)
        {
            case (Sorted.Device, { } handshake):
                // Not awaited: this method's state would otherwise live as long as the device's connection.
                _ = ServeDeviceAsync(socket, handshake);
                return;
            case (Sorted.Drop, _):
                // Silent, too slow or pushed out: it never reaches Kestrel, whose connection slots stay free for requests.
                _hub.CountIdleClosed();
                socket.Dispose();
                Interlocked.Decrement(ref _unsorted);
                return;
        }
        // Kestrel counts it from here (MaxConcurrentConnections).
        Interlocked.Decrement(ref _unsorted);
        try
        {
            if (_http.Writer.TryWrite(_contexts.Create(socket)))
            {
                return;
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Reset by the client before it could be handed on.
        }
        socket.Dispose();
    }

    private enum Sorted
    {
        Device,
        Http,
        Drop,
    }

    /// <summary>
    /// Waits, only peeking, until the connection has sent a whole request head (or anything that is not plain HTTP/1, such as
    /// a TLS hello, which Kestrel's own timeouts then govern). A device's upgrade on <c>/shelly</c> is consumed and returned;
    /// a connection silent or still mid-head at the deadline (cancelled <paramref name="ct"/>) is dropped.
    /// </summary>
    private static async Task<(Sorted, DeviceConnections.Handshake?)> PeekHeadAsync(Socket socket, CancellationToken ct)
    {
        var head = ArrayPool<byte>.Shared.Rent(DeviceConnections.MaxHead);
        try
        {
            var seen = 0;
            var pause = 5;
            while (true)
            {
                int n;
                try
                {
                    if (seen > 0)
                    {
                        // A peek returns at once while anything is buffered: wait for more, backing off while a slow
                        // sender trickles (a slowloris connection costs a few peeks a second, not two hundred).
                        await Task.Delay(pause, ct).ConfigureAwait(false);
                    }
                    n = await socket.ReceiveAsync(head.AsMemory(0, DeviceConnections.MaxHead), SocketFlags.Peek, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return (Sorted.Drop, null);
                }
                if (n == 0)
                {
                    // Closed before it said anything.
                    return (Sorted.Drop, null);
                }
                var verdict = DeviceConnections.Parse(new ReadOnlySequence<byte>(head, 0, n), out var handshake);
                if (verdict == DeviceConnections.Verdict.Device)
                {
                    for (var taken = 0; taken < handshake!.Length;)
                    {
                        var r = await socket.ReceiveAsync(head.AsMemory(taken, handshake.Length - taken), SocketFlags.None).ConfigureAwait(false);
                        if (r == 0)
                        {
                            return (Sorted.Drop, null);
                        }
                        taken += r;
                    }
                    return (Sorted.Device, handshake);
                }
                if (n >= DeviceConnections.MaxHead || DeviceConnections.HeadComplete(head.AsSpan(0, n)))
                {
                    return (Sorted.Http, null);
                }
                pause = n > seen ? 5 : Math.Min(pause * 2, 500);
                seen = n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(head);
        }
    }

    private async Task ServeDeviceAsync(Socket socket, DeviceConnections.Handshake handshake)
    {
        if (!_hub.TryOpenDirect(_maxDevices))
        {
            // At the connection budget (see the server's ConnectionBudget): the device retries later.
            try
            {
                await socket.SendAsync(DeviceConnections.Refused, SocketFlags.None).ConfigureAwait(false);
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
            socket.Dispose();
            Interlocked.Decrement(ref _unsorted);
            return;
        }
        // Counted as a device from here.
        Interlocked.Decrement(ref _unsorted);
        try
        {
            await socket.SendAsync(DeviceConnections.Accept(handshake), SocketFlags.None).ConfigureAwait(false);
            using var websocket = new DeviceSocket(socket, handshake.JsonRpc ? "json-rpc" : null);
            var address = (socket.RemoteEndPoint as IPEndPoint)?.Address;
            var remote = address is { IsIPv4MappedToIPv6: true } ? address.MapToIPv4().ToString() : address?.ToString();
            await _hub.ServeAsync(websocket, remote, handshake.Token, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or WebSocketException or ObjectDisposedException)
        {
        }
        catch (Exception ex)
        {
            // Nothing awaits this task: say what went wrong rather than lose it.
            _hub.LogConnectionFailed(ex);
        }
        finally
        {
            _hub.CloseDirect();
            socket.Dispose();
        }
    }

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        while (await _http.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (_http.Reader.TryRead(out var connection))
            {
                return connection;
            }
        }
        return null;
    }

    public async ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _unbound, 1) == 0)
        {
            _listen.Dispose();
        }
        await _accepting.ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await UnbindAsync().ConfigureAwait(false);
        while (_http.Reader.TryRead(out var connection))
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
        // Device connections are this transport's own: they end with it.
        foreach (var session in _hub.Sessions)
        {
            if (session.Socket is DeviceSocket socket)
            {
                socket.Abort();
            }
        }
        _contexts.Dispose();
    }
}
