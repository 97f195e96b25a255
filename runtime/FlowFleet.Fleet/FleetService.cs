using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Registry;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FlowFleet.Fleet;

/// <summary>Loads the registry at start; writes device state, telemetry, events and audit in the background; flushes at stop.</summary>
public sealed partial class FleetService(IDeviceStore devices, FleetRecordWriter writer, ITelemetryStore telemetry, IEventLog eventLog, ILogger<FleetService> logger) : BackgroundService
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await devices.InitializeAsync(cancellationToken).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lastFlush = DateTime.UtcNow;
        var lastStatusFlush = DateTime.UtcNow;
        var lastRetention = DateTime.MinValue;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    while (await writer.WriteQueuedAsync(stoppingToken).ConfigureAwait(false) >= 50_000)
                    {
                    }
                    if (DateTime.UtcNow - lastFlush > TimeSpan.FromSeconds(5))
                    {
                        lastFlush = DateTime.UtcNow;
                        var statuses = DateTime.UtcNow - lastStatusFlush > TimeSpan.FromSeconds(30);
                        if (statuses)
                        {
                            lastStatusFlush = DateTime.UtcNow;
                        }
                        await devices.FlushAsync(statuses, stoppingToken).ConfigureAwait(false);
                    }
                    if (DateTime.UtcNow - lastRetention > TimeSpan.FromHours(1))
                    {
                        lastRetention = DateTime.UtcNow;
                        await telemetry.ApplyRetentionAsync(stoppingToken).ConfigureAwait(false);
                        await eventLog.TrimAsync(stoppingToken).ConfigureAwait(false);
                    }
                }
                catch (Exception ex) when (ex is DbUpdateException or System.Data.Common.DbException or InvalidOperationException)
                {
                    LogWriteFailed(ex);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await writer.WriteQueuedAsync(CancellationToken.None).ConfigureAwait(false);
        foreach (var d in devices.All.Where(d => d.Online))
        {
            d.Online = false;
            d.StatusDirty = true;
        }
        await devices.FlushAsync(statuses: true, CancellationToken.None).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Writing fleet data failed; will retry")]
    private partial void LogWriteFailed(Exception ex);
}

public static class FleetServiceCollectionExtensions
{
    /// <summary>Registers the registry (SQLite at <paramref name="databasePath"/>), the hub and the background writer.</summary>
    public static IServiceCollection AddFleet(this IServiceCollection services, string databasePath)
    {
        var connection = $"Data Source={databasePath}";
        services.AddSingleton(new FleetSqliteDatabase(connection));
        return services.AddFleet(o => o.UseSqlite(connection), FleetSql.Sqlite(connection), Path.GetDirectoryName(Path.GetFullPath(databasePath))!);
    }

    /// <summary>Registers the registry on the database <paramref name="database"/> configures for EF Core (SQLite, or PostgreSQL
    /// through FlowFleet.Fleet.Postgres) and <paramref name="sql"/> opens for the device-write path, the hub and the background
    /// writer; files beside the database go to <paramref name="dataDirectory"/>.</summary>
    public static IServiceCollection AddFleet(this IServiceCollection services, Action<DbContextOptionsBuilder> database, FleetSql sql, string dataDirectory)
    {
        services.AddSingleton(sql);
        services.AddLazyDbContextFactory<FleetDbContext>((_, o) => database(o));
        // Each publishes its instruments on the host's meter factory when there is one (ASP.NET Core hosts register it).
        services.AddSingleton(sp => Published(ActivatorUtilities.CreateInstance<FleetRecordWriter>(sp), sp, static (w, m) => w.Publish(m)));
        services.AddSingleton<ITelemetryStore, TelemetryStore>();
        services.AddSingleton<IEventLog, EventLog>();
        services.AddSingleton<IAuditLog, AuditLog>();
        services.AddSingleton<IDataTableStore, DataTableStore>();
        services.AddSingleton<IEnrollmentTokenStore, EnrollmentTokenStore>();
        services.AddSingleton<IGroupStore, GroupStore>();
        services.AddSingleton<IDeviceStore>(sp => Published(ActivatorUtilities.CreateInstance<DeviceStore>(sp), sp, static (r, m) => r.Publish(m)));
        services.AddSingleton(sp => Published(ActivatorUtilities.CreateInstance<DeviceHub>(sp), sp, static (h, m) => h.Publish(m)));
        services.AddSingleton(new Rpc.RpcTemplateStore(Path.Combine(dataDirectory, "rpc-templates.json")));
        services.AddSingleton<FleetService>();
        services.AddHostedService(sp => sp.GetRequiredService<FleetService>());
        return services;
    }

    private static T Published<T>(T service, IServiceProvider sp, Action<T, System.Diagnostics.Metrics.IMeterFactory> publish)
    {
        if (sp.GetService<System.Diagnostics.Metrics.IMeterFactory>() is { } meters)
        {
            publish(service, meters);
        }
        return service;
    }
}
