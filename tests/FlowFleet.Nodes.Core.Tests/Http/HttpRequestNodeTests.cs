using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Tests.Harness;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FlowFleet.Nodes.Core.Tests.Http;

/// <summary>The http request node against a real Kestrel on loopback port 0 that echoes what it received.</summary>
public sealed class HttpRequestNodeTests : IAsyncLifetime
{
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WebApplication _app = null!;
    private string _base = "";

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        // As a proxy: requests for proxied.invalid arrive here in absolute form; the proxy asks for credentials first.
        _app.Use(async (c, next) =>
        {
            if (c.Request.Host.Host == "proxied.invalid" && string.IsNullOrEmpty(c.Request.Headers.ProxyAuthorization))
            {
                c.Response.StatusCode = 407;
                c.Response.Headers.ProxyAuthenticate = "Basic realm=\"test proxy\"";
                return;
            }
            await next(c);
        });
        // Echoes the request: method, path, query, content type, a test header and the body.
        _app.Map("/echo/{**rest}", async (HttpContext c) =>
        {
            using var reader = new StreamReader(c.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            c.Response.Headers["X-Echo"] = "yes";
            await c.Response.WriteAsJsonAsync(new
            {
                method = c.Request.Method, path = c.Request.Path.Value, query = c.Request.QueryString.Value, type = c.Request.ContentType,
                test = c.Request.Headers["X-Test"].ToString(), body, host = c.Request.Host.Host,
                proxyAuth = c.Request.Headers.ProxyAuthorization.ToString(),
            });
        });
        _app.MapGet("/text", () => Results.Text("not { json", "text/plain"));
        _app.MapGet("/bytes", () => Results.Bytes(new byte[] { 1, 2, 255 }, "application/octet-stream"));
        _app.MapGet("/missing", () => Results.NotFound("gone"));
        _app.MapGet("/slow", async () =>
        {
            await _release.Task;
            return "late";
        });
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _base = address.TrimEnd('/');
    }

    public async Task DisposeAsync()
    {
        _release.TrySetResult();
        await _app.DisposeAsync();
    }

    private static Task<FlowHarness> Request(string config) =>
        Flows.One(config, extra: """,{"id":"c","type":"catch","z":"t","scope":null,"x":0,"y":0,"wires":[["err"]]},{"id":"err","type":"helper","z":"t","x":0,"y":0,"wires":[]}""");

    private static async Task<string> ErrorAsync(FlowHarness h) => (await h.NextAsync("err")).Data["error"]!["message"]!.GetValue<string>();

    [Fact]
    public async Task Post_sends_an_object_as_json_with_msg_headers_and_parses_the_json_answer()
    {
        await using var h = await Request($$$"""{"type":"http request","method":"POST","url":"{{{_base}}}/echo/{{topic}}","ret":"obj","paytoqs":"body"}""");
        h.SendJson("n", """{"topic":"pump-1","payload":{"on":true},"headers":{"X-Test":"abc","skip":null}}""");
        var msg = await h.NextAsync("o0");
        var echo = msg.Payload!;
        Assert.Equal("POST", echo["method"]!.GetValue<string>());
        Assert.Equal("/echo/pump-1", echo["path"]!.GetValue<string>());
        Assert.Equal("application/json; charset=utf-8", echo["type"]!.GetValue<string>());
        Assert.Equal("""{"on":true}""", echo["body"]!.GetValue<string>());
        Assert.Equal("abc", echo["test"]!.GetValue<string>());
        Assert.Equal(200, msg.Data["statusCode"]!.GetValue<int>());
        Assert.Equal("yes", msg.Data["headers"]!["x-echo"]!.GetValue<string>());
        Assert.Equal($"{_base}/echo/pump-1", msg.Data["responseUrl"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_method_can_come_from_the_message_with_text_bodies_and_a_content_type_header()
    {
        await using var h = await Request($$"""{"type":"http request","method":"use","url":"","ret":"obj"}""");
        h.SendJson("n", $$$"""{"url":"{{{_base}}}/echo/x","method":"put","payload":"plain words","headers":{"Content-Type":"text/csv"}}""");
        var echo = (await h.NextAsync("o0")).Payload!;
        Assert.Equal("PUT", echo["method"]!.GetValue<string>());
        Assert.Equal("plain words", echo["body"]!.GetValue<string>());
        Assert.Equal("text/csv", echo["type"]!.GetValue<string>());
        // Without msg.method: GET, and a GET sends no body.
        h.SendJson("n", $$"""{"url":"{{_base}}/echo/y","payload":"ignored"}""");
        var get = (await h.NextAsync("o0")).Payload!;
        Assert.Equal("GET", get["method"]!.GetValue<string>());
        Assert.Equal("", get["body"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_payload_object_can_become_query_parameters_and_a_url_without_scheme_gets_http()
    {
        var hostPort = _base["http://".Length..];
        await using var h = await Request($$"""{"type":"http request","method":"GET","url":"{{hostPort}}/echo/q?a=1","paytoqs":"query","ret":"obj"}""");
        h.SendJson("n", """{"payload":{"b":"x y","c":2}}""");
        Assert.Equal("?a=1&b=x%20y&c=2", (await h.NextAsync("o0")).Payload!["query"]!.GetValue<string>());
    }

    [Fact]
    public async Task Buffers_text_and_error_statuses_come_back_as_asked()
    {
        await using var h = await Request($$"""{"type":"http request","method":"GET","url":"{{_base}}/bytes","ret":"bin"}""");
        h.SendJson("n", "{}");
        var bin = await h.NextAsync("o0");
        Assert.True(JsonTools.IsBuffer(bin.Payload));
        Assert.Equal(new byte[] { 1, 2, 255 }, JsonTools.BufferBytes(bin.Payload!));

        await using var text = await Request($$"""{"type":"http request","method":"GET","url":"{{_base}}/missing","ret":"txt"}""");
        text.SendJson("n", "{}");
        var missing = await text.NextAsync("o0");
        Assert.Equal(404, missing.Data["statusCode"]!.GetValue<int>());
        Assert.Equal("\"gone\"", missing.Payload!.GetValue<string>());
    }

    [Fact]
    public async Task A_json_answer_that_is_not_json_is_sent_as_text_with_a_warning()
    {
        await using var h = await Request($$"""{"type":"http request","method":"GET","url":"{{_base}}/text","ret":"obj"}""");
        h.SendJson("n", "{}");
        Assert.Equal("not { json", (await h.NextAsync("o0")).Payload!.GetValue<string>());
        Assert.Contains(h.Logs, l => l.Level == "warn" && l.Message == "The response was not valid JSON; sent as text");
    }

    [Fact]
    public async Task A_request_that_outlives_its_timeout_is_an_error_and_the_node_shows_it()
    {
        await using var h = await Request($$"""{"type":"http request","method":"GET","url":"{{_base}}/slow","ret":"txt","reqTimeout":60000}""");
        h.SendJson("n", """{"requestTimeout":200}""");
        Assert.Equal("Request timed out after 200 ms", await ErrorAsync(h));
        await h.AssertNothingAsync("o0", TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public async Task A_refused_connection_is_an_error()
    {
        var port = Loopback.FreePort();
        await using var h = await Request($$"""{"type":"http request","method":"GET","url":"http://127.0.0.1:{{port}}/","ret":"txt"}""");
        h.SendJson("n", "{}");
        Assert.Contains("Connection refused", await ErrorAsync(h), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task An_http_proxy_carries_the_request_with_its_credentials_and_noproxy_urls_go_direct()
    {
        var proxy = $$$""",{"id":"px","type":"http proxy","z":"","name":"test proxy","url":"{{{_base}}}","noproxy":["direct.invalid"],"credentials":{"username":"ops","password":"s3cret"}}""";
        await using var h = await Flows.One("""{"type":"http request","method":"GET","url":"","ret":"obj","proxy":"px"}""",
            extra: proxy + """,{"id":"c","type":"catch","z":"t","scope":null,"x":0,"y":0,"wires":[["err"]]},{"id":"err","type":"helper","z":"t","x":0,"y":0,"wires":[]}""");

        // proxied.invalid resolves nowhere: only the proxy can answer, after asking for the user name and password.
        h.SendJson("n", """{"url":"http://proxied.invalid/echo/through"}""");
        var echo = (await h.NextAsync("o0")).Payload!;
        Assert.Equal("proxied.invalid", echo["host"]!.GetValue<string>());
        Assert.Equal("/echo/through", echo["path"]!.GetValue<string>());
        Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("ops:s3cret")), echo["proxyAuth"]!.GetValue<string>());

        // A URL containing a noproxy entry goes direct, so it fails to resolve instead of reaching the proxy.
        h.SendJson("n", """{"url":"http://direct.invalid/echo/direct"}""");
        Assert.Contains("direct.invalid", await ErrorAsync(h), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_http_proxy_fails_each_request_with_the_reason()
    {
        await using var h = await Request("""{"type":"http request","method":"GET","url":"http://proxied.invalid/","proxy":"px"}""" );
        h.SendJson("n", """{"payload":1}""");
        Assert.Contains("was not found", await ErrorAsync(h), StringComparison.Ordinal);
    }
}
