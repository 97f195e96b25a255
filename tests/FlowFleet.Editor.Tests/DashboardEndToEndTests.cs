using System.Text.Json.Nodes;
using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Registry;
using FlowFleet.Server.Auth;
using Microsoft.Playwright;

namespace FlowFleet.Editor.Tests;

/// <summary>The Devices dashboard in headless Chromium with 20 simulated devices (and one waiting for admission).</summary>
public sealed class DashboardEndToEndTests : BrowserEndToEndTest
{
    private const string Password = "dash-e2e-pass";
    private static readonly SimOptions s_fast = new() { MinBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromSeconds(1), ReportInterval = TimeSpan.FromSeconds(1) };
    private SimFleet _fleet = default!;
    private SimFleet _stranger = default!;

    protected override async Task StartAsync()
    {
        await StartServerAsync(Password, ["--Fleet:Admission", "manual"]);
        await Get<UserService>().AddAsync("vera", Roles.Viewer, "viewer-pass-1");
        var token = await Get<IEnrollmentTokenStore>().CreateTokenAsync("e2e");
        _fleet = Own(new SimFleet(ShellyUrl + "?token=" + token.Token, 20, "plus1pm", s_fast));
        _stranger = Own(new SimFleet(ShellyUrl, 1, "dimmer", s_fast, firstIndex: 100));
        await _fleet.StartAsync();
        await _stranger.StartAsync();
        var hub = Get<DeviceHub>();
        await Poll.UntilAsync(() => hub.OnlineCount >= 20 && Get<IDeviceStore>().Get(_stranger.Devices.Single().Id) is not null, "the devices online", 20_000);
    }

    private async Task<IPage> LogInAsync(string user, string password, string path)
    {
        var page = await NewPageAsync();
        await TestHost.LogInAsync(page, Base, password, user, path);
        return page;
    }

    [Fact]
    public async Task Toggle_a_switch_on_the_dashboard_and_see_card_and_device_change()
    {
        var page = await LogInAsync("admin", Password, "/devices");
        await page.WaitForSelectorAsync("[data-testid=devices-page][data-ready=true]");
        var sim = _fleet.Devices.First();
        await page.FillAsync("input[data-testid=device-search]", sim.Id);
        var card = page.Locator($"[data-testid=device-card][data-id='{sim.Id}']");
        await card.WaitForAsync();
        await page.WaitForFunctionAsync("() => document.querySelectorAll('[data-testid=device-card]').length === 1");
        Assert.False(sim.Status("switch:0")!["output"]!.GetValue<bool>());
        await card.Locator("input[data-testid=switch-toggle]").ClickAsync();
        await card.Locator("[data-testid=command-state]:has-text('✓')").WaitForAsync();
        Assert.True(sim.Status("switch:0")!["output"]!.GetValue<bool>());
        await page.WaitForFunctionAsync($"() => document.querySelector(\"[data-id='{sim.Id}'] input[data-testid=switch-toggle]\").checked === true");
        // The card shows the power reading the device reports once switched on.
        await page.WaitForFunctionAsync($"() => !document.querySelector(\"[data-id='{sim.Id}'] [data-testid=readings]\").textContent.includes('⚡ 0.0 W')");
        if (Environment.GetEnvironmentVariable("FLOWFLEET_DASHBOARD_SCREENSHOT") is { Length: > 0 } shot)
        {
            await page.FillAsync("input[data-testid=device-search]", "");
            await page.WaitForFunctionAsync("() => document.querySelectorAll('[data-testid=device-card]').length > 3");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot });
            await page.GotoAsync(Base + "/devices/" + sim.Id);
            await page.WaitForSelectorAsync("[data-testid=device-page][data-ready=true]");
            await page.WaitForTimeoutAsync(1500);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot.Replace(".png", "-page.png", StringComparison.Ordinal) });
        }
    }

    [Fact]
    public async Task Accept_a_pending_device_in_the_waiting_room()
    {
        var page = await LogInAsync("admin", Password, "/devices/pending");
        await page.WaitForSelectorAsync("[data-testid=waiting-room][data-ready=true]");
        var stranger = _stranger.Devices.Single().Id;
        await page.Locator($"[data-testid=pending-table] tr:has-text('{stranger}') [data-testid=accept]").ClickAsync();
        var hub = Get<DeviceHub>();
        await Poll.UntilAsync(() => hub.IsOnline(stranger), "the accepted device online", 10_000);
        await page.Locator("text=No device is waiting").WaitForAsync();
    }

    [Fact]
    public async Task Mass_rpc_to_twenty_devices_shows_twenty_results()
    {
        var page = await LogInAsync("admin", Password, "/mass-rpc");
        await page.WaitForSelectorAsync("[data-testid=mass-rpc][data-ready=true]");
        await page.FillAsync("input[data-testid=picker-search]", "shellyplus1pm");
        await page.WaitForFunctionAsync("() => document.querySelector('[data-testid=picker-select-all]').textContent.includes('(20)')");
        await page.ClickAsync("[data-testid=picker-select-all]");
        await page.FillAsync("input[data-testid=mass-method-filter]", "Switch.Set");
        await page.ClickAsync("[data-testid=mass-method-option][data-method='Switch.Set']");
        await page.FillAsync("input[data-testid=mass-params]", """{"id":0,"on":true}""");
        await page.ClickAsync("[data-testid=mass-run]:has-text('run on 20')");
        await page.Locator("[data-testid=mass-summary]:has-text('20 / 20 done · 20 ok')").WaitForAsync();
        Assert.Equal(20, await page.Locator("[data-testid=mass-result][data-ok=true]").CountAsync());
        Assert.All(_fleet.Devices, d => Assert.True(d.Status("switch:0")!["output"]!.GetValue<bool>()));
    }

    [Fact]
    public async Task Apply_config_from_a_template_changes_the_targets()
    {
        var page = await LogInAsync("admin", Password, "/apply-config");
        await page.WaitForSelectorAsync("[data-testid=apply-config][data-ready=true]");
        await page.ClickAsync("text=JSON template");
        await page.FillAsync("textarea[data-testid=template]", """{"switch:0":{"auto_off":true,"auto_off_delay":42}}""");
        var targets = _fleet.Devices.Take(3).Select(d => d.Id).ToList();
        foreach (var t in targets)
        {
            await page.FillAsync("input[data-testid=picker-search]", t);
            await page.ClickAsync($"[data-testid=picker-row][data-id='{t}']");
        }
        await page.ClickAsync("[data-testid=preview]");
        await page.Locator("[data-testid=plan-row]").First.WaitForAsync();
        Assert.Equal(3, await page.Locator("[data-testid=plan-row]").CountAsync());
        await page.ClickAsync("[data-testid=apply]");
        await page.Locator("[data-testid=plan-row]:has-text('ok')").Nth(2).WaitForAsync();
        Assert.All(_fleet.Devices.Take(3), d => Assert.Equal(42, d.Config("switch:0")!["auto_off_delay"]!.GetValue<int>()));
        Assert.False(_fleet.Devices.Last().Config("switch:0")!["auto_off"]!.GetValue<bool>());
    }

    [Fact]
    public async Task A_viewer_sees_devices_but_gets_no_controls()
    {
        var page = await LogInAsync("vera", "viewer-pass-1", "/devices");
        await page.WaitForSelectorAsync("[data-testid=devices-page][data-ready=true]");
        await page.Locator("[data-testid=device-card]").First.WaitForAsync();
        Assert.True(await page.Locator("[data-testid=device-card]").CountAsync() > 0);
        Assert.Equal(0, await page.Locator("[data-testid=controls]").CountAsync());
        Assert.Equal(0, await page.Locator("[data-testid=switch-toggle]").CountAsync());

        // Nor can a viewer deploy flows from the editor (the editor calls services directly, so it checks the role itself).
        await page.GotoAsync(Base + "/");
        await page.WaitForSelectorAsync("[data-testid=editor][data-ready=true]");
        Assert.True(await page.Locator("[data-testid=deploy]").IsDisabledAsync());
    }
}
