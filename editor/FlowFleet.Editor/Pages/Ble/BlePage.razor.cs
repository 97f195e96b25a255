using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Editor.Model;
using FlowFleet.Fleet.Ble;
using FlowFleet.Fleet.Protocol;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;

namespace FlowFleet.Editor.Pages.Ble;

/// <summary>
/// The BLE page: adapters and stations with their state, the live list of Shellies in range, provisioning of one or many
/// with progress and a result per device, and an RPC console over GATT.
/// </summary>
public sealed partial class BlePage : IDisposable
{
    private static readonly JsonSerializerOptions s_indented = new() { WriteIndented = true };

    private readonly HashSet<string> _selected = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, BleProvisionProgress> _runs = new(StringComparer.OrdinalIgnoreCase);
    private IReadOnlyList<BleDevice> _devices = [];
    private IReadOnlyList<BleAdapterInfo> _adapters = [];
    private IDisposable? _subscription;
    private Timer? _timer;
    private bool _ready;
    private bool _canControl;
    private string? _ssid;
    private string? _password;
    private string? _server;
    private string? _error;
    private string? _rpcDevice;
    private string? _rpcMethod = "Shelly.GetDeviceInfo";
    private string? _rpcParams;
    private string? _rpcResult;
    private bool _rpcOk;
    private bool _rpcBusy;

    [Inject] private BleService Ble { get; set; } = default!;

    [Inject] private BleProvisioner Provisioner { get; set; } = default!;

    [Inject] private AuthenticationStateProvider Auth { get; set; } = default!;

    protected override async Task OnInitializedAsync()
    {
        var user = (await Auth.GetAuthenticationStateAsync()).User;
        _canControl = FleetUi.Can(user, "devices.control");
        _server = Provisioner.DefaultServerUrl;
        Refresh();
        _subscription = Ble.Subscribe(() => _ = InvokeAsync(() => { Refresh(); StateHasChanged(); }));
        // RSSI and "in fleet" change without a BLE event (a device connecting on /shelly): a slow refresh keeps them current.
        _timer = new Timer(_ => _ = InvokeAsync(() => { Refresh(); StateHasChanged(); }), null, 1000, 1000);
    }

    protected override void OnAfterRender(bool firstRender)
    {
        if (firstRender)
        {
            _ready = true;
            StateHasChanged();
        }
    }

    private void Refresh()
    {
        _devices = Ble.InRange();
        _adapters = Ble.Adapters;
    }

    private bool AllSelected => _devices.Any(d => !d.Provisioned) && _devices.Where(d => !d.Provisioned).All(d => _selected.Contains(d.Address));

    private void SelectAll(ChangeEventArgs e)
    {
        _selected.Clear();
        if (e.Value is true)
        {
            _selected.UnionWith(_devices.Where(d => !d.Provisioned).Select(d => d.Address));
        }
    }

    private void Toggle(string address, ChangeEventArgs e)
    {
        if (e.Value is true)
        {
            _selected.Add(address);
        }
        else
        {
            _selected.Remove(address);
        }
    }

    private async Task ToggleScanAsync()
    {
        if (Ble.Scanning)
        {
            await Ble.StopScanAsync();
        }
        else
        {
            await Ble.StartScanAsync();
        }
        Refresh();
    }

    private async Task ProvisionAsync(List<string> addresses)
    {
        _error = null;
        if (string.IsNullOrWhiteSpace(_ssid) || addresses.Count == 0)
        {
            _error = "Choose devices and enter the Wi-Fi SSID.";
            return;
        }
        foreach (var a in addresses)
        {
            _runs[a] = new BleProvisionProgress(a, "queued", "running");
            _selected.Remove(a);
        }
        var requests = addresses.Select(a => new BleProvisionRequest(a, _ssid.Trim(), _password, string.IsNullOrWhiteSpace(_server) ? null : _server.Trim())).ToList();
        var progress = new PageProgress(this);
        // The work is not tied to the circuit's render: it finishes even if the user leaves the page.
        var results = await Task.Run(() => Provisioner.ProvisionManyAsync(requests, 4, progress));
        foreach (var r in results)
        {
            _runs[r.Device] = r.Ok
                ? new BleProvisionProgress(r.Device, "done", "done", r.Pending ? $"{r.DeviceId} waits for admission" : $"{r.DeviceId} online")
                : new BleProvisionProgress(r.Device, r.FailedStep ?? "failed", "failed", r.Error);
        }
        Refresh();
    }

    private async Task CallAsync()
    {
        _rpcBusy = true;
        try
        {
            JsonNode? parameters = null;
            if (!string.IsNullOrWhiteSpace(_rpcParams))
            {
                try
                {
                    parameters = JsonNode.Parse(_rpcParams);
                }
                catch (JsonException ex)
                {
                    (_rpcOk, _rpcResult) = (false, "params is not valid JSON: " + ex.Message);
                    return;
                }
            }
            var (result, via) = await Task.Run(() => Ble.CallAsync(_rpcDevice!, _rpcMethod!.Trim(), parameters));
            (_rpcOk, _rpcResult) = (true, $"via {via}\n" + (result?.ToJsonString(s_indented) ?? "null"));
        }
        catch (ShellyRpcException ex)
        {
            (_rpcOk, _rpcResult) = (false, $"device error {ex.Code}: {ex.Message}");
        }
        catch (Exception ex) when (ex is BleException or ArgumentException)
        {
            (_rpcOk, _rpcResult) = (false, ex.Message);
        }
        finally
        {
            _rpcBusy = false;
        }
    }

    public void Dispose()
    {
        _subscription?.Dispose();
        _timer?.Dispose();
    }

    /// <summary>Step updates from the provisioner's threads, shown in the row of each device.</summary>
    private sealed class PageProgress(BlePage page) : IProgress<BleProvisionProgress>
    {
        public void Report(BleProvisionProgress value) => _ = page.InvokeAsync(() =>
        {
            page._runs[value.Device] = value;
            page.StateHasChanged();
        });
    }
}
