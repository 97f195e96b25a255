using System.Text.Json.Nodes;

namespace FlowFleet.Runtime.Context;

/// <summary>
/// A context store (Node-RED's <c>contextStorage</c> module). Scopes are <c>global</c>, a flow id, or
/// <c>nodeId:flowId</c>. Calls are synchronous: stores keep values in memory and persist behind.
/// </summary>
public interface IContextStore : IAsyncDisposable
{
    JsonNode? Get(string scope, string key);

    /// <summary>Sets a top-level key; null deletes it.</summary>
    void Set(string scope, string key, JsonNode? value);

    IReadOnlyList<string> Keys(string scope);

    void Delete(string scope);

    /// <summary>Removes scopes of nodes and flows that no longer exist.</summary>
    void Clean(IReadOnlySet<string> activeScopes);

    Task FlushAsync(CancellationToken cancellationToken = default);
}

/// <summary>Node-RED's <c>context</c>, <c>flow</c> or <c>global</c> object: keys are property paths.</summary>
public interface IContextScope
{
    JsonNode? Get(string key, string? store = null);

    void Set(string key, JsonNode? value, string? store = null);

    IReadOnlyList<string> Keys(string? store = null);
}
