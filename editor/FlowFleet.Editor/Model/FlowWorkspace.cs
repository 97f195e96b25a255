using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowFleet.Editor.Model;

/// <summary>A wire: output <see cref="Port"/> of <see cref="From"/> to the input of <see cref="To"/>.</summary>
public readonly record struct Wire(string From, int Port, string To);

/// <summary>
/// The flows being edited, as Node-RED JSON objects kept in file order (unknown types and properties stay untouched), with
/// selection, undo/redo, clipboard, import/export and the comparison with what is deployed. Blazor owns this model; the
/// canvas script only reports gestures.
/// </summary>
public sealed partial class FlowWorkspace
{
    public const int Grid = 20;

    private readonly List<string> _undo = [];
    private readonly List<string> _redo = [];
    private Dictionary<string, string> _deployed = new(StringComparer.Ordinal);

    public List<JsonObject> Items { get; private set; } = [];

    /// <summary>The revision the editor loaded (sent with deploys to detect someone else's deploy).</summary>
    public string? Rev { get; set; }

    public string? ActiveTab { get; set; }

    public HashSet<string> Selected { get; } = new(StringComparer.Ordinal);

    public Wire? SelectedWire { get; set; }

    public event Action? Changed;

    public bool CanUndo => _undo.Count > 0;

    public bool CanRedo => _redo.Count > 0;

    public static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    public static string TypeOf(JsonObject o) => o["type"]?.GetValue<string>() ?? "";

    public static string IdOf(JsonObject o) => o["id"]?.GetValue<string>() ?? "";

    public static string? Z(JsonObject o) => o["z"] is JsonValue v && v.TryGetValue<string>(out var z) ? z : null;

    /// <summary>Flow nodes are the ones with a position (Node-RED's own rule); the others are config nodes.</summary>
    public static bool IsFlowNode(JsonObject o) => o.ContainsKey("x") && o.ContainsKey("y") && TypeOf(o) is not ("tab" or "group" or "subflow");

    public static double Num(JsonNode? n) => n is JsonValue v && v.TryGetValue<double>(out var d) ? d
        : n is JsonValue v2 && v2.TryGetValue<long>(out var l) ? l
        : n is JsonValue v3 && v3.TryGetValue<int>(out var i) ? i
        : n is JsonValue v4 && v4.TryGetValue<string>(out var s) && double.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, out var p) ? p : 0;

    public IEnumerable<JsonObject> Tabs => Items.Where(o => TypeOf(o) == "tab");

    public IEnumerable<JsonObject> NodesOn(string? tab) => Items.Where(o => IsFlowNode(o) && Z(o) == tab);

    public IEnumerable<JsonObject> GroupsOn(string? tab) => Items.Where(o => TypeOf(o) == "group" && Z(o) == tab);

    public IEnumerable<JsonObject> ConfigNodes => Items.Where(o => !IsFlowNode(o) && TypeOf(o) is not ("tab" or "group" or "subflow"));

    public JsonObject? Find(string id) => Items.FirstOrDefault(o => IdOf(o) == id);

    public IEnumerable<Wire> WiresOn(string? tab)
    {
        foreach (var n in NodesOn(tab))
        {
            if (n["wires"] is not JsonArray ports)
            {
                continue;
            }
            for (var p = 0; p < ports.Count; p++)
            {
                foreach (var target in ports[p] as JsonArray ?? [])
                {
                    if (target is JsonValue t && t.TryGetValue<string>(out var to))
                    {
                        yield return new Wire(IdOf(n), p, to);
                    }
                }
            }
        }
    }

    /// <summary>Replaces everything with deployed flows (also the baseline for "changed" markers).</summary>
    public void Load(JsonArray flows, string? rev)
    {
        Items = flows.OfType<JsonObject>().Select(o => (JsonObject)o.DeepClone()).ToList();
        Rev = rev;
        _deployed = Items.GroupBy(IdOf).ToDictionary(g => g.Key, g => g.First().ToJsonString(), StringComparer.Ordinal);
        _undo.Clear();
        _redo.Clear();
        Selected.Clear();
        SelectedWire = null;
        if (ActiveTab is null || Find(ActiveTab) is null)
        {
            ActiveTab = Tabs.FirstOrDefault() is { } t ? IdOf(t) : null;
        }
        if (ActiveTab is null)
        {
            AddTab(record: false);
            _deployed.Clear();
        }
        Changed?.Invoke();
    }

    /// <summary>After a deploy: what is in the editor is now what runs.</summary>
    public void MarkDeployed(string rev)
    {
        Rev = rev;
        _deployed = Items.GroupBy(IdOf).ToDictionary(g => g.Key, g => g.First().ToJsonString(), StringComparer.Ordinal);
        Changed?.Invoke();
    }

    public bool IsChanged(JsonObject o) => !_deployed.TryGetValue(IdOf(o), out var json) || json != o.ToJsonString();

    /// <summary>Whether anything was deployed (or loaded from the server) as the baseline.</summary>
    public bool HasDeployed => _deployed.Count > 0;

    public bool HasChanges => Items.Count != _deployed.Count || Items.Any(IsChanged);

    public JsonArray ToFlows() => new(Items.Select(o => (JsonNode?)o.DeepClone()).ToArray());

    // ---- undo ----

    /// <summary>Call before every change: the current state goes on the undo stack.</summary>
    public void Record()
    {
        _undo.Add(ToFlows().ToJsonString());
        if (_undo.Count > 100)
        {
            _undo.RemoveAt(0);
        }
        _redo.Clear();
    }

    public void Undo() => Swap(_undo, _redo);

    public void Redo() => Swap(_redo, _undo);

    private void Swap(List<string> from, List<string> to)
    {
        if (from.Count == 0)
        {
            return;
        }
        to.Add(ToFlows().ToJsonString());
        var json = from[^1];
        from.RemoveAt(from.Count - 1);
        Items = JsonNode.Parse(json)!.AsArray().OfType<JsonObject>().Select(o => (JsonObject)o.DeepClone()).ToList();
        Selected.RemoveWhere(id => Find(id) is null);
        if (ActiveTab is not null && Find(ActiveTab) is null)
        {
            ActiveTab = Tabs.FirstOrDefault() is { } t ? IdOf(t) : null;
        }
        Changed?.Invoke();
    }

    public void NotifyChanged() => Changed?.Invoke();

    // ---- tabs ----

    public JsonObject AddTab(string? label = null, bool record = true)
    {
        if (record)
        {
            Record();
        }
        var n = Tabs.Count() + 1;
        var tab = new JsonObject { ["id"] = NewId(), ["type"] = "tab", ["label"] = label ?? $"Flow {n}", ["disabled"] = false, ["info"] = "", ["env"] = new JsonArray() };
        var lastTab = Items.FindLastIndex(o => TypeOf(o) == "tab");
        Items.Insert(lastTab + 1, tab);
        ActiveTab = IdOf(tab);
        Changed?.Invoke();
        return tab;
    }

    public void RenameTab(string id, string label)
    {
        if (Find(id) is { } tab && tab["label"]?.GetValue<string>() != label)
        {
            Record();
            tab["label"] = label;
            Changed?.Invoke();
        }
    }

    public void ToggleTabDisabled(string id)
    {
        if (Find(id) is { } tab)
        {
            Record();
            tab["disabled"] = !(tab["disabled"]?.GetValue<bool>() ?? false);
            Changed?.Invoke();
        }
    }

    public void DeleteTab(string id)
    {
        Record();
        Items.RemoveAll(o => IdOf(o) == id || Z(o) == id);
        ActiveTab = Tabs.FirstOrDefault() is { } t ? IdOf(t) : null;
        if (ActiveTab is null)
        {
            AddTab(record: false);
        }
        Changed?.Invoke();
    }

    /// <summary>Moves a tab one place left (-1) or right (+1) among the tabs.</summary>
    public void MoveTab(string id, int direction)
    {
        var tabs = Tabs.ToList();
        var i = tabs.FindIndex(t => IdOf(t) == id);
        var j = i + direction;
        if (i < 0 || j < 0 || j >= tabs.Count)
        {
            return;
        }
        Record();
        var a = Items.IndexOf(tabs[i]);
        var b = Items.IndexOf(tabs[j]);
        (Items[a], Items[b]) = (Items[b], Items[a]);
        Changed?.Invoke();
    }

    // ---- nodes and wires ----

    public static double Snap(double v) => Math.Round(v / Grid) * Grid;

    /// <summary>Adds a node of a type at a canvas position with the type's defaults.</summary>
    public JsonObject AddNode(string type, JsonObject? descriptor, double x, double y)
    {
        Record();
        var node = new JsonObject { ["id"] = NewId(), ["type"] = type };
        var isConfig = descriptor?["category"]?.GetValue<string>() == "config";
        if (!isConfig)
        {
            node["z"] = ActiveTab;
        }
        foreach (var (name, d) in descriptor?["defaults"] as JsonObject ?? [])
        {
            node[name] = d?["value"]?.DeepClone();
        }
        node["name"] ??= "";
        if (!isConfig)
        {
            // A type whose outputs follow a property (one per default rule, or a number) starts with that many.
            var outputs = DescriptorHints.Outputs(descriptor, node) ?? (int)Num(descriptor?["outputs"]);
            if (DescriptorHints.OutputsProperty(descriptor) is { } outputsProperty && node.ContainsKey(outputsProperty))
            {
                node[outputsProperty] = outputs;
            }
            node["wires"] = new JsonArray(Enumerable.Range(0, Math.Max(0, outputs)).Select(_ => (JsonNode?)new JsonArray()).ToArray());
            // x/y are the centre (Node-RED); the width depends on the label, so measure before snapping.
            node["x"] = x;
            node["y"] = y;
            node["x"] = NodeGeometry.SnapX(x, Measure(node).W);
            node["y"] = NodeGeometry.SnapY(y);
        }
        Items.Add(node);
        if (!isConfig)
        {
            Selected.Clear();
            Selected.Add(IdOf(node));
        }
        Changed?.Invoke();
        return node;
    }

    /// <summary>Moves nodes (centres, snapped as Node-RED snaps); with <paramref name="splice"/> the one moved node is
    /// inserted into that wire in the same undo step.</summary>
    public void MoveNodes(IEnumerable<(string Id, double X, double Y)> moves, Wire? splice = null)
    {
        var list = moves.ToList();
        if (list.Count == 0)
        {
            return;
        }
        Record();
        var groups = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (id, x, y) in list)
        {
            if (Find(id) is { } n)
            {
                n["x"] = NodeGeometry.SnapX(x, Measure(n).W);
                n["y"] = NodeGeometry.SnapY(y);
                if (n["g"] is JsonValue g)
                {
                    groups.Add(g.GetValue<string>());
                }
            }
        }
        foreach (var g in groups)
        {
            if (Find(g) is { } group)
            {
                Fit(group);
            }
        }
        if (splice is { } wire && list.Count == 1)
        {
            SpliceWire(list[0].Id, wire, record: false);
        }
        Changed?.Invoke();
    }

    public bool Connect(string from, int port, string to)
    {
        if (from == to || Find(from) is not { } source || Find(to) is null)
        {
            return false;
        }
        var wires = source["wires"] as JsonArray ?? [];
        while (wires.Count <= port)
        {
            wires.Add(new JsonArray());
        }
        var targets = (JsonArray)wires[port]!;
        if (targets.Any(t => t?.GetValue<string>() == to))
        {
            return false;
        }
        Record();
        source["wires"] = wires;
        ((JsonArray)((JsonArray)source["wires"]!)[port]!).Add(to);
        Changed?.Invoke();
        return true;
    }

    public void DeleteWire(Wire w)
    {
        if (Find(w.From)?["wires"] is JsonArray ports && w.Port < ports.Count && ports[w.Port] is JsonArray targets)
        {
            Record();
            var hit = targets.FirstOrDefault(t => t?.GetValue<string>() == w.To);
            targets.Remove(hit);
            SelectedWire = null;
            Changed?.Invoke();
        }
    }

    /// <summary>Deletes the selected nodes (and wires to them) or the selected wire.</summary>
    public void DeleteSelection()
    {
        if (SelectedWire is { } w)
        {
            DeleteWire(w);
            return;
        }
        if (Selected.Count == 0)
        {
            return;
        }
        Record();
        RemoveNodes(Selected.ToHashSet(StringComparer.Ordinal));
        Selected.Clear();
        Changed?.Invoke();
    }

    private void RemoveNodes(HashSet<string> ids)
    {
        Items.RemoveAll(o => ids.Contains(IdOf(o)));
        foreach (var n in Items)
        {
            foreach (var port in n["wires"] as JsonArray ?? [])
            {
                if (port is JsonArray targets)
                {
                    foreach (var dead in targets.Where(t => t is JsonValue v && ids.Contains(v.GetValue<string>())).ToList())
                    {
                        targets.Remove(dead);
                    }
                }
            }
        }
    }

    /// <summary>Replaces a node's properties (the property editor's Done), keeping id, type, z, position and wires.</summary>
    public void UpdateNode(string id, JsonObject properties, int? outputs = null)
    {
        if (Find(id) is not { } node)
        {
            return;
        }
        Record();
        foreach (var (k, v) in properties)
        {
            if (k is not ("id" or "type" or "z" or "x" or "y" or "wires"))
            {
                node[k] = v?.DeepClone();
            }
        }
        if (outputs is { } count && node["wires"] is JsonArray wires)
        {
            while (wires.Count < count)
            {
                wires.Add(new JsonArray());
            }
            while (wires.Count > count)
            {
                wires.RemoveAt(wires.Count - 1);
            }
        }
        Changed?.Invoke();
    }

    public void SelectAll()
    {
        Selected.Clear();
        foreach (var n in NodesOn(ActiveTab))
        {
            Selected.Add(IdOf(n));
        }
        SelectedWire = null;
        Changed?.Invoke();
    }

    // ---- groups ----

    /// <summary>Measures a node (width, height) for group boxes; the page sets it from the node geometry.</summary>
    public Func<JsonObject, (double W, double H)> Measure { get; set; } = _ => (120, 30);

    /// <summary>Puts the selected nodes of the current flow into a new group (Node-RED's group object, members get <c>g</c>).</summary>
    public JsonObject? GroupSelection(string? name = null)
    {
        var members = NodesOn(ActiveTab).Where(n => Selected.Contains(IdOf(n)) && n["g"] is null).ToList();
        if (members.Count == 0)
        {
            return null;
        }
        Record();
        var group = new JsonObject
        {
            ["id"] = NewId(), ["type"] = "group", ["z"] = ActiveTab, ["name"] = name ?? "", ["style"] = new JsonObject { ["label"] = true },
            ["nodes"] = new JsonArray(members.Select(m => (JsonNode?)IdOf(m)).ToArray()),
        };
        foreach (var m in members)
        {
            m["g"] = IdOf(group);
        }
        Fit(group);
        Items.Add(group);
        Changed?.Invoke();
        return group;
    }

    /// <summary>Removes a group, keeping its nodes.</summary>
    public void Ungroup(string groupId)
    {
        if (Find(groupId) is not { } group || TypeOf(group) != "group")
        {
            return;
        }
        Record();
        foreach (var n in Items.Where(n => n["g"] is JsonValue g && g.GetValue<string>() == groupId))
        {
            n.Remove("g");
        }
        Items.Remove(group);
        Changed?.Invoke();
    }

    /// <summary>Sizes a group box around its members (20 px margin).</summary>
    public void Fit(JsonObject group)
    {
        var ids = (group["nodes"] as JsonArray ?? []).Select(n => n!.GetValue<string>()).ToHashSet(StringComparer.Ordinal);
        var members = Items.Where(n => ids.Contains(IdOf(n))).ToList();
        if (members.Count == 0)
        {
            return;
        }
        // Node x/y are centres; the group box is top-left + size (as Node-RED stores groups).
        var boxes = members.Select(m => (Size: Measure(m), Cx: Num(m["x"]), Cy: Num(m["y"])))
            .Select(b => (X: b.Cx - b.Size.W / 2, Y: b.Cy - b.Size.H / 2, b.Size)).ToList();
        var x = boxes.Min(b => b.X) - Grid;
        var y = boxes.Min(b => b.Y) - Grid;
        group["x"] = x;
        group["y"] = y;
        group["w"] = boxes.Max(b => b.X + b.Size.W) + Grid - x;
        group["h"] = boxes.Max(b => b.Y + b.Size.H) + Grid * 1.5 - y;
    }

    // ---- clipboard, import, export ----

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
