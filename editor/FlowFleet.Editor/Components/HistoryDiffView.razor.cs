using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Editor.Model;
using FlowFleet.Runtime.Flows;
using Microsoft.AspNetCore.Components;

namespace FlowFleet.Editor.Components;

/// <summary>Lays out one tab of a comparison: nodes of the newer set where they are now, removed ones where they were.</summary>
public sealed partial class HistoryDiffView
{
    private static readonly JsonSerializerOptions s_indented = new() { WriteIndented = true };

    private sealed record TabInfo(string Id, string Label, ChangeKind Kind);

    private sealed record DrawnNode(ObjectChange Change, double X, double Y, double W, double H, string Label, string Color);

    private sealed record DrawnWire(string Source, int Port, string Target, string Path, string Class);

    private sealed record Ghost(double X, double Y, double W, double H);

    private List<TabInfo> _tabs = [];
    private List<DrawnNode> _nodes = [];
    private List<DrawnWire> _wires = [];
    private List<Ghost> _ghosts = [];
    private string _viewBox = "0 0 800 600";
    private string? _tab;
    private string? _selected;
    private HistoryComparison? _laidOut;

    [Parameter, EditorRequired] public HistoryComparison Comparison { get; set; } = default!;

    [Parameter] public IReadOnlyDictionary<string, JsonObject> Descriptors { get; set; } = new Dictionary<string, JsonObject>();

    /// <summary>The tab to open on (the editor's active one); else the first tab with changes.</summary>
    [Parameter] public string? InitialTab { get; set; }

    [Parameter] public EventCallback OnClose { get; set; }

    private FlowDiff Diff => Comparison.Diff;

    protected override void OnParametersSet()
    {
        if (ReferenceEquals(_laidOut, Comparison))
        {
            return;
        }
        _laidOut = Comparison;
        _selected = null;
        _tabs = Diff.Objects.Where(o => o.Type == "tab")
            .Select(o => new TabInfo(o.Id, o.Name ?? o.Id, o.Kind))
            .ToList();
        _tab = _tabs.FirstOrDefault(t => t.Id == InitialTab && ChangesOn(t.Id).Any())?.Id
            ?? _tabs.FirstOrDefault(t => ChangesOn(t.Id).Any() || t.Kind != ChangeKind.Unchanged)?.Id ?? _tabs.FirstOrDefault()?.Id;
        Layout();
    }

    private void SelectTab(string id)
    {
        _tab = id;
        _selected = null;
        Layout();
    }

    private void Select(ObjectChange c)
    {
        _selected = c.Id;
        if (c.Z is { } z && z != _tab && _tabs.Any(t => t.Id == z))
        {
            _tab = z;
            Layout();
        }
    }

    /// <summary>Changed objects drawn on a tab (nodes with a position).</summary>
    private IEnumerable<ObjectChange> ChangesOn(string? tab) =>
        Diff.Objects.Where(o => o.Kind != ChangeKind.Unchanged && o.Z == tab && IsDrawn(o));

    /// <summary>Changes that have no place on a canvas: tabs themselves, config nodes, groups.</summary>
    private IEnumerable<ObjectChange> Elsewhere() =>
        Diff.Objects.Where(o => o.Kind != ChangeKind.Unchanged && !IsDrawn(o));

    private bool IsDrawn(ObjectChange o) => Node(o) is { } n && n["x"] is not null && n["y"] is not null && o.Z is not null && o.Type != "group";

    private JsonObject? Node(ObjectChange o) => Find(o.Kind == ChangeKind.Removed ? Comparison.From : Comparison.To, o.Id);

    private static JsonObject? Find(JsonArray flows, string id) =>
        flows.OfType<JsonObject>().FirstOrDefault(o => o["id"] is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() == id);

    private void Layout()
    {
        _nodes = [];
        _ghosts = [];
        _wires = [];
        var boxes = new Dictionary<string, (double X, double Y, double W, double H, int Outs)>(StringComparer.Ordinal);
        foreach (var c in Diff.Objects.Where(o => o.Z == _tab && IsDrawn(o)))
        {
            var n = Node(c)!;
            var desc = Descriptors.GetValueOrDefault(FlowWorkspace.TypeOf(n));
            var label = NodeGeometry.Label(n, desc);
            var outs = NodeGeometry.Outputs(n, desc);
            var (w, h) = (NodeGeometry.Width(label, NodeGeometry.Inputs(n, desc)), NodeGeometry.Height(outs));
            // x/y are the node's centre, as in Node-RED.
            var (x, y) = (FlowWorkspace.Num(n["x"]) - w / 2, FlowWorkspace.Num(n["y"]) - h / 2);
            boxes[c.Id] = (x, y, w, h, outs);
            _nodes.Add(new DrawnNode(c, x, y, w, h, label, desc?["color"]?.GetValue<string>() ?? "#ddd"));
            if (c.Moved && Find(Comparison.From, c.Id) is { } old)
            {
                _ghosts.Add(new Ghost(FlowWorkspace.Num(old["x"]) - w / 2, FlowWorkspace.Num(old["y"]) - h / 2, w, h));
            }
        }
        var added = Diff.AddedWires.ToHashSet();
        foreach (var c in Diff.Objects.Where(o => o.Kind != ChangeKind.Removed && boxes.ContainsKey(o.Id)))
        {
            foreach (var wire in WiresOf(Find(Comparison.To, c.Id)!))
            {
                AddWire(boxes, wire, added.Contains(wire) ? "k-added" : "");
            }
        }
        foreach (var wire in Diff.RemovedWires)
        {
            AddWire(boxes, wire, "k-removed");
        }
        var all = boxes.Values.Select(b => (b.X, b.Y, b.W, b.H)).Concat(_ghosts.Select(g => (g.X, g.Y, g.W, g.H))).ToList();
        if (all.Count > 0)
        {
            var (minX, minY) = (all.Min(b => b.X) - 40, all.Min(b => b.Y) - 40);
            var (maxX, maxY) = (all.Max(b => b.X + b.W) + 40, all.Max(b => b.Y + b.H) + 40);
            // A small flow is not blown up: the box is at least 480 × 300.
            _viewBox = string.Create(CultureInfo.InvariantCulture, $"{minX} {minY} {Math.Max(480, maxX - minX)} {Math.Max(300, maxY - minY)}");
        }
    }

    private void AddWire(Dictionary<string, (double X, double Y, double W, double H, int Outs)> boxes, WireRef wire, string cls)
    {
        if (!boxes.TryGetValue(wire.Source, out var a) || !boxes.TryGetValue(wire.Target, out var b))
        {
            return;
        }
        var (ax, ay) = (a.X + a.W, a.Y + a.H / 2 + NodeGeometry.PortY(wire.Port, Math.Max(a.Outs, wire.Port + 1)));
        var (bx, by) = (b.X, b.Y + b.H / 2);
        _wires.Add(new DrawnWire(wire.Source, wire.Port, wire.Target, NodeGeometry.WirePath(ax, ay, bx, by), cls));
    }

    private static IEnumerable<WireRef> WiresOf(JsonObject node)
    {
        if (node["wires"] is not JsonArray ports || node["id"]?.GetValue<string>() is not { } id)
        {
            yield break;
        }
        for (var p = 0; p < ports.Count; p++)
        {
            foreach (var t in (ports[p] as JsonArray) ?? [])
            {
                if (t is JsonValue v && v.GetValueKind() == JsonValueKind.String)
                {
                    yield return new WireRef(id, p, v.GetValue<string>());
                }
            }
        }
    }

    private static string KindClass(ChangeKind kind) => "k-" + kind.ToString().ToLowerInvariant();

    private static string Badge(ObjectChange c) => c.Kind switch
    {
        ChangeKind.Added => "+", ChangeKind.Removed => "−", ChangeKind.Moved => "↔", _ => c.Moved ? "~↔" : "~",
    };

    private static string F(double v) => NodeGeometry.F(v);

    private static string Json(JsonNode? n)
    {
        var text = n is null ? "(none)" : n is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : n.ToJsonString(s_indented);
        return text.Length > 4000 ? text[..4000] + "…" : text;
    }

    private static string Position(JsonArray flows, string id) =>
        Find(flows, id) is { } n ? string.Create(CultureInfo.InvariantCulture, $"({FlowWorkspace.Num(n["x"])}, {FlowWorkspace.Num(n["y"])})") : "—";
}
