using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace FlowFleet.Editor.Tests;

/// <summary>A FlowFleet server on a free loopback port with its own data directory, and headless Chromium. The server can be
/// restarted on the same data (and port) to test what survives a restart.</summary>
public sealed class EditorFixture : IAsyncLifetime
{
    public const string Password = "editor-mouse-pass";

    public WebApplication App { get; private set; } = default!;

    public IBrowser Browser { get; private set; } = default!;

    public string Base { get; private set; } = "";

    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("flowfleet-mouse-").FullName;

    private IPlaywright _playwright = default!;

    public async Task InitializeAsync()
    {
        await StartServerAsync("http://127.0.0.1:0");
        _playwright = await Playwright.CreateAsync();
        Browser = await TestHost.LaunchChromiumAsync(_playwright);
    }

    private async Task StartServerAsync(string url)
    {
        (App, Base) = await TestHost.StartServerAsync(DataDirectory, Password, url: url);
    }

    /// <summary>Stops the server, runs <paramref name="whileDown"/>, and starts a new one on the same data directory and port.</summary>
    public async Task RestartServerAsync(Func<Task>? whileDown = null)
    {
        var url = Base;
        await App.StopAsync();
        await App.DisposeAsync();
        if (whileDown is not null)
        {
            await whileDown();
        }
        await StartServerAsync(url);
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
        await App.DisposeAsync();
    }

    public T Get<T>() where T : notnull => App.Services.GetRequiredService<T>();

    /// <summary>A new browser context (own cookies and storage) logged in as admin, at the flow editor.</summary>
    public async Task<IPage> LoggedInAsync(int width = 1400, int height = 850)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        await context.GrantPermissionsAsync(["clipboard-read", "clipboard-write"]);
        var page = await context.NewPageAsync();
        await page.GotoAsync(Base + "/");
        await page.FillAsync("input[name=username]", "admin");
        await page.FillAsync("input[name=password]", Password);
        await page.ClickAsync("#login");
        await page.WaitForSelectorAsync("[data-testid=editor][data-ready=true]", new PageWaitForSelectorOptions { Timeout = 30_000 });
        return page;
    }
}

/// <summary>Real pointer and keyboard input at element coordinates: what a person does. No DispatchEvent, no force, no JS.</summary>
public static class Pointer
{
    /// <summary>The middle of an element once a person could click it there, as Playwright's own actionability checks do: visible,
    /// not moving (dialogs and menus animate in: the box is read again a moment later) and not covered by something else at that point.</summary>
    public static async Task<(float X, float Y)> CentreAsync(ILocator locator)
    {
        await locator.WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Visible, Timeout = 15_000 });
        // As Playwright's click does, and a person with the wheel: bring it into its scrolled pane's view first.
        await locator.ScrollIntoViewIfNeededAsync(new LocatorScrollIntoViewIfNeededOptions { Timeout = 15_000 });
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var centre = await locator.EvaluateAsync<double[]?>("""
                el => new Promise(done => {
                    const a = el.getBoundingClientRect();
                    setTimeout(() => {
                        const r = el.getBoundingClientRect();
                        const x = r.x + r.width / 2, y = r.y + r.height / 2;
                        const still = Math.abs(r.x - a.x) < 0.5 && Math.abs(r.y - a.y) < 0.5 && Math.abs(r.width - a.width) < 0.5 && Math.abs(r.height - a.height) < 0.5;
                        const hit = document.elementFromPoint(x, y);
                        done(still && hit !== null && el.contains(hit) ? [x, y] : null);
                    }, 40);
                })
                """).WaitAsync(TimeSpan.FromSeconds(10));
            if (centre is [var x, var y])
            {
                return ((float)x, (float)y);
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("still moving or covered: " + locator);
            }
        }
    }

    public static async Task ClickAsync(IPage page, ILocator locator, MouseButton button = MouseButton.Left)
    {
        var (x, y) = await CentreAsync(locator);
        await page.Mouse.MoveAsync(x, y, new MouseMoveOptions { Steps = 3 });
        await page.Mouse.ClickAsync(x, y, new MouseClickOptions { Button = button });
    }

    public static Task ClickAsync(IPage page, string selector, MouseButton button = MouseButton.Left) => ClickAsync(page, page.Locator(selector).First, button);

    public static async Task DoubleClickAsync(IPage page, ILocator locator)
    {
        var (x, y) = await CentreAsync(locator);
        await page.Mouse.MoveAsync(x, y, new MouseMoveOptions { Steps = 3 });
        await page.Mouse.DblClickAsync(x, y);
    }

    public static async Task DragAsync(IPage page, float fromX, float fromY, float toX, float toY)
    {
        await page.Mouse.MoveAsync(fromX, fromY, new MouseMoveOptions { Steps = 2 });
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync((fromX + toX) / 2, (fromY + toY) / 2 + 10, new MouseMoveOptions { Steps = 6 });
        await page.Mouse.MoveAsync(toX, toY, new MouseMoveOptions { Steps = 6 });
        await page.Mouse.UpAsync();
    }

    /// <summary>Drags a node type from the palette to a point given relative to the canvas's top-left corner.</summary>
    public static async Task DropFromPaletteAsync(IPage page, string type, float canvasX, float canvasY)
    {
        var count = await page.Locator($".ff-node[data-type='{type}']").CountAsync();
        var (x, y) = await CentreAsync(page.Locator($".ff-palette-node[data-type='{type}']"));
        var canvas = (await page.Locator("[data-testid=canvas]").BoundingBoxAsync())!;
        await DragAsync(page, x, y, canvas.X + canvasX, canvas.Y + canvasY);
        await page.WaitForFunctionAsync($"() => document.querySelectorAll(\".ff-node[data-type='{type}']\").length > {count}");
    }

    /// <summary>Draws a wire by dragging from a node's output port to another node's input port.</summary>
    public static async Task WireAsync(IPage page, ILocator from, ILocator to, int port = 0)
    {
        var wires = await page.Locator(".ff-wire").CountAsync();
        var (ax, ay) = await CentreAsync(from.Locator($".ff-port-out[data-port='{port}']"));
        var (bx, by) = await CentreAsync(to.Locator(".ff-port-in"));
        await DragAsync(page, ax, ay, bx, by);
        await page.WaitForFunctionAsync($"() => document.querySelectorAll('.ff-wire').length > {wires}");
    }
}
