using System.Text.Json.Nodes;

namespace FlowFleet.Server.Fleet.FleetManager;

/// <summary>
/// Shelly fleet manager's <c>Storage</c> component: named registries of key → JSON value (its UI keeps dashboards and
/// settings there). Kept in <c>data/fm-storage.json</c>, written atomically on each change.
/// </summary>
public sealed class FmStorage(string path)
{
    private readonly Lock _gate = new();
    private JsonObject? _data;

    private JsonObject Data
    {
        get
        {
            if (_data is null)
            {
                try
                {
                    _data = File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? [] : [];
                }
                catch (System.Text.Json.JsonException)
                {
                    _data = [];
                }
            }
            return _data;
        }
    }

    private JsonObject Registry(string name, bool create)
    {
        if (Data[name] is JsonObject r)
        {
            return r;
        }
        var fresh = new JsonObject();
        if (create)
        {
            Data[name] = fresh;
        }
        return fresh;
    }

    public JsonNode? GetItem(string registry, string key)
    {
        lock (_gate)
        {
            return Registry(registry, false)[key]?.DeepClone();
        }
    }

    public JsonObject GetAll(string registry)
    {
        lock (_gate)
        {
            return Registry(registry, false).DeepClone().AsObject();
        }
    }

    public JsonArray Keys(string registry)
    {
        lock (_gate)
        {
            return new JsonArray(Registry(registry, false).Select(kv => (JsonNode?)kv.Key).ToArray());
        }
    }

    public void SetItem(string registry, string key, JsonNode? value)
    {
        lock (_gate)
        {
            Registry(registry, true)[key] = value?.DeepClone();
            Save();
        }
    }

    public bool RemoveItem(string registry, string key)
    {
        lock (_gate)
        {
            var removed = Registry(registry, false).Remove(key);
            if (removed)
            {
                Save();
            }
            return removed;
        }
    }

    private void Save()
    {
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, Data.ToJsonString());
        File.Move(tmp, path, overwrite: true);
    }
}
