using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FlowFleet.DeviceSim;

/// <summary>
/// The device-local HTTP API of simulated devices: <c>/dev/{id}/rpc</c> (POST a frame, or GET <c>/dev/{id}/rpc/Method?params</c>),
/// the same as a websocket, and <c>/dev/{id}/shelly</c>. A real device answers at <c>http://&lt;ip&gt;/rpc</c>; here many devices
/// share one port, so the "address" of a device is <c>http://host:port/dev/{id}</c>. Digest auth when the device has a password.
/// </summary>
public sealed class LocalRpcServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LocalRpcServer(WebApplication app, Uri baseUri)
    {
        _app = app;
        BaseUri = baseUri;
    }

    public Uri BaseUri { get; }

    /// <summary>The address to use for a device (what "its IP" is for adoption).</summary>
    public string AddressOf(SimDevice device) => new Uri(BaseUri, $"dev/{device.Id}").ToString();

    public static async Task<LocalRpcServer> StartAsync(IEnumerable<SimDevice> devices, string url = "http://127.0.0.1:0")
    {
        var byId = devices.ToDictionary(d => d.Id, StringComparer.OrdinalIgnoreCase);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(url);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.UseWebSockets();
        app.MapGet("/dev/{id}/shelly", (string id) => byId.TryGetValue(id, out var d) ? Results.Json(d.DeviceInfo()) : Results.NotFound());
        app.Map("/dev/{id}/rpc/{method?}", async (HttpContext ctx, string id, string? method) =>
        {
            if (!byId.TryGetValue(id, out var device))
            {
                ctx.Response.StatusCode = 404;
                return;
            }
            if (ctx.WebSockets.IsWebSocketRequest)
            {
                await ServeWebSocketAsync(ctx, device);
                return;
            }
            await ServeHttpAsync(ctx, device, method);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new LocalRpcServer(app, new Uri(address.TrimEnd('/') + "/"));
    }

    private static async Task ServeHttpAsync(HttpContext ctx, SimDevice device, string? method)
    {
        JsonObject frame;
        if (method is null)
        {
            try
            {
                frame = await JsonNode.ParseAsync(ctx.Request.Body) as JsonObject ?? throw new JsonException("not an object");
            }
            catch (JsonException ex)
            {
                ctx.Response.StatusCode = 400;
                await ctx.Response.WriteAsync("Invalid JSON: " + ex.Message);
                return;
            }
        }
        else
        {
            var p = new JsonObject();
            foreach (var (k, v) in ctx.Request.Query)
            {
                var text = v.ToString();
                try
                {
                    p[k] = JsonNode.Parse(text);
                }
                catch (JsonException)
                {
                    p[k] = text;
                }
            }
            frame = new JsonObject { ["id"] = 1, ["method"] = method, ["params"] = p };
        }
        var name = frame["method"]?.GetValue<string>() ?? "";
        if (device.AuthEnabled && !name.Equals("Shelly.GetDeviceInfo", StringComparison.OrdinalIgnoreCase) && frame["auth"] is null
            && !device.VerifyHttpDigest(ctx.Request.Headers.Authorization.ToString() is { Length: > 0 } a ? a : null, ctx.Request.Method, out var challenge))
        {
            ctx.Response.StatusCode = 401;
            ctx.Response.Headers.WWWAuthenticate = challenge;
            return;
        }
        frame["id"] ??= 1;
        var response = device.HandleFrame(frame, "HTTP_in", localChannel: frame["auth"] is not null);
        if (response is null)
        {
            ctx.Response.StatusCode = 204;
            return;
        }
        // HTTP answers carry the bare result for GET /rpc/Method, the whole frame for POST /rpc.
        if (method is not null)
        {
            if (response["error"] is JsonObject error)
            {
                ctx.Response.StatusCode = error["code"]!.GetValue<int>() is 401 ? 401 : error["code"]!.GetValue<int>() == 404 ? 404 : 500;
                await ctx.Response.WriteAsJsonAsync(error);
                return;
            }
            await ctx.Response.WriteAsync(response["result"]?.ToJsonString() ?? "null");
            return;
        }
        await ctx.Response.WriteAsJsonAsync(response);
    }

    private static async Task ServeWebSocketAsync(HttpContext ctx, SimDevice device)
    {
        using var ws = await ctx.WebSockets.AcceptWebSocketAsync();
        var buffer = new byte[64 * 1024];
        while (ws.State == WebSocketState.Open)
        {
            var count = 0;
            WebSocketReceiveResult result;
            do
            {
                result = await ws.ReceiveAsync(buffer.AsMemory(count), ctx.RequestAborted) is var r ? new WebSocketReceiveResult(r.Count, r.MessageType, r.EndOfMessage) : null!;
                count += result.Count;
            }
            while (!result.EndOfMessage && count < buffer.Length);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, null, ctx.RequestAborted);
                return;
            }
            JsonObject? frame;
            try
            {
                frame = JsonNode.Parse(buffer.AsSpan(0, count)) as JsonObject;
            }
            catch (JsonException)
            {
                continue;
            }
            if (frame is null)
            {
                continue;
            }
            var response = device.HandleFrame(frame, "WS_in", localChannel: true);
            if (response is not null)
            {
                await ws.SendAsync(Encoding.UTF8.GetBytes(response.ToJsonString()), WebSocketMessageType.Text, true, ctx.RequestAborted);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
