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
    /// <summary>Starts a server with the admin password and any extra command-line settings; returns it and its base URL.</summary>
    public static async Task<(WebApplication App, string Base)> StartServerAsync(string dataDirectory, string password, string[]? args = null,
        Action<IServiceCollection>? services = null, string url = "http://127.0.0.1:0")
    {
        var app = FlowFleetHost.Build(["--urls", url, "--ADMIN_PASSWORD", password, .. args ?? []],
            new ServerOptions { DataDirectory = dataDirectory, PluginsDirectory = Path.Combine(dataDirectory, "none"), Console = TextWriter.Null, Services = services });
        await FlowFleetHost.InitializeAsync(app);
        await app.StartAsync();
        return (app, app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    public static Task<IBrowser> LaunchChromiumAsync(IPlaywright playwright) => playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium", Headless = true, Args = ["--no-sandbox"],
    });
}
