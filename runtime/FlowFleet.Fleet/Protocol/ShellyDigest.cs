using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace FlowFleet.Fleet.Protocol;

/// <summary>Shelly's digest authentication (SHA-256), for JSON-RPC <c>auth</c> objects and HTTP <c>WWW-Authenticate: Digest</c>.</summary>
public static class ShellyDigest
{
    public const string User = "admin";

    public static string Sha256Hex(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>HA1 = sha256("admin:realm:password"), what <c>Shelly.SetAuth</c> stores.</summary>
    public static string Ha1(string realm, string password) => Sha256Hex($"{User}:{realm}:{password}");

    /// <summary>The response for an RPC frame (HA2 fixed to <c>dummy_method:dummy_uri</c>) or an HTTP request (HA2 = METHOD:URI).</summary>
    public static string Response(string ha1, long nonce, int nc, string cnonce, string ha2Source = "dummy_method:dummy_uri") =>
        Sha256Hex($"{ha1}:{nonce.ToString(CultureInfo.InvariantCulture)}:{nc.ToString(CultureInfo.InvariantCulture)}:{cnonce}:auth:{Sha256Hex(ha2Source)}");

    /// <summary>The JSON string a device puts in a 401 error's message.</summary>
    public static string Challenge(string realm, long nonce) =>
        new JsonObject { ["auth_type"] = "digest", ["nonce"] = nonce, ["nc"] = 1, ["realm"] = realm, ["algorithm"] = "SHA-256" }.ToJsonString();

    /// <summary>Builds the <c>auth</c> object answering a 401 challenge.</summary>
    public static JsonObject Answer(string challengeMessage, string password)
    {
        var ch = JsonNode.Parse(challengeMessage) as JsonObject ?? throw new FormatException("The 401 message is not a digest challenge");
        var realm = ch["realm"]?.GetValue<string>() ?? throw new FormatException("The challenge has no realm");
        var nonce = (long)ch["nonce"]!.GetValue<double>();
        var cnonce = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        return new JsonObject
        {
            ["realm"] = realm, ["username"] = User, ["nonce"] = nonce, ["nc"] = 1, ["cnonce"] = cnonce,
            ["response"] = Response(Ha1(realm, password), nonce, 1, cnonce), ["algorithm"] = "SHA-256",
        };
    }

    /// <summary>Checks an <c>auth</c> object against the stored HA1.</summary>
    public static bool Verify(JsonObject auth, string realm, string ha1, long minNonce)
    {
        try
        {
            var nonce = (long)auth["nonce"]!.GetValue<double>();
            var nc = auth["nc"] is JsonValue v && v.TryGetValue<string>(out var s) ? int.Parse(s, CultureInfo.InvariantCulture) : (int)auth["nc"]!.GetValue<double>();
            var cnonce = auth["cnonce"]!.GetValue<string>();
            return auth["realm"]?.GetValue<string>() == realm && nonce >= minNonce
                && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Response(ha1, nonce, nc, cnonce)), Encoding.ASCII.GetBytes(auth["response"]!.GetValue<string>()));
        }
        catch (Exception ex) when (ex is InvalidOperationException or NullReferenceException or FormatException)
        {
            return false;
        }
    }
}
