using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Rpc;
using FlowFleet.Server.Auth;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.DataProtection;

namespace FlowFleet.Server.Fleet.FleetManager;

/// <summary>
/// Shelly fleet manager compatibility: its client protocol on <c>/client</c> and on its own websocket path <c>/</c>, its
/// HTTP RPC paths (<c>/rpc/&lt;Method&gt;</c>, <c>POST /rpc</c>, <c>/health</c>) and encrypted device passwords.
/// </summary>
public static class FleetManagerCompat
{
    public static IServiceCollection AddFleetManagerCompat(this IServiceCollection services, string dataDir)
    {
        services.AddSingleton(new FmStorage(Path.Combine(dataDir, "fm-storage.json")));
        services.AddSingleton<FmEvents>();
        services.AddSingleton<FmMethods>();
        services.AddSingleton(sp => new DataProtectionDeviceCredentials(Path.Combine(dataDir, "device-credentials.json"), sp.GetRequiredService<IDataProtectionProvider>()));
        services.AddSingleton<IDeviceCredentials>(sp => sp.GetRequiredService<DataProtectionDeviceCredentials>());
        return services;
    }

    /// <summary>
    /// FM's clients open their websocket at <c>/</c> (the UI's own origin) with the token as subprotocol: a websocket
    /// request for <c>/</c> is served as <c>/client</c>; plain requests for <c>/</c> still get the UI.
    /// </summary>
    public static void UseFleetManagerWebsocket(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.Services.GetRequiredService<DeviceHub>().Credentials = app.Services.GetRequiredService<IDeviceCredentials>();
        app.UseWhen(ctx => ctx.Request.Path == "/" && ctx.WebSockets.IsWebSocketRequest, root => root.Run(async ctx =>
        {
            var auth = await ctx.AuthenticateAsync();
            if (!auth.Succeeded || auth.Principal is null)
            {
                ctx.Response.StatusCode = StatusCodes.Status401Unauthorized;
                await ctx.Response.WriteAsJsonAsync(new { error = "unauthorized", message = "Authentication required: send a token (as the websocket subprotocol, a bearer header or ?access_token=)" });
                return;
            }
            if (!Principals.Has(auth.Principal, Policies.DevicesRead))
            {
                ctx.Response.StatusCode = StatusCodes.Status403Forbidden;
                return;
            }
            ctx.User = auth.Principal;
            await ctx.RequestServices.GetRequiredService<ClientHub>().HandleAsync(ctx);
        }));
    }

    /// <summary>FM's HTTP RPC: <c>GET /rpc/&lt;Method&gt;?params</c>, <c>POST /rpc/&lt;Method&gt;</c> (params as body), <c>POST /rpc</c> ({method, params}).</summary>
    public static void MapFleetManagerRest(this IEndpointRouteBuilder app)
    {
        var rpc = app.MapGroup("").WithTags("fleet-manager").AllowAnonymous();
        rpc.MapGet("/health", () => Results.Json(new { online = true })).WithName("FmHealth");
        rpc.MapGet("/rpc/{method}", (string method, HttpContext ctx, FmMethods fm) =>
        {
            var p = new JsonObject();
            foreach (var (k, v) in ctx.Request.Query)
            {
                p[k] = v.ToString();
            }
            return CallAsync(ctx, fm, method, p);
        }).WithName("FmRpcGet");
        rpc.MapPost("/rpc/{method}", async (string method, HttpContext ctx, FmMethods fm) =>
        {
            var (body, error) = await ReadBodyAsync(ctx);
            return error ?? await CallAsync(ctx, fm, method, body);
        }).WithName("FmRpcPost");
        rpc.MapPost("/rpc", async (HttpContext ctx, FmMethods fm) =>
        {
            var (body, error) = await ReadBodyAsync(ctx);
            if (error is not null)
            {
                return error;
            }
            if (body?["method"] is not JsonValue mv || !mv.TryGetValue<string>(out var method))
            {
                return Results.Json(FmFrames.Error(null, null, FmFrames.InvalidRequest, "Invalid request"), statusCode: 400);
            }
            return await CallAsync(ctx, fm, method, body["params"]);
        }).WithName("FmRpc");

        // Passwords for devices with authentication enabled (answered digest challenges), stored encrypted.
        var secrets = app.MapGroup("/api").WithTags("fleet").RequireAuthorization(Policies.DevicesControl);
        secrets.MapPut("/devices/{id}/credentials", async (string id, PasswordBody body, FlowFleet.Fleet.Registry.IDeviceStore devices, IDeviceCredentials credentials, CancellationToken ct) =>
        {
            if (devices.Get(id) is null)
            {
                return Results.Json(new { error = "not_found", message = $"Device {id} not found" }, statusCode: 404);
            }
            await devices.SetPasswordAsync(id, string.IsNullOrEmpty(body.Password) ? null : credentials.Protect(body.Password), ct);
            return Results.NoContent();
        }).WithName("SetDeviceCredentials");
        secrets.MapPut("/fleet/credentials", (PasswordBody body, DataProtectionDeviceCredentials credentials) =>
        {
            credentials.SetFleetPassword(string.IsNullOrEmpty(body.Password) ? null : body.Password);
            return Results.NoContent();
        }).WithName("SetFleetCredentials");
    }

    public sealed record PasswordBody(string? Password);

    private static async Task<(JsonNode? Body, IResult? Error)> ReadBodyAsync(HttpContext ctx)
    {
        try
        {
            return (ctx.Request.ContentLength is 0 ? null : await JsonNode.ParseAsync(ctx.Request.Body, cancellationToken: ctx.RequestAborted), null);
        }
        catch (JsonException ex)
        {
            return (null, Results.Json(FmFrames.Error(null, null, FmFrames.ParseError, "Parse error: " + ex.Message), statusCode: 400));
        }
    }

    /// <summary>As FM: the result itself on success; the whole error frame (<c>{id, src, error}</c>) otherwise.</summary>
    private static async Task<IResult> CallAsync(HttpContext ctx, FmMethods fm, string method, JsonNode? parameters)
    {
        if (ctx.User.Identity?.IsAuthenticated != true && !FmMethods.IsAnonymous(method))
        {
            return Results.Json(FmFrames.Error(null, null, 401, "Authentication required: send Authorization: Bearer <access_token> (User.Authenticate)"), statusCode: 401);
        }
        try
        {
            var result = await fm.CallAsync(new FmCaller(ctx.User, null, ctx.Connection.RemoteIpAddress?.ToString()), method, parameters, ctx.RequestAborted);
            return Results.Text(result?.ToJsonString() ?? "null", "application/json");
        }
        catch (FmException ex)
        {
            var status = ex.Code == FmFrames.Unauthorized ? 403 : 200;
            return Results.Json(FmFrames.Error(null, null, ex.Code, ex.Message), statusCode: status);
        }
        catch (Exception ex) when (ex is ArgumentException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return Results.Json(FmFrames.Error(null, null, FmFrames.InvalidParams, ex.Message), statusCode: 200);
        }
    }
}

/// <summary>Device passwords encrypted with Data Protection: per device in the registry (<c>dp:…</c>), fleet-wide in a file.</summary>
public sealed class DataProtectionDeviceCredentials(string path, IDataProtectionProvider provider) : IDeviceCredentials
{
    private const string Prefix = "dp:";
    private readonly IDataProtector _protector = provider.CreateProtector("FlowFleet.DevicePasswords.v1");
    private string? _fleetPassword;
    private bool _loaded;

    public string? PasswordFor(string deviceId, string? stored)
    {
        if (!string.IsNullOrEmpty(stored))
        {
            // Older records (adoption) hold the password as given.
            return stored.StartsWith(Prefix, StringComparison.Ordinal) ? _protector.Unprotect(stored[Prefix.Length..]) : stored;
        }
        return FleetPassword;
    }

    public string Protect(string password) => Prefix + _protector.Protect(password);

    /// <summary>The password used for every device without one of its own (null: none).</summary>
    public string? FleetPassword
    {
        get
        {
            if (!_loaded)
            {
                _fleetPassword = File.Exists(path) && JsonNode.Parse(File.ReadAllText(path))?["password"]?.GetValue<string>() is { } p ? _protector.Unprotect(p) : null;
                _loaded = true;
            }
            return _fleetPassword;
        }
    }

    public void SetFleetPassword(string? password)
    {
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, new JsonObject { ["password"] = password is null ? null : _protector.Protect(password) }.ToJsonString());
        File.Move(tmp, path, overwrite: true);
        (_fleetPassword, _loaded) = (password, true);
    }
}
