using System.Text.Json.Nodes;
using FlowFleet.DeviceSim;
using FlowFleet.Runtime.Storage;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace FlowFleet.Server.Hosting;

/// <summary>
/// <c>--demo</c>: about a dozen simulated devices of mixed profiles connect to this server in process once it listens (plugs
/// switched on and drawing power, covers, dimmers, a 3-phase meter, an i4 whose button someone presses now and then, a
/// sleeping H&amp;T); on the first start the example flows from <c>flows/</c> are installed.
/// </summary>
public sealed partial class DemoDevices(IServer server, IHostApplicationLifetime lifetime, ILogger<DemoDevices> logger,
    FlowFleet.Fleet.Mqtt.EmbeddedMqttBroker? broker = null) : IHostedService, IAsyncDisposable
{
    public const int DeviceCount = 12;

    /// <summary>Devices that talk MQTT to the embedded broker instead (Shelly over MQTT), when it runs.</summary>
    public const int MqttDeviceCount = 4;

    private SimFleet? _mqttFleet;

    public SimFleet? MqttFleet => _mqttFleet;

    private SimFleet? _fleet;
    private CancellationTokenSource? _stop;
    private Task? _presser;

    public SimFleet? Fleet => _fleet;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() => _ = StartDevicesAsync());
        return Task.CompletedTask;
    }

    private async Task StartDevicesAsync()
    {
        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "http://127.0.0.1:7011";
        var uri = new Uri(address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("+", "127.0.0.1", StringComparison.Ordinal));
        var ws = $"ws://{uri.Host}:{uri.Port}/shelly";
        _fleet = new SimFleet(ws, DeviceCount, "mix", new SimOptions { ReportInterval = TimeSpan.FromSeconds(5), SleepTime = TimeSpan.FromSeconds(60) });
        foreach (var d in _fleet.Devices.Where(d => d.Profile == SimProfile.Plus1PM))
        {
            d.Call("Switch.Set", new JsonObject { ["id"] = 0, ["on"] = true }, "init");
        }
        await _fleet.StartAsync();
        LogStarted(DeviceCount, ws);
        if (broker is { IsRunning: true, Port: > 0 })
        {
            var mqtt = new Uri($"mqtt://{Uri.EscapeDataString(FlowFleet.Fleet.Mqtt.EmbeddedMqttBroker.InternalUser)}:{broker.InternalPassword}@127.0.0.1:{broker.Port}");
            _mqttFleet = new SimFleet(null, MqttDeviceCount, "mix", new SimOptions { ReportInterval = TimeSpan.FromSeconds(5) }, firstIndex: DeviceCount, mqtt: mqtt);
            await _mqttFleet.StartAsync();
            LogStarted(MqttDeviceCount, $"mqtt://127.0.0.1:{broker.Port}");
        }
        _stop = new CancellationTokenSource();
        _presser = PressButtonsAsync(_stop.Token);
    }

    /// <summary>Someone presses a button of the i4 every 20 s, so the button flow has something to do.</summary>
    private async Task PressButtonsAsync(CancellationToken ct)
    {
        try
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(20));
            while (await timer.WaitForNextTickAsync(ct))
            {
                foreach (var i4 in _fleet!.Devices.Where(d => d.Profile == SimProfile.PlusI4))
                {
                    i4.Press(Random.Shared.Next(4));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        if (_stop is not null)
        {
            await _stop.CancelAsync();
            if (_presser is not null)
            {
                await _presser;
            }
            _stop.Dispose();
            _stop = null;
        }
        if (_fleet is not null)
        {
            await _fleet.DisposeAsync();
            _fleet = null;
        }
        if (_mqttFleet is not null)
        {
            await _mqttFleet.DisposeAsync();
            _mqttFleet = null;
        }
    }

    /// <summary><c>flows/</c> in the working directory, in the repository the binary was built from, or beside the binary (Docker).</summary>
    public static string FindFlowsDirectory()
    {
        var cwd = Path.Combine(Directory.GetCurrentDirectory(), "flows");
        if (Directory.Exists(cwd))
        {
            return cwd;
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FlowFleet.sln")) && Directory.Exists(Path.Combine(dir.FullName, "flows")))
            {
                return Path.Combine(dir.FullName, "flows");
            }
        }
        return Path.Combine(AppContext.BaseDirectory, "flows");
    }

    /// <summary>Installs every flow file of <paramref name="flowsDirectory"/> (merged) when no flows are stored yet.</summary>
    public static async Task InstallExampleFlowsAsync(IFlowStorage storage, string flowsDirectory, ILogger logger, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(storage);
        if (await storage.LoadAsync(ct) is { Count: > 0 })
        {
            return;
        }
        if (!Directory.Exists(flowsDirectory))
        {
            LogNoFlows(logger, flowsDirectory);
            return;
        }
        var merged = new JsonArray();
        foreach (var file in Directory.GetFiles(flowsDirectory, "*.json").Order(StringComparer.Ordinal))
        {
            if (JsonNode.Parse(await File.ReadAllTextAsync(file, ct)) is JsonArray items)
            {
                foreach (var item in items)
                {
                    merged.Add(item?.DeepClone());
                }
            }
        }
        await storage.SaveAsync(merged, ct);
        LogInstalled(logger, merged.Count, flowsDirectory);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Demo: {Count} simulated devices connecting to {Url}")]
    private partial void LogStarted(int count, string url);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Demo: no example flows at {Directory}")]
    private static partial void LogNoFlows(ILogger logger, string directory);

    [LoggerMessage(Level = LogLevel.Information, Message = "Demo: installed {Count} flow objects from {Directory}")]
    private static partial void LogInstalled(ILogger logger, int count, string directory);
}
