using System.Text.Json.Nodes;
using FlowFleet.Runtime;
using FlowFleet.Runtime.Storage;
using Microsoft.Playwright;

namespace FlowFleet.Editor.Tests;

/// <summary>The History panel in headless Chromium, driven by mouse and keyboard only: deploy with a note, compare two versions
/// on the canvas, read a function's line diff, restore a version.</summary>
public sealed class HistoryEndToEndTests : BrowserEndToEndTest
{
    private const string Password = "history-e2e-pass";

    private const string FlowA = """
        [{"id":"t1","type":"tab","label":"Kitchen"},
         {"id":"inj","type":"inject","z":"t1","name":"tick","props":[{"p":"payload","v":"7","vt":"num"}],"x":160,"y":100,"wires":[["fn"]]},
         {"id":"fn","type":"function","z":"t1","name":"scale","func":"msg.payload = msg.payload * 6;\nreturn msg;","outputs":1,"x":360,"y":100,"wires":[["dbg"]]},
         {"id":"dbg","type":"debug","z":"t1","name":"out","complete":"payload","x":560,"y":100,"wires":[]},
         {"id":"note","type":"comment","z":"t1","name":"old note","x":160,"y":240,"wires":[]}]
        """;

    private const string FlowB = """
        [{"id":"t1","type":"tab","label":"Kitchen"},
         {"id":"inj","type":"inject","z":"t1","name":"tick","props":[{"p":"payload","v":"7","vt":"num"}],"x":200,"y":180,"wires":[["fn"]]},
         {"id":"fn","type":"function","z":"t1","name":"scale","func":"msg.payload = msg.payload * 2;\nreturn msg;","outputs":1,"x":360,"y":100,"wires":[["dbg","dbg2"]]},
         {"id":"dbg","type":"debug","z":"t1","name":"out","complete":"payload","x":560,"y":100,"wires":[]},
         {"id":"dbg2","type":"debug","z":"t1","name":"everything","complete":"true","x":560,"y":200,"wires":[]}]
        """;

    protected override Task StartAsync() => StartServerAsync(Password);

    [Fact]
    public async Task Deploy_with_a_note_compare_two_versions_on_the_canvas_and_restore_one()
    {
        var flows = Get<FlowService>();
        await flows.DeployAsync(JsonNode.Parse(FlowA)!, DeployType.Full, null, new DeployInfo("admin", "six times"));
        var revA = flows.Rev;
        await flows.DeployAsync(JsonNode.Parse(FlowB)!, DeployType.Full, null, new DeployInfo("admin", "twice"));

        var page = await EditorPageAsync(Password, 1400, 850);

        // Deploy with a note: the deploy button's menu, a typed note, Enter.
        // A click on a menu that is still opening can miss, as for a person, who clicks again: up to three tries.
        var note = page.Locator("input[data-testid=deploy-note], [data-testid=deploy-note] input").First;
        for (var attempt = 0; ; attempt++)
        {
            await Pointer.ClickAsync(page, page.Locator(".mud-button-group-root .mud-menu button"));
            await Pointer.ClickAsync(page, page.Locator("[data-testid=deploy-with-note]"));
            try
            {
                await note.WaitForAsync(new LocatorWaitForOptions { Timeout = 5_000 });
                break;
            }
            catch (TimeoutException) when (attempt < 2)
            {
                await page.Keyboard.PressAsync("Escape");
            }
        }
        await Pointer.ClickAsync(page, note);
        await page.Keyboard.TypeAsync("checked by the browser");
        await page.Keyboard.PressAsync("Enter");
        await page.WaitForSelectorAsync(".mud-snackbar:has-text('Deployed')");

        await Pointer.ClickAsync(page, page.Locator(".mud-tab:has-text('history')"));
        var rows = page.Locator("[data-testid=history-row]");
        await page.WaitForSelectorAsync("[data-testid=history-row][data-version='4']");
        Assert.Equal(4, await rows.CountAsync()); // the start-up (empty) flows, A, B, B again with the note
        var newest = await rows.First.TextContentAsync();
        Assert.Contains("checked by the browser", newest, StringComparison.Ordinal);
        Assert.Contains("admin", newest, StringComparison.Ordinal);
        Assert.Contains("live", newest, StringComparison.Ordinal);
        Assert.DoesNotContain("live", await page.Locator("[data-testid=history-row][data-version='3']").TextContentAsync(), StringComparison.Ordinal);

        // Pick A, ctrl+click B, compare.
        await Pointer.ClickAsync(page, page.Locator("[data-testid=history-row][data-version='2'] .ff-history-head"));
        await page.Keyboard.DownAsync("Control");
        await Pointer.ClickAsync(page, page.Locator("[data-testid=history-row][data-version='3'] .ff-history-head"));
        await page.Keyboard.UpAsync("Control");
        // Re-rendering after the click is asynchronous: wait for the button to name the pair.
        await page.Locator("[data-testid=history-compare]:has-text('Compare v2 → v3')").WaitForAsync();
        await Pointer.ClickAsync(page, page.Locator("[data-testid=history-compare]"));
        await page.WaitForSelectorAsync("[data-testid=history-diff]");
        Assert.Equal("added", await page.Locator(".ff-diff-node[data-id=dbg2]").GetAttributeAsync("data-change"));
        Assert.Equal("removed", await page.Locator(".ff-diff-node[data-id=note]").GetAttributeAsync("data-change"));
        Assert.Equal("changed", await page.Locator(".ff-diff-node[data-id=fn]").GetAttributeAsync("data-change"));
        Assert.Equal("moved", await page.Locator(".ff-diff-node[data-id=inj]").GetAttributeAsync("data-change"));
        Assert.Equal("unchanged", await page.Locator(".ff-diff-node[data-id=dbg]").GetAttributeAsync("data-change"));
        Assert.Equal(1, await page.Locator(".ff-diff-ghost").CountAsync());
        Assert.Equal(1, await page.Locator(".ff-diff-wire.k-added[data-from=fn][data-to=dbg2]").CountAsync());
        Assert.Contains("1 added", await page.Locator("[data-testid=history-diff-summary]").TextContentAsync(), StringComparison.Ordinal);

        // The changed function, clicked on the canvas: its code as a line diff.
        await Pointer.ClickAsync(page, page.Locator(".ff-diff-node[data-id=fn] rect.ff-body"));
        var func = page.Locator("[data-testid=history-diff-prop][data-name=func]");
        await func.WaitForAsync();
        Assert.Contains("* 6", await func.Locator(".ff-linediff span.del").TextContentAsync(), StringComparison.Ordinal);
        Assert.Contains("* 2", await func.Locator(".ff-linediff span.add").TextContentAsync(), StringComparison.Ordinal);
        Assert.Equal(1, await func.Locator(".ff-linediff span.del").CountAsync());
        if (Environment.GetEnvironmentVariable("FLOWFLEET_SCREENSHOT_DIR") is { Length: > 0 } dir)
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(dir, "history-diff.png") });
        }
        await Pointer.ClickAsync(page, page.Locator("[data-testid=history-diff-close]"));
        await page.WaitForSelectorAsync("[data-testid=history-diff]", new PageWaitForSelectorOptions { State = WaitForSelectorState.Detached });

        // Restore A: a fifth version, A runs again and the canvas shows it.
        await Pointer.ClickAsync(page, page.Locator("[data-testid=history-row][data-version='2'] [data-testid=history-restore]"));
        await Pointer.ClickAsync(page, page.Locator(".mud-dialog button:has-text('Restore')"));
        await page.WaitForSelectorAsync("[data-testid=history-row][data-version='5']");
        Assert.Contains("restores v2", await rows.First.TextContentAsync(), StringComparison.Ordinal);
        Assert.Equal(revA, flows.Rev);
        await page.WaitForSelectorAsync(".ff-node[data-id=note]");
        Assert.Equal(0, await page.Locator(".ff-node[data-id=dbg2]").CountAsync());
    }
}
