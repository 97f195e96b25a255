using System.Net;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Http;

/// <summary>
/// Node-RED's <c>http proxy</c> config node (06-httpproxy.js): the proxy an http request node sends through, the URLs that
/// go direct (<c>noproxy</c>: a URL containing any entry bypasses the proxy, as Node-RED's http request node tests it), and
/// the proxy's user name and password, held as encrypted credentials.
/// </summary>
[NodeType("http proxy", Category = "config", Inputs = 0, Outputs = 0, PaletteLabel = "http proxy", LabelProperty = "name",
    Help = """
    A proxy for **http request** nodes: `url` (e.g. `http://proxy:3128`), `noproxy` (URLs containing any of these go direct)
    and a user name and password (stored encrypted as credentials) sent when the proxy asks for them.
    """)]
public sealed class HttpProxyNode : FlowNode<HttpProxyConfig>
{
    /// <summary>The proxy as .NET's handler takes it; throws <see cref="InvalidOperationException"/> for a URL that is not one.</summary>
    public IWebProxy Proxy()
    {
        if (!Uri.TryCreate((Config.Url ?? "").Trim(), UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            throw new InvalidOperationException($"http proxy '{(Config.Name is { Length: > 0 } n ? n : Node.Id)}': '{Config.Url}' is not an http:// proxy URL");
        }
        var credentials = Node.Config["credentials"] as JsonObject;
        var user = Text(credentials?["username"]) ?? Config.Username;
        var password = Text(credentials?["password"]) ?? Config.Password;
        var bypass = (Config.Noproxy as JsonArray ?? []).Select(Text).OfType<string>().Select(x => x.Trim()).Where(x => x.Length > 0).ToArray();
        return new Routed(url, bypass) { Credentials = string.IsNullOrEmpty(user) ? null : new NetworkCredential(user, password ?? "") };
    }

    /// <summary>The http proxy node a user node names, or an error a user can act on.</summary>
    public static HttpProxyNode Find(INodeHost node, string id)
    {
        ArgumentNullException.ThrowIfNull(node);
        return node.FindNode(id) as HttpProxyNode
            ?? throw new InvalidOperationException($"HTTP proxy '{id}' (http proxy) was not found or did not start");
    }

    private static string? Text(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;

    private sealed class Routed(Uri proxy, string[] bypass) : IWebProxy
    {
        public ICredentials? Credentials { get; set; }

        public Uri GetProxy(Uri destination) => proxy;

        public bool IsBypassed(Uri host)
        {
            ArgumentNullException.ThrowIfNull(host);
            var url = host.OriginalString;
            return bypass.Any(x => url.Contains(x, StringComparison.Ordinal));
        }
    }
}

/// <summary>Node-RED's http proxy defaults (06-httpproxy.html) and credentials (username, password).</summary>
public sealed class HttpProxyConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"\"", Label = "URL", Help = "e.g. http://proxy.example.com:3128")]
    public string? Url { get; set; }

    [NodeProperty(Default = "[]", UiHint = PropertyUi.Json, Label = "Ignore hosts", Help = "A JSON list: URLs containing any of these are requested directly")]
    public JsonNode? Noproxy { get; set; }

    [NodeProperty(Secret = true, Label = "Username")]
    public string? Username { get; set; }

    [NodeProperty(Secret = true, Label = "Password")]
    public string? Password { get; set; }
}
