using System.Text.Json.Nodes;
using FlowFleet.Runtime;
using FlowFleet.Runtime.Storage;
using Microsoft.Playwright;

namespace FlowFleet.Editor.Tests;

/// <summary>Search (ctrl-f) as in Node-RED, driven by keyboard and mouse: by name, type, id and property text across all flows,
/// <c>is:modified</c> and <c>is:invalid</c>; Enter or a click shows the node on its flow (switching tabs) selected.</summary>
public sealed class EditorSearchTests(EditorFixture fx) : IClassFixture<EditorFixture>
{
    private const string Flows = """
        [{"id":"k1","type":"tab","label":"Kitchen"},
         {"id":"g1","type":"tab","label":"Garage"},
         {"id":"kinj","type":"inject","z":"k1","name":"morning","props":[{"p":"payload","v":"7","vt":"num"}],"x":160,"y":100,"wires":[["kfn"]]},
         {"id":"kfn","type":"function","z":"k1","name":"scale","func":"msg.payload *= 2; // magicWord\nreturn msg;","outputs":1,"x":360,"y":100,"wires":[["kdbg"]]},
         {"id":"kdbg","type":"debug","z":"k1","name":"","complete":"payload","x":560,"y":100,"wires":[]},
         {"id":"gchg","type":"change","z":"g1","name":"door","rules":[{"t":"set","p":"topic","pt":"msg","to":"garage/door","tot":"str"}],"x":900,"y":700,"wires":[]},
         {"id":"wsl","type":"websocket-listener","path":"/ws/garage","wholemsg":"false"}]
        """;

    private static ILocator Hits(IPage page) => page.Locator("[data-testid=search-hit]");

    private static async Task SearchAsync(IPage page, string query, int expected)
    {
        var input = page.Locator("[data-testid=search-input]");
        await Pointer.ClickAsync(page, input);
        await page.Keyboard.PressAsync("Control+A");
        await page.Keyboard.TypeAsync(query);
        await page.WaitForFunctionAsync(
            // The results say which query they are for: the previous query's list may still be showing.
            $"() => document.querySelector('.ff-search-results')?.dataset.query === {System.Text.Json.JsonSerializer.Serialize(query)} && document.querySelectorAll('[data-testid=search-hit]').length === {expected}",
            null, new PageWaitForFunctionOptions { Timeout = 15_000 });
    }

    [Fact]
    public async Task Ctrl_f_finds_nodes_by_name_type_id_text_and_filters_and_shows_them_on_their_flow()
    {
        await fx.Get<FlowService>().DeployAsync(JsonNode.Parse(Flows)!, DeployType.Full, null, new DeployInfo("admin", "search set"));
        var page = await fx.LoggedInAsync();
        await page.Locator(".ff-tab.active:has-text('Kitchen')").WaitForAsync();

        // A new http in node: un-deployed (modified) and invalid (its URL is required).
        await Pointer.DropFromPaletteAsync(page, "http in", 300, 320);
        await page.Locator(".ff-node[data-type='http in'] [data-testid=invalid-marker]").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached });

        // ctrl-f with the canvas focused opens the box with the cursor in it.
        var canvas = (await page.Locator("[data-testid=canvas]").BoundingBoxAsync())!;
        await page.Mouse.ClickAsync(canvas.X + 700, canvas.Y + 420);
        await page.Keyboard.PressAsync("Control+f");
        await page.Locator("[data-testid=search-input]").WaitForAsync();
        await page.WaitForFunctionAsync("() => document.activeElement && document.activeElement.dataset.testid === 'search-input'");

        await SearchAsync(page, "magicword", 1);                          // property text, any case
        Assert.Equal("kfn", await Hits(page).First.GetAttributeAsync("data-id"));
        await SearchAsync(page, "type:debug", 1);
        Assert.Equal("kdbg", await Hits(page).First.GetAttributeAsync("data-id"));
        await SearchAsync(page, "kinj", 1);                               // id
        await SearchAsync(page, "garage/door", 1);                        // inside a rule list
        await SearchAsync(page, "is:modified", 1);
        Assert.Equal("http in", await Hits(page).First.Locator(".ff-search-type").TextContentAsync());
        await SearchAsync(page, "is:invalid", 1);
        Assert.Equal("http in", await Hits(page).First.Locator(".ff-search-type").TextContentAsync());
        await SearchAsync(page, "is:modified morning", 0);

        // By name, Enter: the Garage flow opens with the node selected and in view.
        await SearchAsync(page, "door", 1);
        Assert.Equal("Garage", await Hits(page).First.Locator(".ff-search-flow").TextContentAsync());
        await page.Keyboard.PressAsync("Enter");
        await page.Locator("[data-testid=search]").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Detached });
        await page.Locator(".ff-tab.active:has-text('Garage')").WaitForAsync();
        var door = page.Locator(".ff-node.selected[data-id=gchg]");
        await door.WaitForAsync();
        var box = (await door.BoundingBoxAsync())!;
        canvas = (await page.Locator("[data-testid=canvas]").BoundingBoxAsync())!;
        Assert.InRange(box.X + box.Width / 2, canvas.X, canvas.X + canvas.Width);   // stored at x 900, y 700: panned into view
        Assert.InRange(box.Y + box.Height / 2, canvas.Y, canvas.Y + canvas.Height);

        // The toolbar's magnifier reopens on the last query; a click on a result picks it.
        await Pointer.ClickAsync(page, "[data-testid=search-open]");
        await page.WaitForFunctionAsync("() => document.querySelector('[data-testid=search-input]')?.value === 'door'");
        await SearchAsync(page, "type:inject", 1);
        await SearchAsync(page, "ga", 2);                                 // the door's rule (garage/door) and the listener (/ws/garage)
        await SearchAsync(page, "morning", 1);
        await Pointer.ClickAsync(page, Hits(page).Locator(".ff-search-label:text-is('morning')"));
        await page.Locator(".ff-tab.active:has-text('Kitchen')").WaitForAsync();
        await page.Locator(".ff-node.selected[data-id=kinj]").WaitForAsync();

        // A config node has no canvas: picking it opens its dialog.
        await page.Keyboard.PressAsync("Control+f");
        await SearchAsync(page, "/ws/garage", 1);
        Assert.Equal("config", await Hits(page).First.Locator(".ff-search-flow").TextContentAsync());
        await page.Keyboard.PressAsync("Enter");
        await page.Locator(".mud-dialog:has-text('Edit websocket-listener node')").WaitForAsync();
        // The dialog takes keys once it has the focus (it moves it in as it opens; a slow machine shows the dialog first).
        await page.WaitForFunctionAsync("() => document.activeElement?.closest('.mud-dialog') != null");
        await page.Keyboard.PressAsync("Escape");
        await page.Locator(".mud-dialog").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Detached });

        // Escape closes the box without moving anything.
        await page.Keyboard.PressAsync("Control+f");
        await page.Locator("[data-testid=search-input]").WaitForAsync();
        await page.Keyboard.PressAsync("Escape");
        await page.Locator("[data-testid=search]").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Detached });
    }
}
