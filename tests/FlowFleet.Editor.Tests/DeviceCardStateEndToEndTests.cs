using System.Text.Json.Nodes;
using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Protocol;
using Microsoft.Playwright;

namespace FlowFleet.Editor.Tests;

/// <summary>Device cards in headless Chromium, driven by mouse and keyboard, against simulated devices: a card shows what the
/// device reports whoever changed it, never a toggle the device refused; the grid fills the width.</summary>
public sealed class DeviceCardStateEndToEndTests : BrowserEndToEndTest
{
    private const string Password = "cards-e2e-pass";
    private static readonly SimOptions s_fast = new() { MinBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromSeconds(1), ReportInterval = TimeSpan.FromSeconds(1) };
    private SimFleet _fleet = default!;

    protected override async Task StartAsync()
    {
        await StartServerAsync(Password, ["--Fleet:Admission", "auto"]);
        _fleet = Own(new SimFleet(ShellyUrl, 6, "plus1pm", s_fast, firstIndex: 300));
        await _fleet.StartAsync();
        var hub = Get<DeviceHub>();
        await Poll.UntilAsync(() => hub.OnlineCount >= 6, "the devices online", 20_000);
    }

    [Fact]
    public async Task A_card_shows_the_reported_state_whoever_changes_it_and_never_a_refused_toggle()
    {
        var page = await EditorPageAsync(Password);
        await NavigateAsync(page, "Devices", "devices-page");
        var cards = page.Locator("[data-testid=device-card]");
        await page.WaitForFunctionAsync("() => document.querySelectorAll('[data-testid=device-card]').length === 6");

        // Responsive grid: as many columns as fit, and together they span the width.
        var host = await page.Locator("[data-testid=device-cards]").BoundingBoxAsync();
        await page.WaitForFunctionAsync("() => document.querySelector('[data-testid=device-cards]').dataset.columns === '4'");
        var first = await cards.First.BoundingBoxAsync();
        Assert.InRange(first!.Width * 4 + 30, host!.Width - 40, host.Width);
        await page.SetViewportSizeAsync(700, 900);
        await page.WaitForFunctionAsync("() => document.querySelector('[data-testid=device-cards]').dataset.columns === '2'");
        await page.SetViewportSizeAsync(1400, 900);
        await page.WaitForFunctionAsync("() => document.querySelector('[data-testid=device-cards]').dataset.columns === '4'");

        var sim = _fleet.Devices.First();
        var card = page.Locator($"[data-testid=device-card][data-id='{sim.Id}']");
        var toggle = card.Locator("input[data-testid=switch-toggle]");
        var checkedScript = $"() => document.querySelector(\"[data-id='{sim.Id}'] input[data-testid=switch-toggle]\").checked";
        Assert.False(await toggle.IsCheckedAsync());

        // The user's own click: on once the device reports it.
        await Pointer.ClickAsync(page, toggle);
        await card.Locator("[data-testid=command-state]:has-text('✓')").WaitForAsync();
        await page.WaitForFunctionAsync($"() => ({checkedScript})() === true");
        Assert.True(sim.Status("switch:0")!["output"]!.GetValue<bool>());

        // The button on the device.
        sim.Call("Switch.Set", new JsonObject { ["id"] = 0, ["on"] = false }, "button");
        await page.WaitForFunctionAsync($"() => ({checkedScript})() === false");

        // A flow or another user, through the server.
        await Get<DeviceHub>().CallAsync(sim.Id, "Switch.Set", new JsonObject { ["id"] = 0, ["on"] = true });
        await page.WaitForFunctionAsync($"() => ({checkedScript})() === true");

        // The device refuses: the card says so and the switch stays where the device is (on), not where the mouse put it.
        sim.Fault = (method, _) => method.Equals("Switch.Set", StringComparison.OrdinalIgnoreCase) ? new ShellyRpcException(ShellyRpcException.FailedPrecondition, "Overtemperature") : null;
        await Pointer.ClickAsync(page, toggle);
        var refused = card.Locator("[data-testid=command-state]:has-text('Overtemperature')");
        await refused.WaitForAsync();
        Assert.Contains("mud-chip-color-error", await refused.GetAttributeAsync("class"), StringComparison.Ordinal);
        Assert.True(await page.EvaluateAsync<bool>($"({checkedScript})"));
        Assert.True(sim.Status("switch:0")!["output"]!.GetValue<bool>());
        if (Environment.GetEnvironmentVariable("FLOWFLEET_SCREENSHOT_DIR") is { Length: > 0 } dir)
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(dir, "devices.png") });
        }
    }
}
