using System.Text.Json.Nodes;
using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Cluster;
using FlowFleet.Fleet.Hub;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace FlowFleet.Editor.Tests;

/// <summary>
/// Two instances joined through a real nats-server; the browser is on B, the device on A. B's Devices page lists both
/// instances, shows A holding the device, and a click on the card's switch reaches the device on A and comes back live.
/// </summary>
public sealed class ClusterDevicesEndToEndTests : BrowserEndToEndTest
{
    private const string Password = "cluster-e2e-pass";
    private static readonly SimOptions s_sim = new() { MinBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromSeconds(1), ReportInterval = TimeSpan.FromSeconds(5) };
    private SimFleet _fleet = default!;
    private WebApplication _a = default!;

    private sealed class Stopper(Func<ValueTask> stop) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => stop();
    }

    protected override async Task StartAsync()
    {
        var nats = await NatsServer.StartAsync();
        var subject = "ff" + Guid.NewGuid().ToString("N")[..6];
        string[] Args(string name) => ["--Fleet:Admission", "auto", "--Cluster:Nats", nats.Url, "--Cluster:Instance", name, "--Cluster:Subject", subject, "--Cluster:Heartbeat", "00:00:00.500"];
        // B serves the browser; A, started first, holds the device. Disposed in the order owned: devices, A, NATS; then B.
        var (a, aBase) = await TestHost.StartServerAsync(Directory.CreateTempSubdirectory("flowfleet-cluster-a-").FullName, Password, Args("a"));
        _a = a;
        _fleet = Own(new SimFleet($"ws://{new Uri(aBase).Authority}/shelly", 1, "plus1pm", s_sim, firstIndex: 700));
        Own(new Stopper(async () => { await a.StopAsync(); await a.DisposeAsync(); }));
        Own(new Stopper(() => nats.DisposeAsync()));
        await StartServerAsync(Password, Args("b"));
        await a.Services.GetRequiredService<NatsCluster>().Ready.WaitAsync(TimeSpan.FromSeconds(20));
        await Get<NatsCluster>().Ready.WaitAsync(TimeSpan.FromSeconds(20));
        await _fleet.StartAsync();
        var cluster = Get<NatsCluster>();
        await Poll.UntilAsync(() => _fleet.Devices.All(d => cluster.OwnerOf(d.Id) == "a"), "B learns that A holds the device", 20_000);
    }

    [Fact]
    public async Task B_lists_the_instances_shows_A_holding_the_device_and_switches_it_through_A()
    {
        var page = await NewPageAsync();
        await TestHost.LogInAsync(page, Base, Password, path: "/devices");
        await page.WaitForSelectorAsync("[data-testid=devices-page][data-ready=true]");
        await page.Locator("[data-testid=cluster-instance][data-instance=a]:has-text('a · 1')").WaitForAsync();
        await page.Locator("[data-testid=cluster-instance][data-instance=b]:has-text('b · 0')").WaitForAsync();
        await page.Locator("[data-testid=device-count]:has-text('1 devices · 1 online')").WaitForAsync();

        var sim = _fleet.Devices.Single();
        var card = page.Locator($"[data-testid=device-card][data-id='{sim.Id}']");
        Assert.Equal("a", (await card.Locator("[data-testid=device-instance]").TextContentAsync())?.Trim());
        var toggle = card.Locator("input[data-testid=switch-toggle]");
        Assert.False(await toggle.IsCheckedAsync());

        // The user's click on B: the call goes over NATS to A, the device switches, its report comes back to B's card.
        await Pointer.ClickAsync(page, toggle);
        await card.Locator("[data-testid=command-state]:has-text('✓')").WaitForAsync();
        Assert.True(sim.Status("switch:0")!["output"]!.GetValue<bool>());
        var checkedScript = $"() => document.querySelector(\"[data-id='{sim.Id}'] input[data-testid=switch-toggle]\").checked";
        // The device's button, on A: B's card follows.
        sim.Call("Switch.Set", new JsonObject { ["id"] = 0, ["on"] = false }, "button");
        await page.WaitForFunctionAsync($"() => ({checkedScript})() === false");
        Assert.False(_a.Services.GetRequiredService<DeviceHub>().Session(sim.Id) is null);
    }
}
