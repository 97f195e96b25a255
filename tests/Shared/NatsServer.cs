using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace FlowFleet.Tests;

/// <summary>A real <c>nats-server</c> (Debian's package; <c>./test.sh</c> installs it) on a free loopback port, killed on dispose.</summary>
internal sealed class NatsServer : IAsyncDisposable
{
    private readonly Process _process;

    private NatsServer(Process process, int port)
    {
        _process = process;
        Url = $"nats://127.0.0.1:{port}";
    }

    public string Url { get; }

    public static async Task<NatsServer> StartAsync()
    {
        var binary = new[] { "/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("nats-server is not installed (./test.sh installs it: apt-get install -y nats-server)");
        for (var attempt = 0; ; attempt++)
        {
            var port = Loopback.FreePort();
            var process = Process.Start(new ProcessStartInfo(binary, ["-a", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture)])
            {
                RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false,
            })!;
            process.ErrorDataReceived += (_, _) => { };
            process.OutputDataReceived += (_, _) => { };
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (!process.HasExited && DateTime.UtcNow < deadline)
            {
                using var probe = new TcpClient();
                try
                {
                    await probe.ConnectAsync(IPAddress.Loopback, port);
                    return new NatsServer(process, port);
                }
                catch (SocketException)
                {
                    await Task.Delay(50);
                }
            }
            process.Kill();
            process.Dispose();
            // Another test took the port between probing and binding: try another one.
            if (attempt == 3)
            {
                throw new InvalidOperationException("nats-server did not start");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
