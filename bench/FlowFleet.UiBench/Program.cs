using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Registry;
using FlowFleet.Runtime;
using FlowFleet.Runtime.Storage;
using FlowFleet.Server.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

// UI smoothness in headless Chromium: dragging a node on a 300-node flow (frames per second during the drag) and the Devices
// page with 5,000 devices (time to first cards, frames per second while scrolling). Usage: dotnet run -c Release --project bench/FlowFleet.UiBench
var data = Directory.CreateTempSubdirectory("flowfleet-uibench-").FullName;
var app = FlowFleetHost.Build(["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default", "Warning"],
    new ServerOptions { DataDirectory = data, NoAuth = true, PluginsDirectory = Path.Combine(data, "none"), Console = TextWriter.Null });
await FlowFleetHost.InitializeAsync(app);
await app.StartAsync();
var baseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

// 300 nodes: 100 chains of inject → function → debug.
var flow = new JsonArray(new JsonObject { ["id"] = "t", ["type"] = "tab", ["label"] = "300 nodes" });
for (var i = 0; i < 100; i++)
{
    double x = 100 + i % 5 * 560, y = 60 + i / 5 * 60;
    flow.Add(new JsonObject { ["id"] = $"i{i}", ["type"] = "inject", ["z"] = "t", ["x"] = x, ["y"] = y, ["props"] = new JsonArray(), ["wires"] = new JsonArray(new JsonArray($"f{i}")) });
    flow.Add(new JsonObject { ["id"] = $"f{i}", ["type"] = "function", ["z"] = "t", ["x"] = x + 180, ["y"] = y, ["func"] = "return msg;", ["outputs"] = 1, ["wires"] = new JsonArray(new JsonArray($"d{i}")) });
    flow.Add(new JsonObject { ["id"] = $"d{i}", ["type"] = "debug", ["z"] = "t", ["x"] = x + 360, ["y"] = y, ["wires"] = new JsonArray() });
}
await app.Services.GetRequiredService<FlowService>().DeployAsync(flow, DeployType.Full);

// 5,000 registered devices (offline: the page cost is rendering, not sockets).
var devices = app.Services.GetRequiredService<IDeviceStore>();
for (var i = 0; i < 5000; i++)
{
    var id = $"shellyplus1pm-{i:x12}";
    var d = devices.Touch(id, out _);
    d.Admission = AdmissionStates.Accepted;
    devices.ApplyIdentity(d, new JsonObject { ["id"] = id, ["app"] = "Plus1PM", ["model"] = "SNSW-001P16EU", ["ver"] = "1.4.2", ["gen"] = 2 }, null,
        new JsonObject { ["switch:0"] = new JsonObject { ["id"] = 0, ["output"] = i % 2 == 0, ["apower"] = i % 500, ["aenergy"] = new JsonObject { ["total"] = i * 10.0 } } }, null);
}

using var playwright = await Playwright.CreateAsync();
await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = "/usr/bin/chromium", Headless = true, Args = ["--no-sandbox"] });
var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1600, Height = 1000 } });
const string CountFrames = "() => { window.__frames = 0; const tick = () => { window.__frames++; window.__raf = requestAnimationFrame(tick); }; tick(); }";
const string StopFrames = "() => { cancelAnimationFrame(window.__raf); return window.__frames; }";

var sw = Stopwatch.StartNew();
await page.GotoAsync(baseUrl + "/");
await page.WaitForSelectorAsync("[data-testid=editor][data-ready=true]");
var loadMs = sw.ElapsedMilliseconds;
var nodeCount = await page.Locator(".ff-node").CountAsync();
var wireCount = await page.Locator(".ff-wire").CountAsync();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"editor with 300 nodes interactive after {loadMs} ms; nodes drawn: {nodeCount}, wires: {wireCount}"));
var box = await page.Locator(".ff-node[data-id=f0] rect.ff-body").BoundingBoxAsync();
await page.EvaluateAsync(CountFrames);
sw.Restart();
await page.Mouse.MoveAsync(box!.X + 30, box.Y + 10);
await page.Mouse.DownAsync();
const int Steps = 120;
for (var s = 1; s <= Steps; s++)
{
    await page.Mouse.MoveAsync(box.X + 30 + s * 3, box.Y + 10 + s * 2);
}
await page.Mouse.UpAsync();
var dragMs = sw.Elapsed.TotalMilliseconds;
var frames = await page.EvaluateAsync<int>(StopFrames);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"drag of 1 node, {Steps} pointer moves: {dragMs:F0} ms ({dragMs / Steps:F1} ms per move), {frames} frames = {frames * 1000 / dragMs:F0} fps"));

sw.Restart();
await page.GotoAsync(baseUrl + "/devices");
await page.WaitForSelectorAsync("[data-testid=device-card]");
var firstCardsMs = sw.ElapsedMilliseconds;
var cardsBefore = await page.Locator("[data-testid=device-card]").CountAsync();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"devices page with {devices.Count} devices: first cards after {firstCardsMs} ms; cards in the DOM: {cardsBefore}"));
await page.EvaluateAsync(CountFrames);
sw.Restart();
for (var s = 0; s < 40; s++)
{
    await page.Mouse.MoveAsync(700, 500);
    await page.Mouse.WheelAsync(0, 1500);
    await page.WaitForTimeoutAsync(50);
}
var scrollMs = sw.Elapsed.TotalMilliseconds;
frames = await page.EvaluateAsync<int>(StopFrames);
var cardsAfter = await page.Locator("[data-testid=device-card]").CountAsync();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"scrolling 60,000 px in 40 wheel steps: {scrollMs:F0} ms, {frames * 1000 / scrollMs:F0} fps; cards in the DOM afterwards: {cardsAfter}"));
await app.StopAsync();
