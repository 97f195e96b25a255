using System.Text.Json.Nodes;

namespace FlowFleet.Editor.Model;

/// <summary>Editing gestures beyond add/move/connect: splicing a node into a wire, disabling nodes, pasting at the mouse.</summary>
public sealed partial class FlowWorkspace
{
    /// <summary>
    /// Inserts a node into a wire, as Node-RED does when a lone node is dropped onto one: <c>from → to</c> becomes
    /// <c>from → node → to</c> (the node's first output). Returns false when the wire or node is gone or the node has no
    /// input or output.
    /// </summary>
    public bool SpliceWire(string nodeId, Wire wire, bool record = true)
    {
        if (nodeId == wire.From || nodeId == wire.To || Find(nodeId) is not { } node || node["wires"] is not JsonArray { Count: > 0 } outputs
            || Find(wire.From)?["wires"] is not JsonArray ports || wire.Port >= ports.Count || ports[wire.Port] is not JsonArray targets)
        {
            return false;
        }
        var hit = targets.FirstOrDefault(t => t is JsonValue v && v.TryGetValue<string>(out var s) && s == wire.To);
        if (hit is null)
        {
            return false;
        }
        if (record)
        {
            Record();
        }
        targets[targets.IndexOf(hit)] = nodeId;
        if (outputs[0] is not JsonArray first)
        {
            outputs[0] = first = [];
        }
        if (!first.Any(t => t is JsonValue v && v.TryGetValue<string>(out var s) && s == wire.To))
        {
            first.Add(wire.To);
        }
        SelectedWire = null;
        Changed?.Invoke();
        return true;
    }

    /// <summary>Disables (<c>d: true</c>, as Node-RED stores it) or enables nodes; one undo step.</summary>
    public void SetDisabled(IEnumerable<string> ids, bool disabled)
    {
        var nodes = ids.Select(Find).OfType<JsonObject>().Where(IsFlowNode).ToList();
        if (nodes.Count == 0)
        {
            return;
        }
        Record();
        foreach (var n in nodes)
        {
            if (disabled)
            {
                n["d"] = true;
            }
            else
            {
                n.Remove("d");
            }
        }
        Changed?.Invoke();
    }

    /// <summary>Pastes Node-RED JSON with new ids, the pasted nodes' bounding box centred on a canvas point (the mouse).</summary>
    public IReadOnlyList<JsonObject> Paste(string text, double x, double y)
    {
        var pasted = Import(ParseImport(text), alwaysNewIds: true);
        var nodes = pasted.Where(IsFlowNode).ToList();
        if (nodes.Count == 0)
        {
            return pasted;
        }
        var cx = (nodes.Min(n => Num(n["x"])) + nodes.Max(n => Num(n["x"]))) / 2;
        var cy = (nodes.Min(n => Num(n["y"])) + nodes.Max(n => Num(n["y"]))) / 2;
        var dx = NodeGeometry.Grid * Math.Round((x - cx) / NodeGeometry.Grid);
        var dy = NodeGeometry.Grid * Math.Round((y - cy) / NodeGeometry.Grid);
        foreach (var o in pasted)
        {
            if (IsFlowNode(o) || TypeOf(o) == "group")
            {
                o["x"] = Num(o["x"]) + dx;
                o["y"] = Num(o["y"]) + dy;
            }
        }
        Changed?.Invoke();
        return pasted;
    }

    /// <summary>Puts back un-deployed work kept in the browser: the flows as they were edited, on top of the revision they
    /// were based on (a deploy then detects if someone else deployed since). What is deployed stays the baseline.</summary>
    public void RestoreDraft(JsonArray flows, string? rev, string? activeTab)
    {
        Record();
        Items = flows.OfType<JsonObject>().Select(o => (JsonObject)o.DeepClone()).ToList();
        Rev = rev ?? Rev;
        Selected.Clear();
        SelectedWire = null;
        ActiveTab = activeTab is not null && Find(activeTab) is not null ? activeTab : Tabs.FirstOrDefault() is { } t ? IdOf(t) : null;
        if (ActiveTab is null)
        {
            AddTab(record: false);
        }
        Changed?.Invoke();
    }
}
