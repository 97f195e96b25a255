using System.Text.Json.Nodes;
using FlowFleet.Runtime.Storage;
using Microsoft.Playwright;

namespace FlowFleet.Editor.Tests;

/// <summary>The editor in headless Chromium against a real server on loopback: log in, build, deploy, inject, debug, import, export, reload.</summary>
public sealed class EditorEndToEndTests : BrowserEndToEndTest
{
    private const string Password = "editor-e2e-pass";

    protected override Task StartAsync() => StartServerAsync(Password);

    private async Task<IPage> LoggedInAsync()
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 850 } });
        await context.GrantPermissionsAsync(["clipboard-read", "clipboard-write"]);
        var page = await context.NewPageAsync();
        await page.GotoAsync(Base + "/");
        Assert.Contains("/login", page.Url, StringComparison.Ordinal);
        await page.FillAsync("input[name=username]", "admin");
        await page.FillAsync("input[name=password]", Password);
        await page.ClickAsync("#login");
        await page.WaitForSelectorAsync("[data-testid=editor][data-ready=true]", new PageWaitForSelectorOptions { Timeout = 30_000 });
        return page;
    }

    [Fact]
    public async Task Build_wire_deploy_inject_and_see_the_debug_message()
    {
        var page = await LoggedInAsync();
        await page.DragAndDropAsync("[data-type=inject]", "[data-testid=canvas]", new PageDragAndDropOptions { TargetPosition = new TargetPosition { X = 150, Y = 120 } });
        await page.WaitForSelectorAsync(".ff-node[data-type=inject]");
        await page.DragAndDropAsync("[data-type=debug]", "[data-testid=canvas]", new PageDragAndDropOptions { TargetPosition = new TargetPosition { X = 450, Y = 120 } });
        await page.WaitForSelectorAsync(".ff-node[data-type=debug]");

        var from = await page.Locator(".ff-node[data-type=inject] .ff-port-out").BoundingBoxAsync();
        var to = await page.Locator(".ff-node[data-type=debug] .ff-port-in").BoundingBoxAsync();
        await page.Mouse.MoveAsync(from!.X + 5, from.Y + 5);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync((from.X + to!.X) / 2, to.Y + 20, new MouseMoveOptions { Steps = 5 });
        await page.Mouse.MoveAsync(to.X + 5, to.Y + 5, new MouseMoveOptions { Steps = 5 });
        await page.Mouse.UpAsync();
        await page.WaitForSelectorAsync(".ff-wire", new PageWaitForSelectorOptions { State = WaitForSelectorState.Attached });

        await page.ClickAsync("[data-testid=deploy]");
        await page.WaitForSelectorAsync(".mud-snackbar:has-text('Deployed')");
        var deployed = Get<FlowService>().GetFlows();
        var inject = deployed.OfType<JsonObject>().Single(o => o["type"]!.GetValue<string>() == "inject");
        var debug = deployed.OfType<JsonObject>().Single(o => o["type"]!.GetValue<string>() == "debug");
        Assert.Equal(debug["id"]!.GetValue<string>(), inject["wires"]![0]![0]!.GetValue<string>());

        await page.ClickAsync("[data-testid=node-button][data-button=trigger]");
        var message = await page.WaitForSelectorAsync("[data-testid=debug-message]", new PageWaitForSelectorOptions { Timeout = 15_000 });
        Assert.Matches("1[7-9][0-9]{11}", await message!.TextContentAsync());

        // Reload: the flow comes back as deployed.
        await page.ReloadAsync();
        await page.WaitForSelectorAsync("[data-testid=editor][data-ready=true]");
        Assert.Equal(1, await page.Locator(".ff-node[data-type=inject]").CountAsync());
        Assert.Equal(1, await page.Locator(".ff-wire").CountAsync());
    }

    [Fact]
    public async Task Import_a_node_red_flow_and_export_it_back_unchanged()
    {
        const string flow = """
            [{"id":"e2e-tab","type":"tab","label":"Imported kitchen","disabled":false,"info":"from Node-RED","env":[]},
             {"id":"e2e-inj","type":"inject","z":"e2e-tab","name":"tick","props":[{"p":"payload"},{"p":"topic","vt":"str"}],"repeat":"","crontab":"","once":false,"onceDelay":0.1,"topic":"t","payload":"42","payloadType":"num","x":140,"y":100,"wires":[["e2e-fn"]]},
             {"id":"e2e-fn","type":"function","z":"e2e-tab","name":"double","func":"msg.payload *= 2;\nreturn msg;","outputs":1,"timeout":0,"noerr":0,"initialize":"","finalize":"","libs":[],"x":320,"y":100,"wires":[["e2e-contrib"]]},
             {"id":"e2e-contrib","type":"node-red-contrib-foo","z":"e2e-tab","name":"contrib","custom":{"x":[1,2,3]},"x":500,"y":100,"wires":[]}]
            """;
        var page = await LoggedInAsync();
        await page.ClickAsync("[data-testid=import]");
        await page.FillAsync("[data-testid=import-text] textarea, textarea[data-testid=import-text]", flow);
        await page.ClickAsync("[data-testid=import-confirm]");
        await page.WaitForSelectorAsync(".ff-node[data-type=node-red-contrib-foo].unknown");
        Assert.Equal("Imported kitchen", (await page.Locator(".ff-tab.active").TextContentAsync())?.Trim());

        await page.ClickAsync("[data-testid=export]");
        await page.ClickAsync("text=all flows");
        // The export (indented) must show all flows; the closing import dialog's compact text must not satisfy this.
        await page.WaitForFunctionAsync("() => { const t = document.querySelector('textarea[data-testid=export-text]'); return !!t && t.value.includes('\"id\": \"e2e-tab\"'); }");
        var exportedText = await page.Locator("textarea[data-testid=export-text]").InputValueAsync();
        var exported = JsonNode.Parse(exportedText)!.AsArray().OfType<JsonObject>().ToDictionary(o => o["id"]!.GetValue<string>());
        foreach (var original in JsonNode.Parse(flow)!.AsArray().OfType<JsonObject>())
        {
            Assert.True(JsonNode.DeepEquals(original, exported[original["id"]!.GetValue<string>()]), original.ToJsonString());
        }
        await page.ClickAsync(".mud-dialog button:has-text('Close')");
        await page.WaitForSelectorAsync(".mud-dialog", new PageWaitForSelectorOptions { State = WaitForSelectorState.Detached });

        await page.ClickAsync("[data-testid=deploy]");
        var snack = await (await page.WaitForSelectorAsync(".mud-snackbar:has-text('eployed')"))!.TextContentAsync();
        Assert.Contains(Get<FlowService>().GetFlows(), o => o?["id"]?.GetValue<string>() == "e2e-tab");
        Assert.Contains("Deployed", snack, StringComparison.Ordinal);
        await page.ReloadAsync();
        await page.WaitForSelectorAsync("[data-testid=editor][data-ready=true]");
        await page.ClickAsync(".ff-tab:has-text('Imported kitchen')");
        await page.WaitForSelectorAsync(".ff-node[data-type=function]");
        Assert.Equal(3, await page.Locator(".ff-node").CountAsync());
        if (Environment.GetEnvironmentVariable("FLOWFLEET_SCREENSHOT") is { Length: > 0 } shot)
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot });
        }
    }
}
