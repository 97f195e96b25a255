namespace FlowFleet.Server.Auth;

/// <summary>
/// Cross-site request forgery guard for cookie sessions. A browser sends the login cookie with requests another site makes
/// it send, but it always says where they come from (<c>Origin</c>, or at least <c>Referer</c>). So a request that rides on
/// the cookie and changes something (POST, PUT, PATCH, DELETE, or a websocket upgrade) to the server's own surfaces must
/// come from this server's origin (or one listed in <c>Auth:AllowedOrigins</c>), else 403. Requests with a bearer token carry
/// no ambient credential and pass. HTTP-in routes of flows are the flows' business and are left alone.
/// </summary>
public sealed class OriginCheck(RequestDelegate next, IConfiguration config)
{
    private static readonly PathString[] s_guarded = ["/red", "/api", "/client", "/_blazor", "/login", "/logout", "/metrics", "/openapi"];

    private readonly HashSet<string> _allowed = new(
        (config.GetSection("Auth:AllowedOrigins").Get<string[]>() ?? []).Select(o => o.TrimEnd('/')), StringComparer.OrdinalIgnoreCase);

    public Task InvokeAsync(HttpContext ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        var check = Needed(ctx);
        if (check == Check.None || IsSameOrigin(ctx, allowUnknown: check == Check.ForeignOnly))
        {
            return next(ctx);
        }
        ctx.Response.StatusCode = StatusCodes.Status403Forbidden;
        return ctx.Response.WriteAsJsonAsync(new
        {
            error = "forbidden",
            message = "Cross-site request refused: a request made with the login cookie must come from this server's own pages (Origin), or use a bearer token",
        });
    }

    private enum Check
    {
        None,
        /// <summary>Must name this server in Origin or Referer.</summary>
        Strict,
        /// <summary>Refused only when it names another origin.</summary>
        ForeignOnly,
    }

    private static Check Needed(HttpContext ctx)
    {
        var request = ctx.Request;
        // Fleet manager's HTTP RPC (/rpc/<Method>) acts on GET as well; its websocket is served at "/".
        var rpc = request.Path.StartsWithSegments("/rpc");
        var unsafeMethod = rpc || !(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method));
        var guarded = rpc || (request.Path == "/" && ctx.WebSockets.IsWebSocketRequest) || s_guarded.Any(p => request.Path.StartsWithSegments(p));
        if ((!unsafeMethod && !ctx.WebSockets.IsWebSocketRequest) || !guarded)
        {
            return Check.None;
        }
        if (AuthSetup.UsesToken(ctx))
        {
            return Check.None;
        }
        if (request.Cookies.ContainsKey("flowfleet.auth"))
        {
            return Check.Strict;
        }
        // The login form has no cookie yet; a foreign page must still not log a victim in (to the attacker's account), while
        // scripts without an Origin may log in.
        return request.Path.StartsWithSegments("/login") ? Check.ForeignOnly : Check.None;
    }

    private bool IsSameOrigin(HttpContext ctx, bool allowUnknown)
    {
        var origin = ctx.Request.Headers.Origin.ToString();
        if (origin.Length == 0 || origin == "null")
        {
            // No Origin (older browsers on same-origin form posts): the Referer must name this server. Neither: refused.
            origin = ctx.Request.Headers.Referer.ToString();
            if (origin.Length == 0)
            {
                return allowUnknown;
            }
        }
        if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return false;
        }
        return string.Equals(uri.Authority, ctx.Request.Host.Value, StringComparison.OrdinalIgnoreCase)
            || _allowed.Contains(uri.GetLeftPart(UriPartial.Authority));
    }
}
