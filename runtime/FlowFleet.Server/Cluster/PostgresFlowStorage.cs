using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Runtime;
using FlowFleet.Runtime.Flows;
using FlowFleet.Runtime.Storage;
using FlowFleet.Server.Hosting;
using Microsoft.AspNetCore.DataProtection;

namespace FlowFleet.Server.Cluster;

/// <summary>
/// The deployed flow set in PostgreSQL (one row, with its rev), shared by every instance of a cluster. Before the first
/// deploy the row is missing and the instance's own <c>flows.json</c> is served, so an instance moved onto PostgreSQL keeps
/// its flows (the next deploy writes them to the shared store).
/// </summary>
public sealed class PostgresFlowStorage(ClusterStore store, IFlowStorage? firstStart = null, TimeProvider? time = null) : IFlowStorage
{
    /// <summary>Raised with the new rev after every save: cluster mode tells the other instances to load it.</summary>
    public Notifier<string> Saved { get; } = new();

    public async Task<JsonArray?> LoadAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenAsync(cancellationToken);
        await using var cmd = ClusterStore.Command(connection, "SELECT flows FROM ff_flows WHERE id = 1");
        if (await cmd.ExecuteScalarAsync(cancellationToken) is not string text)
        {
            return firstStart is null ? null : await firstStart.LoadAsync(cancellationToken);
        }
        try
        {
            return JsonNode.Parse(text) as JsonArray ?? throw new InvalidDataException("The flows stored in PostgreSQL (ff_flows) are not a JSON array");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"The flows stored in PostgreSQL (ff_flows) are not valid JSON: {ex.Message}", ex);
        }
    }

    public Task SaveAsync(JsonArray flows, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(flows);
        return SaveAsync(FlowDocument.From(flows), cancellationToken);
    }

    /// <summary>A deploy's document: its rev and JSON as it serialized them once (not copied and serialized again here).</summary>
    public async Task SaveAsync(FlowDocument flows, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(flows);
        await using (var connection = await store.OpenAsync(cancellationToken))
        {
            await using var cmd = ClusterStore.Command(connection, """
                INSERT INTO ff_flows (id, rev, flows, saved_at) VALUES (1, $1, $2, $3)
                ON CONFLICT (id) DO UPDATE SET rev = EXCLUDED.rev, flows = EXCLUDED.flows, saved_at = EXCLUDED.saved_at
                """, flows.Rev, flows.Json, (time ?? TimeProvider.System).GetUtcNow());
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }
        Saved.Publish(flows.Rev);
    }

    /// <summary>The rev of the stored flows (null before the first deploy): a cheap check for a missed notification.</summary>
    public async Task<string?> StoredRevAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenAsync(cancellationToken);
        await using var cmd = ClusterStore.Command(connection, "SELECT rev FROM ff_flows WHERE id = 1");
        return await cmd.ExecuteScalarAsync(cancellationToken) as string;
    }
}

/// <summary>
/// Node credentials beside the shared flows, encrypted with Data Protection. The key ring is in PostgreSQL too
/// (<see cref="PostgresKeyRing"/>), so every instance decrypts what another one saved.
/// </summary>
public sealed class PostgresCredentialStore(ClusterStore store, IDataProtectionProvider provider) : ICredentialStore
{
    private readonly CredentialSeal _seal = new(provider);

    public async Task SaveAsync(IReadOnlyDictionary<string, JsonObject> credentials, CancellationToken cancellationToken = default)
    {
        var data = _seal.Seal(credentials);
        await using var connection = await store.OpenAsync(cancellationToken);
        await using var cmd = ClusterStore.Command(connection,
            "INSERT INTO ff_flow_credentials (id, data) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data", data);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyDictionary<string, JsonObject>> LoadAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await store.OpenAsync(cancellationToken);
        await using var cmd = ClusterStore.Command(connection, "SELECT data FROM ff_flow_credentials WHERE id = 1");
        return await cmd.ExecuteScalarAsync(cancellationToken) is string data
            ? _seal.Open(data, "The flow credentials in PostgreSQL (ff_flow_credentials)")
            : new Dictionary<string, JsonObject>();
    }
}
