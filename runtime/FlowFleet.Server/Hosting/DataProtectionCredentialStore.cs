using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Storage;
using Microsoft.AspNetCore.DataProtection;

namespace FlowFleet.Server.Hosting;

/// <summary>Node credentials encrypted with ASP.NET Core Data Protection in <c>flows_cred.json</c> beside the flows.</summary>
public sealed class DataProtectionCredentialStore(string path, IDataProtectionProvider provider) : ICredentialStore
{
    private readonly CredentialSeal _seal = new(provider);

    public async Task SaveAsync(IReadOnlyDictionary<string, JsonObject> credentials, CancellationToken cancellationToken = default)
    {
        var payload = new JsonObject { ["$"] = _seal.Seal(credentials) };
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
        string wrapper;
        try
        {
            wrapper = JsonNode.Parse(await File.ReadAllTextAsync(path, cancellationToken))?["$"]?.GetValue<string>() ?? "{}";
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            throw new InvalidDataException($"{path} cannot be read (wrong keys or damaged): {ex.Message}", ex);
        }
        return _seal.Open(wrapper, path);
    }
}
