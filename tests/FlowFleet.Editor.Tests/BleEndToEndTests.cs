using FlowFleet.DeviceSim.Ble;
using FlowFleet.Fleet.Ble;
using FlowFleet.Fleet.Hub;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace FlowFleet.Editor.Tests;

/// <summary>
/// The BLE page in headless Chromium with mouse and keyboard: four unprovisioned simulated Shellies in range, three of them
/// provisioned from the page (progress and a result per device), then found on the Devices page; the RPC console over BLE.
/// </summary>
public sealed class BleEndToEndTests : BrowserEndToEndTest
{
    private const string Password = "ble-e2e-pass";
    private SimBleAdapter _adapter = default!;

    protected override async Task StartAsync()
    {
        _adapter = new SimBleAdapter("sim-e2e");
        _adapter.AddUnprovisioned(4, "BEE000", "plus1pm", network: ("Workshop", "ws-pass-42"));
        // Manual admission (the default): the provisioner's enrollment token admits what it provisions.
        await StartServerAsync(Password, null, s => s.AddSingleton<IBleAdapter>(_adapter));
    }

    [Fact]
    public async Task Provision_three_devices_from_the_ble_page_and_see_them_on_the_devices_page()
    {
        var page = await EditorPageAsync(Password, 1500, 1000);
        await NavigateAsync(page, "BLE", "ble-page");
        await page.Locator("[data-testid=ble-adapter][data-name='sim-e2e'][data-state='Ready']").WaitForAsync();
        Assert.Equal(0, await page.Locator("[data-testid=ble-device]").CountAsync());

        await Pointer.ClickAsync(page, page.Locator("[data-testid=ble-scan]"));
        await page.Locator("[data-testid=ble-adapter][data-state='Scanning']").WaitForAsync();
        await page.WaitForFunctionAsync("() => document.querySelectorAll('[data-testid=ble-device][data-provisioned=false]').length === 4");

        // The RPC console talks to a device over GATT before it is provisioned.
        var first = _adapter.Devices[0];
        await Pointer.ClickAsync(page, page.Locator($"[data-testid=ble-device][data-address='{first.Address}'] [data-testid=ble-pick-rpc]"));
        await Pointer.ClickAsync(page, page.Locator("[data-testid=ble-rpc-run]"));
        await page.Locator($"[data-testid=ble-rpc-result][data-ok=true]:has-text('{first.Device.Id}')").WaitForAsync();

        await Pointer.ClickAsync(page, page.Locator("input[data-testid=ble-ssid], [data-testid=ble-ssid] input").First);
        await page.Keyboard.TypeAsync("Workshop");
        await Pointer.ClickAsync(page, page.Locator("input[data-testid=ble-password], [data-testid=ble-password] input").First);
        await page.Keyboard.TypeAsync("ws-pass-42");
        var chosen = _adapter.Devices.Take(3).ToList();
        foreach (var d in chosen)
        {
            await Pointer.ClickAsync(page, page.Locator($"[data-testid=ble-device][data-address='{d.Address}'] [data-testid=ble-select]"));
        }
        await page.Locator("[data-testid=ble-provision]:has-text('provision 3')").WaitForAsync();
        await Pointer.ClickAsync(page, page.Locator("[data-testid=ble-provision]"));
        foreach (var d in chosen)
        {
            // Done or failed, whichever comes first, so a failure shows its step and reason instead of a timeout. The bound is
            // generous: the whole suite shares two cores, and each device reboots and reconnects on /shelly.
            var status = page.Locator($"[data-testid=ble-device][data-address='{d.Address}'] [data-testid=ble-status]");
            await page.Locator($"[data-testid=ble-device][data-address='{d.Address}'] [data-testid=ble-status]:is([data-state=done], [data-state=failed])")
                .WaitForAsync(new LocatorWaitForOptions { Timeout = 180_000 });
            Assert.True(await status.GetAttributeAsync("data-state") == "done", await status.InnerTextAsync());
        }
        var left = _adapter.Devices[3];
        Assert.Equal("", await page.Locator($"[data-testid=ble-device][data-address='{left.Address}'] [data-testid=ble-status]").GetAttributeAsync("data-state"));
        await page.WaitForFunctionAsync("() => document.querySelectorAll('[data-testid=ble-device][data-provisioned=true]').length === 3");
        var hub = Get<DeviceHub>();
        Assert.All(chosen, d => Assert.True(hub.IsOnline(d.Device.Id)));
        Assert.False(hub.IsOnline(left.Device.Id));

        await NavigateAsync(page, "Devices", "devices-page");
        foreach (var d in chosen)
        {
            await page.Locator($"[data-testid=device-card][data-id='{d.Device.Id}']").WaitForAsync();
        }
        Assert.Equal(0, await page.Locator($"[data-testid=device-card][data-id='{left.Device.Id}']").CountAsync());
    }

    [Fact]
    public async Task A_station_token_made_on_the_page_lets_a_station_in_its_devices_show_and_revoking_drops_it()
    {
        var page = await EditorPageAsync(Password, 1500, 1200);
        await NavigateAsync(page, "BLE", "ble-page");
        await page.Locator("[data-testid=ble-no-station]").WaitForAsync();

        await Pointer.ClickAsync(page, page.Locator("input[data-testid=ble-token-name], [data-testid=ble-token-name] input").First);
        await page.Keyboard.TypeAsync("pi-1");
        await Pointer.ClickAsync(page, page.Locator("[data-testid=ble-token-create]"));
        var secret = (await page.Locator("[data-testid=ble-token-secret]").TextContentAsync())!.Trim();
        Assert.StartsWith("bst_", secret, StringComparison.Ordinal);
        await page.Locator("[data-testid=ble-token][data-revoked=false]:has-text('pi-1')").WaitForAsync();

        await using var radio = new SimBleAdapter("hci0");
        var far = radio.AddUnprovisioned(1, "F1F100", "plus1pm")[0];
        var station = new FlowFleet.Fleet.Ble.Station.BleStationClient(new Uri($"ws://{new Uri(Base).Authority}/ble"), secret, "pi-1", radio)
        {
            MinBackoff = TimeSpan.FromMilliseconds(200), MaxBackoff = TimeSpan.FromSeconds(1),
        };
        using var stop = new CancellationTokenSource();
        var run = station.RunAsync(stop.Token);
        try
        {
            await page.Locator("[data-testid=ble-station][data-name='pi-1'][data-state=Ready]").WaitForAsync();
            await page.Locator("[data-testid=ble-adapter][data-name='station:pi-1']").WaitForAsync();
            await Pointer.ClickAsync(page, page.Locator("[data-testid=ble-scan]"));
            await page.Locator($"[data-testid=ble-device][data-address='{far.Address}']:has-text('station:pi-1')").WaitForAsync();

            await Pointer.ClickAsync(page, page.Locator("[data-testid=ble-token]:has-text('pi-1') [data-testid=ble-token-revoke]"));
            await page.Locator("[data-testid=ble-token][data-revoked=true]:has-text('pi-1')").WaitForAsync();
            await page.Locator("[data-testid=ble-no-station]").WaitForAsync();
            Assert.Equal(0, await page.Locator("[data-testid=ble-adapter][data-name='station:pi-1']").CountAsync());
        }
        finally
        {
            await stop.CancelAsync();
            await run;
        }
    }
}
