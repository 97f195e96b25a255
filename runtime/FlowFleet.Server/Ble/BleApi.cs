using System.Text.Json.Nodes;
using FlowFleet.Fleet.Ble;
using FlowFleet.Fleet.Ble.Station;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Server.Auth;
using FlowFleet.Server.Fleet;
using FlowFleet.Server.Red;
using Microsoft.AspNetCore.Mvc;

namespace FlowFleet.Server.Ble;

/// <summary>REST for BLE under <c>/api/ble</c>: adapters, scanning, devices in range, provisioning (one or many), RPC over GATT.</summary>
public static class BleApi
{
    public sealed record ScanRequest(string? Action);

    public sealed record ProvisionRequest(string[]? Devices, string? Device, string? Ssid, string? Password, string? Server, string? Adapter, double? Timeout, int? Concurrency);

    public sealed record BleRpcRequest(string? Method, JsonNode? Params, string? Adapter);

    public sealed record StationTokenRequest(string? Name);

    public static void MapBleApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/ble").WithTags("ble");
        var read = api.MapGroup("").RequireAuthorization(Policies.DevicesRead);
        var control = api.MapGroup("").RequireAuthorization(Policies.DevicesControl);

        read.MapGet("/adapters", (BleService ble) => Results.Json(new JsonObject
        {
            ["scanning"] = ble.Scanning, ["items"] = new JsonArray(ble.Adapters.Select(a => (JsonNode?)a.ToJson()).ToArray()),
        })).WithName("ListBleAdapters").WithSummary("BLE adapters and stations with their state");

        read.MapGet("/devices", (BleService ble) =>
        {
            var items = ble.InRange();
            return Results.Json(new JsonObject { ["scanning"] = ble.Scanning, ["items"] = new JsonArray(items.Select(d => (JsonNode?)d.ToJson()).ToArray()), ["total"] = items.Count });
        }).WithName("ListBleDevices").WithSummary("Shelly devices in BLE range: RSSI per adapter, model, flags, provisioned?");

        control.MapPost("/scan", async ([FromBody] ScanRequest? body, BleService ble, CancellationToken ct) =>
        {
            switch (body?.Action ?? "start")
            {
                case "start":
                    await ble.StartScanAsync(ct);
                    break;
                case "stop":
                    await ble.StopScanAsync(ct);
                    break;
                default:
                    return RedErrors.BadRequest("action must be start or stop");
            }
            return Results.Json(new JsonObject { ["scanning"] = ble.Scanning });
        }).WithName("BleScan").WithSummary("Start or stop scanning on every adapter ({\"action\":\"start\"|\"stop\"})");

        control.MapPost("/provision", async ([FromBody] ProvisionRequest body, BleProvisioner provisioner, CancellationToken ct) =>
        {
            IReadOnlyList<BleProvisionRequest> requests;
            try
            {
                requests = ProvisionRequests(body.Devices is { Length: > 0 } many ? many : body.Device is { Length: > 0 } one ? [one] : [],
                    body.Ssid, body.Password, body.Server, body.Adapter, body.Timeout);
            }
            catch (ArgumentException ex)
            {
                return RedErrors.BadRequest(ex.Message);
            }
            var results = await provisioner.ProvisionManyAsync(requests, Math.Clamp(body.Concurrency ?? 4, 1, 16), ct: ct);
            return Results.Json(new JsonObject
            {
                ["total"] = results.Count, ["ok"] = results.Count(r => r.Ok), ["failed"] = results.Count(r => !r.Ok),
                ["results"] = new JsonArray(results.Select(r => (JsonNode?)r.ToJson()).ToArray()),
            });
        }).WithName("BleProvision").WithSummary("Provision devices over BLE: WiFi.SetConfig, Ws.SetConfig, Shelly.Reboot, then wait for them on /shelly");

        read.MapGet("/stations", (BleStationHub hub) => Results.Json(new JsonArray(hub.Stations.Select(s => (JsonNode?)new JsonObject
        {
            ["name"] = s.Station, ["adapter"] = s.Name, ["localAdapter"] = s.LocalAdapter, ["state"] = s.Status.State.ToString(), ["detail"] = s.Status.Detail,
            ["remote"] = s.Remote, ["connectedAt"] = s.ConnectedAt.ToString("O"), ["token"] = s.TokenId,
        }).ToArray()))).WithName("ListBleStations").WithSummary("Connected BLE stations");

        control.MapGet("/stations/tokens", (StationTokenStore tokens) => Results.Json(tokens.List().Select(StationTokenJson).ToArray()))
            .WithName("ListBleStationTokens").WithSummary("BLE station tokens (secrets are shown only when created)");
        control.MapPost("/stations/tokens", ([FromBody] StationTokenRequest? body, StationTokenStore tokens) =>
        {
            var (token, secret) = tokens.Create(body?.Name);
            var o = StationTokenJson(token);
            o["token"] = secret;
            return Results.Json(o);
        }).WithName("CreateBleStationToken").WithSummary("Create a BLE station token: flowfleet ble-station --server ws://host:7011/ble --token <token>");
        control.MapDelete("/stations/tokens/{id}", (string id, StationTokenStore tokens) =>
            tokens.Revoke(id) ? Results.NoContent() : RedErrors.Json(404, "not_found", "No such station token"))
            .WithName("RevokeBleStationToken").WithSummary("Revoke a BLE station token; stations using it are disconnected");

        control.MapPost("/devices/{device}/rpc", async (string device, [FromBody] BleRpcRequest body, BleService ble, CancellationToken ct) =>
        {
            if (string.IsNullOrWhiteSpace(body.Method))
            {
                return RedErrors.BadRequest("method is required");
            }
            try
            {
                var (result, via) = await ble.CallAsync(device, body.Method, body.Params, body.Adapter, ct);
                return Results.Json(new JsonObject { ["result"] = result, ["station"] = via });
            }
            catch (ShellyRpcException ex)
            {
                return FleetApi.DeviceError(ex);
            }
            catch (BleException ex)
            {
                return RedErrors.Json(ble.Find(device) is null ? 404 : 502, "ble_error", ex.Message);
            }
            catch (ArgumentException ex)
            {
                return RedErrors.BadRequest(ex.Message);
            }
        }).WithName("BleCall").WithSummary("Call any method on a device over BLE (GATT RPC)");
    }

    /// <summary>
    /// One provisioning request per device, checked the same way for REST and <c>Ble.Provision</c> on <c>/client</c>: devices
    /// and SSID required, at most 200 devices, the connect timeout capped at 10 minutes. Bad input is an <see cref="ArgumentException"/>.
    /// </summary>
    public static IReadOnlyList<BleProvisionRequest> ProvisionRequests(IReadOnlyList<string> devices, string? ssid, string? password, string? server, string? adapter, double? timeoutSeconds)
    {
        ArgumentNullException.ThrowIfNull(devices);
        if (devices.Count == 0 || string.IsNullOrWhiteSpace(ssid))
        {
            throw new ArgumentException("devices (BLE addresses or ids) and ssid are required");
        }
        if (devices.Count > 200)
        {
            throw new ArgumentException("at most 200 devices per request");
        }
        var timeout = timeoutSeconds is > 0 ? TimeSpan.FromSeconds(Math.Min(timeoutSeconds.Value, 600)) : (TimeSpan?)null;
        return [.. devices.Select(d => new BleProvisionRequest(d, ssid, password, server, adapter) { ConnectTimeout = timeout })];
    }

    private static JsonObject StationTokenJson(StationToken t) => new()
    {
        ["id"] = t.Id, ["name"] = t.Name, ["createdAt"] = t.CreatedAt.ToString("O"), ["revoked"] = t.Revoked, ["lastUsed"] = t.LastUsed?.ToString("O"), ["uses"] = t.Uses,
    };
}
