using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Playwright;

namespace FlowFleet.Editor.Tests;

/// <summary>Node-RED's own example flows (npm <c>@node-red/nodes</c>, <c>examples/</c>) imported through the import dialog draw
/// where Node-RED draws them: each node's rendered centre is its stored x/y, and its width follows Node-RED's rule from the
/// label as the browser measures it.</summary>
public sealed class NodeRedGeometryTests(EditorFixture fx) : IClassFixture<EditorFixture>
{
    private static readonly SemaphoreSlim s_install = new(1, 1);

    /// <summary>The examples folder: node-red@4's own copy of <c>@node-red/nodes</c> when test.sh installed it for the differential
    /// tests, otherwise fetched with <c>npm pack</c> into a cache folder.</summary>
    internal static async Task<string> ExamplesAsync()
    {
        var cache = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "flowfleet");
        var installed = Path.Combine(cache, "node-red", "node_modules", "@node-red", "nodes", "examples");
        var root = Environment.GetEnvironmentVariable("FLOWFLEET_NODE_RED_NODES");
        if (root is null && Directory.Exists(installed))
        {
            return installed;
        }
        root ??= Path.Combine(cache, "node-red-nodes");
        var examples = Path.Combine(root, "package", "examples");
        await s_install.WaitAsync();
        try
        {
            if (!Directory.Exists(examples))
            {
                Directory.CreateDirectory(root);
                await RunAsync(root, "npm", "pack --silent @node-red/nodes@4");
                var tgz = Directory.GetFiles(root, "node-red-nodes-*.tgz").Order(StringComparer.Ordinal).Last();
                await RunAsync(root, "tar", $"xzf \"{tgz}\"");
            }
        }
        finally
        {
            s_install.Release();
        }
        return examples;
    }

    private static async Task RunAsync(string dir, string file, string args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true })!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await p.WaitForExitAsync(timeout.Token);
        Assert.True(p.ExitCode == 0, $"{file} {args}: {await p.StandardError.ReadToEndAsync()}");
    }

    [Fact]
    public async Task Node_red_examples_draw_at_their_stored_centres_with_node_red_widths()
    {
        var files = Directory.GetFiles(await ExamplesAsync(), "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        Assert.True(files.Count > 50, "expected Node-RED's examples");
        var page = await fx.LoggedInAsync(1600, 1000);
        var checkedNodes = 0;
        var exactWidths = 0;
        // Every 6th example (about 20 flows, every category): each import is a full dialog round trip.
        foreach (var file in files.Where((_, i) => i % 6 == 0))
        {
            await Pointer.ClickAsync(page, "[data-testid=import]");
            await page.WaitForSelectorAsync(".mud-dialog [data-testid=examples]");
            // On a loaded machine the file can be set before Blazor's change handler is attached, or its stream can break off
            // ("could not be read" in the dialog): the file is set again. Any other alert is a real import error.
            for (var attempt = 0; ; attempt++)
            {
                await page.SetInputFilesAsync(".mud-dialog input[type=file]", file);
                try
                {
                    await page.WaitForSelectorAsync(".mud-dialog [data-testid=import-confirm]:not([disabled]), .mud-dialog .mud-alert", new PageWaitForSelectorOptions { Timeout = 30_000 });
                    if (attempt < 2 && await page.Locator(".mud-dialog .mud-alert", new() { HasTextString = "could not be read" }).CountAsync() > 0)
                    {
                        continue;
                    }
                    break;
                }
                catch (TimeoutException) when (attempt < 2)
                {
                }
            }
            Assert.Equal(0, await page.Locator(".mud-dialog .mud-alert").CountAsync());
            // The dialog closes exactly when the import runs, so clicking again only happens if a click did not register.
            for (var attempt = 0; attempt < 3 && await page.Locator(".mud-dialog").CountAsync() > 0; attempt++)
            {
                await Pointer.ClickAsync(page, "[data-testid=import-confirm]");
                try
                {
                    await page.WaitForSelectorAsync(".mud-dialog", new PageWaitForSelectorOptions { State = WaitForSelectorState.Detached, Timeout = 15_000 });
                }
                catch (TimeoutException) when (attempt < 2)
                {
                }
            }
            var name = Path.GetFileNameWithoutExtension(file);
            Assert.Equal(name, (await page.Locator(".ff-tab.active").TextContentAsync())?.Trim());

            var stored = JsonNode.Parse(await File.ReadAllTextAsync(file))!.AsArray().OfType<JsonObject>()
                .Where(o => o["x"] is not null && o["type"]!.GetValue<string>() is not ("tab" or "group" or "subflow"))
                .Select(o => $"{o["type"]}@{o["x"]},{o["y"]}").Order(StringComparer.Ordinal).ToList();
            var canvas = (await page.Locator("[data-testid=canvas]").BoundingBoxAsync())!;
            var drawn = new List<string>();
            foreach (var node in await page.Locator(".ff-node").AllAsync())
            {
                var x = double.Parse((await node.GetAttributeAsync("data-x"))!, CultureInfo.InvariantCulture);
                var y = double.Parse((await node.GetAttributeAsync("data-y"))!, CultureInfo.InvariantCulture);
                drawn.Add($"{await node.GetAttributeAsync("data-type")}@{x.ToString(CultureInfo.InvariantCulture)},{y.ToString(CultureInfo.InvariantCulture)}");
                var body = (await node.Locator(".ff-body").BoundingBoxAsync())!;
                Assert.InRange(body.X + body.Width / 2 - canvas.X, x - 0.6, x + 0.6);
                Assert.InRange(body.Y + body.Height / 2 - canvas.Y, y - 0.6, y + 0.6);

                // Node-RED: width = max(100, 20 * ceil((label width + 50 + 7 if it has an input) / 20)).
                var text = (await node.Locator("text.ff-label").BoundingBoxAsync())!;
                var inputs = await node.GetAttributeAsync("data-inputs") != "0" ? 7 : 0;
                var expected = Math.Max(100, 20 * Math.Ceiling((Math.Round(text.Width) + 50 + inputs) / 20));
                // The body's box includes its stroke (1 px, 2 px when selected).
                var width = double.Parse((await node.GetAttributeAsync("data-w"))!, CultureInfo.InvariantCulture);
                Assert.InRange(body.Width, width, width + 2.5);
                Assert.InRange(width, expected - 20, expected + 20);
                exactWidths += width == expected ? 1 : 0;
                checkedNodes++;
            }
            Assert.Equal(stored, drawn.Order(StringComparer.Ordinal).ToList());
        }
        Assert.True(checkedNodes > 40, $"only {checkedNodes} nodes checked");
        Assert.True(exactWidths >= checkedNodes * 0.9, $"{exactWidths} of {checkedNodes} widths exactly as Node-RED computes them from the rendered label");
        if (Environment.GetEnvironmentVariable("FLOWFLEET_SCREENSHOT_GEOMETRY") is { Length: > 0 } shot)
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot });
        }
    }
}
