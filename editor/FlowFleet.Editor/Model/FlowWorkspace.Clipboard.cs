using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowFleet.Editor.Model;

/// <summary>Clipboard, import and export of Node-RED JSON (credentials never leave the editor this way).</summary>
public sealed partial class FlowWorkspace
{
    /// <summary>The selected nodes as Node-RED JSON (wires to nodes outside the selection dropped).</summary>
    public string Copy()
    {
        var ids = Selected.ToHashSet(StringComparer.Ordinal);
        var nodes = Items.Where(o => ids.Contains(IdOf(o))).Select(WithoutCredentials).ToList();
        foreach (var n in nodes)
        {
            foreach (var port in n["wires"] as JsonArray ?? [])
            {
                if (port is JsonArray targets)
                {
                    foreach (var outside in targets.Where(t => t is JsonValue v && !ids.Contains(v.GetValue<string>())).ToList())
                    {
                        targets.Remove(outside);
                    }
                }
            }
        }
        return new JsonArray(nodes.Select(n => (JsonNode?)n).ToArray()).ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    public string Cut()
    {
        var json = Copy();
        DeleteSelection();
        return json;
    }

    /// <summary>Parses import text: a JSON array of flow objects (or one object). Throws <see cref="FormatException"/> with a clear message.</summary>
    public static JsonArray ParseImport(string text)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(text);
        }
        catch (JsonException ex)
        {
            throw new FormatException("Not valid JSON: " + ex.Message, ex);
        }
        var array = node switch
        {
            JsonArray a => a,
            JsonObject o => new JsonArray(o.DeepClone()),
            _ => throw new FormatException("Expected a JSON array of nodes"),
        };
        foreach (var item in array)
        {
            if (item is not JsonObject o || o["id"] is not JsonValue || o["type"] is not JsonValue)
            {
                throw new FormatException("Every entry needs an id and a type");
            }
        }
        return array;
    }

    /// <summary>
    /// Imports flow objects. Tabs in the import stay tabs; loose nodes go to the current tab, or a new one with
    /// <paramref name="newTab"/>. Ids that already exist (or all ids, with <paramref name="alwaysNewIds"/>, as for paste)
    /// get new ones, with wires, z and group references remapped. A new tab is named <paramref name="label"/>. Returns the imported objects.
    /// </summary>
    public IReadOnlyList<JsonObject> Import(JsonArray items, bool newTab = false, bool alwaysNewIds = false, double offset = 0, string? label = null)
    {
        Record();
        var incoming = items.OfType<JsonObject>().Select(o => (JsonObject)o.DeepClone()).ToList();
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var o in incoming)
        {
            var id = IdOf(o);
            if (alwaysNewIds || Find(id) is not null || map.ContainsKey(id))
            {
                map[id] = NewId();
            }
        }
        string Map(string id) => map.TryGetValue(id, out var m) ? m : id;
        var importedTabs = incoming.Where(o => TypeOf(o) == "tab").Select(IdOf).ToHashSet(StringComparer.Ordinal);
        string? target = ActiveTab;
        if (newTab && incoming.Any(o => IsFlowNode(o) && (Z(o) is null || !importedTabs.Contains(Z(o)!))))
        {
            // Named from its source (a file or example name), as Node-RED users expect, not "Imported".
            var name = string.IsNullOrWhiteSpace(label) ? $"Flow {Tabs.Count() + 1}" : label.Trim();
            var t = new JsonObject { ["id"] = NewId(), ["type"] = "tab", ["label"] = name, ["disabled"] = false, ["info"] = "", ["env"] = new JsonArray() };
            Items.Insert(Items.FindLastIndex(o => TypeOf(o) == "tab") + 1, t);
            target = IdOf(t);
        }
        foreach (var o in incoming)
        {
            o["id"] = Map(IdOf(o));
            if (Z(o) is { } z)
            {
                o["z"] = importedTabs.Contains(z) ? Map(z) : (IsFlowNode(o) || TypeOf(o) == "group" ? target : z);
            }
            else if (IsFlowNode(o))
            {
                o["z"] = target;
            }
            if (o["g"] is JsonValue g && g.TryGetValue<string>(out var gid))
            {
                o["g"] = Map(gid);
            }
            if (o["nodes"] is JsonArray members && TypeOf(o) == "group")
            {
                o["nodes"] = new JsonArray(members.Select(m => (JsonNode?)Map(m!.GetValue<string>())).ToArray());
            }
            foreach (var port in o["wires"] as JsonArray ?? [])
            {
                if (port is JsonArray targets)
                {
                    for (var i = 0; i < targets.Count; i++)
                    {
                        targets[i] = Map(targets[i]!.GetValue<string>());
                    }
                }
            }
            if (offset != 0 && IsFlowNode(o))
            {
                o["x"] = Num(o["x"]) + offset;
                o["y"] = Num(o["y"]) + offset;
            }
            if (TypeOf(o) == "tab")
            {
                Items.Insert(Items.FindLastIndex(x => TypeOf(x) == "tab") + 1, o);
            }
            else
            {
                Items.Add(o);
            }
        }
        if (incoming.FirstOrDefault(o => TypeOf(o) == "tab") is { } firstTab)
        {
            ActiveTab = IdOf(firstTab);
        }
        else if (target is not null)
        {
            ActiveTab = target;
        }
        Selected.Clear();
        foreach (var o in incoming.Where(IsFlowNode))
        {
            Selected.Add(IdOf(o));
        }
        Changed?.Invoke();
        return incoming;
    }

    public IReadOnlyList<JsonObject> Paste(string text) => Import(ParseImport(text), alwaysNewIds: true, offset: Grid);

    /// <summary>Export scopes: the selection, the current flow (tab, its nodes and the config nodes they use), or everything.</summary>
    public JsonArray Export(string scope)
    {
        IEnumerable<JsonObject> chosen = scope switch
        {
            "selection" => Items.Where(o => Selected.Contains(IdOf(o))),
            "flow" => Items.Where(o => IdOf(o) == ActiveTab || Z(o) == ActiveTab),
            _ => Items,
        };
        var list = chosen.ToList();
        if (scope == "flow")
        {
            var used = list.SelectMany(o => o.Select(kv => kv.Value)).OfType<JsonValue>()
                .Select(v => v.TryGetValue<string>(out var s) ? s : null).Where(s => s is not null).ToHashSet(StringComparer.Ordinal);
            list.AddRange(ConfigNodes.Where(c => used.Contains(IdOf(c)) && !list.Contains(c)));
        }
        return new JsonArray(list.Select(o => (JsonNode?)WithoutCredentials(o)).ToArray());
    }

    /// <summary>
    /// As Node-RED's export: credentials typed into a form but not deployed yet (passwords, tls-config's PEM data) stay in
    /// the editor and reach only the encrypted store on deploy, never an exported file or the clipboard.
    /// </summary>
    private static JsonObject WithoutCredentials(JsonObject o)
    {
        var copy = (JsonObject)o.DeepClone();
        copy.Remove("credentials");
        return copy;
    }
}
