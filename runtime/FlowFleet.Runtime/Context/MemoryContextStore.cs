using System.Collections.Concurrent;
using System.Text.Json.Nodes;

namespace FlowFleet.Runtime.Context;

/// <summary>The default store: values live in memory and are lost on restart.</summary>
public class MemoryContextStore : IContextStore
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, JsonNode?>> _scopes = new(StringComparer.Ordinal);

    public JsonNode? Get(string scope, string key) =>
        _scopes.TryGetValue(scope, out var s) && s.TryGetValue(key, out var v) ? v : null;

    public virtual void Set(string scope, string key, JsonNode? value)
    {
        var s = _scopes.GetOrAdd(scope, static _ => new ConcurrentDictionary<string, JsonNode?>(StringComparer.Ordinal));
        if (value is null)
        {
            s.TryRemove(key, out _);
        }
        else
        {
            s[key] = value;
        }
    }

    public IReadOnlyList<string> Keys(string scope) =>
        _scopes.TryGetValue(scope, out var s) ? s.Keys.Order(StringComparer.Ordinal).ToList() : [];

    public virtual void Delete(string scope) => _scopes.TryRemove(scope, out _);

    public virtual void Clean(IReadOnlySet<string> activeScopes)
    {
        foreach (var scope in _scopes.Keys)
        {
            if (scope != "global" && !activeScopes.Contains(scope))
            {
                Delete(scope);
            }
        }
    }

    protected IEnumerable<KeyValuePair<string, ConcurrentDictionary<string, JsonNode?>>> Scopes => _scopes;

    protected void Load(string scope, string key, JsonNode? value) =>
        _scopes.GetOrAdd(scope, static _ => new ConcurrentDictionary<string, JsonNode?>(StringComparer.Ordinal))[key] = value;

    public virtual Task FlushAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}
