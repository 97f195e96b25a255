using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Registry;
using Microsoft.Playwright;

namespace FlowFleet.Editor.Tests;

/// <summary>Issue 14 item 7 in the browser: a component's config is edited in a form generated from its JSON, by mouse and
/// keyboard, and only what changed reaches the device.</summary>
public sealed class ConfigFormEndToEndTests(EditorFixture fx) : IClassFixture<EditorFixture>
{
    private static readonly SimOptions s_fast = new() { MinBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromSeconds(1), ReportInterval = TimeSpan.FromSeconds(1) };

    [Fact]
    public async Task A_switch_config_is_edited_in_typed_fields_and_saved_to_the_device()
    {
        var hub = fx.Get<DeviceHub>();
        var devices = fx.Get<IDeviceStore>();
        var token = await fx.Get<IEnrollmentTokenStore>().CreateTokenAsync("config form e2e");
        await using var fleet = new SimFleet($"ws://{new Uri(fx.Base).Authority}/shelly?token={token.Token}", 1, "plus1pm", s_fast, firstIndex: 700);
        var device = fleet.Devices.Single();
        await fleet.StartAsync();
        await Poll.UntilAsync(() => hub.IsOnline(device.Id) && devices.Get(device.Id)?.Config?["switch:0"] is not null, "the device online with its config", 30_000);
        var name = device.Config("switch:0")!["name"]?.ToJsonString();

        var page = await fx.LoggedInAsync();
        await page.GotoAsync(fx.Base + "/devices/" + device.Id);
        await page.WaitForSelectorAsync("[data-testid=device-page][data-ready=true]");
        await Pointer.ClickAsync(page, page.Locator(".mud-tab:has-text('config')").First);
        var item = page.Locator(".mud-popover-open .mud-list-item:has-text('switch:0')").First;
        for (var attempt = 0; attempt < 3 && !await item.IsVisibleAsync(); attempt++)
        {
            // The tab panel may still be swapping in when the first click lands; a person clicks again.
            await Pointer.ClickAsync(page, page.Locator(".mud-select:has-text('component') .mud-input-control").First);
            try
            {
                await item.WaitForAsync(new LocatorWaitForOptions { Timeout = 5_000 });
            }
            catch (TimeoutException)
            {
            }
        }
        await Pointer.ClickAsync(page, item);
        var form = page.Locator("[data-testid=config-form]");
        await form.WaitForAsync();
        Assert.Equal("Bool", await form.Locator("[data-testid=config-field][data-key=auto_off]").GetAttributeAsync("data-kind"));
        Assert.Equal("Number", await form.Locator("[data-testid=config-field][data-key=auto_off_delay]").GetAttributeAsync("data-kind"));

        await Pointer.ClickAsync(page, form.Locator("[data-testid=config-field][data-key=auto_off] input").First);
        await Pointer.ClickAsync(page, form.Locator("[data-testid=config-field][data-key=auto_off_delay] input").First);
        await page.Keyboard.PressAsync("Control+A");
        await page.Keyboard.TypeAsync("90");
        await page.Keyboard.PressAsync("Tab");
        await Pointer.ClickAsync(page, page.Locator("button:has-text('save')").First);
        await page.Locator(".mud-alert:has-text('Saved.')").WaitForAsync();

        var config = device.Config("switch:0")!;
        Assert.True(config["auto_off"]!.GetValue<bool>());
        Assert.Equal(90, config["auto_off_delay"]!.GetValue<double>());
        Assert.Equal(name, config["name"]?.ToJsonString());
    }
}
