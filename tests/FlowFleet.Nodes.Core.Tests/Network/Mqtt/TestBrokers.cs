using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using MQTTnet.Server;

namespace FlowFleet.Nodes.Core.Tests.Network.Mqtt;

/// <summary>A broker a test can stop and start again on the same loopback port.</summary>
public interface ITestBroker : IAsyncDisposable
{
    int Port { get; }

    Task StartAsync();

    Task StopAsync();
}

public static class TestBrokers
{
    public static async Task<ITestBroker> StartAsync(string kind)
    {
        ITestBroker broker = kind == "mosquitto" ? new MosquittoBroker() : new MqttNetBroker();
        await broker.StartAsync();
        return broker;
    }

    internal static async Task WaitForPortAsync(int port, bool open)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            using var c = new TcpClient();
            var isOpen = false;
            try
            {
                await c.ConnectAsync(IPAddress.Loopback, port);
                isOpen = true;
            }
            catch (SocketException)
            {
            }
            if (isOpen == open)
            {
                return;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"port {port} did not {(open ? "open" : "close")}");
            }
            await Task.Delay(20);
        }
    }
}

/// <summary>An MQTTnet server on a loopback port.</summary>
public sealed class MqttNetBroker : ITestBroker
{
    private MqttServer? _server;

    public int Port { get; } = Loopback.FreePort();

    public async Task StartAsync()
    {
        var options = new MqttServerOptionsBuilder().WithDefaultEndpoint().WithDefaultEndpointBoundIPAddress(IPAddress.Loopback).WithDefaultEndpointPort(Port).Build();
        _server = new MqttServerFactory().CreateMqttServer(options);
        await _server.StartAsync();
    }

    public async Task StopAsync()
    {
        if (_server is { } s)
        {
            await s.StopAsync();
            s.Dispose();
            _server = null;
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}

/// <summary>
/// Debian's Mosquitto (installed by test.sh) with a temporary config on a loopback port. <paramref name="listenerOptions"/>
/// adds lines to the listener (TLS: <c>cafile</c>, <c>certfile</c>, ...); <c>{dir}</c> in them is <see cref="Directory"/>,
/// where the test writes the files they name.
/// </summary>
public sealed class MosquittoBroker(string listenerOptions = "") : ITestBroker
{
    private readonly string _dir = System.IO.Directory.CreateTempSubdirectory("ff-mosquitto-").FullName;
    private Process? _process;

    public string Directory => _dir;

    public int Port { get; } = Loopback.FreePort();

    public static string Executable =>
        new[] { "/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("mosquitto is not installed (./test.sh installs Debian's mosquitto package)");

    public async Task StartAsync()
    {
        var conf = Path.Combine(_dir, "mosquitto.conf");
        await File.WriteAllTextAsync(conf, $"listener {Port} 127.0.0.1\n{listenerOptions.Replace("{dir}", _dir, StringComparison.Ordinal)}\nallow_anonymous true\npersistence false\nlog_dest none\n");
        var psi = new ProcessStartInfo(Executable, ["-c", conf]) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        _process = Process.Start(psi) ?? throw new InvalidOperationException("mosquitto did not start");
        await TestBrokers.WaitForPortAsync(Port, open: true);
    }

    public async Task StopAsync()
    {
        if (_process is { } p)
        {
            if (!p.HasExited)
            {
                p.Kill();
                await p.WaitForExitAsync();
            }
            p.Dispose();
            _process = null;
            await TestBrokers.WaitForPortAsync(Port, open: false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        System.IO.Directory.Delete(_dir, true);
    }
}
