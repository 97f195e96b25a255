using System.Text.Json.Nodes;
using FlowFleet.Runtime.Storage;
using Microsoft.Playwright;

namespace FlowFleet.Editor.Tests;

/// <summary>The editor driven as a person drives it: real mouse moves, presses, double clicks and typing at element coordinates.</summary>
[Collection("editor-mouse")]
public sealed class EditorMouseTests(EditorFixture fx) : IClassFixture<EditorFixture>
{
    // A straight wire's group has no height, which Playwright calls hidden: wait for wires to exist, not to be visible.
    private static readonly PageWaitForSelectorOptions s_attached = new() { State = WaitForSelectorState.Attached };

    private static ILocator Node(IPage page, string type) => page.Locator($".ff-node[data-type='{type}']").First;

    private static Task<IElementHandle?> DialogAsync(IPage page) =>
        page.WaitForSelectorAsync(".mud-dialog", new PageWaitForSelectorOptions { Timeout = 15_000 });

    private static Task DialogClosedAsync(IPage page) =>
        page.WaitForSelectorAsync(".mud-dialog", new PageWaitForSelectorOptions { State = WaitForSelectorState.Detached, Timeout = 15_000 });

    [Fact]
    public async Task A_person_builds_inject_function_debug_by_mouse_and_keyboard_deploys_and_reads_42()
    {
        var page = await fx.LoggedInAsync();
        await page.Locator(".ff-tab").Last.WaitForAsync();
        await Pointer.ClickAsync(page, "[data-testid=add-tab]");
        await Pointer.DropFromPaletteAsync(page, "inject", 160, 160);
        await Pointer.DropFromPaletteAsync(page, "function", 360, 160);
        await Pointer.DropFromPaletteAsync(page, "debug", 560, 160);
        await Pointer.WireAsync(page, Node(page, "inject"), Node(page, "function"));
        await Pointer.WireAsync(page, Node(page, "function"), Node(page, "debug"));

        // Inject: double-click opens the dialog; payload type "number", value 21.
        await Pointer.DoubleClickAsync(page, Node(page, "inject"));
        await DialogAsync(page);
        var typed = page.Locator(".mud-dialog [data-testid=typed-input]").First;
        var number = page.Locator(".mud-popover-open .mud-list-item:has-text('number')").First;
        for (var attempt = 0; attempt < 3 && !await number.IsVisibleAsync(); attempt++)
        {
            // The dialog may still be opening when the first click lands; a person clicks again.
            await Pointer.ClickAsync(page, typed.Locator(".mud-select").First);
            try
            {
                await number.WaitForAsync(new LocatorWaitForOptions { Timeout = 5_000 });
            }
            catch (TimeoutException)
            {
            }
        }
        await Pointer.ClickAsync(page, number);
        await Pointer.ClickAsync(page, typed.Locator(".mud-input-control").Last.Locator("input"));
        await page.Keyboard.PressAsync("Control+A");
        await page.Keyboard.TypeAsync("21");
        await Pointer.ClickAsync(page, "[data-testid=node-done]");
        await DialogClosedAsync(page);
        await page.WaitForSelectorAsync(".ff-node[data-type=inject] text:text-is('21')");

        // Function: select it with a click, open it with Enter, type the code into the editor.
        await Pointer.ClickAsync(page, Node(page, "function"));
        await page.Keyboard.PressAsync("Enter");
        await DialogAsync(page);
        await Pointer.ClickAsync(page, page.Locator(".mud-dialog [data-field=func] .cm-content").First);
        await page.Keyboard.PressAsync("Control+A");
        await page.Keyboard.TypeAsync("msg.payload = msg.payload * 2; return msg;");
        await Pointer.ClickAsync(page, "[data-testid=node-done]");
        await DialogClosedAsync(page);

        await Pointer.ClickAsync(page, "[data-testid=deploy]");
        await page.WaitForSelectorAsync(".mud-snackbar:has-text('Deployed')", new PageWaitForSelectorOptions { Timeout = 15_000 });
        var flows = fx.Get<FlowService>().GetFlows().OfType<JsonObject>().ToList();
        Assert.Contains(flows, o => o["type"]?.GetValue<string>() == "function" && o["func"]?.GetValue<string>() == "msg.payload = msg.payload * 2; return msg;");

        await Pointer.ClickAsync(page, page.Locator("[data-testid=node-button][data-button=trigger]").First);
        var message = await page.WaitForSelectorAsync("[data-testid=debug-message] .ff-json .n:text-is('42')", new PageWaitForSelectorOptions { Timeout = 15_000 });
        Assert.NotNull(message);
        if (Environment.GetEnvironmentVariable("FLOWFLEET_SCREENSHOT_EDITOR") is { Length: > 0 } shot)
        {
            await Pointer.ClickAsync(page, Node(page, "function"));
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot });
        }
    }

    [Fact]
    public async Task Right_click_menus_edit_delete_disable_and_remove_wires()
    {
        var page = await fx.LoggedInAsync();
        await Pointer.ClickAsync(page, "[data-testid=add-tab]");
        await Pointer.DropFromPaletteAsync(page, "inject", 160, 120);
        await Pointer.DropFromPaletteAsync(page, "debug", 420, 120);
        await Pointer.WireAsync(page, Node(page, "inject"), Node(page, "debug"));

        // Disable, then enable again.
        await Pointer.ClickAsync(page, Node(page, "debug"), MouseButton.Right);
        await Pointer.ClickAsync(page, "[data-testid=context-menu] [data-command=disable]");
        await page.WaitForSelectorAsync(".ff-node.disabled[data-type=debug]");
        await Pointer.ClickAsync(page, Node(page, "debug"), MouseButton.Right);
        await Pointer.ClickAsync(page, "[data-testid=context-menu] [data-command=enable]");
        await page.WaitForSelectorAsync(".ff-node.disabled", new PageWaitForSelectorOptions { State = WaitForSelectorState.Detached });

        // Wire menu: delete the wire (right-click halfway along it).
        var inj = await Pointer.CentreAsync(Node(page, "inject").Locator(".ff-port-out"));
        var dbg = await Pointer.CentreAsync(Node(page, "debug").Locator(".ff-port-in"));
        await page.Mouse.ClickAsync((inj.X + dbg.X) / 2, (inj.Y + dbg.Y) / 2, new MouseClickOptions { Button = MouseButton.Right });
        await Pointer.ClickAsync(page, "[data-testid=context-menu] [data-command=delete]");
        await page.WaitForSelectorAsync(".ff-wire", new PageWaitForSelectorOptions { State = WaitForSelectorState.Detached });

        // Canvas menu: select all, then the node menu deletes both.
        var canvas = (await page.Locator("[data-testid=canvas]").BoundingBoxAsync())!;
        await page.Mouse.ClickAsync(canvas.X + 700, canvas.Y + 400, new MouseClickOptions { Button = MouseButton.Right });
        await Pointer.ClickAsync(page, "[data-testid=context-menu] [data-command='ctrl+a']");
        await page.WaitForFunctionAsync("() => document.querySelectorAll('.ff-node.selected').length === 2");
        await Pointer.ClickAsync(page, Node(page, "inject"), MouseButton.Right);
        await Pointer.ClickAsync(page, "[data-testid=context-menu] [data-command=delete]");
        await page.WaitForSelectorAsync(".ff-node", new PageWaitForSelectorOptions { State = WaitForSelectorState.Detached });
    }

    /// <summary>The dialog opened from the menu's Edit closes by Cancel, by Escape and by Done (which applies the edit). The
    /// menu's full-page backdrop once had the dialogs' z-index (1400) and came later in the page, so until the menu's removal
    /// was rendered it lay over the dialog and took the first clicks (shown here: typing into Name and Done was lost).</summary>
    [Fact]
    public async Task Right_click_edit_opens_a_dialog_that_closes()
    {
        var page = await fx.LoggedInAsync();
        await Pointer.ClickAsync(page, "[data-testid=add-tab]");
        await Pointer.DropFromPaletteAsync(page, "inject", 160, 120);

        await MenuEditAsync(page);
        await Pointer.ClickAsync(page, page.Locator(".mud-dialog button:has-text('Cancel')"));
        await DialogClosedAsync(page);
        await page.Locator("[data-testid=context-menu]").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Detached });

        await MenuEditAsync(page);
        // The dialog takes keys once it has the focus (it moves it in as it opens; a slow machine shows the dialog first).
        await page.WaitForFunctionAsync("() => document.activeElement?.closest('.mud-dialog') != null");
        await page.Keyboard.PressAsync("Escape");
        await DialogClosedAsync(page);

        await MenuEditAsync(page);
        await Pointer.ClickAsync(page, page.Locator(".mud-dialog [data-field=name] input").First);
        await page.Keyboard.TypeAsync("every minute");
        await Pointer.ClickAsync(page, "[data-testid=node-done]");
        await DialogClosedAsync(page);
        await page.WaitForSelectorAsync(".ff-node[data-type=inject] text:text-is('every minute')");

        // The canvas still takes input after the dialogs: a right-click opens the menu again.
        await Pointer.ClickAsync(page, Node(page, "inject"), MouseButton.Right);
        await page.Locator("[data-testid=context-menu]").WaitForAsync();
    }

    private static async Task MenuEditAsync(IPage page)
    {
        await Pointer.ClickAsync(page, Node(page, "inject"), MouseButton.Right);
        await Pointer.ClickAsync(page, "[data-testid=context-menu] [data-command=edit]");
        await DialogAsync(page);
        Assert.Equal(1, await page.Locator(".mud-dialog").CountAsync());
    }

    [Fact]
    public async Task Dropping_a_node_on_a_wire_inserts_it_and_moving_box_select_and_wires_still_work()
    {
        var page = await fx.LoggedInAsync();
        await Pointer.ClickAsync(page, "[data-testid=add-tab]");
        await Pointer.DropFromPaletteAsync(page, "inject", 140, 140);
        await Pointer.DropFromPaletteAsync(page, "debug", 640, 140);
        await Pointer.WireAsync(page, Node(page, "inject"), Node(page, "debug"));

        // From the palette onto the middle of the wire.
        var a = await Pointer.CentreAsync(Node(page, "inject").Locator(".ff-port-out"));
        var b = await Pointer.CentreAsync(Node(page, "debug").Locator(".ff-port-in"));
        var canvas = (await page.Locator("[data-testid=canvas]").BoundingBoxAsync())!;
        await Pointer.DropFromPaletteAsync(page, "function", (a.X + b.X) / 2 - canvas.X, (a.Y + b.Y) / 2 - canvas.Y);
        var ids = await IdsAsync(page);
        await page.WaitForSelectorAsync($".ff-wire[data-from='{ids["inject"]}'][data-to='{ids["function"]}']", s_attached);
        await page.WaitForSelectorAsync($".ff-wire[data-from='{ids["function"]}'][data-to='{ids["debug"]}']", s_attached);
        Assert.Equal(2, await page.Locator(".ff-wire").CountAsync());

        // A lone node moved onto a wire is inserted too.
        await Pointer.DropFromPaletteAsync(page, "change", 390, 320);
        var fn = await Pointer.CentreAsync(Node(page, "function").Locator(".ff-port-out"));
        var dbg = await Pointer.CentreAsync(Node(page, "debug").Locator(".ff-port-in"));
        var change = await Pointer.CentreAsync(Node(page, "change"));
        await Pointer.DragAsync(page, change.X, change.Y, (fn.X + dbg.X) / 2, (fn.Y + dbg.Y) / 2);
        ids = await IdsAsync(page);
        await page.WaitForSelectorAsync($".ff-wire[data-from='{ids["change"]}'][data-to='{ids["debug"]}']", s_attached);
        Assert.Equal(3, await page.Locator(".ff-wire").CountAsync());

        // Moving: the node lands where it was dropped, centred and snapped to the grid.
        var before = await Pointer.CentreAsync(Node(page, "inject").Locator(".ff-body"));
        await Pointer.DragAsync(page, before.X, before.Y, before.X, before.Y + 200);
        try
        {
            // The model's centre (data-y, as rendered by the server) is where the mouse let go, snapped to the grid.
            var canvasTop = (await page.Locator("[data-testid=canvas]").BoundingBoxAsync())!.Y;
            await page.WaitForFunctionAsync($"() => Math.abs(parseFloat(document.querySelector(\".ff-node[data-type=inject]\").dataset.y) - {before.Y + 200 - canvasTop}) <= 10");
            await page.WaitForFunctionAsync($"() => Math.abs(document.querySelector(\".ff-node[data-type=inject] .ff-body\").getBoundingClientRect().top - {before.Y + 200 - 15}) < 12");
        }
        catch (TimeoutException)
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetTempPath(), "flowfleet-move-failure.png") });
            throw;
        }

        // Box select: drag a rectangle on the empty canvas around the function and change nodes only.
        var f = (await Node(page, "function").BoundingBoxAsync())!;
        var c = (await Node(page, "change").BoundingBoxAsync())!;
        await Pointer.DragAsync(page, Math.Min(f.X, c.X) - 15, f.Y - 15 - 40, Math.Max(f.X + f.Width, c.X + c.Width) + 15, f.Y + f.Height + 15);
        await page.WaitForFunctionAsync("() => document.querySelectorAll('.ff-node.selected').length === 2");
        Assert.Equal(2, await page.Locator(".ff-node.selected[data-type=function], .ff-node.selected[data-type=change]").CountAsync());
    }

    private static async Task<Dictionary<string, string>> IdsAsync(IPage page)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var el in await page.Locator(".ff-node").AllAsync())
        {
            result[(await el.GetAttributeAsync("data-type"))!] = (await el.GetAttributeAsync("data-id"))!;
        }
        return result;
    }
}
