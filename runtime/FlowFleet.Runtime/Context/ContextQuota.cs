using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowFleet.Runtime.Context;

/// <summary>A context set would take a scope or a store past its size limit; the value is not stored.</summary>
public sealed class ContextQuotaException(string message) : InvalidOperationException(message);

/// <summary>How much a context store may hold (section <c>Flows:ContextLimits</c>).</summary>
public sealed class ContextLimits
{
    /// <summary>Bytes one scope (a node's, a flow's, or global context) may hold in one store.</summary>
    public long MaxBytesPerScope { get; set; } = 32L << 20;

    /// <summary>Bytes all scopes of one store may hold together.</summary>
    public long MaxBytesPerStore { get; set; } = 256L << 20;
}

/// <summary>
/// Keeps an estimate of what each store holds per scope and key, and refuses a set that would pass a limit: the memory
/// limit of a script applies per run, so a function node keeping 50 MB in context every second grew the process to
/// gigabytes without an error.
/// </summary>
internal sealed class ContextQuota(ContextLimits limits)
{
    private readonly ConcurrentDictionary<string, long> _storeTotals = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Store, string Scope), ScopeUsage> _scopes = new();

    /// <summary>Checks that <paramref name="key"/> of <paramref name="scope"/> may hold <paramref name="newSize"/> bytes, and records it.</summary>
    public void Reserve(string storeName, IContextStore store, string scope, string key, long newSize)
    {
        // Static lambdas with their argument passed in: a flow.set per message allocated two closures here.
        var usage = _scopes.GetOrAdd((storeName, scope), static (k, s) => ScopeUsage.Measure(s, k.Scope), store);
        lock (usage.Gate)
        {
            var old = usage.Keys.TryGetValue(key, out var o) ? o : 0;
            var delta = newSize - old;
            var storeTotal = _storeTotals.GetOrAdd(storeName, 0);
            if (delta > 0 && usage.Total + delta > limits.MaxBytesPerScope)
            {
                throw new ContextQuotaException($"Context store '{storeName}': {Describe(scope)} would hold {Mb(usage.Total + delta)} (limit {Mb(limits.MaxBytesPerScope)} per scope); '{key}' was not set");
            }
            if (delta > 0 && storeTotal + delta > limits.MaxBytesPerStore)
            {
                throw new ContextQuotaException($"Context store '{storeName}' would hold {Mb(storeTotal + delta)} (limit {Mb(limits.MaxBytesPerStore)}); '{key}' was not set");
            }
            usage.Total += delta;
            if (delta != 0)
            {
                _storeTotals.AddOrUpdate(storeName, static (_, d) => d, static (_, t, d) => t + d, delta);
            }
            if (newSize == 0)
            {
                usage.Keys.Remove(key);
            }
            else
            {
                usage.Keys[key] = newSize;
            }
        }
    }

    /// <summary>Bytes <paramref name="key"/> holds now (as recorded, else measured).</summary>
    public long SizeOf(string storeName, IContextStore store, string scope, string key)
    {
        var usage = _scopes.GetOrAdd((storeName, scope), static (k, s) => ScopeUsage.Measure(s, k.Scope), store);
        lock (usage.Gate)
        {
            return usage.Keys.TryGetValue(key, out var size) ? size : 0;
        }
    }

    /// <summary>Forgets scopes that were deleted (removed nodes and flows).</summary>
    public void Forget(Func<string, bool> deleted)
    {
        foreach (var key in _scopes.Keys.Where(k => deleted(k.Scope)).ToList())
        {
            if (_scopes.TryRemove(key, out var usage))
            {
                _storeTotals.AddOrUpdate(key.Store, 0, (_, t) => t - usage.Total);
            }
        }
    }

    /// <summary>A rough size in memory: what a value costs as nodes and UTF-16 strings.</summary>
    public static long Estimate(JsonNode? node)
    {
        switch (node)
        {
            case null:
                return 8;
            case JsonObject o:
                {
                    long size = 48;
                    foreach (var (key, value) in o)
                    {
                        size += 24 + (2L * key.Length) + Estimate(value);
                    }
                    return size;
                }
            case JsonArray a:
                {
                    long size = 32;
                    foreach (var value in a)
                    {
                        size += 8 + Estimate(value);
                    }
                    return size;
                }
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                return 24 + (2L * v.GetValue<string>().Length);
            default:
                return 24;
        }
    }

    private static string Describe(string scope) => scope == "global" ? "global context" : scope.Contains(':', StringComparison.Ordinal) ? $"node context {scope}" : $"flow context {scope}";

    private static string Mb(long bytes) => (bytes / 1048576.0).ToString("0.#", CultureInfo.InvariantCulture) + " MB";

    private sealed class ScopeUsage
    {
        /// <summary>A Lock rather than this object's monitor, which moves to the runtime's slow path once contended (see NodeQueue).</summary>
        public Lock Gate { get; } = new();

        public Dictionary<string, long> Keys { get; } = new(StringComparer.Ordinal);

        public long Total { get; set; }

        /// <summary>What a scope already holds (values loaded from a persistent store at start).</summary>
        public static ScopeUsage Measure(IContextStore store, string scope)
        {
            var usage = new ScopeUsage();
            foreach (var key in store.Keys(scope))
            {
                var size = Estimate(store.Get(scope, key));
                usage.Keys[key] = size;
                usage.Total += size;
            }
            return usage;
        }
    }
}
