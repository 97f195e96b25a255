using FlowFleet.Fleet.Registry;
using FlowFleet.Runtime.Context;
using FlowFleet.Runtime.Nodes;
using FlowFleet.Runtime.Storage;
using FlowFleet.Server.Auth;
using Microsoft.AspNetCore.DataProtection.KeyManagement.Internal;

namespace FlowFleet.Server.Hosting;

/// <summary>
/// The start as the command line runs it, spread over two cores (bench/README.md, issue 19, start-up). While the main
/// thread maps endpoints, the databases are prepared (<see cref="FlowFleetHost.InitializeAsync"/>: the first admin's
/// password hash alone is ~40 ms of CPU) and a second thread builds what the host will need anyway: the editor's
/// component endpoints (they build the Blazor hub's dispatcher), the API's endpoints (kept once built:
/// <see cref="BuiltOnceEndpointDataSource"/>); once the databases are ready, the data-protection key ring is loaded or
/// created beside the hosted services' construction. Each of these is
/// a singleton or guarded by its owner's lock, so the main thread finds it built or waits for it: nothing is done twice,
/// and the host starts (and listens) only after the initialization has completed, as before.
/// </summary>
public sealed class StartWarmup
{
    private static PendingAdmin? s_admin;
    private readonly TaskCompletionSource _mapped = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The databases and the first admin, begun beside the endpoint mapping; <c>InitializeAsync</c> awaits it.</summary>
    internal Task? Initialization { get; private set; }

    /// <summary>
    /// Before the host is built (nothing else runs yet): static set-up the host build does on its way — Kestrel's QUIC probe
    /// (it loads the socket layer and looks for msquic), SQLite's native library — and on a first start the admin's password
    /// hash. The host build keeps one core busy for ~90 ms; the other was idle.
    /// </summary>
    internal static void BeforeHost(string dataDirectory)
    {
        // A first start (no users database yet) creates the admin: its password hash (PBKDF2, ~40 ms of CPU) is made here,
        // while the host is built on the other core, for the password the environment gives or a generated one.
        var firstStart = !File.Exists(Path.Combine(Path.GetFullPath(dataDirectory), "flowfleet.db"));
        var admin = new TaskCompletionSource<EarlyAdmin?>(TaskCreationOptions.RunContinuationsAsynchronously);
        s_admin = firstStart ? new PendingAdmin(Path.GetFullPath(dataDirectory), admin.Task) : null;
        var thread = new Thread(() =>
        {
            Early("quic", () => _ = (OperatingSystem.IsLinux() || OperatingSystem.IsWindows() || OperatingSystem.IsMacOS()) && System.Net.Quic.QuicListener.IsSupported);
            Early("sqlite", SQLitePCL.Batteries_V2.Init);
            if (firstStart)
            {
                EarlyAdmin? made = null;
                try
                {
                    // A password the hash refuses (too short) is left to the initialization, which reports it as before.
                    Early("admin", () =>
                    {
                        var configured = Environment.GetEnvironmentVariable("FLOWFLEET_ADMIN_PASSWORD");
                        var password = UserService.PasswordOrGenerated(configured);
                        made = new EarlyAdmin(password, string.IsNullOrEmpty(configured), UserService.Account("admin", Roles.Admin, password, new()));
                    });
                }
                finally
                {
                    admin.TrySetResult(made);
                }
            }
        }) { IsBackground = true, Name = "FlowFleet warm-up" };
        thread.Start();

        static void Early(string name, Action step)
        {
            try
            {
                step();
                StartTrace.Mark("warm " + name);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // No logger exists yet: the same set-up runs again where the host needs it and fails there, logged.
                StartTrace.Mark($"warm {name} failed: {ex.Message}");
            }
        }
    }

    /// <summary>
    /// The first admin made by <see cref="BeforeHost"/> (once) for this data directory, if it was made for the password the
    /// initialization settled on — <paramref name="configured"/>, or a generated one when none is — else null (the initialization hashes it then).
    /// </summary>
    internal static async Task<EarlyAdmin?> TakeAdminAsync(string dataDirectory, string? configured)
    {
        if (Volatile.Read(ref s_admin) is not { } early || early.DataDirectory != Path.GetFullPath(dataDirectory)
            || Interlocked.CompareExchange(ref s_admin, null, early) != early || await early.Made.ConfigureAwait(false) is not { } admin)
        {
            return null;
        }
        return (string.IsNullOrEmpty(configured) ? admin.Generated : !admin.Generated && admin.Password == configured) ? admin : null;
    }

    /// <summary>Begins the initialization and the steps that need only the service provider.</summary>
    internal static void Begin(WebApplication app, Func<WebApplication, Task> initialize)
    {
        var warm = app.Services.GetRequiredService<StartWarmup>();
        var init = Task.Run(() => initialize(app));
        warm.Initialization = init;
        // The key ring may live in the database (clusters): read or created once the databases are ready, beside the main
        // thread's resolution of the hosted services (the key ring's own hosted service comes right after).
        // On SQLite the key ring is files of its own: loaded (on a first start, created) beside the initialization.
        var postgres = string.Equals(app.Configuration["Storage:Provider"], "postgres", StringComparison.OrdinalIgnoreCase);
        _ = (postgres ? init : Task.CompletedTask).ContinueWith(_ => Step(app, "keys", sp => sp.GetService<IKeyRingProvider>()?.GetCurrentKeyRing()), CancellationToken.None,
            TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
        // The flow engine's SQLite files (history, persistent context) are opened — on a first start created, a string of
        // fsyncs — its node registry read from the node types' attributes, and the device registry loaded, beside the rest;
        // in a cluster these live in PostgreSQL, whose schema the initialization makes first, so they are left to the host.
        if (!postgres)
        {
            _ = Task.Run(() =>
            {
                // The device registry's file first (a first start creates its schema: four transactions' fsyncs); the
                // fleet service's start awaits this same load, so the server still listens only with the devices loaded.
                Step(app, "devices", sp =>
                {
                    sp.GetRequiredService<IDeviceStore>().InitializeAsync().GetAwaiter().GetResult();
                    return null;
                });
                Step(app, "history", sp => sp.GetRequiredService<IFlowHistory>());
                Step(app, "contexts", sp => sp.GetRequiredService<ContextManager>());
                Step(app, "registry", sp => sp.GetRequiredService<NodeRegistry>());
                // Then the API's endpoints, once mapped: built here once and kept (BuiltOnceEndpointDataSource), the
                // route matcher's build (the warm request) takes them as they are or waits for this one.
                if (warm._mapped.Task.Wait(TimeSpan.FromSeconds(30)))
                {
                    Step(app, "endpoints", _ => ((IEndpointRouteBuilder)app).DataSources
                        .Where(d => !d.GetType().Name.StartsWith("RazorComponentEndpointDataSource", StringComparison.Ordinal)).Sum(d => d.Endpoints.Count));
                }
            });
        }
    }

    /// <summary>Once every endpoint is mapped: the API's endpoints are kept once built, the editor's component endpoints built.</summary>
    internal static void AfterMapping(WebApplication app)
    {
        var warm = app.Services.GetRequiredService<StartWarmup>();
        BuiltOnceEndpointDataSource.WrapMinimalApis(app);
        warm._mapped.TrySetResult();
        _ = Task.Factory.StartNew(() =>
        {
            var sources = ((IEndpointRouteBuilder)app).DataSources;
            foreach (var source in sources.Where(s => s.GetType().Name.StartsWith("RazorComponentEndpointDataSource", StringComparison.Ordinal)))
            {
                Step(app, "components", _ => source.Endpoints);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private static void Step(WebApplication app, string name, Func<IServiceProvider, object?> build)
    {
        try
        {
            build(app.Services);
            StartTrace.Mark("warm " + name);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Not swallowed: the same step runs again where it is used and reports there; here it only did not help.
            app.Logger.LogDebug(ex, "Start warm-up step {Step} failed", name);
        }
    }
}

/// <summary>
/// The first hosted service of the command line's start: the host's other hosted services are constructed (~100 ms of the
/// start) while the databases and the first admin are prepared, and started only once they are ready — so the server
/// still listens only with the users store and the admin in place (a login works as soon as <c>/healthz</c> answers).
/// </summary>
internal sealed class InitializationGate(StartWarmup warm) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (warm.Initialization is { } init)
        {
            await init.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        StartTrace.Mark("initialized");
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>The first admin's account, its password hashed before the host was built (see <see cref="StartWarmup"/>).</summary>
internal sealed record EarlyAdmin(string Password, bool Generated, UserAccount Account);

/// <summary>The first admin being made for a data directory's first start.</summary>
internal sealed record PendingAdmin(string DataDirectory, Task<EarlyAdmin?> Made);
