using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.Server.Auth;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Server.Tests;

/// <summary>Ending a session (logout, password, role, deletion) ends its cookies, tokens and open websockets at once.</summary>
public sealed class SessionTests
{
    private const string User = "olga";
    private const string Password = "operator-pw-1";

    [Theory]
    [InlineData("password")]
    [InlineData("role")]
    [InlineData("groups")]
    [InlineData("delete")]
    [InlineData("logout")]
    public async Task Ending_a_session_ends_its_cookie_token_and_open_websockets(string how)
    {
        await using var s = await ServerFixture.StartAsync();
        using var admin = await s.AdminAsync();
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/users", new { name = User, role = Roles.Operator, password = Password })).StatusCode);
        var cookie = await LoginAsync(s, User, Password);
        var token = await s.TokenAsync(User, Password);
        using var withCookie = WithCookie(s, cookie);
        using var withToken = s.Authorized(token);
        Assert.Equal(HttpStatusCode.OK, (await withCookie.GetAsync("/api/devices")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await withToken.GetAsync("/api/devices")).StatusCode);

        using var comms = await CommsAsync(s, token);
        using var client = await ClientAsync(s, cookie);
        using var circuit = await CircuitAsync(s, cookie);

        var ended = how switch
        {
            "password" => await admin.PatchAsJsonAsync($"/api/users/{User}", new { password = "another-pw-2" }),
            "role" => await admin.PatchAsJsonAsync($"/api/users/{User}", new { role = Roles.Viewer }),
            "groups" => await admin.PatchAsJsonAsync($"/api/users/{User}", new { groups = new[] { "kitchen" } }),
            "delete" => await admin.DeleteAsync($"/api/users/{User}"),
            _ => await LogoutAsync(s, cookie, token),
        };
        Assert.True(ended.IsSuccessStatusCode, await ended.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.Unauthorized, (await withCookie.GetAsync("/api/devices")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await withToken.GetAsync("/api/devices")).StatusCode);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, await ClosedAsync(comms));
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, await ClosedAsync(client));
        await ClosedAsync(circuit);
        using var negotiate = new HttpRequestMessage(HttpMethod.Post, "/_blazor/negotiate?negotiateVersion=1");
        negotiate.Headers.Add("Origin", s.BaseUri.GetLeftPart(UriPartial.Authority));
        Assert.Equal(HttpStatusCode.Unauthorized, (await withCookie.SendAsync(negotiate)).StatusCode);
        Assert.Equal(0, s.App.Services.GetRequiredService<SessionMonitor>().Count);
    }

    [Fact]
    public async Task Another_users_change_leaves_a_session_alone_and_the_last_admin_stays()
    {
        await using var s = await ServerFixture.StartAsync();
        using var admin = await s.AdminAsync();
        await admin.PostAsJsonAsync("/api/users", new { name = User, role = Roles.Operator, password = Password });
        using var client = await ClientAsync(s, await LoginAsync(s, "admin", ServerFixture.AdminPassword));
        Assert.Equal(HttpStatusCode.OK, (await admin.PatchAsJsonAsync($"/api/users/{User}", new { password = "another-pw-2" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/devices")).StatusCode);
        await Send(client, """{"id":1,"method":"Device.List"}""");
        Assert.Equal(1, (await Receive(client))["id"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.Conflict, (await admin.DeleteAsync("/api/users/admin")).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PatchAsJsonAsync("/api/users/admin", new { role = Roles.Editor })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PatchAsJsonAsync($"/api/users/{User}", new { role = "king" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PatchAsJsonAsync($"/api/users/{User}", new { groups = 5 })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync("/api/users/nobody")).StatusCode);
        using var operatorClient = s.Authorized(await s.TokenAsync(User, "another-pw-2"));
        Assert.Equal(HttpStatusCode.Forbidden, (await operatorClient.GetAsync("/api/users")).StatusCode);
    }

    [Fact]
    public async Task A_database_from_before_sessions_is_upgraded_and_old_cookies_are_refused()
    {
        var data = Directory.CreateTempSubdirectory("ff-upgrade-").FullName;
        await using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(data, "flowfleet.db")}"))
        {
            await db.OpenAsync();
            using var cmd = db.CreateCommand();
            cmd.CommandText = """
                CREATE TABLE "Users" ("Id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "Name" TEXT NOT NULL, "PasswordHash" TEXT NOT NULL, "Role" TEXT NOT NULL, "CreatedAt" INTEGER NOT NULL);
                CREATE TABLE "Tokens" ("Id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "TokenHash" TEXT NOT NULL, "UserName" TEXT NOT NULL, "Scope" TEXT NOT NULL, "ClientId" TEXT NOT NULL, "ExpiresAt" INTEGER NOT NULL, "Revoked" INTEGER NOT NULL);
                """;
            await cmd.ExecuteNonQueryAsync();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        await using var s = await ServerFixture.StartAsync(dataDir: data);
        using var admin = await s.AdminAsync();
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/users")).StatusCode);
    }

    internal static async Task<string> LoginAsync(ServerFixture s, string user, string password)
    {
        using var handler = new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false };
        using var http = new HttpClient(handler) { BaseAddress = s.BaseUri };
        using var ok = await http.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["username"] = user, ["password"] = password }));
        Assert.Equal(HttpStatusCode.Redirect, ok.StatusCode);
        return ok.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("flowfleet.auth=", StringComparison.Ordinal)).Split(';')[0];
    }

    internal static HttpClient WithCookie(ServerFixture s, string cookie)
    {
        var http = new HttpClient(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = s.BaseUri };
        http.DefaultRequestHeaders.Add("Cookie", cookie);
        return http;
    }

    private static async Task<HttpResponseMessage> LogoutAsync(ServerFixture s, string cookie, string token)
    {
        using var browser = WithCookie(s, cookie);
        var logout = await browser.GetAsync("/logout");
        Assert.Equal(HttpStatusCode.Redirect, logout.StatusCode);
        return await s.Authorized(token).PostAsync("/red/auth/revoke", new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }));
    }

    private static Uri Ws(ServerFixture s, string path) => new($"ws://{s.BaseUri.Host}:{s.BaseUri.Port}{path}");

    private static async Task<ClientWebSocket> CommsAsync(ServerFixture s, string token)
    {
        var ws = new ClientWebSocket();
        await ws.ConnectAsync(Ws(s, "/red/comms"), CancellationToken.None);
        await Send(ws, new JsonObject { ["auth"] = token }.ToJsonString());
        Assert.Equal("ok", (await Receive(ws))["auth"]!.GetValue<string>());
        return ws;
    }

    internal static async Task<ClientWebSocket> ClientAsync(ServerFixture s, string cookie)
    {
        var ws = new ClientWebSocket();
        ws.Options.SetRequestHeader("Cookie", cookie);
        ws.Options.SetRequestHeader("Origin", s.BaseUri.GetLeftPart(UriPartial.Authority));
        await ws.ConnectAsync(Ws(s, "/client"), CancellationToken.None);
        await Send(ws, """{"id":7,"method":"Device.List"}""");
        Assert.Equal(7, (await Receive(ws))["id"]!.GetValue<int>());
        return ws;
    }

    /// <summary>A Blazor circuit's connection as the browser opens it: negotiate, websocket, SignalR handshake.</summary>
    private static async Task<ClientWebSocket> CircuitAsync(ServerFixture s, string cookie)
    {
        using var http = WithCookie(s, cookie);
        http.DefaultRequestHeaders.Add("Origin", s.BaseUri.GetLeftPart(UriPartial.Authority));
        using var negotiate = await http.PostAsync("/_blazor/negotiate?negotiateVersion=1", null);
        Assert.Equal(HttpStatusCode.OK, negotiate.StatusCode);
        var id = (await negotiate.Content.ReadFromJsonAsync<JsonObject>())!["connectionToken"]!.GetValue<string>();
        var ws = new ClientWebSocket();
        ws.Options.SetRequestHeader("Cookie", cookie);
        ws.Options.SetRequestHeader("Origin", s.BaseUri.GetLeftPart(UriPartial.Authority));
        await ws.ConnectAsync(Ws(s, "/_blazor?id=" + Uri.EscapeDataString(id)), CancellationToken.None);
        await Send(ws, "{\"protocol\":\"blazorpack\",\"version\":1}\u001e");
        var buffer = new byte[1024];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var r = await ws.ReceiveAsync(buffer, cts.Token);
        Assert.Equal("{}\u001e", Encoding.UTF8.GetString(buffer, 0, r.Count));
        return ws;
    }

    /// <summary>Reads until the server closes; the close status (null when the connection was dropped without one).</summary>
    internal static async Task<WebSocketCloseStatus?> ClosedAsync(ClientWebSocket ws)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var r = await ws.ReceiveAsync(buffer, cts.Token);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    return r.CloseStatus;
                }
            }
        }
        catch (WebSocketException)
        {
            return null;
        }
    }

    internal static Task Send(ClientWebSocket ws, string text) =>
        ws.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    internal static async Task<JsonNode> Receive(ClientWebSocket ws)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buffer = new byte[64 * 1024];
        using var ms = new MemoryStream();
        WebSocketReceiveResult r;
        do
        {
            r = await ws.ReceiveAsync(buffer, cts.Token);
            ms.Write(buffer, 0, r.Count);
        }
        while (!r.EndOfMessage);
        return JsonNode.Parse(ms.ToArray())!;
    }
}
