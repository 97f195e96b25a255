using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace FlowFleet.Server.Auth;

public static class AuthSetup
{
    public const string SmartScheme = "FlowFleet";

    /// <summary>Bearer tokens for APIs, a cookie for the browser UI, or everyone-is-admin with <c>--no-auth</c>.</summary>
    public static IServiceCollection AddFlowFleetAuth(this IServiceCollection services, bool noAuth)
    {
        services.AddSingleton<UserService>();
        services.AddSingleton<TokenService>();
        services.AddOptions<LoginThrottleOptions>().BindConfiguration("Auth:Login").ValidateOnStart();
        services.AddSingleton<IValidateOptions<LoginThrottleOptions>, LoginThrottleOptionsValidator>();
        services.AddSingleton<LoginThrottle>();
        services.AddSingleton<SessionMonitor>();
        services.AddSingleton<SessionHubFilter>();
        services.TryAddSingleton(TimeProvider.System);
        var builder = noAuth
            ? services.AddAuthentication(NoAuthHandler.SchemeName).AddScheme<AuthenticationSchemeOptions, NoAuthHandler>(NoAuthHandler.SchemeName, null)
            : services.AddAuthentication(SmartScheme)
                .AddPolicyScheme(SmartScheme, "Bearer or cookie", o => o.ForwardDefaultSelector = ctx =>
                    UsesToken(ctx) ? TokenAuthenticationHandler.SchemeName : CookieAuthenticationDefaults.AuthenticationScheme)
                .AddScheme<AuthenticationSchemeOptions, TokenAuthenticationHandler>(TokenAuthenticationHandler.SchemeName, null);
        builder.AddCookie(CookieAuthenticationDefaults.AuthenticationScheme, o =>
        {
            o.LoginPath = "/login";
            o.LogoutPath = "/logout";
            o.Cookie.Name = "flowfleet.auth";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Lax;
            o.SlidingExpiration = true;
            o.ExpireTimeSpan = TimeSpan.FromDays(7);
            o.Events.OnValidatePrincipal = ValidateCookieAsync;
            o.Events.OnRedirectToLogin = ctx => Deny(ctx, StatusCodes.Status401Unauthorized);
            o.Events.OnRedirectToAccessDenied = ctx => Deny(ctx, StatusCodes.Status403Forbidden);
        });
        services.AddAuthorization(o =>
        {
            o.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build();
            foreach (var p in Policies.All)
            {
                o.AddPolicy(p, b => b.RequireAuthenticatedUser().RequireAssertion(ctx => Principals.Has(ctx.User, p)));
            }
        });
        return services;
    }

    /// <summary>Whether the request authenticates with a token (bearer header; on websockets also ?access_token= or the subprotocol).</summary>
    public static bool UsesToken(HttpContext ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        return ctx.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            || (ctx.WebSockets.IsWebSocketRequest && (ctx.Request.Query.ContainsKey("access_token") || ctx.Request.Headers.SecWebSocketProtocol.Count > 0));
    }

    /// <summary>A cookie is only as good as its session: ended sessions (and cookies from before sessions existed) are refused.</summary>
    private static async Task ValidateCookieAsync(CookieValidatePrincipalContext ctx)
    {
        var sid = Principals.SessionOf(ctx.Principal);
        var tokens = ctx.HttpContext.RequestServices.GetRequiredService<TokenService>();
        if (sid is null || await tokens.ValidateSessionAsync(sid, ctx.HttpContext.RequestAborted) is null)
        {
            ctx.RejectPrincipal();
            await ctx.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        }
    }

    /// <summary>APIs answer 401/403 as JSON; pages go to the login form.</summary>
    private static Task Deny(RedirectContext<CookieAuthenticationOptions> ctx, int status)
    {
        var path = ctx.Request.Path;
        var wantsPage = ctx.Request.Method == "GET" && ctx.Request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);
        if (path.StartsWithSegments("/red") || path.StartsWithSegments("/api") || path.StartsWithSegments("/client") || !wantsPage)
        {
            ctx.Response.StatusCode = status;
            return ctx.Response.WriteAsJsonAsync(status == 401
                ? new { error = "unauthorized", message = "Authentication required: log in or send a bearer token" }
                : new { error = "forbidden", message = "Your role does not allow this" });
        }
        ctx.Response.Redirect(ctx.RedirectUri);
        return Task.CompletedTask;
    }
}
