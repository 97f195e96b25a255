using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Http;

/// <summary>Node-RED's http response: answers the request that an http in node turned into this message.</summary>
[NodeType("http response", Category = "network", Inputs = 1, Outputs = 0, Color = "#e7e7ae", Icon = "public", Align = "right",
    Help = "Sends `msg.payload` as the response to the request in the message: status from the node or `msg.statusCode`, headers from the node merged with `msg.headers`, cookies from `msg.cookies` (`{name: value}` or `{name: {value, maxAge, path, ...}}`, null clears). Objects are sent as JSON.")]
public sealed class HttpResponseNode : FlowNode<HttpResponseConfig>
{
    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        if (msg.Refs?.TryGetValue("res", out var r) != true || r is not HttpResponseSink sink)
        {
            throw new InvalidOperationException("No response object: the message did not come from an http in node");
        }
        var status = int.TryParse(Config.StatusCode, NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) && s > 0 ? s
            : msg.Data["statusCode"] is { } sc && JsonTools.ToNumber(sc) is var n && n >= 100 ? (int)n : 200;
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var source in new[] { msg.Data["headers"] as JsonObject, Config.Headers })
        {
            foreach (var (k, v) in source ?? [])
            {
                if (v is not null)
                {
                    headers[k] = JsonTools.ToJsString(v);
                }
            }
        }
        var payload = msg.Payload;
        byte[] body;
        string? contentType = headers.Remove("content-type", out var ct) ? ct : null;
        if (JsonTools.IsBuffer(payload))
        {
            body = JsonTools.BufferBytes(payload!);
            contentType ??= "application/octet-stream";
        }
        else if (payload is JsonObject or JsonArray || JsonTools.Kind(payload) is System.Text.Json.JsonValueKind.Number or System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False)
        {
            body = Encoding.UTF8.GetBytes(payload!.ToJsonString());
            contentType ??= "application/json; charset=utf-8";
        }
        else
        {
            body = Encoding.UTF8.GetBytes(payload is null ? "" : JsonTools.ToJsString(payload));
            contentType ??= "text/html; charset=utf-8";
        }
        if (!sink.TrySend(new HttpResponseData(status, headers, Cookies(msg.Data["cookies"] as JsonObject), body, contentType)))
        {
            Node.Warn("The request was already answered");
        }
        return ValueTask.CompletedTask;
    }

    private static List<HttpCookie> Cookies(JsonObject? cookies)
    {
        var list = new List<HttpCookie>();
        foreach (var (name, v) in cookies ?? [])
        {
            if (v is JsonObject o)
            {
                list.Add(new HttpCookie(name, o["value"] is { } val ? JsonTools.ToJsString(val) : null, o["path"]?.ToString(), o["domain"]?.ToString(),
                    null, o["maxAge"] is { } ma ? TimeSpan.FromMilliseconds(JsonTools.ToNumber(ma)) : null,
                    JsonTools.IsTruthy(o["httpOnly"]), JsonTools.IsTruthy(o["secure"]), o["sameSite"]?.ToString()));
            }
            else
            {
                list.Add(new HttpCookie(name, v is null ? null : JsonTools.ToJsString(v)));
            }
        }
        return list;
    }
}

public sealed class HttpResponseConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Number, Label = "Status code")]
    public string? StatusCode { get; set; }

    [NodeProperty(Default = "{}", UiHint = PropertyUi.Json, Label = "Headers")]
    public JsonObject? Headers { get; set; }
}
