using System.Reflection;
using FlowFleet.Fleet;
using FlowFleet.Fleet.Cluster;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Registry;
using FlowFleet.Fleet.Rpc;
using FlowFleet.Nodes.Core.Http;
using FlowFleet.Server.Fleet;
using FlowFleet.Server.Flows;
using FlowFleet.Server.Fleet.FleetManager;
using FlowFleet.Runtime;
using FlowFleet.Runtime.Flows;
using FlowFleet.Runtime.Nodes;
using FlowFleet.Runtime.Plugins;
using FlowFleet.Runtime.Storage;
using FlowFleet.Server.Auth;
using FlowFleet.Server.Cluster;
using FlowFleet.Server.Ble;
using FlowFleet.Server.HttpNodes;
using FlowFleet.Server.Ops;
using FlowFleet.Server.Red;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using MudBlazor.Services;

namespace FlowFleet.Server.Hosting;

/// <summary>Builds and starts the FlowFleet web application (used by <c>Program</c> and by tests on 127.0.0.1:0).</summary>
public static class FlowFleetHost
{
    public static readonly Assembly[] NodeAssemblies = [typeof(HttpInNode).Assembly, typeof(FlowFleet.Nodes.Fleet.ShellyInNode).Assembly];

    public static WebApplication Build(string[] args, ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var dataDir = Path.GetFullPath(options.DataDirectory);
        Directory.CreateDirectory(dataDir);
        StartTrace.Mark("host build");
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory, ApplicationName = "flowfleet" });
        builder.Configuration.AddEnvironmentVariables("FLOWFLEET_");
        builder.Configuration.AddCommandLine(args);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
        {
            builder.WebHost.UseUrls("http://0.0.0.0:7011");
        }
        var fleetSettings = builder.Configuration.GetSection("Fleet").Get<FleetOptions>() ?? new FleetOptions();
        var direct = fleetSettings.DirectConnections;
        var budget = ConnectionBudget.FromFileLimit();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = RequestBodyLimit.Bytes(builder.Configuration);
            // What Kestrel reads ahead per connection before it stops reading the socket. The default (1 MiB) times
            // 20,000 device sockets let an overloaded server buffer gigabytes and die with "Out of memory."; 64 KiB (one
            // maximal device frame) keeps the backlog in the kernel and on the devices, where it belongs.
            k.Limits.MaxRequestBufferSize = 64 * 1024;
            // Idle and slow connections give their slot back soon (issue 13): a head within 10 s, an idle keep-alive
            // connection 30 s (default 130 s), bodies and responses at least 240 bytes/s after a 5 s grace.
            k.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
            k.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(30);
            k.Limits.MinRequestBodyDataRate = new Microsoft.AspNetCore.Server.Kestrel.Core.MinDataRate(240, TimeSpan.FromSeconds(5));
            k.Limits.MinResponseDataRate = new Microsoft.AspNetCore.Server.Kestrel.Core.MinDataRate(240, TimeSpan.FromSeconds(5));
            // Every socket is a file descriptor. A process at its descriptor limit cannot even allocate code for the JIT
            // and dies ("Out of memory."), so connections stop short of the limit, leaving room for the process itself.
            // Device websockets skip Kestrel altogether (its transport pipes and HTTP connection were half of a device's
            // memory); Fleet:DirectConnections=false turns it off.
            if (budget is not null)
            {
                // A direct device connection never reaches Kestrel; a device upgraded through HTTP counts as upgraded.
                k.Limits.MaxConcurrentConnections = budget.Plain;
                k.Limits.MaxConcurrentUpgradedConnections = budget.Upgraded + (direct ? 0 : budget.Devices);
            }
        });
        if (direct)
        {
            builder.WebHost.UseDeviceConnections(budget?.Devices ?? long.MaxValue, budget?.Burst ?? 256);
        }
        // The editor's and MudBlazor's files (and blazor.web.js) are static web assets: served from the build output when
        // running from source in any environment, from wwwroot once published.
        builder.WebHost.UseStaticWebAssets();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        if (builder.Configuration["Logging:Json"] == "true")
        {
            builder.Logging.ClearProviders().AddJsonConsole();
        }
        // The console logger writes from a queue; when the queue is full it blocked the logging thread by default. A burst
        // of device warnings (thousands of devices reconnecting) then starved the thread pool and the whole server stopped
        // answering: drop log lines instead of stalling.
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o =>
        {
            o.QueueFullMode = Microsoft.Extensions.Logging.Console.ConsoleLoggerQueueFullMode.DropWrite;
            o.MaxQueueLength = 10_000;
        });
        if (options.Demo && string.IsNullOrEmpty(builder.Configuration["Fleet:Admission"]))
        {
            builder.Configuration["Fleet:Admission"] = "auto";
        }
        var services = builder.Services;
        StartTrace.Mark("builder created");
        services.AddSingleton(options);
        services.Configure<FlowEngineOptions>(builder.Configuration.GetSection("Flows"));
        services.Configure<FlowFleet.Nodes.Core.CoreNodesOptions>(builder.Configuration.GetSection("Nodes"));
        services.AddOptions<FlowFleet.Nodes.Core.CoreNodesOptions>().ValidateOnStart();
        services.AddSingleton<IValidateOptions<FlowFleet.Nodes.Core.CoreNodesOptions>, FlowFleet.Nodes.Core.CoreNodesOptionsValidator>();
        services.AddFlowRuntime(dataDir, NodeAssemblies, (registry, sp) =>
        {
            var pluginsDir = options.PluginsDirectory ?? Path.Combine(Directory.GetCurrentDirectory(), "plugins");
            PluginLoader.LoadAll(pluginsDir, registry, sp.GetRequiredService<IOptions<FlowEngineOptions>>().Value, sp.GetRequiredService<ILoggerFactory>().CreateLogger("FlowFleet.Plugins"));
        });
        services.AddSingleton(new FlowFleet.Editor.Model.ExampleLibrary(options.FlowsDirectory ?? DemoDevices.FindFlowsDirectory(),
            options.PluginsDirectory ?? Path.Combine(Directory.GetCurrentDirectory(), "plugins")));
        services.AddSingleton<HttpRouteTable>();
        services.AddSingleton<IHttpRouteTable>(sp => sp.GetRequiredService<HttpRouteTable>());
        services.AddSingleton<WebSocketRouteTable>();
        services.AddSingleton<FlowFleet.Nodes.Core.Network.IWebSocketRouteTable>(sp => sp.GetRequiredService<WebSocketRouteTable>());
        services.AddDataProtection().PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(dataDir, "keys"))).SetApplicationName("FlowFleet");
        services.AddSingleton<IFlowStorage>(_ => new FileFlowStorage(Path.Combine(dataDir, "flows.json")));
        services.AddSingleton<ICredentialStore>(sp => new DataProtectionCredentialStore(Path.Combine(dataDir, "flows_cred.json"), sp.GetRequiredService<IDataProtectionProvider>()));
        services.Configure<FlowHistoryOptions>(builder.Configuration.GetSection("Flows:History"));
        services.AddOptions<FlowHistoryOptions>().ValidateOnStart();
        services.AddSingleton<IValidateOptions<FlowHistoryOptions>, FlowHistoryOptionsValidator>();
        services.AddSingleton<IFlowHistory>(sp => new SqliteFlowHistory(Path.Combine(dataDir, "history.db"), sp.GetRequiredService<IOptions<FlowHistoryOptions>>().Value));
        services.AddSingleton(sp => new FlowService(sp.GetRequiredService<FlowEngine>(), sp.GetRequiredService<IFlowStorage>(),
            sp.GetRequiredService<ICredentialStore>(), sp.GetRequiredService<ILogger<FlowService>>(), sp.GetRequiredService<IFlowHistory>()) { StartupMarkerPath = Path.Combine(dataDir, ".flows-starting") });
        services.AddSingleton<CommsHub>();
        services.AddServerDatabase(dataDir);
        services.AddFlowFleetAuth(options.NoAuth);
        services.AddOpenApi();
        services.AddRazorComponents().AddInteractiveServerComponents().AddHubOptions(o => o.AddFilter<SessionHubFilter>());
        services.AddCascadingAuthenticationState();
        services.AddMudServices(c => c.SnackbarConfiguration.PositionClass = MudBlazor.Defaults.Classes.Position.BottomLeft);
        services.Configure<FleetOptions>(builder.Configuration.GetSection("Fleet"));
        // Settings are checked when the server starts, each error naming the setting and the value it got.
        services.AddOptions<FleetOptions>().ValidateOnStart();
        services.AddSingleton<IValidateOptions<FleetOptions>, FleetOptionsValidator>();
        services.AddFleetStorage(builder.Configuration, dataDir);
        if (!string.IsNullOrWhiteSpace(builder.Configuration["Cluster:Nats"]))
        {
            // Cluster mode (docs/scale-out.md): RPCs for devices held by another instance travel over NATS.
            services.AddFleetCluster(o => builder.Configuration.GetSection("Cluster").Bind(o));
            services.AddClusterOptionsValidation();
        }
        // Flows on PostgreSQL when it is the store; with a cluster, deploys reach every instance and timers take leases.
        services.AddClusterFlows(builder.Configuration, dataDir);
        services.AddFlowFleetMqtt(builder.Configuration, options.Demo);
        services.AddSingleton<ClientHub>();
        services.AddFlowFleetBle(options.Demo, builder.Configuration, dataDir);
        services.AddSingleton<Ble.BleClientMethods>();
        services.AddFleetManagerCompat(dataDir);
        services.AddSingleton(sp => new DeviceAdopter(sp.GetRequiredService<IDeviceStore>(), new HttpClient { Timeout = TimeSpan.FromSeconds(15) }));
        if (options.Demo)
        {
            services.AddSingleton<DemoDevices>();
        }
        services.AddFlowFleetMetrics();
        services.AddHostedService<FlowRuntimeService>();
        services.AddSingleton<TrimLedger>();
        services.AddSingleton<DeployTrimmer>();
        services.AddHostedService(sp => sp.GetRequiredService<DeployTrimmer>());
        services.AddSingleton<IdleTrimmer>();
        services.AddHostedService(sp => sp.GetRequiredService<IdleTrimmer>());
        if (fleetSettings.TrimMemory)
        {
            services.AddHostedService<MemoryTrimmer>();
        }
        if (options.Demo)
        {
            services.AddHostedService(sp => sp.GetRequiredService<DemoDevices>());
        }
        if (options.WarmUp)
        {
            services.AddSingleton<StartWarmup>();
            WarmRequestServer.Decorate(services);
            // First of the hosted services: they are constructed while the initialization runs, and start after it.
            services.Insert(0, ServiceDescriptor.Singleton<IHostedService, InitializationGate>());
        }
        options.Services?.Invoke(services);
        if (StartTrace.Enabled)
        {
            StartTrace.WrapHostedServices(services);
        }
        StartTrace.Mark("services registered");
        var app = builder.Build();
        StartTrace.Mark("app built");
        if (options.WarmUp)
        {
            StartWarmup.Begin(app, a => InitializeCoreAsync(a, CancellationToken.None));
        }
        if (StartTrace.Enabled)
        {
            app.Lifetime.ApplicationStarted.Register(() => StartTrace.Mark("application started"));
            app.Use((ctx, next) =>
            {
                ctx.Response.OnCompleted(() =>
                {
                    StartTrace.FirstAnswer(ctx.Request.Path);
                    return Task.CompletedTask;
                });
                return next(ctx);
            });
        }
        if (DeployTrace.Enabled)
        {
            // A deploy's first and last marks: when the pipeline sees the request, and when its answer starts and is done.
            app.Use((ctx, next) =>
            {
                if (HttpMethods.IsPost(ctx.Request.Method) && ctx.Request.Path == "/red/flows")
                {
                    DeployTrace.Mark("request in");
                    ctx.Response.OnStarting(() => Done("answer starts"));
                    ctx.Response.OnCompleted(() => Done("answer sent"));
                }
                return next(ctx);
            });
            static Task Done(string phase)
            {
                DeployTrace.Mark(phase);
                return Task.CompletedTask;
            }
        }
        var fleetOptions = app.Services.GetRequiredService<IOptions<FleetOptions>>().Value;
        // Pings like Shelly's fleet manager: every 30 s, and a connection that misses two pongs is closed.
        app.UseMiddleware<RequestBodyLimit>();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = fleetOptions.PingInterval, KeepAliveTimeout = fleetOptions.PingTimeout });
        // Devices connect anonymously (admission decides), so /shelly branches off before authentication, authorization and
        // antiforgery: a device websocket lives for days, and every middleware it passed would keep its state that long.
        app.Map(new PathString("/shelly"), shelly => shelly.Run(ctx => ctx.RequestServices.GetRequiredService<DeviceHub>().HandleAsync(ctx)));
        app.MapBleStations();
        app.UseMiddleware<OriginCheck>();
        app.UseFleetManagerWebsocket();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();
        app.MapStaticAssets().AllowAnonymous();
        var red = app.MapGroup("/red");
        app.MapAuthApi(red, options.NoAuth);
        red.MapRedFlows();
        red.MapRedRuntime(options.NoAuth);
        red.Map("/comms", (HttpContext ctx, CommsHub hub, TokenService tokens) => hub.HandleAsync(ctx, tokens, authRequired: !options.NoAuth)).AllowAnonymous();
        app.MapOps();
        app.Map("/client", (HttpContext ctx, ClientHub clients) => clients.HandleAsync(ctx)).RequireAuthorization(Policies.DevicesRead).ExcludeFromDescription();
        app.MapFleetApi();
        app.MapBleApi();
        app.MapFlowHistoryApi();
        app.MapFleetManagerRest();
        app.MapRazorComponents<FlowFleet.Editor.App>().AddInteractiveServerRenderMode().RequireAuthorization(Policies.FlowsRead);
        app.MapOpenApi().RequireAuthorization(Policies.SettingsRead);
        app.MapHttpNodes();
        if (options.WarmUp)
        {
            StartWarmup.AfterMapping(app);
        }
        StartTrace.Mark("pipeline mapped");
        return app;
    }

    /// <summary>Makes sure the database exists and there is an admin (first start prints a generated password once).</summary>
    public static Task InitializeAsync(WebApplication app, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(app);
        // With the warm-up (the command line) it was begun beside the endpoint mapping: the same work, awaited here.
        return app.Services.GetService<StartWarmup>()?.Initialization ?? InitializeCoreAsync(app, ct);
    }

    private static async Task InitializeCoreAsync(WebApplication app, CancellationToken ct)
    {
        StartTrace.Mark("initialize");
        await EnsureDatabaseAsync(app.Services, ct);
        StartTrace.Mark("databases ensured");
        var options = app.Services.GetRequiredService<ServerOptions>();
        var users = app.Services.GetRequiredService<UserService>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("FlowFleet");
        if (options.Demo)
        {
            await DemoDevices.InstallExampleFlowsAsync(app.Services.GetRequiredService<IFlowStorage>(), options.FlowsDirectory ?? DemoDevices.FindFlowsDirectory(), logger, ct);
        }
        if (options.NoAuth)
        {
            logger.LogWarning("Authentication is OFF (--no-auth): anyone who can reach this server can change flows and devices. Use only for local development.");
        }
        if (!await users.AnyAsync(ct))
        {
            var configured = app.Configuration["ADMIN_PASSWORD"] ?? Environment.GetEnvironmentVariable("FLOWFLEET_ADMIN_PASSWORD");
            // The command line's first start hashed it before the host was built, when a core was idle (StartWarmup).
            var early = await StartWarmup.TakeAdminAsync(options.DataDirectory, configured);
            var password = early?.Password ?? UserService.PasswordOrGenerated(configured);
            try
            {
                await users.AddAsync(early?.Account ?? users.NewAccount("admin", Roles.Admin, password), ct);
            }
            catch (InvalidOperationException)
            {
                // Instances of a cluster starting together on an empty database: another one created the admin first.
                return;
            }
            if (string.IsNullOrEmpty(configured))
            {
                (options.Console ?? Console.Out).WriteLine($"Created user 'admin' with password: {password}  (shown once; change it with 'flowfleet user passwd admin')");
            }
        }
    }

    public static async Task EnsureDatabaseAsync(IServiceProvider services, CancellationToken ct = default)
    {
        await ServerDatabase.EnsureAsync(services, ct);
    }
}

/// <summary>
/// Loads and runs the stored flows at start; closes nodes and flushes contexts at shutdown. The nodes are built in the
/// background (as Node-RED does): the server listens meanwhile, <c>/healthz</c> says <c>"flows": "starting"</c>, and
/// deploys wait until the start is over.
/// </summary>
internal sealed class FlowRuntimeService(FlowService flows, FlowEngine engine, ServerOptions options, IHostApplicationLifetime lifetime,
    ILogger<FlowRuntimeService> logger, Microsoft.AspNetCore.Hosting.Server.IServer server) : IHostedService
{
    // The nodes are built once the server listens: until then the start needs both cores (bench/README.md, issue 19).
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // With the command line's warm request (the route matcher being built), after it: the first answers come first.
        lifetime.ApplicationStarted.Register(() => (server is WarmRequestServer warm ? warm.Warmed.WaitAsync(TimeSpan.FromSeconds(5)) : Task.CompletedTask)
            .ContinueWith(_ => _listening.TrySetResult(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default));
        // A stored flow set that fails to start, or that killed the previous run, starts in safe mode (see FlowService).
        await flows.BeginStartAsync(options.Safe, cancellationToken, _listening.Task);
        _ = flows.Starting.ContinueWith(t =>
        {
            StartTrace.Mark("flows start ended");
            if (t.IsCompletedSuccessfully && t.Result is { } result)
            {
                logger.LogInformation("Flows started: {Nodes} nodes, rev {Rev}", result.Started, result.Rev);
                foreach (var w in result.Warnings)
                {
                    logger.LogWarning("{Warning}", w);
                }
            }
            else if (t.Exception is { } ex)
            {
                logger.LogError(ex.InnerException, "The stored flows did not start");
            }
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // A stop during the start waits for it, so the nodes being built are closed too (a host that stops without having
        // listened lets the build run first).
        _listening.TrySetResult();
        await flows.Starting.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        await engine.DisposeAsync();
        // Deploys answer before their history version is written: the last ones are written before the process ends.
        await flows.HistoryWritten;
        logger.LogInformation("Flows stopped, contexts flushed");
    }
}
