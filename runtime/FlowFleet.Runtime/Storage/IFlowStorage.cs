using System.Text.Json.Nodes;
using FlowFleet.Runtime.Flows;

namespace FlowFleet.Runtime.Storage;

/// <summary>Where the deployed flows live (<c>data/flows.json</c> by default).</summary>
public interface IFlowStorage
{
    /// <summary>The stored flow array, or null when nothing was saved yet.</summary>
    Task<JsonArray?> LoadAsync(CancellationToken cancellationToken = default);

    /// <summary>Saves atomically; the previous file is kept as a backup.</summary>
    Task SaveAsync(JsonArray flows, CancellationToken cancellationToken = default);

    /// <summary>Saves a validated document (a deploy): a store may use the JSON the document serialized already.</summary>
    Task SaveAsync(FlowDocument flows, CancellationToken cancellationToken = default) => SaveAsync(flows.Raw, cancellationToken);
}

/// <summary>
/// Keeps node credentials out of the flow file: <see cref="Split"/> removes <c>credentials</c> objects (and properties
/// declared secret) before saving, <see cref="Merge"/> puts them back after loading.
/// </summary>
public interface ICredentialStore
{
    Task SaveAsync(IReadOnlyDictionary<string, JsonObject> credentials, CancellationToken cancellationToken = default);

    Task<IReadOnlyDictionary<string, JsonObject>> LoadAsync(CancellationToken cancellationToken = default);
}
