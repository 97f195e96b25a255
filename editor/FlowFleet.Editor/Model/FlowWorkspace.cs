using System.Security.Cryptography;
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
}
