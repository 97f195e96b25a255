using System.Net;
using System.Net.Sockets;

namespace FlowFleet.Server.Tests.Cluster;

/// <summary>
/// A TCP load balancer on a free loopback port, as haproxy/nginx stream would be in front of a cluster: each new
/// connection goes to the next backend that accepts it (round robin); bytes are copied both ways until either side closes.
/// Tests change <see cref="Backends"/> to steer reconnecting devices.
/// </summary>
public sealed class TcpBalancer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;
    private int _next;

    public TcpBalancer(params Uri[] backends)
    {
        Backends = backends;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accept = AcceptAsync();
    }

    public int Port { get; }

    public volatile Uri[] Backends;

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            _ = ForwardAsync(client);
        }
    }

    private async Task ForwardAsync(TcpClient client)
    {
        using (client)
        {
            var backends = Backends;
            TcpClient? server = null;
            for (var i = 0; i < backends.Length && server is null; i++)
            {
                var b = backends[(int)((uint)Interlocked.Increment(ref _next) % backends.Length)];
                var attempt = new TcpClient();
                try
                {
                    await attempt.ConnectAsync(b.Host, b.Port, _stop.Token);
                    server = attempt;
                }
                catch (Exception ex) when (ex is SocketException or OperationCanceledException)
                {
                    attempt.Dispose();
                }
            }
            if (server is null)
            {
                return;
            }
            using (server)
            {
                var up = client.GetStream().CopyToAsync(server.GetStream(), _stop.Token);
                var down = server.GetStream().CopyToAsync(client.GetStream(), _stop.Token);
                try
                {
                    await Task.WhenAny(up, down);
                }
                catch (Exception ex) when (ex is IOException or OperationCanceledException or SocketException or ObjectDisposedException)
                {
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accept;
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }
}
