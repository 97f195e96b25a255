using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace FlowFleet.Server.Auth;

/// <summary>Authenticates <c>Authorization: Bearer &lt;token&gt;</c> against the token store.</summary>
public sealed class TokenAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, TokenService tokens)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        string token;
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            token = header[7..].Trim();
        }
        else if (Context.WebSockets.IsWebSocketRequest && Request.Query["access_token"].ToString() is { Length: > 0 } queryToken)
        {
            // Browsers can't set headers on websockets: /client accepts ?access_token= as well.
            token = queryToken;
        }
        else if (Context.WebSockets.IsWebSocketRequest && Context.WebSockets.WebSocketRequestedProtocols is [{ Length: > 0 } offered, ..])
        {
            // Shelly fleet manager's web UI: new WebSocket(url, token) — the token is the offered subprotocol.
            var viaProtocol = await tokens.ValidateAsync(Fleet.FleetManager.FmToken.Unwrap(offered), Context.RequestAborted);
            return viaProtocol is null
                ? AuthenticateResult.NoResult()
                : AuthenticateResult.Success(new AuthenticationTicket(Principals.For(viaProtocol, SchemeName), SchemeName));
        }
        else
        {
            return AuthenticateResult.NoResult();
        }
        // Tokens given to Shelly fleet manager's clients are JWT-shaped; the FlowFleet token is their last part.
        var identity = await tokens.ValidateAsync(Fleet.FleetManager.FmToken.Unwrap(token), Context.RequestAborted);
        return identity is null
            ? AuthenticateResult.Fail("Invalid or expired token")
            : AuthenticateResult.Success(new AuthenticationTicket(Principals.For(identity, SchemeName), SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        return Response.WriteAsJsonAsync(new { error = "unauthorized", message = "Authentication required: log in or send a bearer token" });
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        return Response.WriteAsJsonAsync(new { error = "forbidden", message = "Your role does not allow this" });
    }
}

/// <summary>With <c>--no-auth</c>: everyone is an admin.</summary>
public sealed class NoAuthHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "NoAuth";

    // One shared result: a request (a device websocket lives for days) holds no principal of its own.
    private static readonly Task<AuthenticateResult> Everyone =
        Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(Principals.For("anonymous", Roles.Admin, "*", SchemeName), SchemeName)));

    protected override Task<AuthenticateResult> HandleAuthenticateAsync() => Everyone;
}

public static class Principals
{
    /// <summary>The claim holding the session id, checked again on every request and websocket message.</summary>
    public const string SessionClaim = "ff.sid";

    /// <summary>One claim per device group a limited user may reach; <see cref="LimitedClaim"/> marks a limited user.</summary>
    public const string GroupClaim = FlowFleet.Fleet.Registry.DeviceAccess.GroupClaim;

    public const string LimitedClaim = FlowFleet.Fleet.Registry.DeviceAccess.LimitedClaim;

    public static ClaimsPrincipal For(TokenIdentity session, string scheme)
    {
        ArgumentNullException.ThrowIfNull(session);
        return For(session.UserName, session.Role, session.Scope, scheme, session.Sid, session.Groups);
    }

    /// <summary>A principal with the role and one <c>perm</c> claim per permission; a <c>read</c> scope keeps only read permissions.</summary>
    public static ClaimsPrincipal For(string user, string role, string scope, string scheme, string? sid = null, IReadOnlyList<string>? groups = null)
    {
        var claims = new List<Claim> { new(ClaimTypes.Name, user), new(ClaimTypes.Role, role), new("scope", scope) };
        if (sid is not null)
        {
            claims.Add(new Claim(SessionClaim, sid));
        }
        if (groups is not null)
        {
            claims.Add(new Claim(LimitedClaim, "true"));
            claims.AddRange(groups.Select(g => new Claim(GroupClaim, g)));
        }
        var perms = Roles.Permissions(role);
        if (scope == "read")
        {
            perms = perms.Contains("*") ? [.. Policies.All.Where(p => p.EndsWith(".read", StringComparison.Ordinal))] : [.. perms.Where(p => p.EndsWith(".read", StringComparison.Ordinal))];
        }
        claims.AddRange(perms.Select(p => new Claim(Policies.PermissionClaim, p)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, scheme));
    }

    public static bool Has(ClaimsPrincipal user, string permission) =>
        user.HasClaim(Policies.PermissionClaim, "*") || user.HasClaim(Policies.PermissionClaim, permission);

    public static string? SessionOf(ClaimsPrincipal? user) => user?.FindFirst(SessionClaim)?.Value;

    public static IReadOnlyList<string> PermissionsOf(ClaimsPrincipal user) =>
        user.FindAll(Policies.PermissionClaim).Select(c => c.Value).ToList();
}
