using FlowFleet.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace FlowFleet.Editor.Tests;

/// <summary>What every browser test starts with: a FlowFleet server on a free loopback port over its own data directory, and
/// headless Chromium.</summary>
internal static class TestHost
{
    /// <summary>Starts a server with the admin password and any extra command-line settings (and a plugins folder, none by
    /// default); returns it and its base URL.</summary>
    public static async Task<(WebApplication App, string Base)> StartServerAsync(string dataDirectory, string password, string[]? args = null,
        Action<IServiceCollection>? services = null, string url = "http://127.0.0.1:0", string? plugins = null)
    {
        var app = FlowFleetHost.Build(["--urls", url, "--ADMIN_PASSWORD", password, .. args ?? []],
            new ServerOptions { DataDirectory = dataDirectory, PluginsDirectory = plugins ?? Path.Combine(dataDirectory, "none"), Console = TextWriter.Null, Services = services });
        await FlowFleetHost.InitializeAsync(app);
        await app.StartAsync();
        // The stored flows start in the background once the server listens; tests begin with them running.
        await app.Services.GetRequiredService<FlowFleet.Runtime.Storage.FlowService>().Starting;
        return (app, app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    /// <summary>Logs in with real pointer and keyboard input from <paramref name="path"/> (the login page sends the user back there).</summary>
    public static async Task LogInAsync(IPage page, string baseUrl, string password, string user = "admin", string path = "/")
    {
        await page.GotoAsync(baseUrl + path);
        await Pointer.ClickAsync(page, page.Locator("input[name=username]"));
        await page.Keyboard.TypeAsync(user);
        await Pointer.ClickAsync(page, page.Locator("input[name=password]"));
        await page.Keyboard.TypeAsync(password);
        await page.Keyboard.PressAsync("Enter");
    }

    public static Task<IBrowser> LaunchChromiumAsync(IPlaywright playwright) => playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium", Headless = true, Args = ["--no-sandbox"],
    });
}

/// <summary>The shape of every browser end-to-end class: the class starts a server (and the devices it talks to), then Chromium is
/// launched; disposal runs the other way: browser, devices (in the order owned), server.</summary>
public abstract class BrowserEndToEndTest : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _owned = [];
    private IPlaywright _playwright = default!;

    protected WebApplication App { get; private set; } = default!;

    protected IBrowser Browser { get; private set; } = default!;

    protected string Base { get; private set; } = "";

    /// <summary>Where simulated Shelly devices connect over the websocket.</summary>
    protected string ShellyUrl => $"ws://{new Uri(Base).Authority}/shelly";

    /// <summary>Starts the server with <see cref="StartServerAsync"/> and whatever the class's devices are.</summary>
    protected abstract Task StartAsync();

    protected async Task StartServerAsync(string password, string[]? args = null, Action<IServiceCollection>? services = null, string? plugins = null)
    {
        var data = Directory.CreateTempSubdirectory($"flowfleet-{GetType().Name}-").FullName;
        (App, Base) = await TestHost.StartServerAsync(data, password, args, services, plugins: plugins);
    }

    /// <summary>Disposed after the browser and before the server.</summary>
    protected T Own<T>(T disposable) where T : IAsyncDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    protected T Get<T>() where T : notnull => App.Services.GetRequiredService<T>();

    /// <summary>A page in a new browser context (own cookies and storage).</summary>
    protected async Task<IPage> NewPageAsync(int width = 1400, int height = 900) =>
        await (await Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } })).NewPageAsync();

    /// <summary>A new page logged in as admin with real input, once the flow editor is ready.</summary>
    protected async Task<IPage> EditorPageAsync(string password, int width = 1400, int height = 900)
    {
        var page = await NewPageAsync(width, height);
        await TestHost.LogInAsync(page, Base, password);
        await page.WaitForSelectorAsync("[data-testid=editor][data-ready=true]", new PageWaitForSelectorOptions { Timeout = 30_000 });
        return page;
    }

    /// <summary>Clicks a navigation link and waits until the page it opens (<paramref name="testId"/>) is ready.</summary>
    protected static async Task NavigateAsync(IPage page, string link, string testId)
    {
        await Pointer.ClickAsync(page, page.Locator($"a:has-text('{link}')").First);
        await page.WaitForSelectorAsync($"[data-testid={testId}][data-ready=true]");
    }

    public async Task InitializeAsync()
    {
        await StartAsync();
        _playwright = await Playwright.CreateAsync();
        Browser = await TestHost.LaunchChromiumAsync(_playwright);
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
        foreach (var owned in _owned)
        {
            await owned.DisposeAsync();
        }
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
