using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Registry;
using Microsoft.Playwright;

namespace FlowFleet.Editor.Tests;

/// <summary>Issue 13 item 8 in the browser: a connection claiming an accepted device's id shows in the waiting room, marked.</summary>
public sealed class WaitingRoomClaimEndToEndTests(EditorFixture fx) : IClassFixture<EditorFixture>
{
    private static readonly SimOptions s_fast = new() { MinBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromSeconds(1), ReportInterval = TimeSpan.FromSeconds(1) };

    [Fact]
    public async Task A_claim_on_an_accepted_devices_id_is_listed_marked_and_denied_with_a_click_while_the_device_stays()
    {
        var hub = fx.Get<DeviceHub>();
        var token = await fx.Get<IEnrollmentTokenStore>().CreateTokenAsync("claim e2e");
        var ws = $"ws://{new Uri(fx.Base).Authority}/shelly";
        await using var real = new SimFleet(ws + "?token=" + token.Token, 1, "plus1pm", s_fast, firstIndex: 300);
        var id = real.Devices.Single().Id;
        await real.StartAsync();
        await Poll.UntilAsync(() => hub.IsOnline(id), "the real device online", 20_000);
        var session = hub.Session(id)!;

        // The same simulated device once more, without the token: a claim.
        await using var claimant = new SimFleet(ws, 1, "plus1pm", s_fast, firstIndex: 300);
        await claimant.StartAsync();
        await Poll.UntilAsync(() => hub.Claims.Any(c => c.Id == id), "the claim waiting", 20_000);

        var page = await fx.LoggedInAsync();
        await page.GotoAsync(fx.Base + "/devices/pending");
        await page.WaitForSelectorAsync("[data-testid=waiting-room][data-ready=true]");
        var row = page.Locator($"[data-testid=claim]:has-text('{id}')");
        await row.WaitForAsync();
        Assert.Equal(DeviceClaim.Marker, (await row.Locator("[data-testid=claim-marker]").InnerTextAsync()).Trim());

        await Pointer.ClickAsync(page, row.Locator("[data-testid=deny-claim]"));
        await row.WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Detached });
        Assert.Same(session, hub.Session(id));
        Assert.False(session.IsClosed);
        Assert.True(hub.IsOnline(id));
    }
}
