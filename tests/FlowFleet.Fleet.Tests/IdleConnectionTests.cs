using System.Net;
using System.Net.Sockets;
using System.Text;
using FlowFleet.Fleet.Hub;

namespace FlowFleet.Fleet.Tests;

/// <summary>Issue 13 item 5 (the fast drills): silent and slowloris connections can't take HTTP down, and a new connection
/// always gets in.</summary>
public sealed class IdleConnectionTests
{
    private static async Task<List<Socket>> OpenAsync(FleetHost host, int count)
    {
        var sockets = new List<Socket>();
        for (var i = 0; i < count; i++)
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await s.ConnectAsync(IPAddress.Loopback, host.BaseUri.Port);
            sockets.Add(s);
        }
        return sockets;
    }

    /// <summary>True once the server has closed the socket (a read returns 0 or fails).</summary>
    private static async Task<bool> ClosedByServerAsync(Socket s)
    {
        var buffer = new byte[256];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            while (true)
            {
                if (await s.ReceiveAsync(buffer, SocketFlags.None, timeout.Token) == 0)
                {
                    return true;
                }
            }
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static async Task<string> GetAsync(FleetHost host)
    {
        using var http = new HttpClient { BaseAddress = host.BaseUri, Timeout = TimeSpan.FromSeconds(5) };
        return await http.GetStringAsync(new Uri("/hello", UriKind.Relative));
    }

    [Fact]
    public async Task Silent_connections_are_closed_at_the_head_deadline_and_never_take_http_slots()
    {
        // Kestrel with room for 100 connections: before, silent connections were handed to it after the first-frame
        // timeout and sat in its slots until its own header timeout (30 s).
        await using var host = await FleetHost.StartAsync(o => (o.HeadTimeout, o.FirstFrameTimeout) = (TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(500)),
            kestrel: k => k.Limits.MaxConcurrentConnections = 100);
        var silent = await OpenAsync(host, 150);
        try
        {
            var closed = await Task.WhenAll(silent.Select(ClosedByServerAsync));
            Assert.All(closed, Assert.True);
            Assert.True(host.Hub.IdleConnectionsClosed >= 150, $"{host.Hub.IdleConnectionsClosed} closed as idle");
            Assert.Equal("hello", await GetAsync(host));
        }
        finally
        {
            silent.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task Slowloris_connections_never_reach_http_and_requests_still_get_through()
    {
        await using var host = await FleetHost.StartAsync(o => o.HeadTimeout = TimeSpan.FromSeconds(2), kestrel: k => k.Limits.MaxConcurrentConnections = 100);
        var slow = await OpenAsync(host, 110);
        try
        {
            foreach (var s in slow)
            {
                await s.SendAsync(Encoding.ASCII.GetBytes("GET /hello HTTP/1.1\r\nHost: x\r\nX-a: "), SocketFlags.None);
            }
            // A trickle that never finishes the head.
            foreach (var s in slow)
            {
                await s.SendAsync("b"u8.ToArray(), SocketFlags.None);
            }
            Assert.Equal("hello", await GetAsync(host));
            Assert.All(await Task.WhenAll(slow.Select(ClosedByServerAsync)), Assert.True);
        }
        finally
        {
            slow.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public void A_new_connection_pushes_out_the_oldest_stale_one_of_its_address()
    {
        var sorting = new UnsortedConnections(perAddress: 3, grace: TimeSpan.Zero);
        var a = IPAddress.Parse("192.0.2.1");
        var b = IPAddress.Parse("192.0.2.2");
        var first = sorting.Add(a);
        var second = sorting.Add(a);
        var third = sorting.Add(a);
        var other = sorting.Add(b);
        Assert.Equal(4, sorting.Count);
        var fourth = sorting.Add(a);
        Assert.True(first.Cancel.IsCancellationRequested);
        Assert.False(second.Cancel.IsCancellationRequested || third.Cancel.IsCancellationRequested || other.Cancel.IsCancellationRequested || fourth.Cancel.IsCancellationRequested);
        Assert.Equal(4, sorting.Count);
        sorting.Remove(first);
        sorting.Remove(second);
        Assert.Equal(3, sorting.Count);
        // Fresh connections (within the grace) are never pushed out: a connect storm from one address passes whole.
        var storm = new UnsortedConnections(perAddress: 3, grace: TimeSpan.FromHours(1));
        var entries = Enumerable.Range(0, 10).Select(_ => storm.Add(a)).ToList();
        Assert.DoesNotContain(entries, e => e.Cancel.IsCancellationRequested);
    }
}
