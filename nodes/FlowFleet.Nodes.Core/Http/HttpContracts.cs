namespace FlowFleet.Nodes.Core.Http;

/// <summary>An incoming request as the <c>http in</c> node sees it (the host fills it from its web server).</summary>
public sealed record HttpRequestData(
    string Method,
    string Path,
    string Url,
    IReadOnlyDictionary<string, string> Headers,
    IReadOnlyDictionary<string, string> Query,
    IReadOnlyDictionary<string, string> Cookies,
    string? ContentType,
    byte[] Body,
    string? RemoteAddress);

/// <summary>A cookie to set (value null clears it).</summary>
public sealed record HttpCookie(string Name, string? Value, string? Path = null, string? Domain = null, DateTimeOffset? Expires = null,
    TimeSpan? MaxAge = null, bool HttpOnly = false, bool Secure = false, string? SameSite = null);

/// <summary>What the <c>http response</c> node sends back.</summary>
public sealed record HttpResponseData(int Status, IReadOnlyDictionary<string, string> Headers, IReadOnlyList<HttpCookie> Cookies, byte[] Body, string? ContentType);

/// <summary>The pending response of one request, carried in <c>FlowMessage.Refs["res"]</c> from http in to http response.</summary>
public sealed class HttpResponseSink
{
    private readonly TaskCompletionSource<HttpResponseData> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<HttpResponseData> Response => _done.Task;

    /// <summary>False when the request was answered already (the first response wins).</summary>
    public bool TrySend(HttpResponseData response) => _done.TrySetResult(response);
}

/// <summary>Handles one matched request; <paramref name="parameters"/> holds the <c>:name</c> parts of the route.</summary>
public delegate void HttpRouteHandler(HttpRequestData request, IReadOnlyDictionary<string, string> parameters, HttpResponseSink response);

/// <summary>The host's table of routes served by <c>http in</c> nodes.</summary>
public interface IHttpRouteTable
{
    /// <summary>Adds a route (Express-style path with <c>:params</c>); dispose to remove. Throws when the path is reserved.</summary>
    IDisposable Add(string method, string path, HttpRouteHandler handler);

    /// <summary>True (with the reason) when a path belongs to the host itself.</summary>
    bool IsReserved(string path, out string reason);
}
