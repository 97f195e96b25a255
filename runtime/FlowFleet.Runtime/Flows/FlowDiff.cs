using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowFleet.Runtime.Flows;

/// <summary>What happened to one object between two flow sets.</summary>
public enum ChangeKind
{
    Unchanged,
    Added,
    Removed,

    /// <summary>A property other than the position changed (wires included).</summary>
    Changed,

    /// <summary>Only the position changed.</summary>
    Moved,
}

/// <summary>One property that differs; <see cref="Lines"/> is a line diff when either side is multi-line text (function code).</summary>
public sealed record PropertyChange(string Name, JsonNode? From, JsonNode? To, IReadOnlyList<DiffLine>? Lines);

/// <summary>An object (tab, node, config node, group) and how it changed; <see cref="Moved"/> also for changed nodes that moved.</summary>
public sealed record ObjectChange(string Id, string Type, string? Name, string? Z, ChangeKind Kind, bool Moved, IReadOnlyList<PropertyChange> Properties);

/// <summary>A wire: output <see cref="Port"/> of <see cref="Source"/> to <see cref="Target"/>.</summary>
public sealed record WireRef(string Source, int Port, string Target);

/// <summary>The differences between two flow sets, object by object and wire by wire.</summary>
public sealed class FlowDiff
{
    private static readonly HashSet<string> s_position = new(StringComparer.Ordinal) { "x", "y" };

    private FlowDiff(IReadOnlyList<ObjectChange> objects, IReadOnlyList<WireRef> addedWires, IReadOnlyList<WireRef> removedWires)
    {
        Objects = objects;
        AddedWires = addedWires;
        RemovedWires = removedWires;
    }

    /// <summary>Every object of both sets (unchanged ones too), in the order of the new set, removed ones after.</summary>
    public IReadOnlyList<ObjectChange> Objects { get; }

    public IReadOnlyList<WireRef> AddedWires { get; }

    public IReadOnlyList<WireRef> RemovedWires { get; }

    public ObjectChange? this[string id] => Objects.FirstOrDefault(o => o.Id == id);

    public int Count(ChangeKind kind) => Objects.Count(o => o.Kind == kind);

    public bool IsEmpty => Objects.All(o => o.Kind == ChangeKind.Unchanged) && AddedWires.Count == 0 && RemovedWires.Count == 0;

    public static FlowDiff Compute(JsonArray from, JsonArray to)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        var before = Index(from);
        var after = Index(to);
        var objects = new List<ObjectChange>();
        foreach (var (id, b) in after)
        {
            if (!before.TryGetValue(id, out var a))
            {
                objects.Add(Describe(id, b, ChangeKind.Added, false, []));
                continue;
            }
            var props = new List<PropertyChange>();
            var moved = false;
            foreach (var name in a.Select(p => p.Key).Union(b.Select(p => p.Key), StringComparer.Ordinal))
            {
                var va = a[name];
                var vb = b[name];
                if (JsonNode.DeepEquals(va, vb))
                {
                    continue;
                }
                if (s_position.Contains(name))
                {
                    moved = true;
                    continue;
                }
                props.Add(new PropertyChange(name, va?.DeepClone(), vb?.DeepClone(), MultiLine(va) || MultiLine(vb) ? LineDiff.Compute(Text(va), Text(vb)) : null));
            }
            var kind = props.Count > 0 ? ChangeKind.Changed : moved ? ChangeKind.Moved : ChangeKind.Unchanged;
            objects.Add(Describe(id, b, kind, moved, props));
        }
        foreach (var (id, a) in before.Where(kv => !after.ContainsKey(kv.Key)))
        {
            objects.Add(Describe(id, a, ChangeKind.Removed, false, []));
        }
        var wiresBefore = Wires(before.Values);
        var wiresAfter = Wires(after.Values);
        return new FlowDiff(objects, wiresAfter.Except(wiresBefore).ToList(), wiresBefore.Except(wiresAfter).ToList());
    }

    /// <summary>The JSON the REST API serves: a summary, the objects that differ, the wires that differ.</summary>
    public JsonObject ToJson()
    {
        var objects = new JsonArray();
        foreach (var o in Objects.Where(o => o.Kind != ChangeKind.Unchanged))
        {
            var props = new JsonArray();
            foreach (var p in o.Properties)
            {
                var pj = new JsonObject { ["name"] = p.Name, ["from"] = p.From?.DeepClone(), ["to"] = p.To?.DeepClone() };
                if (p.Lines is not null)
                {
                    pj["lines"] = new JsonArray(p.Lines.Select(l => (JsonNode?)(l.Op + l.Text)).ToArray());
                }
                props.Add(pj);
            }
            objects.Add(new JsonObject
            {
                ["id"] = o.Id, ["type"] = o.Type, ["name"] = o.Name, ["z"] = o.Z, ["change"] = o.Kind.ToString().ToLowerInvariant(),
                ["moved"] = o.Moved, ["properties"] = props,
            });
        }
        static JsonArray WireJson(IEnumerable<WireRef> wires) =>
            new(wires.Select(w => (JsonNode?)new JsonObject { ["source"] = w.Source, ["port"] = w.Port, ["target"] = w.Target }).ToArray());
        return new JsonObject
        {
            ["summary"] = new JsonObject
            {
                ["added"] = Count(ChangeKind.Added), ["removed"] = Count(ChangeKind.Removed), ["changed"] = Count(ChangeKind.Changed),
                ["moved"] = Objects.Count(o => o.Moved), ["wiresAdded"] = AddedWires.Count, ["wiresRemoved"] = RemovedWires.Count,
            },
            ["objects"] = objects,
            ["wires"] = new JsonObject { ["added"] = WireJson(AddedWires), ["removed"] = WireJson(RemovedWires) },
        };
    }

    private static Dictionary<string, JsonObject> Index(JsonArray flows)
    {
        var map = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        foreach (var o in flows.OfType<JsonObject>())
        {
            if (o["id"] is JsonValue v && v.GetValueKind() == JsonValueKind.String)
            {
                map.TryAdd(v.GetValue<string>(), o);
            }
        }
        return map;
    }

    private static ObjectChange Describe(string id, JsonObject o, ChangeKind kind, bool moved, IReadOnlyList<PropertyChange> props) =>
        new(id, Str(o["type"]) ?? "", Str(o["name"]) ?? Str(o["label"]), Str(o["z"]), kind, moved, props);

    private static HashSet<WireRef> Wires(IEnumerable<JsonObject> objects)
    {
        var set = new HashSet<WireRef>();
        foreach (var o in objects)
        {
            if (o["wires"] is not JsonArray ports || Str(o["id"]) is not { } id)
            {
                continue;
            }
            for (var port = 0; port < ports.Count; port++)
            {
                if (ports[port] is JsonArray targets)
                {
                    foreach (var t in targets)
                    {
                        if (Str(t) is { } target)
                        {
                            set.Add(new WireRef(id, port, target));
                        }
                    }
                }
            }
        }
        return set;
    }

    private static string? Str(JsonNode? n) => n is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    private static bool MultiLine(JsonNode? n) => Str(n) is { } s && s.Contains('\n', StringComparison.Ordinal);

    private static string? Text(JsonNode? n) => n is null ? null : Str(n) ?? n.ToJsonString();
}
