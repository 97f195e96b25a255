using System.Net;
using System.Net.Sockets;

namespace FlowFleet.Nodes.Core.Tests.Network.Mqtt;

/// <summary>
/// A loopback TCP relay in front of a broker: <see cref="CutAsync"/> resets every relayed connection at once, which the broker
/// sees as a connection lost without DISCONNECT (a pulled cable) — the case in which it publishes the client's will.
/// </summary>
public sealed class TcpRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _target;
    private readonly List<Socket> _sockets = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;

    public TcpRelay(int target)
    {
        _target = target;
        _listener.Start();
        _accept = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var inbound = await _listener.AcceptSocketAsync(_stop.Token);
                var outbound = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await outbound.ConnectAsync(IPAddress.Loopback, _target, _stop.Token);
                lock (_sockets)
                {
                    _sockets.AddRange([inbound, outbound]);
                }
                _ = PumpAsync(inbound, outbound);
                _ = PumpAsync(outbound, inbound);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private static async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[8192];
        try
        {
            int n;
            while ((n = await from.ReceiveAsync(buffer)) > 0)
            {
                await to.SendAsync(buffer.AsMemory(0, n));
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// The TCP window scale each relayed client advertised in its SYN (Linux <c>TCP_INFO</c>, <c>tcpi_snd_wscale</c> of the
    /// accepted socket). 0 means the client's receive window can never exceed 64 KiB (a small SO_RCVBUF set before connect).
    /// </summary>
    public IReadOnlyList<int> ClientWindowScales()
    {
        Socket[] all;
        lock (_sockets)
        {
            all = [.. _sockets];
        }
        var info = new byte[104];
        // Inbound sockets sit at even places (accepted, then their outbound twin).
        return [.. all.Where((_, i) => i % 2 == 0).Select(s =>
        {
            s.GetRawSocketOption(6 /* IPPROTO_TCP */, 11 /* TCP_INFO */, info);
            return info[6] & 0x0F;
        })];
    }

    /// <summary>Resets (RST, no FIN) every connection relayed so far; new connections are still relayed.</summary>
    public Task CutAsync()
    {
        Socket[] all;
        lock (_sockets)
        {
            all = [.. _sockets];
            _sockets.Clear();
        }
        foreach (var s in all)
        {
            s.LingerState = new LingerOption(true, 0);
            s.Close();
        }
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await CutAsync();
        await _accept;
        _stop.Dispose();
    }
}
