using System.Text.Json.Nodes;
using FlowFleet.Runtime.Storage;
using Microsoft.Playwright;

namespace FlowFleet.Editor.Tests;

/// <summary>Un-deployed work survives a server restart: a non-blocking banner while the server is away, the work offered back
/// after the page reloads, and leaving the page with un-deployed changes asks first.</summary>
public sealed class NoLostWorkTests(EditorFixture fx) : IClassFixture<EditorFixture>
{
    [Fact]
    public async Task Restarting_the_server_with_undeployed_edits_loses_nothing()
    {
        var page = await fx.LoggedInAsync();
        await Pointer.ClickAsync(page, "[data-testid=add-tab]");
        await Pointer.DropFromPaletteAsync(page, "inject", 160, 140);
        await Pointer.DropFromPaletteAsync(page, "debug", 420, 140);
        await Pointer.WireAsync(page, page.Locator(".ff-node[data-type=inject]"), page.Locator(".ff-node[data-type=debug]"));
        await page.WaitForSelectorAsync("[data-testid=editor][data-draft=saved]");
        var tab = (await page.Locator(".ff-tab.active").TextContentAsync())!.Trim();

        await fx.RestartServerAsync(async () =>
        {
            // While the server is away: a banner, not a modal — the canvas is still there and takes the mouse.
            var banner = await page.WaitForSelectorAsync("[data-testid=reconnect-banner]", new PageWaitForSelectorOptions { State = WaitForSelectorState.Visible, Timeout = 30_000 });
            var box = (await banner!.BoundingBoxAsync())!;
            Assert.True(box.Height < 80, $"banner {box.Height} px high");
            var (x, y) = await Pointer.CentreAsync(page.Locator(".ff-node[data-type=debug] .ff-body"));
            await page.Mouse.ClickAsync(x, y);
            await page.WaitForSelectorAsync(".ff-node.selected[data-type=debug]");
        });

        // The restarted server does not know the old session: the page reloads and offers the kept work back.
        await Pointer.ClickAsync(page, page.Locator("[data-testid=draft-restore]"));
        await page.WaitForSelectorAsync(".ff-node[data-type=inject]");
        Assert.Equal(tab, (await page.Locator(".ff-tab.active").TextContentAsync())!.Trim());
        Assert.Equal(1, await page.Locator(".ff-node[data-type=debug]").CountAsync());
        Assert.Equal(1, await page.Locator(".ff-wire").CountAsync());

        await Pointer.ClickAsync(page, "[data-testid=deploy]");
        await page.WaitForSelectorAsync(".mud-snackbar:has-text('Deployed')", new PageWaitForSelectorOptions { Timeout = 15_000 });
        var flows = fx.Get<FlowService>().GetFlows().OfType<JsonObject>().ToList();
        var inject = flows.Single(o => o["type"]?.GetValue<string>() == "inject");
        var debug = flows.Single(o => o["type"]?.GetValue<string>() == "debug");
        Assert.Equal(debug["id"]!.GetValue<string>(), inject["wires"]![0]![0]!.GetValue<string>());
        await page.WaitForSelectorAsync("[data-testid=editor][data-draft=none]");

        // An edit after the deploy, then closing the tab: the browser asks first.
        var (nx, ny) = await Pointer.CentreAsync(page.Locator(".ff-node[data-type=debug] .ff-body"));
        await Pointer.DragAsync(page, nx, ny, nx + 100, ny + 100);
        await page.WaitForSelectorAsync("[data-testid=editor][data-draft=saved]");
        var asked = new TaskCompletionSource<string>();
        page.Dialog += (_, dialog) =>
        {
            asked.TrySetResult(dialog.Type);
            _ = dialog.AcceptAsync();
        };
        await page.CloseAsync(new PageCloseOptions { RunBeforeUnload = true });
        Assert.Equal("beforeunload", await asked.Task.WaitAsync(TimeSpan.FromSeconds(15)));
    }
}
