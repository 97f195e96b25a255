using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowFleet.Runtime.Flows;

/// <summary>
/// A parsed Node-RED flow file. The original objects are kept as they came (unknown properties and unknown node
/// types survive a round trip); the indexes below only point into them.
/// </summary>
public sealed partial class FlowDocument
{
    private readonly Dictionary<string, ReadOnlyMemory<byte>> _itemJson;

    private FlowDocument(JsonArray raw, FlowDocument? previous = null, bool[]? same = null)
    {
        Raw = raw;
        // Sized once: grown from empty, the three indexes of a 1,000-node document allocated twice their final size.
        _itemJson = new(raw.Count, StringComparer.Ordinal);
        ById = new(raw.Count, StringComparer.Ordinal);
        _keys = new(raw.Count, ReferenceEqualityComparer.Instance);
        _reuse = previous is not null && same is not null ? (previous, same) : null;
        _items = Serialize(raw, _reuse);
        Utf8Length = Length(_items);
        using (var utf8 = RentUtf8Json())
        {
            Rev = Convert.ToHexStringLower(SHA256.HashData(utf8.WrittenSpan));
        }
    }

    // The previous document and, per item, whether it was sent byte for byte as that document's item at the same place:
    // its serialised bytes and keys are taken from there (FlowDocumentMemo).
    private (FlowDocument Previous, bool[] Same)? _reuse;

    /// <summary>The flow array as given (treat as read-only).</summary>
    public JsonArray Raw { get; }

    /// <summary>Node-RED's <c>rev</c>: sha256 hex of the serialized flows.</summary>
    public string Rev { get; }

    /// <summary>
    /// The serialized JSON of one object of the document (empty when the id is unknown): a deploy compares an unchanged
    /// node by its bytes instead of walking both trees.
    /// </summary>
    public ReadOnlyMemory<byte> JsonOf(string id) => _itemJson.GetValueOrDefault(id);

    public Dictionary<string, JsonObject> ById { get; }

    /// <summary>
    /// Each object's id, type, container, group, wires, read once from its serialized bytes when the document is indexed
    /// (<see cref="ItemKeys"/>): validation, nesting checks and the deploy planner ask for them several times per node, and
    /// reading them from a parsed object builds every property of it.
    /// </summary>
    private readonly Dictionary<JsonObject, ItemKeys> _keys;

    internal ItemKeys KeysOf(JsonObject o) => _keys[o];

    /// <summary>The id of an object of this document.</summary>
    public string IdOf(JsonObject o) => _keys.TryGetValue(o, out var k) ? k.Id! : Str(o, "id")!;

    /// <summary>The type of an object of this document.</summary>
    public string TypeOf(JsonObject o) => _keys.TryGetValue(o, out var k) ? k.Type! : Str(o, "type")!;

    /// <summary>The tab or subflow an object of this document is on (null when none).</summary>
    public string? ZOf(JsonObject o) => _keys.TryGetValue(o, out var k) ? k.Z : Str(o, "z");

    /// <summary>Whether an object of this document is disabled (Node-RED's <c>d</c>).</summary>
    public bool IsDisabled(JsonObject o) => _keys.TryGetValue(o, out var k) ? k.Disabled : Flag(o, "d");

    /// <summary>Whether any object of the document carries <c>credentials</c> (they are stored apart from the flows).</summary>
    public bool HasCredentials { get; private set; }

    public List<JsonObject> Tabs { get; } = [];

    public Dictionary<string, JsonObject> Subflows { get; } = new(StringComparer.Ordinal);

    public List<JsonObject> Groups { get; } = [];

    /// <summary>Nodes with both x and y (flow nodes), including those inside subflow definitions.</summary>
    public List<JsonObject> FlowNodes { get; } = [];

    /// <summary>Everything else that is not a tab, subflow or group.</summary>
    public List<JsonObject> ConfigNodes { get; } = [];

    /// <summary>
    /// The <c>env</c> list of Node-RED 4's <c>global-config</c> node (its global environment variables), or null: read
    /// after a node's group and flow env, before the process environment.
    /// </summary>
    public JsonArray? GlobalEnv => _globalEnv ??= ConfigNodes.FirstOrDefault(c => c["type"] is JsonValue t && t.TryGetValue<string>(out var s) && s == "global-config")?["env"] as JsonArray ?? [];

    private JsonArray? _globalEnv;

    public static readonly FlowDocument Empty = Parse("[]");

    /// <summary>Parses and validates flow JSON text; throws <see cref="FlowValidationException"/> listing every problem.</summary>
    public static FlowDocument Parse(string json)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new FlowValidationException([$"Flows are not valid JSON: {ex.Message}"]);
        }
        return From(node);
    }

    /// <summary>Validates a flow array. The node is copied, so later changes to it don't affect the document.</summary>
    public static FlowDocument From(JsonNode? node) => Create(node, copy: true);

    /// <summary>
    /// Validates a flow array the caller hands over (a request body just parsed, a version just read): no copy is made, so
    /// the caller must not change the array afterwards.
    /// </summary>
    public static FlowDocument Adopt(JsonNode? node) => Create(node, copy: false);

    /// <summary>
    /// <see cref="Adopt(JsonNode?)"/> taking each item marked in <paramref name="same"/> from <paramref name="previous"/>'s
    /// item at the same place instead of serialising and reading it again: the caller has checked that the client sent
    /// those items byte for byte as it sent them for <paramref name="previous"/>, so they parse to the same JSON.
    /// </summary>
    internal static FlowDocument Adopt(JsonArray array, FlowDocument previous, bool[] same) =>
        same.Length == array.Count && previous._items.Length == array.Count ? Create(array, copy: false, previous, same) : Create(array, copy: false);

    private static FlowDocument Create(JsonNode? node, bool copy, FlowDocument? previous = null, bool[]? same = null)
    {
        if (node is not JsonArray array)
        {
            throw new FlowValidationException([$"Flows must be a JSON array, got {(node is null ? "null" : node.GetValueKind().ToString().ToLowerInvariant())}"]);
        }
        var doc = new FlowDocument(copy ? (JsonArray)array.DeepClone() : array, previous, same);
        var errors = new List<string>();
        doc.Index(errors);
        // Not kept: a document holding the one before it would hold every document ever deployed.
        doc._reuse = null;
        if (errors.Count == 0)
        {
            doc.Check(errors);
        }
        if (errors.Count == 0)
        {
            FlowNesting.Check(doc, errors);
        }
        if (errors.Count > 0)
        {
            throw new FlowValidationException(errors);
        }
        return doc;
    }

    private void Index(List<string> errors)
    {
        for (var i = 0; i < Raw.Count; i++)
        {
            if (Raw[i] is not JsonObject o)
            {
                errors.Add($"Item {i} is not an object");
                continue;
            }
            // A reused item's keys are those of the previous document's object at the same place (a remembered document
            // passed validation, so each of its objects has them).
            var keys = _reuse is { } r && r.Same[i] && r.Previous.Raw[i] is JsonObject before && r.Previous._keys.TryGetValue(before, out var kept)
                ? kept : ItemKeys.Read(_items[i].Span);
            var id = keys.Id;
            var type = keys.Type;
            if (string.IsNullOrEmpty(id))
            {
                errors.Add($"Item {i} has no id");
                continue;
            }
            if (string.IsNullOrEmpty(type))
            {
                errors.Add($"Node {id} has no type");
                continue;
            }
            if (keys.Duplicate is { } name)
            {
                // A parsed object refuses to build with a property named twice: said here, not as a failure later.
                errors.Add($"Node {id} has the property '{name}' twice");
                continue;
            }
            if (!ById.TryAdd(id, o))
            {
                errors.Add($"Duplicate id {id}");
                continue;
            }
            _itemJson[id] = _items[i];
            _keys[o] = keys;
            HasCredentials |= keys.HasCredentials;
            switch (type)
            {
                case "tab":
                    Tabs.Add(o);
                    break;
                case "subflow":
                    Subflows[id] = o;
                    break;
                case "group":
                    Groups.Add(o);
                    break;
                default:
                    if (keys.HasX && keys.HasY)
                    {
                        FlowNodes.Add(o);
                    }
                    else
                    {
                        ConfigNodes.Add(o);
                    }
                    break;
            }
        }
    }

    private void Check(List<string> errors)
    {
        var flowNodeIds = new HashSet<string>(FlowNodes.Count, StringComparer.Ordinal);
        foreach (var n in FlowNodes)
        {
            flowNodeIds.Add(IdOf(n));
        }
        foreach (var n in FlowNodes.Concat(Groups))
        {
            var id = IdOf(n);
            var z = ZOf(n);
            if (string.IsNullOrEmpty(z))
            {
                errors.Add($"Node {id} ({TypeOf(n)}) is not on a tab");
            }
            else if (!IsContainer(z))
            {
                errors.Add($"Node {id} ({TypeOf(n)}) is on a missing tab or subflow {z}");
            }
        }
        foreach (var c in ConfigNodes)
        {
            var z = ZOf(c);
            if (!string.IsNullOrEmpty(z) && !IsContainer(z))
            {
                errors.Add($"Config node {IdOf(c)} is on a missing tab or subflow {z}");
            }
        }
        foreach (var n in FlowNodes)
        {
            var id = IdOf(n);
            var type = TypeOf(n);
            if (type.StartsWith("subflow:", StringComparison.Ordinal) && !Subflows.ContainsKey(type["subflow:".Length..]))
            {
                errors.Add($"Node {id} is an instance of missing subflow {type["subflow:".Length..]}");
            }
            var keys = _keys[n];
            if (keys.Wires == ItemKeys.WiresShape.None)
            {
                continue;
            }
            if (keys.Wires == ItemKeys.WiresShape.Other)
            {
                errors.Add($"Node {id}: wires must be an array of arrays");
                continue;
            }
            foreach (var problem in keys.WiresProblems ?? [])
            {
                errors.Add($"Node {id}: {problem}");
            }
            foreach (var targets in keys.Ports!)
            {
                foreach (var target in targets ?? [])
                {
                    if (!flowNodeIds.Contains(target))
                    {
                        errors.Add($"Node {id} ({type}) is wired to missing node {target}");
                    }
                }
            }
        }
    }

    private bool IsContainer(string id) => ById.TryGetValue(id, out var c) && TypeOf(c) is "tab" or "subflow";

    public static string? Str(JsonObject o, string key) =>
        o.TryGetPropertyValue(key, out var v) && v is JsonValue jv && jv.GetValueKind() == JsonValueKind.String ? jv.GetValue<string>() : null;

    public static bool Flag(JsonObject o, string key) =>
        o.TryGetPropertyValue(key, out var v) && v is JsonValue jv && jv.GetValueKind() == JsonValueKind.True;
}

/// <summary>A flow document was rejected; <see cref="Errors"/> says why, one line each.</summary>
public sealed class FlowValidationException(IReadOnlyList<string> errors)
    : Exception("Invalid flows: " + string.Join("; ", errors.Take(20)) + (errors.Count > 20 ? $" (and {errors.Count - 20} more)" : ""))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
