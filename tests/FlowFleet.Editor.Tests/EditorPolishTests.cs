using Microsoft.Playwright;

namespace FlowFleet.Editor.Tests;

/// <summary>Issue 14's everyday polish, each driven with real mouse and keyboard: the page never scrolls, overflowing flow tabs
/// get arrows and a list, info/outline is reachable at 1280 px, Examples import into a flow named from the example, pasted
/// nodes land at the mouse, the changed marker clears when changes net to nothing, help is Markdown, default labels.</summary>
public sealed class EditorPolishTests(EditorFixture fx) : IClassFixture<EditorFixture>
{
    private static Task<bool> ScrolledAsync(IPage page) =>
        page.EvaluateAsync<bool>("() => window.scrollY !== 0 || window.scrollX !== 0 || document.scrollingElement.scrollTop !== 0 || document.scrollingElement.scrollLeft !== 0");

    private static Task<double> StripScrollAsync(IPage page) => page.Locator("[data-testid=tab-strip]").EvaluateAsync<double>("el => el.scrollLeft");

    private static Task<bool> ActiveTabInViewAsync(IPage page) => page.Locator("[data-testid=tab-strip]").EvaluateAsync<bool>("""
        el => { const t = el.querySelector('.ff-tab.active'), s = el.getBoundingClientRect(), r = t.getBoundingClientRect();
                return r.left >= s.left - 1 && r.right <= s.right + 1; }
        """);

    [Fact]
    public async Task At_1280_px_the_page_never_scrolls_many_tabs_get_arrows_and_a_list_and_info_is_reachable()
    {
        var page = await fx.LoggedInAsync(1280, 720);
        await Pointer.DropFromPaletteAsync(page, "inject", 200, 160);
        for (var i = 0; i < 14; i++)
        {
            var tabs = await page.Locator(".ff-tab").CountAsync();
            await Pointer.ClickAsync(page, "[data-testid=add-tab]");
            await page.WaitForFunctionAsync($"() => document.querySelectorAll('.ff-tab').length > {tabs}");
        }
        var count = await page.Locator(".ff-tab").CountAsync();

        // The newest (active) tab is scrolled into view; the strip overflows instead of the page.
        await page.WaitForFunctionAsync("() => { const el = document.querySelector('[data-testid=tab-strip]'); return el.scrollWidth > el.clientWidth; }");
        Assert.True(await ActiveTabInViewAsync(page), "the newly added tab is not in view");

        // Wheel and keys over every part of the page: only the panes scroll, never the page.
        foreach (var part in new[] { "[data-testid=tabs]", ".ff-palette", ".ff-sidebar", "[data-testid=canvas]" })
        {
            var (x, y) = await Pointer.CentreAsync(page.Locator(part).First);
            await page.Mouse.MoveAsync(x, y);
            await page.Mouse.WheelAsync(300, 2000);
        }
        await page.Keyboard.PressAsync("End");
        await page.Keyboard.PressAsync("PageDown");
        Assert.False(await ScrolledAsync(page), "the page scrolled");

        // Arrows scroll the strip back and forth.
        var before = await StripScrollAsync(page);
        await Pointer.ClickAsync(page, "[data-testid=tabs-left]");
        await page.WaitForFunctionAsync($"() => document.querySelector('[data-testid=tab-strip]').scrollLeft < {before} - 50");
        var left = await StripScrollAsync(page);
        await Pointer.ClickAsync(page, "[data-testid=tabs-right]");
        await page.WaitForFunctionAsync($"() => document.querySelector('[data-testid=tab-strip]').scrollLeft > {left} + 50");

        // The list names every flow; picking the first shows it and scrolls its tab into view.
        await Pointer.ClickAsync(page, page.Locator("[data-testid=tab-list]").First);
        var first = page.Locator("[data-testid=tab-list-item]").First;
        await first.WaitForAsync();
        Assert.Equal(count, await page.Locator("[data-testid=tab-list-item]").CountAsync());
        var name = (await first.TextContentAsync())!.Trim();
        Assert.Equal(name, (await page.Locator(".ff-tab").First.TextContentAsync())!.Trim());
        await Pointer.ClickAsync(page, first);
        await page.Locator($".ff-tab.active:text-is('{name}')").WaitForAsync();
        await page.WaitForFunctionAsync("() => { const el = document.querySelector('[data-testid=tab-strip]'); const r = el.querySelector('.ff-tab.active').getBoundingClientRect(), s = el.getBoundingClientRect(); return r.left >= s.left - 1 && r.right <= s.right + 1; }");

        // Info with the outline: its tab is on screen at 1280 px; a click in the outline selects the node.
        var info = page.Locator(".ff-sidebar .mud-tab:has-text('info')");
        var box = (await info.BoundingBoxAsync())!;
        Assert.True(box.X + box.Width <= 1280, $"info tab ends at {box.X + box.Width}");
        await Pointer.ClickAsync(page, info);
        var outlined = page.Locator("[data-testid=outline-node]:has-text('inject')").First;
        await Pointer.ClickAsync(page, outlined);
        await page.Locator(".ff-node.selected[data-type=inject]").WaitForAsync();
        Assert.False(await ScrolledAsync(page), "the page scrolled");
    }

    [Fact]
    public async Task Examples_import_named_paste_at_the_mouse_changed_marker_help_and_default_labels()
    {
        var page = await fx.LoggedInAsync();

        // New nodes get Node-RED's default labels.
        await Pointer.ClickAsync(page, "[data-testid=add-tab]");
        await Pointer.DropFromPaletteAsync(page, "inject", 160, 120);
        await page.Locator(".ff-node[data-type=inject] text:text-is('timestamp')").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached });

        // Help is rendered Markdown: inline code, no backticks.
        await Pointer.ClickAsync(page, page.Locator(".ff-node[data-type=inject]").First);
        await Pointer.ClickAsync(page, page.Locator(".ff-sidebar .mud-tab:has-text('help')"));
        await page.Locator("[data-testid=help-markdown] code").First.WaitForAsync();
        Assert.DoesNotContain("`", await page.Locator("[data-testid=help-markdown]").TextContentAsync() ?? "", StringComparison.Ordinal);

        // Examples: FlowFleet's flows/ listed in the import dialog; one imports into a flow named from it.
        await Pointer.ClickAsync(page, "[data-testid=import]");
        var example = page.Locator("[data-testid=example]:text-is('hello-http')");
        await Pointer.ClickAsync(page, example);
        await page.Locator(".mud-dialog:has-text('6 objects')").WaitForAsync();
        Assert.True(await page.Locator("[data-testid=example]").CountAsync() >= 3);
        await Pointer.ClickAsync(page, "[data-testid=import-confirm]");
        await page.Locator(".mud-dialog").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Detached });
        await page.Locator(".ff-tab.active:text-is('Hello HTTP')").WaitForAsync();
        Assert.Equal(5, await page.Locator(".ff-node").CountAsync());

        // Deployed, a move shows the changed marker; undoing it (changes net to nothing) clears it.
        await Pointer.ClickAsync(page, "[data-testid=deploy]");
        await page.Locator(".mud-snackbar:has-text('Deployed')").First.WaitForAsync(new LocatorWaitForOptions { Timeout = 20_000 });
        await page.Locator(".ff-changed").First.WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Detached });
        var timer = page.Locator(".ff-node[data-type=function]").First;
        var (tx, ty) = await Pointer.CentreAsync(timer.Locator(".ff-body"));
        await Pointer.DragAsync(page, tx, ty, tx + 100, ty + 160);
        await page.Locator(".ff-node[data-type=function] .ff-changed").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached });
        await page.Keyboard.PressAsync("Control+z");
        await page.Locator(".ff-changed").First.WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Detached });

        // Copy the function node; ctrl+v pastes it centred on the mouse (snapped to the 20 px grid), as does the menu's Paste here.
        // The imported nodes are all selected: a plain click on one selects it alone, as in Node-RED.
        await Pointer.ClickAsync(page, timer.Locator(".ff-body"));
        await page.WaitForFunctionAsync("() => document.querySelectorAll('.ff-node.selected').length === 1 && document.querySelector('.ff-node.selected').dataset.type === 'function'");
        await page.Keyboard.PressAsync("Control+c");
        var canvas = (await page.Locator("[data-testid=canvas]").BoundingBoxAsync())!;
        await page.Mouse.MoveAsync(canvas.X + 520, canvas.Y + 380, new MouseMoveOptions { Steps = 4 });
        await page.Keyboard.PressAsync("Control+v");
        await page.WaitForFunctionAsync("() => document.querySelectorAll('.ff-node[data-type=function]').length === 2");
        await AssertPastedNearAsync(page, 520, 380);

        await page.Mouse.ClickAsync(canvas.X + 300, canvas.Y + 460, new MouseClickOptions { Button = MouseButton.Right });
        await Pointer.ClickAsync(page, "[data-testid=context-menu] [data-command=paste]");
        await page.WaitForFunctionAsync("() => document.querySelectorAll('.ff-node[data-type=function]').length === 3");
        await AssertPastedNearAsync(page, 300, 460);
    }

    /// <summary>The newest pasted function node (the selection after a paste) is centred within half a grid step of the point.</summary>
    private static async Task AssertPastedNearAsync(IPage page, double x, double y)
    {
        var pasted = page.Locator(".ff-node.selected[data-type=function]");
        await pasted.WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached });
        var px = double.Parse((await pasted.GetAttributeAsync("data-x"))!, System.Globalization.CultureInfo.InvariantCulture);
        var py = double.Parse((await pasted.GetAttributeAsync("data-y"))!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(px, x - 10, x + 10);
        Assert.InRange(py, y - 10, y + 10);
    }
}
