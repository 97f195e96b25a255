using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Protocol;
using Microsoft.Playwright;

namespace FlowFleet.Editor.Tests;

/// <summary>Mass RPC in headless Chromium with mouse and keyboard: the shared device picker, only supported methods offered,
/// "not supported" apart from failures, failed rows highlighted and retried.</summary>
public sealed class MassRpcEndToEndTests : BrowserEndToEndTest
{
    private const string Password = "mass-e2e-pass";
    private static readonly SimOptions s_fast = new() { MinBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromSeconds(1), ReportInterval = TimeSpan.FromSeconds(1) };
    private SimFleet _switches = default!;
    private SimFleet _dimmers = default!;

    protected override async Task StartAsync()
    {
        await StartServerAsync(Password, ["--Fleet:Admission", "auto"]);
        _switches = Own(new SimFleet(ShellyUrl, 3, "plus1pm", s_fast, firstIndex: 500));
        _dimmers = Own(new SimFleet(ShellyUrl, 2, "dimmer", s_fast, firstIndex: 600));
        await _switches.StartAsync();
        await _dimmers.StartAsync();
        var hub = Get<DeviceHub>();
        var devices = Get<FlowFleet.Fleet.Registry.IDeviceStore>();
        await Poll.UntilAsync(() => hub.OnlineCount >= 5 && devices.All.Count(d => d.Methods.Length > 0) >= 5, "the devices online", 20_000);
    }

    [Fact]
    public async Task Pick_all_devices_run_a_method_some_lack_see_not_supported_apart_and_retry_the_failed_one()
    {
        var page = await EditorPageAsync(Password);
        await NavigateAsync(page, "Mass RPC", "mass-rpc");

        // The picker: search narrows the list, rows toggle by click, "select all matching" takes every match.
        await Pointer.ClickAsync(page, page.Locator("input[data-testid=picker-search], [data-testid=picker-search] input").First);
        await page.Keyboard.TypeAsync("shellypluswdus");
        await page.WaitForFunctionAsync("() => document.querySelectorAll('[data-testid=picker-row]').length === 2");
        var dimmer = _dimmers.Devices.First().Id;
        await Pointer.ClickAsync(page, page.Locator($"[data-testid=picker-row][data-id='{dimmer}']"));
        await page.Locator("[data-testid=picker-count]:has-text('1 selected')").WaitForAsync();
        await Pointer.ClickAsync(page, page.Locator("input[data-testid=picker-search], [data-testid=picker-search] input").First);
        await page.Keyboard.PressAsync("Control+A");
        await page.Keyboard.PressAsync("Backspace");
        await page.WaitForFunctionAsync("() => document.querySelectorAll('[data-testid=picker-row]').length === 5");
        await Pointer.ClickAsync(page, page.Locator("[data-testid=picker-select-all]"));
        await page.Locator("[data-testid=picker-count]:has-text('5 selected')").WaitForAsync();

        // Methods come from the devices: Switch.Set is offered (3 of 5 have it), a method no device has is not.
        await page.Locator("[data-testid=mass-method-option][data-method='Light.Set']").WaitForAsync();
        Assert.Equal(0, await page.Locator("[data-testid=mass-method-option][data-method='Cover.Open']").CountAsync());
        await Pointer.ClickAsync(page, page.Locator("input[data-testid=mass-method-filter], [data-testid=mass-method-filter] input").First);
        await page.Keyboard.TypeAsync("Switch.S");
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('[data-testid=mass-method-option]')].every(e => e.dataset.method.startsWith('Switch.S'))");
        var option = page.Locator("[data-testid=mass-method-option][data-method='Switch.Set']");
        Assert.Contains("3 of 5", await option.TextContentAsync(), StringComparison.Ordinal);
        await Pointer.ClickAsync(page, option);
        await page.Locator("[data-testid=mass-support]:has-text('2 will be reported as not supported')").WaitForAsync();

        await Pointer.ClickAsync(page, page.Locator("input[data-testid=mass-params], [data-testid=mass-params] input").First);
        await page.Keyboard.TypeAsync("""{"id":0,"on":true}""");
        var dimmerCalls = 0;
        foreach (var d in _dimmers.Devices)
        {
            d.Fault = (m, _) =>
            {
                if (m.Equals("Switch.Set", StringComparison.OrdinalIgnoreCase))
                {
                    Interlocked.Increment(ref dimmerCalls);
                }
                return null;
            };
        }
        var broken = _switches.Devices.First();
        broken.Fault = (m, _) => m.Equals("Switch.Set", StringComparison.OrdinalIgnoreCase) ? new ShellyRpcException(ShellyRpcException.Unavailable, "Relay busy") : null;
        await Pointer.ClickAsync(page, page.Locator("[data-testid=mass-run]"));
        await page.Locator("[data-testid=mass-summary]:has-text('5 / 5 done · 2 ok · 1 failed · 2 not supported')").WaitForAsync();
        var failedRow = page.Locator($"[data-testid=mass-result][data-id='{broken.Id}']");
        Assert.Equal("failed", await failedRow.GetAttributeAsync("data-state"));
        Assert.Equal("rgb(255, 235, 238)", await failedRow.Locator("td").First.EvaluateAsync<string>("td => getComputedStyle(td).backgroundColor"));
        Assert.Equal(2, await page.Locator("[data-testid=mass-result][data-state=unsupported]").CountAsync());
        Assert.Equal(0, dimmerCalls); // devices without the method were not called
        Assert.False(broken.Status("switch:0")!["output"]!.GetValue<bool>());

        // The relay recovers: retry only the failed one.
        broken.Fault = null;
        await Pointer.ClickAsync(page, page.Locator("[data-testid=mass-retry]"));
        await page.Locator("[data-testid=mass-summary]:has-text('5 / 5 done · 3 ok · 0 failed · 2 not supported')").WaitForAsync();
        Assert.True(broken.Status("switch:0")!["output"]!.GetValue<bool>());
        Assert.Equal("ok", await failedRow.GetAttributeAsync("data-state"));
        if (Environment.GetEnvironmentVariable("FLOWFLEET_SCREENSHOT_DIR") is { Length: > 0 } dir)
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(dir, "mass-rpc.png") });
        }
    }
}
