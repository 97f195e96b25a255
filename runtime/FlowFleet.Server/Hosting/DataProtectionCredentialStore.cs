using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Storage;
using Microsoft.AspNetCore.DataProtection;

namespace FlowFleet.Server.Hosting;

/// <summary>Node credentials encrypted with ASP.NET Core Data Protection in <c>flows_cred.json</c> beside the flows.</summary>
public sealed class DataProtectionCredentialStore(string path, IDataProtectionProvider provider) : ICredentialStore
{
    private readonly IDataProtector _protector = provider.CreateProtector("FlowFleet.Credentials.v1");

    public async Task SaveAsync(IReadOnlyDictionary<string, JsonObject> credentials, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        var plain = new JsonObject();
        foreach (var (id, c) in credentials)
        {
            plain[id] = c.DeepClone();
        }
        var payload = new JsonObject { ["$"] = _protector.Protect(plain.ToJsonString()) };
        var tmp = path + ".tmp";
        await File.WriteAllTextAsync(tmp, payload.ToJsonString(), cancellationToken);
        File.Move(tmp, path, overwrite: true);
    }

    public async Task<IReadOnlyDictionary<string, JsonObject>> LoadAsync(CancellationToken cancellationToken = default)
    {
        if (!File.Exists(path))
        {
            return new Dictionary<string, JsonObject>();
        }
        try
        {
            var wrapper = JsonNode.Parse(await File.ReadAllTextAsync(path, cancellationToken))?["$"]?.GetValue<string>() ?? "{}";
            var plain = JsonNode.Parse(_protector.Unprotect(wrapper)) as JsonObject ?? [];
            return plain.Where(kv => kv.Value is JsonObject).ToDictionary(kv => kv.Key, kv => (JsonObject)kv.Value!.DeepClone(), StringComparer.Ordinal);
        }
        catch (Exception ex) when (ex is JsonException or System.Security.Cryptography.CryptographicException)
        {
            throw new InvalidDataException($"{path} cannot be read (wrong keys or damaged): {ex.Message}", ex);
        }
    }
}
