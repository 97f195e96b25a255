using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FlowFleet.Server.Auth;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Server.Tests;

public sealed class AuthTests
{
    [Theory]
    [InlineData("GET", "/red/flows")]
    [InlineData("POST", "/red/flows")]
    [InlineData("GET", "/red/flows/state")]
    [InlineData("POST", "/red/inject/x")]
    [InlineData("GET", "/red/nodes")]
    [InlineData("GET", "/red/settings")]
    [InlineData("GET", "/red/flow/global")]
    [InlineData("GET", "/red/context/global")]
    [InlineData("GET", "/metrics")]
    [InlineData("GET", "/openapi/v1.json")]
    [InlineData("GET", "/anything/else")]
    public async Task Every_route_but_healthz_refuses_calls_without_credentials(string method, string path)
    {
        await using var s = await ServerFixture.StartAsync();
        using var response = await s.Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = new StringContent("[]") });
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await s.Client.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task Login_prompts_and_a_wrong_password_is_refused()
    {
        await using var s = await ServerFixture.StartAsync();
        var login = await s.Client.GetFromJsonAsync<JsonObject>("/red/auth/login");
        Assert.Equal("credentials", login!["type"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Unauthorized, (await s.Client.PostAsync("/red/auth/token", Form("admin", "wrong"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await s.Client.PostAsync("/red/auth/token", Form("admin", ServerFixture.AdminPassword))).StatusCode);
    }

    [Fact]
    public async Task A_token_works_until_revoked()
    {
        await using var s = await ServerFixture.StartAsync();
        var token = await s.TokenAsync();
        using var admin = s.Authorized(token);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/red/flows")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/red/auth/revoke", Form2(token))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await admin.GetAsync("/red/flows")).StatusCode);
    }

    [Fact]
    public async Task Roles_limit_what_a_user_may_do()
    {
        await using var s = await ServerFixture.StartAsync();
        var users = s.App.Services.GetRequiredService<UserService>();
        await users.AddAsync("vera", Roles.Viewer, "viewer-pass-1");
        await users.AddAsync("ed", Roles.Editor, "editor-pass-1");
        using var viewer = s.Authorized(await s.TokenAsync("vera", "viewer-pass-1"));
        using var editor = s.Authorized(await s.TokenAsync("ed", "editor-pass-1"));
        using var readOnly = s.Authorized(await s.TokenAsync(scope: "read"));
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("/red/flows")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsync("/red/flows", Json("[]"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await readOnly.PostAsync("/red/flows", Json("[]"))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await editor.PostAsync("/red/flows", Json("[]"))).StatusCode);
        var settings = await viewer.GetFromJsonAsync<JsonObject>("/red/settings");
        Assert.Equal("vera", settings!["user"]!["username"]!.GetValue<string>());
        Assert.DoesNotContain(settings["user"]!["permissions"]!.AsArray(), p => p!.GetValue<string>() == "flows.write");
    }

    [Fact]
    public async Task Cookie_login_from_the_form_opens_the_apis()
    {
        await using var s = await ServerFixture.StartAsync();
        using var handler = new HttpClientHandler { UseCookies = true, AllowAutoRedirect = false };
        using var browser = new HttpClient(handler) { BaseAddress = s.BaseUri };
        Assert.Contains("<form", await browser.GetStringAsync("/login"), StringComparison.Ordinal);
        var bad = await browser.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["username"] = "admin", ["password"] = "nope" }));
        Assert.Equal(HttpStatusCode.Unauthorized, bad.StatusCode);
        var ok = await browser.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["username"] = "admin", ["password"] = ServerFixture.AdminPassword, ["returnUrl"] = "/red/flows" }));
        Assert.Equal(HttpStatusCode.Redirect, ok.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/red/flows")).StatusCode);
    }

    [Fact]
    public async Task No_auth_mode_lets_everyone_in_as_admin()
    {
        await using var s = await ServerFixture.StartAsync(noAuth: true);
        Assert.Equal(HttpStatusCode.OK, (await s.Client.GetAsync("/red/flows")).StatusCode);
        Assert.Equal("{}", (await s.Client.GetStringAsync("/red/auth/login")).Trim());
    }

    private static FormUrlEncodedContent Form(string user, string password) => new(new Dictionary<string, string>
    {
        ["client_id"] = "node-red-admin", ["grant_type"] = "password", ["scope"] = "*", ["username"] = user, ["password"] = password,
    });

    private static FormUrlEncodedContent Form2(string token) => new(new Dictionary<string, string> { ["token"] = token });

    internal static StringContent Json(string json) => new(json, System.Text.Encoding.UTF8, "application/json");
}
