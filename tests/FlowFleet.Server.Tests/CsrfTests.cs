using System.Net;
using System.Net.WebSockets;

namespace FlowFleet.Server.Tests;

/// <summary>Requests riding on the login cookie must come from the server's own origin; redirects after login stay local.</summary>
public sealed class CsrfTests
{
    private const string Evil = "http://evil.example";

    [Fact]
    public async Task Cookie_requests_that_change_state_need_the_servers_own_origin()
    {
        await using var s = await ServerFixture.StartAsync();
        var cookie = await SessionTests.LoginAsync(s, "admin", ServerFixture.AdminPassword);
        var own = s.BaseUri.GetLeftPart(UriPartial.Authority);
        using var browser = SessionTests.WithCookie(s, cookie);

        Assert.Equal(HttpStatusCode.Forbidden, (await Deploy(browser, ("Origin", Evil))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Deploy(browser, ("Referer", Evil + "/page"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Deploy(browser)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Deploy(browser, ("Origin", "null"))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await Deploy(browser, ("Origin", own))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await Deploy(browser, ("Referer", own + "/flows"))).StatusCode);
        using var foreignGroup = new HttpRequestMessage(HttpMethod.Post, "/api/groups") { Content = AuthTests.Json("""{"name":"g1"}""") };
        foreignGroup.Headers.Add("Origin", Evil);
        Assert.Equal(HttpStatusCode.Forbidden, (await browser.SendAsync(foreignGroup)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/red/flows")).StatusCode);

        using var foreignNegotiate = new HttpRequestMessage(HttpMethod.Post, "/_blazor/negotiate?negotiateVersion=1");
        foreignNegotiate.Headers.Add("Origin", Evil);
        Assert.Equal(HttpStatusCode.Forbidden, (await browser.SendAsync(foreignNegotiate)).StatusCode);

        foreach (var path in new[] { "/client", "/red/comms", "/" })
        {
            using var ws = new ClientWebSocket();
            ws.Options.SetRequestHeader("Cookie", cookie);
            ws.Options.SetRequestHeader("Origin", Evil);
            ws.Options.CollectHttpResponseDetails = true;
            await Assert.ThrowsAsync<WebSocketException>(() => ws.ConnectAsync(new Uri($"ws://{s.BaseUri.Authority}{path}"), CancellationToken.None));
            Assert.Equal(HttpStatusCode.Forbidden, ws.HttpStatusCode);
        }
        using var client = await SessionTests.ClientAsync(s, cookie);

        // A bearer token is no ambient credential: its requests pass whatever their origin.
        using var tool = await s.AdminAsync();
        using var withToken = new HttpRequestMessage(HttpMethod.Post, "/red/flows") { Content = AuthTests.Json("[]") };
        withToken.Headers.Add("Origin", Evil);
        Assert.Equal(HttpStatusCode.NoContent, (await tool.SendAsync(withToken)).StatusCode);
    }

    [Fact]
    public async Task Listed_origins_are_allowed_too()
    {
        await using var s = await ServerFixture.StartAsync(extraArgs: ["--Auth:AllowedOrigins:0", "https://flows.example.com/"]);
        using var browser = SessionTests.WithCookie(s, await SessionTests.LoginAsync(s, "admin", ServerFixture.AdminPassword));
        Assert.Equal(HttpStatusCode.NoContent, (await Deploy(browser, ("Origin", "https://flows.example.com"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Deploy(browser, ("Origin", "https://flows.example.com.evil.example"))).StatusCode);
    }

    [Theory]
    [InlineData("//evil.example/x", "/")]
    [InlineData("/\\evil.example", "/")]
    [InlineData("http://evil.example/", "/")]
    [InlineData("/\t/evil.example", "/")]
    [InlineData("/\r\n/evil.example", "/")]
    [InlineData("evil.example", "/")]
    [InlineData("/red/flows?x=1", "/red/flows?x=1")]
    public async Task Login_redirects_only_to_a_local_path(string returnUrl, string expected)
    {
        await using var s = await ServerFixture.StartAsync();
        using var http = new HttpClient(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = s.BaseUri };
        using var ok = await http.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = "admin", ["password"] = ServerFixture.AdminPassword, ["returnUrl"] = returnUrl,
        }));
        Assert.Equal(HttpStatusCode.Redirect, ok.StatusCode);
        Assert.Equal(expected, ok.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task A_foreign_page_cannot_post_the_login_form()
    {
        await using var s = await ServerFixture.StartAsync();
        using var http = new HttpClient(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = s.BaseUri };
        using var login = new HttpRequestMessage(HttpMethod.Post, "/login")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["username"] = "admin", ["password"] = ServerFixture.AdminPassword }),
        };
        login.Headers.Add("Origin", Evil);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync(login)).StatusCode);
    }

    private static async Task<HttpResponseMessage> Deploy(HttpClient browser, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/red/flows") { Content = AuthTests.Json("[]") };
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        return await browser.SendAsync(request);
    }
}
