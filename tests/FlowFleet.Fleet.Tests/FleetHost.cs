using FlowFleet.DeviceSim;
using FlowFleet.Fleet;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Registry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FlowFleet.Fleet.Tests;

/// <summary>A real Kestrel on 127.0.0.1 serving <c>/shelly</c> with the hub and a registry in a temp SQLite file.</summary>
public sealed class FleetHost : IAsyncDisposable
{
    public static readonly SimOptions FastSim = new()
    {
        MinBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromSeconds(1), ReportInterval = TimeSpan.FromMilliseconds(300),
        AwakeTime = TimeSpan.FromMilliseconds(800), SleepTime = TimeSpan.FromMilliseconds(800),
    };

    private readonly WebApplication _app;

    private FleetHost(WebApplication app, string dbPath, Uri baseUri)
    {
        _app = app;
        DbPath = dbPath;
        BaseUri = baseUri;
    }

    public string DbPath { get; }

    public Uri BaseUri { get; }

    public string ShellyUrl => $"ws://{BaseUri.Host}:{BaseUri.Port}/shelly";

    public DeviceHub Hub => _app.Services.GetRequiredService<DeviceHub>();

    public IDeviceStore Devices => _app.Services.GetRequiredService<IDeviceStore>();

    public FleetRecordWriter Writer => _app.Services.GetRequiredService<FleetRecordWriter>();

    public ITelemetryStore Telemetry => _app.Services.GetRequiredService<ITelemetryStore>();

    public IEventLog Events => _app.Services.GetRequiredService<IEventLog>();

    public IAuditLog Audit => _app.Services.GetRequiredService<IAuditLog>();

    public IDataTableStore Tables => _app.Services.GetRequiredService<IDataTableStore>();

    public IEnrollmentTokenStore Tokens => _app.Services.GetRequiredService<IEnrollmentTokenStore>();

    public IGroupStore Groups => _app.Services.GetRequiredService<IGroupStore>();

    public IServiceProvider Services => _app.Services;

    /// <summary>Puts this host's hub and stores into another container (a flow engine's, whose fleet nodes use them).</summary>
    public void ShareWith(IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton(Hub);
        services.AddSingleton(Devices);
        services.AddSingleton(Writer);
        services.AddSingleton(Telemetry);
        services.AddSingleton(Events);
        services.AddSingleton(Audit);
        services.AddSingleton(Tables);
        services.AddSingleton(Tokens);
        services.AddSingleton(Groups);
    }

    /// <param name="maxDirect">Device websockets taken off the connection before HTTP (the server's way); null: through
    /// Kestrel's HTTP layer only.</param>
    /// <param name="kestrel">Kestrel limits for the test (e.g. a small <c>MaxConcurrentConnections</c>).</param>
    public static async Task<FleetHost> StartAsync(Action<FleetOptions>? configure = null, string? dbPath = null, long? maxDirect = long.MaxValue, int burst = 256,
        Action<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>? kestrel = null, string? postgres = null, Action<IServiceCollection>? services = null)
    {
        dbPath ??= Path.Combine(Directory.CreateTempSubdirectory("flowfleet-fleet-").FullName, "fleet.db");
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        if (kestrel is not null)
        {
            builder.WebHost.ConfigureKestrel(kestrel);
        }
        if (maxDirect is { } max)
        {
            builder.WebHost.UseDeviceConnections(max, burst);
        }
        builder.Logging.ClearProviders();
        builder.Services.Configure<FleetOptions>(o =>
        {
            o.Admission = "auto";
            o.RpcTimeout = TimeSpan.FromSeconds(3);
            o.TelemetryInterval = TimeSpan.Zero;
            configure?.Invoke(o);
        });
        // With a connection string, the registry runs on PostgreSQL (Storage:Provider=postgres) instead of SQLite.
        if (postgres is null)
        {
            builder.Services.AddFleet(dbPath);
        }
        else
        {
            builder.Services.AddFleet(o => Postgres.FleetPostgres.Configure(o, postgres), Postgres.FleetPostgres.Sql(postgres), Path.GetDirectoryName(dbPath)!);
        }
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.UseWebSockets();
        app.Map("/shelly", (HttpContext c, DeviceHub h) => h.HandleAsync(c));
        app.MapGet("/hello", () => "hello");
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new FleetHost(app, dbPath, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
