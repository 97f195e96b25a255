using System.Net;
using System.Security.Claims;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http.HttpResults;

namespace FlowFleet.Server.Auth;

/// <summary>Node-RED's <c>/auth/login</c>, <c>/auth/token</c>, <c>/auth/revoke</c>, plus the browser's <c>/login</c> and <c>/logout</c>.</summary>
public static class AuthApi
{
    public static void MapAuthApi(this IEndpointRouteBuilder app, RouteGroupBuilder red, bool noAuth)
    {
        red.MapGet("/auth/login", () => noAuth
            ? Results.Json(new JsonObject())
            : Results.Json(new
            {
                type = "credentials",
                prompts = new object[]
                {
                    new { id = "username", type = "text", label = "user.username" },
                    new { id = "password", type = "password", label = "user.password" },
                },
            })).AllowAnonymous().WithName("RedAuthLogin");
        red.MapPost("/auth/token", TokenAsync).AllowAnonymous().DisableAntiforgery().WithName("RedAuthToken");
        red.MapPost("/auth/revoke", RevokeAsync).WithName("RedAuthRevoke");
        app.MapGet("/login", (HttpContext ctx) => LoginPage(ctx.Request.Query["returnUrl"].ToString(), null)).AllowAnonymous();
        app.MapPost("/login", LoginAsync).AllowAnonymous().DisableAntiforgery();
        app.MapMethods("/logout", ["GET", "POST"], LogoutAsync).AllowAnonymous().DisableAntiforgery();
        app.MapUsersApi();
    }

    private static async Task<IResult> TokenAsync(HttpContext ctx, UserService users, TokenService tokens, LoginThrottle throttle)
    {
        var form = await ReadFieldsAsync(ctx.Request);
        var grant = form.GetValueOrDefault("grant_type");
        var user = form.GetValueOrDefault("username") ?? "";
        if (grant != "password")
        {
            return Results.Json(new { error = "unsupported_grant_type", message = "grant_type must be password" }, statusCode: 400);
        }
        var address = ctx.Connection.RemoteIpAddress?.ToString();
        if (throttle.IsBlocked(user, address, out var retry))
        {
            ctx.Response.Headers.RetryAfter = RetrySeconds(retry);
            return Results.Json(new { error = "too_many_requests", message = "Too many failed logins; try again later" }, statusCode: 429);
        }
        var account = await users.VerifyAsync(user, form.GetValueOrDefault("password") ?? "", ctx.RequestAborted);
        if (account is null)
        {
            await throttle.FailedAsync(user, address);
            return Results.Json(new { error = "unauthorized", message = "Invalid username or password" }, statusCode: 401);
        }
        await throttle.SucceededAsync(user, address);
        var scope = form.GetValueOrDefault("scope") is "read" ? "read" : "*";
        var (token, _) = await tokens.IssueAsync(account, scope, form.GetValueOrDefault("client_id") ?? "", ctx.RequestAborted);
        return Results.Json(new { access_token = token, expires_in = (int)TokenService.Lifetime.TotalSeconds, token_type = "Bearer" });
    }

    private static async Task<IResult> RevokeAsync(HttpContext ctx, TokenService tokens)
    {
        var form = await ReadFieldsAsync(ctx.Request);
        var token = form.GetValueOrDefault("token");
        var header = ctx.Request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(token) && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            token = header[7..].Trim();
        }
        if (!string.IsNullOrEmpty(token))
        {
            await tokens.RevokeAsync(token, ctx.RequestAborted);
        }
        return Results.Ok();
    }

    /// <summary>Ends the cookie's session on the server too, so a copy of the cookie is worthless afterwards.</summary>
    private static async Task<IResult> LogoutAsync(HttpContext ctx, TokenService tokens)
    {
        var cookie = await ctx.AuthenticateAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        if (Principals.SessionOf(cookie.Principal) is { } sid)
        {
            await tokens.RevokeSessionAsync(sid, ctx.RequestAborted);
        }
        await ctx.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return Results.Redirect("/login");
    }

    private static async Task<IResult> LoginAsync(HttpContext ctx, UserService users, TokenService tokens, LoginThrottle throttle)
    {
        var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted);
        var user = form["username"].ToString();
        var returnUrl = form["returnUrl"].ToString();
        var address = ctx.Connection.RemoteIpAddress?.ToString();
        if (throttle.IsBlocked(user, address, out var retry))
        {
            ctx.Response.Headers.RetryAfter = RetrySeconds(retry);
            return LoginPage(returnUrl, $"Too many failed logins; try again in {RetrySeconds(retry)} s.", 429);
        }
        var account = await users.VerifyAsync(user, form["password"].ToString(), ctx.RequestAborted);
        if (account is null)
        {
            await throttle.FailedAsync(user, address);
            return LoginPage(returnUrl, "Wrong user name or password.", 401);
        }
        await throttle.SucceededAsync(user, address);
        var (_, session) = await tokens.IssueAsync(account, "*", TokenService.CookieClient, ctx.RequestAborted);
        await ctx.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, Principals.For(session, CookieAuthenticationDefaults.AuthenticationScheme));
        return Results.Redirect(IsLocal(returnUrl) ? returnUrl : "/");
    }

    private static string RetrySeconds(TimeSpan retry) => Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// <c>Url.IsLocalUrl</c>'s rule: a path on this server. <c>//host</c> and <c>/\host</c> are other hosts to a browser, and so
    /// is <c>/&lt;TAB&gt;/host</c> (browsers drop tabs and newlines from URLs), so control characters are refused too.
    /// </summary>
    public static bool IsLocal(string url) =>
        url.StartsWith('/') && (url.Length == 1 || (url[1] != '/' && url[1] != '\\')) && !url.Any(char.IsControl);

    /// <summary>Form fields from a form-encoded or JSON body (Node-RED's clients send either).</summary>
    private static async Task<Dictionary<string, string>> ReadFieldsAsync(HttpRequest request)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (request.HasFormContentType)
        {
            foreach (var (k, v) in await request.ReadFormAsync(request.HttpContext.RequestAborted))
            {
                result[k] = v.ToString();
            }
        }
        else if (request.ContentLength is > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            try
            {
                if (await JsonNode.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted) is JsonObject o)
                {
                    foreach (var (k, v) in o)
                    {
                        result[k] = v?.ToString() ?? "";
                    }
                }
            }
            catch (System.Text.Json.JsonException)
            {
                // An unreadable body is the same as an empty one: the grant check answers it.
            }
        }
        return result;
    }

    private static ContentHttpResult LoginPage(string returnUrl, string? error, int status = 200)
    {
        var html = $$"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>FlowFleet — log in</title>
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <style>
              body{font-family:Roboto,Segoe UI,Helvetica,Arial,sans-serif;background:#f3f4f6;display:flex;align-items:center;justify-content:center;height:100vh;margin:0}
              form{background:#fff;padding:32px 36px;border-radius:8px;box-shadow:0 2px 12px rgba(0,0,0,.12);width:300px}
              h1{font-size:22px;margin:0 0 20px;color:#8f0000} label{display:block;font-size:13px;color:#555;margin-top:12px}
              input{width:100%;box-sizing:border-box;padding:9px;margin-top:4px;border:1px solid #ccc;border-radius:4px;font-size:14px}
              button{margin-top:20px;width:100%;padding:10px;background:#8f0000;color:#fff;border:0;border-radius:4px;font-size:15px;cursor:pointer}
              .error{color:#b00020;font-size:13px;margin-top:12px}
            </style></head>
            <body><form method="post" action="/login">
              <h1>FlowFleet</h1>
              <label for="username">User name</label><input id="username" name="username" autocomplete="username" autofocus required>
              <label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
              <input type="hidden" name="returnUrl" value="{{WebUtility.HtmlEncode(returnUrl)}}">
              {{(error is null ? "" : $"<div class=\"error\" role=\"alert\">{WebUtility.HtmlEncode(error)}</div>")}}
              <button type="submit" id="login">Log in</button>
            </form></body></html>
            """;
        return TypedResults.Content(html, "text/html; charset=utf-8", statusCode: status);
    }

    public static string? UserName(this ClaimsPrincipal user) => user.Identity?.Name;
}
