using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.DataProtection;

namespace FlowFleet.Server.Hosting;

/// <summary>
/// Node credentials as one Data Protection payload, wherever it is kept (<c>flows_cred.json</c>, or PostgreSQL in a cluster,
/// whose key ring is shared so every instance opens what another sealed).
/// </summary>
public sealed class CredentialSeal(IDataProtectionProvider provider)
{
    private readonly IDataProtector _protector = provider.CreateProtector("FlowFleet.Credentials.v1");

    public string Seal(IReadOnlyDictionary<string, JsonObject> credentials)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        var plain = new JsonObject();
        foreach (var (id, c) in credentials)
        {
            plain[id] = c.DeepClone();
        }
        return _protector.Protect(plain.ToJsonString());
    }

    /// <param name="where">Where the payload was read from, for the error when it cannot be opened.</param>
    public IReadOnlyDictionary<string, JsonObject> Open(string sealedText, string where)
    {
        try
        {
            var plain = JsonNode.Parse(_protector.Unprotect(sealedText)) as JsonObject ?? [];
            return plain.Where(kv => kv.Value is JsonObject).ToDictionary(kv => kv.Key, kv => (JsonObject)kv.Value!.DeepClone(), StringComparer.Ordinal);
        }
        catch (Exception ex) when (ex is JsonException or System.Security.Cryptography.CryptographicException)
        {
            throw new InvalidDataException($"{where} cannot be read (wrong keys or damaged): {ex.Message}", ex);
        }
    }
}
