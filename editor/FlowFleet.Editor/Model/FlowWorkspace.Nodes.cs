using System.Text.Json.Nodes;

namespace FlowFleet.Editor.Model;

/// <summary>Nodes, wires and groups on the canvas: add, move, connect, delete, edit properties, group.</summary>
public sealed partial class FlowWorkspace
{
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
}
