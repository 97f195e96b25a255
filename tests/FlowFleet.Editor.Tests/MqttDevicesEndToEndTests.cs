using System.Globalization;
using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Hub;
using Microsoft.Playwright;

namespace FlowFleet.Editor.Tests;

/// <summary>50 simulated Shelly devices over MQTT (embedded broker) and 50 over the websocket, side by side in headless Chromium.</summary>
public sealed class MqttDevicesEndToEndTests : BrowserEndToEndTest
{
    private const string Password = "mqtt-e2e-pass";
    private const int PerTransport = 50;
    private static readonly SimOptions s_sim = new() { MinBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromSeconds(1), ReportInterval = TimeSpan.FromSeconds(5) };
    private SimFleet _mqtt = default!;
    private SimFleet _ws = default!;

    protected override async Task StartAsync()
    {
        var port = Loopback.FreePort();
        await StartServerAsync(Password, ["--Fleet:Admission", "auto", "--Mqtt:Broker:Enabled", "true", "--Mqtt:Broker:Address", "127.0.0.1", "--Mqtt:Broker:Port", port.ToString(CultureInfo.InvariantCulture), "--Mqtt:Broker:AllowAnonymous", "true"]);
        _mqtt = Own(new SimFleet(null, PerTransport, "plus1pm", s_sim, firstIndex: 0, mqtt: new Uri($"mqtt://127.0.0.1:{port}")));
        _ws = Own(new SimFleet(ShellyUrl, PerTransport, "plus1pm", s_sim, firstIndex: 1000));
        await _mqtt.StartAsync();
        await _ws.StartAsync();
        var hub = Get<DeviceHub>();
        await Poll.UntilAsync(() => hub.OnlineCount >= 2 * PerTransport, () => $"only {hub.OnlineCount} of {2 * PerTransport} devices online", 60_000);
    }

    private async Task<IPage> LogInAsync(string path)
    {
        var page = await NewPageAsync();
        await TestHost.LogInAsync(page, Base, Password, path: path);
        return page;
    }

    [Fact]
    public async Task Mqtt_and_websocket_devices_appear_side_by_side_and_answer_mass_rpc()
    {
        var page = await LogInAsync("/devices");
        await page.WaitForSelectorAsync("[data-testid=devices-page][data-ready=true]");
        await page.Locator($"[data-testid=device-count]:has-text('{2 * PerTransport} devices · {2 * PerTransport} online')").WaitForAsync();
        var mqttId = _mqtt.Devices.First().Id;
        var wsId = _ws.Devices.First().Id;
        await page.FillAsync("input[data-testid=device-search]", mqttId);
        await page.Locator($"[data-testid=device-card][data-id='{mqttId}']:has-text('· MQTT')").WaitForAsync();
        await page.FillAsync("input[data-testid=device-search]", wsId);
        var wsCard = page.Locator($"[data-testid=device-card][data-id='{wsId}']");
        await wsCard.WaitForAsync();
        Assert.DoesNotContain("MQTT", await wsCard.TextContentAsync() ?? "", StringComparison.Ordinal);

        await page.GotoAsync(Base + "/mass-rpc");
        await page.WaitForSelectorAsync("[data-testid=mass-rpc][data-ready=true]");
        // Pointer and keyboard as a person uses them: the params are typed key by key and the run button clicked at once.
        await Pointer.ClickAsync(page, "input[data-testid=picker-search]");
        await page.Keyboard.TypeAsync("shellyplus1pm");
        await page.WaitForFunctionAsync($"() => document.querySelector('[data-testid=picker-select-all]').textContent.includes('({2 * PerTransport})')");
        await Pointer.ClickAsync(page, "[data-testid=picker-select-all]");
        await Pointer.ClickAsync(page, "input[data-testid=mass-method-filter]");
        await page.Keyboard.TypeAsync("Switch.Set");
        // The list filters after a short debounce: a person clicks once it has settled (clicking earlier hits whichever
        // method then moves under the pointer), and checks the chosen method in the line below it.
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('[data-testid=mass-method-option]')].every(e => e.dataset.method.includes('Switch.Set'))");
        await Pointer.ClickAsync(page, "[data-testid=mass-method-option][data-method='Switch.Set']");
        await page.Locator("[data-testid=mass-support]:has-text('Switch.Set:')").WaitForAsync();
        await Pointer.ClickAsync(page, "input[data-testid=mass-params]");
        await page.Keyboard.TypeAsync("""{"id":0,"on":true}""");
        await Pointer.ClickAsync(page, $"[data-testid=mass-run]:has-text('run on {2 * PerTransport}')");
        await page.Locator($"[data-testid=mass-summary]:has-text('{2 * PerTransport} / {2 * PerTransport} done · {2 * PerTransport} ok')").WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
        Assert.All(_mqtt.Devices.Concat(_ws.Devices), d => Assert.True(d.Status("switch:0")!["output"]!.GetValue<bool>()));
    }
}
