using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.Server.Auth;

namespace FlowFleet.Server.Fleet.FleetManager;

/// <summary>
/// FM's web UI reads its tokens as JWTs (it decodes the middle part for <c>username</c> and <c>exp</c> to decide whether
/// it is logged in). Tokens handed out by <c>User.Authenticate</c> therefore look like one: an unsigned header and payload
/// for the UI to read, and FlowFleet's own opaque token as the last part — the only part the server checks.
/// </summary>
public static class FmToken
{
    private static readonly string s_header = Base64Url("""{"alg":"none","typ":"JWT"}""");

    public static string Wrap(string token, TokenIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var payload = new JsonObject { ["username"] = identity.UserName, ["role"] = identity.Role, ["exp"] = identity.ExpiresAt.ToUnixTimeSeconds() };
        return $"{s_header}.{Base64Url(payload.ToJsonString())}.{token}";
    }

    /// <summary>The opaque token inside a wrapped one (a FlowFleet token has no dots: it is returned as it is).</summary>
    public static string Unwrap(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        var dot = token.LastIndexOf('.');
        return dot < 0 ? token : token[(dot + 1)..];
    }

    private static string Base64Url(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
