using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Runtime.Context;

/// <summary>Named context stores with a default (Node-RED's <c>contextStorage</c> setting).</summary>
public sealed class ContextManager : IAsyncDisposable
{
    private readonly Dictionary<string, IContextStore> _stores;
    private readonly ContextQuota _quota;

    public ContextManager(IReadOnlyDictionary<string, IContextStore>? stores = null, string? defaultStore = null, ContextLimits? limits = null)
    {
        _quota = new ContextQuota(limits ?? new ContextLimits());
        _stores = new Dictionary<string, IContextStore>(StringComparer.Ordinal);
        if (stores is null || stores.Count == 0)
        {
            _stores["memory"] = new MemoryContextStore();
            DefaultStoreName = "memory";
        }
        else
        {
            foreach (var (name, store) in stores)
            {
                _stores[name] = store;
            }
            DefaultStoreName = defaultStore is not null && _stores.ContainsKey(defaultStore) ? defaultStore : stores.Keys.First();
        }
        _defaultStore = _stores[DefaultStoreName];
    }

    // The store most gets and sets use (no store named), found without a lookup.
    private readonly IContextStore _defaultStore;

    public string DefaultStoreName { get; }

    public IReadOnlyCollection<string> StoreNames => _stores.Keys;

    public IContextStore Store(string? name) => name is null ? _defaultStore : _stores[StoreName(name)];

    private string StoreName(string? name) =>
        string.IsNullOrEmpty(name) || name == "default" ? DefaultStoreName
        : _stores.ContainsKey(name) ? name : throw new InvalidOperationException($"Unknown context store '{name}'");

    /// <summary>Drops a scope from every store (a removed node), and from the size accounting.</summary>
    public void DeleteScope(string scope)
    {
        foreach (var s in _stores.Values)
        {
            s.Delete(scope);
        }
        _quota.Forget(s => s == scope);
    }

    public IContextScope Scope(string scope) => new ContextScope(this, scope);

    public static string NodeScope(string nodeId, string flowId) => nodeId + ":" + flowId;

    public void Clean(IReadOnlySet<string> activeScopes)
    {
        foreach (var s in _stores.Values)
        {
            s.Clean(activeScopes);
        }
        _quota.Forget(s => s != "global" && !activeScopes.Contains(s));
    }

    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        foreach (var s in _stores.Values)
        {
            await s.FlushAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var s in _stores.Values)
        {
            await s.DisposeAsync();
        }
    }

    private sealed class ContextScope(ContextManager owner, string scope) : IContextScope
    {
        public JsonNode? Get(string key, string? store = null)
        {
            if (IsPlainKey(key))
            {
                // "count", not "a.b" or "a[0]": the key is the one segment (no path to parse or walk).
                return owner.Store(store).Get(scope, key);
            }
            var path = PropertyPath.Parse(key);
            var top = owner.Store(store).Get(scope, (string)path.Segments[0]);
            if (path.Segments.Count == 1)
            {
                return top;
            }
            var rest = PropertyPath.Parse(key[(((string)path.Segments[0]).Length)..].TrimStart('.'));
            return rest.Get(top);
        }

        public void Set(string key, JsonNode? value, string? store = null)
        {
            var plain = IsPlainKey(key);
            var path = plain ? null : PropertyPath.Parse(key);
            var storeName = owner.StoreName(store);
            var s = owner.Store(store);
            var topKey = plain ? key : (string)path!.Segments[0];
            if (plain || path!.Segments.Count == 1)
            {
                // A copy is depth-checked as it is made; a value of its own is checked here (stores walk it later).
                var own = JsonTools.Detach(value);
                if (ReferenceEquals(own, value))
                {
                    JsonDepth.Check(own);
                }
                owner._quota.Reserve(storeName, s, scope, topKey, own is null ? 0 : ContextQuota.Estimate(own));
                s.Set(scope, topKey, own);
                return;
            }
            var top = s.Get(scope, topKey) as JsonObject ?? new JsonObject();
            var rest = PropertyPath.Parse(key[topKey.Length..].TrimStart('.'));
            // The size after the change, known before anything changes: what the path holds now is replaced.
            var before = owner._quota.SizeOf(storeName, s, scope, topKey);
            var after = Math.Max(ContextQuota.Estimate(new JsonObject()), before - (rest.Get(top) is { } old ? ContextQuota.Estimate(old) : 0) + (value is null ? 0 : ContextQuota.Estimate(value)));
            owner._quota.Reserve(storeName, s, scope, topKey, after);
            if (value is null)
            {
                rest.Delete(top);
            }
            else
            {
                rest.Set(top, value);
            }
            s.Set(scope, topKey, top);
        }

        public IReadOnlyList<string> Keys(string? store = null) => owner.Store(store).Keys(scope);

        /// <summary>A key that is a property path of one plain segment: what <see cref="PropertyPath.Parse"/> would return unchanged.</summary>
        private static bool IsPlainKey(string key)
        {
            if (key.Length == 0)
            {
                return false;
            }
            foreach (var c in key)
            {
                if (c is '.' or '[' || char.IsWhiteSpace(c))
                {
                    return false;
                }
            }
            return true;
        }
    }
}
