using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.Nodes.Core.Http;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Tests.Harness;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Nodes.Core.Tests.Http;

/// <summary>
/// http in → http response through the route table contract the server implements: a request handed to the route becomes a
/// message, and what the response node sends is what the request gets back.
/// </summary>
public sealed class HttpInResponseNodeTests
{
    /// <summary>The host's route table, minus the web server: requests are handed to the routes directly.</summary>
    private sealed class Routes : IHttpRouteTable
    {
        private readonly Dictionary<string, HttpRouteHandler> _routes = [];

        public IDisposable Add(string method, string path, HttpRouteHandler handler)
        {
            lock (_routes)
            {
                _routes[$"{method.ToUpperInvariant()} {path}"] = handler;
            }
            return new Removal(() =>
            {
                lock (_routes)
                {
                    _routes.Remove($"{method.ToUpperInvariant()} {path}");
                }
            });
        }

        public bool IsReserved(string path, out string reason)
        {
            reason = "";
            return false;
        }

        public bool Has(string route)
        {
            lock (_routes)
            {
                return _routes.ContainsKey(route);
            }
        }

        public Task<HttpResponseData> SendAsync(string route, string? contentType = null, string body = "", Dictionary<string, string>? query = null,
            Dictionary<string, string>? parameters = null)
        {
            HttpRouteHandler handler;
            lock (_routes)
            {
                handler = _routes[route];
            }
            var method = route.Split(' ')[0];
            var sink = new HttpResponseSink();
            handler(new HttpRequestData(method, route.Split(' ')[1], route.Split(' ')[1], new Dictionary<string, string> { ["X-Client"] = "test" },
                query ?? [], new Dictionary<string, string> { ["sid"] = "s1" }, contentType, Encoding.UTF8.GetBytes(body), "127.0.0.1"),
                parameters ?? [], sink);
            return sink.Response.WaitAsync(FlowHarness.DefaultTimeout);
        }

        private sealed class Removal(Action remove) : IDisposable
        {
            public void Dispose() => remove();
        }
    }

    private static async Task<(FlowHarness H, Routes R)> LoadAsync(string middle, string method = "post", string response = """{"statusCode":"","headers":{"X-Node":"1"}}""")
    {
        var routes = new Routes();
        var res = JsonNode.Parse(response)!.AsObject();
        res["id"] = "res";
        res["type"] = "http response";
        res["z"] = "t";
        res["x"] = 0;
        res["y"] = 0;
        res["wires"] = new JsonArray();
        var h = await FlowHarness.LoadAsync($$"""
            [{"id":"t","type":"tab"},
             {"id":"in","type":"http in","z":"t","method":"{{method}}","url":"dev/:id","x":0,"y":0,"wires":[["f","seen"]]},
             {"id":"f","type":"function","z":"t","func":{{JsonValue.Create(middle).ToJsonString()}},"x":0,"y":0,"wires":[["res"]]},
             {{res.ToJsonString()}},
             {"id":"seen","type":"helper","z":"t","x":0,"y":0,"wires":[]},
             {"id":"c","type":"catch","z":"t","scope":null,"x":0,"y":0,"wires":[["err"]]},
             {"id":"err","type":"helper","z":"t","x":0,"y":0,"wires":[]}]
            """, services: s => s.AddSingleton<IHttpRouteTable>(routes));
        return (h, routes);
    }

    [Fact]
    public async Task A_json_post_becomes_a_message_and_the_answer_carries_status_headers_cookies_and_json()
    {
        var (h, routes) = await LoadAsync("""
            msg.statusCode = 201;
            msg.headers = { 'X-Reply': msg.req.params.id };
            msg.cookies = { sid: null, theme: 'dark', session: { value: 'abc', maxAge: 60000, path: '/dev', httpOnly: true, secure: true, sameSite: 'strict' } };
            msg.payload = { got: msg.payload.on, client: msg.req.headers['x-client'], cookie: msg.req.cookies.sid, method: msg.req.method };
            return msg;
            """);
        await using var _ = h;
        Assert.True(routes.Has("POST /dev/:id"));
        var answer = await routes.SendAsync("POST /dev/:id", "application/json; charset=utf-8", """{"on":true}""", parameters: new() { ["id"] = "7" });
        Assert.Equal(201, answer.Status);
        Assert.Equal("application/json; charset=utf-8", answer.ContentType);
        Assert.Equal("""{"got":true,"client":"test","cookie":"s1","method":"POST"}""", Encoding.UTF8.GetString(answer.Body));
        Assert.Equal("7", answer.Headers["X-Reply"]);
        Assert.Equal("1", answer.Headers["X-Node"]);
        Assert.Null(answer.Cookies.Single(c => c.Name == "sid").Value);
        Assert.Equal("dark", answer.Cookies.Single(c => c.Name == "theme").Value);
        var session = answer.Cookies.Single(c => c.Name == "session");
        Assert.Equal(("abc", TimeSpan.FromMinutes(1), "/dev", true, true, "strict"), (session.Value, session.MaxAge, session.Path, session.HttpOnly, session.Secure, session.SameSite));
    }

    [Theory]
    [InlineData("application/x-www-form-urlencoded", "a=1&b=two+words", """{"a":"1","b":"two words"}""")]
    [InlineData("text/plain", "hello", "\"hello\"")]
    [InlineData("application/vnd.api+json", """{"x":[1]}""", """{"x":[1]}""")]
    [InlineData(null, "", "{}")]
    public async Task Request_bodies_are_parsed_by_content_type(string? type, string body, string payload)
    {
        var (h, routes) = await LoadAsync("return msg;");
        await using var _ = h;
        var answer = routes.SendAsync("POST /dev/:id", type, body);
        Assert.Equal(payload, (await h.NextAsync("seen")).Payload!.ToJsonString());
        await answer;
    }

    [Fact]
    public async Task A_binary_body_is_a_buffer_and_a_buffer_answer_is_octets()
    {
        var (h, routes) = await LoadAsync("return msg;");
        await using var _ = h;
        var answer = await routes.SendAsync("POST /dev/:id", "application/octet-stream", "AB");
        Assert.Equal("application/octet-stream", answer.ContentType);
        Assert.Equal("AB"u8.ToArray(), answer.Body);
    }

    [Fact]
    public async Task A_get_sends_the_query_as_payload_and_text_answers_are_html_by_default()
    {
        var (h, routes) = await LoadAsync("msg.payload = 'q=' + msg.payload.q; return msg;", method: "get", response: """{"statusCode":"202","headers":{}}""");
        await using var _ = h;
        var answer = await routes.SendAsync("GET /dev/:id", query: new() { ["q"] = "x" });
        Assert.Equal(202, answer.Status);
        Assert.Equal("text/html; charset=utf-8", answer.ContentType);
        Assert.Equal("q=x", Encoding.UTF8.GetString(answer.Body));
    }

    [Fact]
    public async Task Invalid_json_is_refused_to_the_host_and_starts_no_message()
    {
        var (h, routes) = await LoadAsync("return msg;");
        await using var flow = h;
        // The host answers 400 with this message (HttpNodeEndpoint).
        var ex = Assert.Throws<InvalidOperationException>(() => { _ = routes.SendAsync("POST /dev/:id", "application/json", "{oops"); });
        Assert.StartsWith("Request body is not valid JSON", ex.Message, StringComparison.Ordinal);
        await flow.AssertNothingAsync("seen");
    }

    [Fact]
    public async Task Answering_twice_warns_and_a_message_from_elsewhere_is_an_error()
    {
        var (h, routes) = await LoadAsync("node.send(msg); return msg;");
        await using var _ = h;
        Assert.Equal(200, (await routes.SendAsync("POST /dev/:id", "text/plain", "x")).Status);
        Assert.Equal("The request was already answered", (await h.WaitForLogAsync(l => l.Level == "warn")).Message);
        h.Send("res", JsonValue.Create("no request"));
        Assert.Equal("No response object: the message did not come from an http in node", (await h.NextAsync("err")).Data["error"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Closing_the_flow_removes_the_route()
    {
        var (h, routes) = await LoadAsync("return msg;");
        Assert.True(routes.Has("POST /dev/:id"));
        await h.DisposeAsync();
        Assert.False(routes.Has("POST /dev/:id"));
    }
}
