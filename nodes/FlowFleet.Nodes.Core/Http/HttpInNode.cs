using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Web;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Http;

/// <summary>Node-RED's http in: an HTTP endpoint whose requests become messages (answer them with http response).</summary>
[NodeType("http in", Category = "network", Inputs = 0, Outputs = 1, Color = "#e7e7ae", Icon = "public", LabelProperty = "url",
    Help = """
    Creates an HTTP endpoint at `url` (Express style: `/device/:id`) for `method`. Each request is a message with `msg.req`
    (`headers`, `params`, `query`, `cookies`, `method`, `url`) and `msg.payload` = the parsed body (JSON, form, text) or, for GET,
    the query. Wire it to an **http response** node to answer. FlowFleet's own paths (`/red`, `/api`, ...) can't be used.
    """)]
public sealed class HttpInNode(IHttpRouteTable routes) : FlowNode<HttpInConfig>
{
    private IDisposable? _route;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var url = Config.Url ?? "";
        if (string.IsNullOrWhiteSpace(url))
        {
            throw new InvalidOperationException("http in has no url");
        }
        _route = routes.Add(Config.Method ?? "get", url.StartsWith('/') ? url : "/" + url, OnRequest);
        return Task.CompletedTask;
    }

    private void OnRequest(HttpRequestData request, IReadOnlyDictionary<string, string> parameters, HttpResponseSink response)
    {
        var req = new JsonObject
        {
            ["method"] = request.Method.ToUpperInvariant(),
            ["url"] = request.Url,
            ["path"] = request.Path,
            ["headers"] = Map(request.Headers, lowerKeys: true),
            ["params"] = Map(parameters, lowerKeys: false),
            ["query"] = Map(request.Query, lowerKeys: false),
            ["cookies"] = Map(request.Cookies, lowerKeys: false),
            ["ip"] = request.RemoteAddress,
        };
        var msg = new FlowMessage(new JsonObject { ["_msgid"] = MessageId.New(), ["req"] = req, ["res"] = new JsonObject { ["_res"] = true } },
            new Dictionary<string, object> { ["res"] = response });
        msg.Payload = request.Method.Equals("GET", StringComparison.OrdinalIgnoreCase) ? Map(request.Query, false) : Body(request);
        Node.Send(msg);
    }

    private static JsonObject Map(IReadOnlyDictionary<string, string> values, bool lowerKeys)
    {
        var o = new JsonObject();
        foreach (var (k, v) in values)
        {
            o[lowerKeys ? k.ToLowerInvariant() : k] = v;
        }
        return o;
    }

    private JsonNode? Body(HttpRequestData request)
    {
        var type = request.ContentType?.Split(';')[0].Trim().ToLowerInvariant() ?? "";
        if (request.Body.Length == 0)
        {
            return new JsonObject();
        }
        if (type is "application/json" or "text/json" || type.EndsWith("+json", StringComparison.Ordinal))
        {
            try
            {
                return JsonNode.Parse(request.Body);
            }
            catch (JsonException ex)
            {
                throw new InvalidOperationException("Request body is not valid JSON: " + ex.Message, ex);
            }
        }
        if (type == "application/x-www-form-urlencoded")
        {
            var form = HttpUtility.ParseQueryString(Encoding.UTF8.GetString(request.Body));
            var o = new JsonObject();
            foreach (var key in form.AllKeys.OfType<string>())
            {
                o[key] = form[key];
            }
            return o;
        }
        if (type.StartsWith("text/", StringComparison.Ordinal) || type is "application/xml" or "")
        {
            return JsonValue.Create(Encoding.UTF8.GetString(request.Body));
        }
        return JsonTools.Buffer(request.Body);
    }

    public override ValueTask CloseAsync(bool removed)
    {
        _route?.Dispose();
        return ValueTask.CompletedTask;
    }
}

public sealed class HttpInConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"get\"", UiHint = PropertyUi.Select, Options = ["get:GET", "post:POST", "put:PUT", "delete:DELETE", "patch:PATCH"], Label = "Method")]
    public string? Method { get; set; } = "get";

    [NodeProperty(Default = "\"\"", Required = true, Label = "URL")]
    public string? Url { get; set; }
}
