using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FlowFleet.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Server.Tests;

/// <summary>A real FlowFleet server on 127.0.0.1 with a random port and a temp data directory.</summary>
public sealed class ServerFixture : IAsyncDisposable
{
    public const string AdminPassword = "admin-secret-1";

    private ServerFixture(WebApplication app, string dataDir, Uri baseUri)
    {
        App = app;
        DataDir = dataDir;
        BaseUri = baseUri;
        Client = new HttpClient { BaseAddress = baseUri };
    }

    public WebApplication App { get; }

    public string DataDir { get; }

    public Uri BaseUri { get; }

    /// <summary>A client without credentials.</summary>
    public HttpClient Client { get; }

    public static Task<ServerFixture> StartAsync(bool noAuth = false, string? dataDir = null, params string[] extraArgs) =>
        StartAsync(null, noAuth, dataDir, extraArgs);

    /// <summary>A server whose services <paramref name="services"/> may replace (a fake clock).</summary>
    public static async Task<ServerFixture> StartAsync(Action<IServiceCollection>? services, bool noAuth = false, string? dataDir = null, params string[] extraArgs)
    {
        dataDir ??= Directory.CreateTempSubdirectory("flowfleet-server-").FullName;
        var app = FlowFleetHost.Build(["--urls", "http://127.0.0.1:0", "--ADMIN_PASSWORD", AdminPassword, .. extraArgs],
            new ServerOptions { DataDirectory = dataDir, NoAuth = noAuth, PluginsDirectory = Path.Combine(dataDir, "no-plugins"), Console = TextWriter.Null, Services = services });
        await FlowFleetHost.InitializeAsync(app);
        await app.StartAsync();
        // The stored flows start in the background once the server listens; tests begin with them running.
        await app.Services.GetRequiredService<FlowFleet.Runtime.Storage.FlowService>().Starting;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ServerFixture(app, dataDir, new Uri(address));
    }

    public async Task<string> TokenAsync(string user = "admin", string password = AdminPassword, string scope = "*")
    {
        using var response = await Client.PostAsync("/red/auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["client_id"] = "node-red-admin", ["grant_type"] = "password", ["scope"] = scope, ["username"] = user, ["password"] = password,
        }));
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["access_token"]!.GetValue<string>();
    }

    public HttpClient Authorized(string token)
    {
        var c = new HttpClient { BaseAddress = BaseUri };
        c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return c;
    }

    public async Task<HttpClient> AdminAsync() => Authorized(await TokenAsync());

    /// <summary>The <c>/shelly</c> URL simulated devices connect to.</summary>
    public string ShellyUrl => $"ws://{BaseUri.Host}:{BaseUri.Port}/shelly";

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
