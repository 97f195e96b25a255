using System.Text.Json.Nodes;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Fleet.Registry;

namespace FlowFleet.Fleet.Ble;

/// <summary>What to provision: a device (BLE address or id) onto a Wi-Fi network with its websocket pointed at a server.</summary>
public sealed record BleProvisionRequest(string Device, string Ssid, string? Password, string? ServerUrl = null, string? Adapter = null)
{
    /// <summary>How long to wait for the device on <c>/shelly</c> after its reboot.</summary>
    public TimeSpan? ConnectTimeout { get; init; }
}

/// <summary>Progress of one device: the step running or finished (<c>done</c>/<c>failed</c> at the end).</summary>
public sealed record BleProvisionProgress(string Device, string Step, string State, string? Detail = null);

/// <summary>The outcome for one device: its fleet id on success, else the step that failed and why.</summary>
public sealed record BleProvisionResult(string Device, bool Ok, string? DeviceId, string? FailedStep, string? Error, string? Adapter, double DurationMs)
{
    public bool Pending { get; init; }

    public JsonObject ToJson() => new()
    {
        ["device"] = Device, ["ok"] = Ok, ["id"] = DeviceId, ["failedStep"] = FailedStep, ["error"] = Error, ["station"] = Adapter,
        ["pending"] = Pending, ["durationMs"] = Math.Round(DurationMs),
    };
}

/// <summary>
/// Provisioning over BLE as Shelly's apps do it: <c>Shelly.GetDeviceInfo</c> (to learn the id), <c>WiFi.SetConfig</c>,
/// <c>Ws.SetConfig</c> (this server's <c>/shelly</c>), <c>Shelly.Reboot</c>; then it waits until the device connects on
/// <c>/shelly</c>. Reports every step; a failure names its step.
/// </summary>
public sealed class BleProvisioner(BleService ble, DeviceHub hub)
{
    public const string StepConnect = "connect";
    public const string StepInfo = "Shelly.GetDeviceInfo";
    public const string StepWifi = "WiFi.SetConfig";
    public const string StepWs = "Ws.SetConfig";
    public const string StepReboot = "Shelly.Reboot";
    public const string StepWait = "wait for /shelly";

    /// <summary>The <c>/shelly</c> URL devices are given when a request names none (set by the host once it listens).</summary>
    public string? DefaultServerUrl { get; set; }

    /// <summary>Added to the server URL as <c>?token=</c> when admission is manual, so provisioned devices are admitted.</summary>
    public Func<CancellationToken, Task<string?>>? EnrollmentToken { get; set; }

    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(60);

    public async Task<BleProvisionResult> ProvisionAsync(BleProvisionRequest request, IProgress<BleProvisionProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var started = TimeProvider.System.GetTimestamp();
        var step = StepConnect;
        string? id = null;
        string? via = null;
        double Elapsed() => TimeProvider.System.GetElapsedTime(started).TotalMilliseconds;
        BleProvisionResult Fail(string error)
        {
            progress?.Report(new BleProvisionProgress(request.Device, step, "failed", error));
            return new BleProvisionResult(request.Device, false, id, step, error, via, Elapsed());
        }
        if (string.IsNullOrWhiteSpace(request.Ssid))
        {
            step = StepWifi;
            return Fail("an SSID is required");
        }
        var server = request.ServerUrl ?? DefaultServerUrl;
        if (string.IsNullOrWhiteSpace(server) || !Uri.TryCreate(server, UriKind.Absolute, out var serverUri) || serverUri.Scheme is not ("ws" or "wss"))
        {
            step = StepWs;
            return Fail($"the server URL must be ws:// or wss:// (got '{server}')");
        }
        if (hub.Options.Admission != "auto" && EnrollmentToken is not null && !server.Contains("token=", StringComparison.Ordinal)
            && await EnrollmentToken(ct).ConfigureAwait(false) is { } token)
        {
            server += (server.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "token=" + Uri.EscapeDataString(token);
        }
        var arrived = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        IDisposable? watch = null;
        try
        {
            progress?.Report(new BleProvisionProgress(request.Device, step, "running"));
            (id, via) = await ble.WithDeviceAsync(request.Device, request.Adapter, async (rpc, adapter) =>
            {
                via = adapter;
                step = StepInfo;
                progress?.Report(new BleProvisionProgress(request.Device, step, "running", "via " + adapter));
                var info = await rpc.CallAsync(StepInfo, null, ct).ConfigureAwait(false);
                var deviceId = info?["id"]?.GetValue<string>() ?? throw new BleException("the device info has no id");
                id = deviceId;
                // Watch before the reboot: the device may be back within a second.
                watch = hub.Subscribe(e =>
                {
                    if (e.DeviceId == deviceId && e.Kind is DeviceEventKind.Connect or DeviceEventKind.Pending)
                    {
                        arrived.TrySetResult(e.Kind == DeviceEventKind.Pending);
                    }
                });
                step = StepWifi;
                progress?.Report(new BleProvisionProgress(request.Device, step, "running", request.Ssid));
                await rpc.CallAsync(StepWifi, new JsonObject
                {
                    ["config"] = new JsonObject { ["sta"] = new JsonObject { ["ssid"] = request.Ssid, ["pass"] = request.Password ?? "", ["enable"] = true } },
                }, ct).ConfigureAwait(false);
                step = StepWs;
                progress?.Report(new BleProvisionProgress(request.Device, step, "running", serverUri.GetLeftPart(UriPartial.Path)));
                await rpc.CallAsync(StepWs, new JsonObject { ["config"] = new JsonObject { ["enable"] = true, ["server"] = server } }, ct).ConfigureAwait(false);
                step = StepReboot;
                progress?.Report(new BleProvisionProgress(request.Device, step, "running"));
                await rpc.CallAsync(StepReboot, new JsonObject { ["delay_ms"] = 500 }, ct).ConfigureAwait(false);
                return (deviceId, adapter);
            }, ct).ConfigureAwait(false);
            step = StepWait;
            progress?.Report(new BleProvisionProgress(request.Device, step, "running", id));
            var timeout = request.ConnectTimeout ?? ConnectTimeout;
            bool pending;
            try
            {
                pending = await arrived.Task.WaitAsync(timeout, ct).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return Fail($"{id} did not connect within {timeout.TotalSeconds:0} s (wrong Wi-Fi credentials, or the server URL is not reachable from its network)");
            }
            progress?.Report(new BleProvisionProgress(request.Device, "done", "done", pending ? id + " connected, waiting for admission" : id + " connected"));
            return new BleProvisionResult(request.Device, true, id, null, null, via, Elapsed()) { Pending = pending };
        }
        catch (BleException ex)
        {
            return Fail(ex.Message);
        }
        catch (ShellyRpcException ex)
        {
            return Fail($"the device refused: {ex.Message} ({ex.Code})");
        }
        finally
        {
            watch?.Dispose();
        }
    }

    /// <summary>Provisions several devices, <paramref name="concurrency"/> at a time; results in request order.</summary>
    public async Task<IReadOnlyList<BleProvisionResult>> ProvisionManyAsync(IReadOnlyList<BleProvisionRequest> requests, int concurrency = 4,
        IProgress<BleProvisionProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        using var slots = new SemaphoreSlim(Math.Max(1, concurrency));
        var tasks = requests.Select(async r =>
        {
            await slots.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                return await ProvisionAsync(r, progress, ct).ConfigureAwait(false);
            }
            finally
            {
                slots.Release();
            }
        }).ToList();
        return await Task.WhenAll(tasks).ConfigureAwait(false);
    }
}
