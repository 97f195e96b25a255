using FlowFleet.DeviceSim.Ble;
using FlowFleet.Fleet;
using FlowFleet.Fleet.Ble;
using FlowFleet.Fleet.Ble.BlueZ;
using FlowFleet.Fleet.Ble.Station;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Registry;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace FlowFleet.Server.Ble;

/// <summary>Registers BLE: the adapters (simulated ones in <c>--demo</c>), the service, the provisioner and their start-up.</summary>
public static class BleHosting
{
    /// <summary>Unprovisioned simulated devices in range in <c>--demo</c>.</summary>
    public const int DemoDevices = 4;

    public static IServiceCollection AddFlowFleetBle(this IServiceCollection services, bool demo, IConfiguration configuration, string dataDirectory)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddSingleton(new StationTokenStore(Path.Combine(dataDirectory, "ble-station-tokens.json")));
        services.AddSingleton<BleStationHub>();
        // The local adapter through BlueZ (Linux); Ble:Adapter names it, Ble:BlueZ=false leaves it out. Without a system bus,
        // BlueZ or an adapter it stays listed as unavailable with the reason.
        if (OperatingSystem.IsLinux() && !string.Equals(configuration["Ble:BlueZ"], "false", StringComparison.OrdinalIgnoreCase))
        {
            services.AddSingleton<IBleAdapter>(sp => new BlueZAdapter(configuration["Ble:Adapter"] ?? "hci0", configuration["Ble:Bus"], sp.GetRequiredService<ILogger<BlueZAdapter>>()));
        }
        if (demo)
        {
            services.AddSingleton<IBleAdapter>(_ =>
            {
                var sim = new SimBleAdapter("sim");
                sim.AddUnprovisioned(DemoDevices, "B1E000");
                return sim;
            });
        }
        services.AddSingleton(sp => new BleService(sp.GetServices<IBleAdapter>(), sp.GetRequiredService<IDeviceStore>(), sp.GetRequiredService<DeviceHub>(),
            sp.GetRequiredService<ILogger<BleService>>()));
        services.AddSingleton<BleProvisioner>();
        services.AddHostedService(sp => new BleStartup(sp, demo));
        return services;
    }

    /// <summary><c>/ble</c> for BLE stations: before authentication (a station token admits them), like <c>/shelly</c>.</summary>
    public static void MapBleStations(this IApplicationBuilder app) =>
        app.Map(new PathString("/ble"), ble => ble.Run(ctx => ctx.RequestServices.GetRequiredService<BleStationHub>().HandleAsync(ctx)));

    /// <summary>The <c>/shelly</c> URL given to devices: <c>Fleet:PublicUrl</c> when set, else this server's first address.</summary>
    public static string? ShellyUrl(string? publicUrl, IEnumerable<string> addresses)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        if (!string.IsNullOrWhiteSpace(publicUrl))
        {
            var u = publicUrl.Trim();
            u = u.StartsWith("http://", StringComparison.OrdinalIgnoreCase) ? "ws://" + u[7..] : u.StartsWith("https://", StringComparison.OrdinalIgnoreCase) ? "wss://" + u[8..] : u;
            return u.EndsWith("/shelly", StringComparison.Ordinal) || u.Contains("/shelly?", StringComparison.Ordinal) ? u : u.TrimEnd('/') + "/shelly";
        }
        var first = addresses.FirstOrDefault();
        if (first is null)
        {
            return null;
        }
        var uri = new Uri(first.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("+", "127.0.0.1", StringComparison.Ordinal).Replace("*", "127.0.0.1", StringComparison.Ordinal));
        return $"{(uri.Scheme == "https" ? "wss" : "ws")}://{uri.Host}:{uri.Port}/shelly";
    }

    /// <summary>Once the server listens: the provisioner learns the <c>/shelly</c> URL; in the demo the simulated adapter scans.</summary>
    private sealed class BleStartup(IServiceProvider services, bool demo) : IHostedService
    {
        private string? _token;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            var lifetime = services.GetRequiredService<IHostApplicationLifetime>();
            lifetime.ApplicationStarted.Register(() => _ = StartedAsync());
            return Task.CompletedTask;
        }

        private async Task StartedAsync()
        {
            var provisioner = services.GetRequiredService<BleProvisioner>();
            var addresses = services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            provisioner.DefaultServerUrl ??= ShellyUrl(services.GetRequiredService<IOptions<FleetOptions>>().Value.PublicUrl, addresses);
            foreach (var bluez in services.GetServices<IBleAdapter>().OfType<BlueZAdapter>())
            {
                await bluez.InitializeAsync();
            }
            var tokens = services.GetRequiredService<IEnrollmentTokenStore>();
            // With manual admission a provisioned device would wait as pending: it gets an enrollment token in its URL.
            provisioner.EnrollmentToken ??= async ct => _token ??= (await tokens.CreateTokenAsync("BLE provisioning", ct)).Token;
            if (demo)
            {
                await services.GetRequiredService<BleService>().StartScanAsync();
            }
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
