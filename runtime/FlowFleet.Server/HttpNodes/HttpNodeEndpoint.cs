using FlowFleet.Nodes.Core.Http;
using Microsoft.AspNetCore.Authentication;

namespace FlowFleet.Server.HttpNodes;

/// <summary>Serves requests for routes of http in nodes (a catch-all with the lowest precedence).</summary>
public static class HttpNodeEndpoint
{
    public static readonly TimeSpan ResponseTimeout = TimeSpan.FromSeconds(120);

    public static IEndpointConventionBuilder MapHttpNodes(this IEndpointRouteBuilder app) =>
        // Anonymous as in Node-RED (the fallback policy would demand a user); Http:NodeAuth=user asks for one (below).
        app.Map("/{**path}", HandleAsync).WithOrder(int.MaxValue).WithName("HttpInNodes").ExcludeFromDescription().AllowAnonymous();

    /// <summary>
    /// Who may call http in routes (configuration <c>Http:NodeAuth</c>): <c>none</c> (the default, anonymous as in
    /// Node-RED) or <c>user</c> (a signed-in user's cookie or a bearer token of any role). The admin API is protected
    /// either way; <c>--no-auth</c> turns this off too.
    /// </summary>
    public static bool RequiresUser(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return string.Equals(configuration["Http:NodeAuth"], "user", StringComparison.OrdinalIgnoreCase);
    }

    private static async Task HandleAsync(HttpContext ctx, HttpRouteTable routes, WebSocketRouteTable sockets, IConfiguration configuration,
        Hosting.ServerOptions options, Runtime.FlowEngine engine)
    {
        if (!options.NoAuth && RequiresUser(configuration) && ctx.User.Identity?.IsAuthenticated != true)
        {
            ctx.Response.StatusCode = 401;
            ctx.Response.Headers.WWWAuthenticate = "Bearer";
            await ctx.Response.WriteAsync("Sign in or send a bearer token: this server's http in routes require a user (Http:NodeAuth=user)");
            return;
        }
        var path = ctx.Request.Path.Value ?? "/";
        if (!engine.Ready.IsCompleted)
        {
            // A deploy answered and its nodes are starting: their routes are registered as they start, so a request sent
            // right after the answer waits for them instead of finding none (or the replaced node's).
            await engine.Ready.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        if (ctx.WebSockets.IsWebSocketRequest && sockets.TryMatch(path, out var socketHandler))
        {
            using var socket = await ctx.WebSockets.AcceptWebSocketAsync();
            await socketHandler(socket, ctx.RequestAborted);
            return;
        }
        if (!routes.TryMatch(ctx.Request.Method, path, out var handler, out var parameters, out var wrongMethod))
        {
            if (!options.NoAuth && ctx.User.Identity?.IsAuthenticated != true)
            {
                // Only the flows' own routes are anonymous: anything else is answered as before, after sign-in.
                await ctx.ChallengeAsync();
                return;
            }
            ctx.Response.StatusCode = wrongMethod ? 405 : 404;
            await ctx.Response.WriteAsync(wrongMethod ? "Method not allowed" : $"Cannot {ctx.Request.Method} {path}");
            return;
        }
        using var body = new MemoryStream();
        await ctx.Request.Body.CopyToAsync(body, ctx.RequestAborted);
        var request = new HttpRequestData(
            ctx.Request.Method, path, ctx.Request.Path + ctx.Request.QueryString,
            ctx.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
            ctx.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString(), StringComparer.Ordinal),
            ctx.Request.Cookies.ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal),
            ctx.Request.ContentType, body.ToArray(), ctx.Connection.RemoteIpAddress?.ToString());
        var sink = new HttpResponseSink();
        try
        {
            handler(request, parameters, sink);
        }
        catch (InvalidOperationException ex)
        {
            ctx.Response.StatusCode = 400;
            await ctx.Response.WriteAsync(ex.Message);
            return;
        }
        var done = await Task.WhenAny(sink.Response, Task.Delay(ResponseTimeout, ctx.RequestAborted));
        if (done != sink.Response)
        {
            if (!ctx.RequestAborted.IsCancellationRequested)
            {
                ctx.Response.StatusCode = 504;
                await ctx.Response.WriteAsync("The flow did not answer (no http response node reached)");
            }
            return;
        }
        var response = await sink.Response;
        ctx.Response.StatusCode = response.Status;
        foreach (var (k, v) in response.Headers)
        {
            ctx.Response.Headers[k] = v;
        }
        foreach (var c in response.Cookies)
        {
            if (c.Value is null)
            {
                ctx.Response.Cookies.Delete(c.Name);
                continue;
            }
            ctx.Response.Cookies.Append(c.Name, c.Value, new CookieOptions
            {
                Path = c.Path ?? "/", Domain = c.Domain, Expires = c.Expires, MaxAge = c.MaxAge, HttpOnly = c.HttpOnly, Secure = c.Secure,
                SameSite = c.SameSite?.ToLowerInvariant() switch { "strict" => SameSiteMode.Strict, "lax" => SameSiteMode.Lax, "none" => SameSiteMode.None, _ => SameSiteMode.Unspecified },
            });
        }
        ctx.Response.ContentType = response.ContentType;
        await ctx.Response.Body.WriteAsync(response.Body, ctx.RequestAborted);
    }
}
