using System.Text.Json;
using System.Text.Json.Nodes;

namespace FlowFleet.Server.Tests.NodeRed;

/// <summary>
/// One differential case, read from <c>NodeRedCases/*.json</c>: a flow fragment, the messages to send into it and
/// the inject nodes to press. The same expanded flow runs on Node-RED and on FlowFleet.
/// </summary>
/// <remarks>
/// Case file: <c>{"node": "switch", "cases": [{"name", "nodes": [...], "send": [msg...], "to"?, "steps"?, "env"?,
/// "ignore"?, "known"?}]}</c>. Wire targets the case does not define become debug nodes showing the complete message.
/// Each message in <c>send</c> becomes an inject node wired to <c>to</c> (default: the first node). <c>steps</c> is an
/// explicit list of <c>{"inject": id}</c>, <c>{"send": msg, "to"?: id}</c> and <c>{"await": n}</c> (wait until n debug
/// messages arrived on both sides). <c>known</c> names a difference not fixed yet (the case must still differ).
/// </remarks>
public sealed class DiffCase
{
    public required string File { get; init; }

    public required string NodeType { get; init; }

    public required string Name { get; init; }

    public required JsonObject Source { get; init; }

    public string? Known => Source["known"]?.GetValue<string>();

    public string Key => NodeType + ": " + Name;

    public IReadOnlyList<string> Ignore =>
        Source["ignore"] is JsonArray a ? a.Select(x => x!.GetValue<string>()).ToList() : [];

    public override string ToString() => Key;

    public static string CasesDirectory => Path.Combine(AppContext.BaseDirectory, "NodeRedCases");

    public static IReadOnlyList<DiffCase> LoadAll()
    {
        var list = new List<DiffCase>();
        foreach (var file in Directory.GetFiles(CasesDirectory, "*.json").Order(StringComparer.Ordinal))
        {
            var doc = JsonNode.Parse(System.IO.File.ReadAllText(file), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true })!.AsObject();
            if (doc["node"] is not JsonValue typeName)
            {
                continue; // Not a case file (examples-known.json).
            }
            var type = typeName.GetValue<string>();
            foreach (var c in doc["cases"]!.AsArray().OfType<JsonObject>())
            {
                list.Add(new DiffCase { File = Path.GetFileName(file), NodeType = type, Name = c["name"]!.GetValue<string>(), Source = c });
            }
        }
        list.AddRange(ExampleCases.Load());
        var dup = list.GroupBy(c => c.Key).FirstOrDefault(g => g.Count() > 1);
        return dup is null ? list : throw new InvalidOperationException("Two cases are named " + dup.Key);
    }

    /// <summary>The case as flow JSON on its own tab, every id prefixed so cases can share one deployment.</summary>
    public ExpandedCase Expand(int index)
    {
        var prefix = $"c{index}_";
        var tab = "flowtab";
        var nodes = Source["nodes"]!.AsArray().OfType<JsonObject>().Select(n => (JsonObject)n.DeepClone()).ToList();
        var ids = nodes.Select(n => n["id"]!.GetValue<string>()).ToHashSet(StringComparer.Ordinal);
        var first = nodes.FirstOrDefault(n => n["wires"] is not null && n["type"]!.GetValue<string>() != "inject")?["id"]?.GetValue<string>();
        var steps = new List<JsonObject>();
        // One inject node per target, pressed with the message's properties as __user_inject_props__: messages from
        // one node keep their order on both runtimes.
        var injects = new Dictionary<string, string>(StringComparer.Ordinal);
        JsonObject InjectFor(JsonObject msg, string? to)
        {
            var target = to ?? first ?? throw new InvalidOperationException("no node to send to");
            if (!injects.TryGetValue(target, out var id))
            {
                id = "inj" + injects.Count;
                injects[target] = id;
                nodes.Add(new JsonObject
                {
                    ["id"] = id, ["type"] = "inject", ["name"] = "", ["props"] = new JsonArray(), ["repeat"] = "", ["crontab"] = "",
                    ["once"] = false, ["onceDelay"] = 0.1, ["topic"] = "", ["wires"] = new JsonArray(new JsonArray(target)),
                });
                ids.Add(id);
            }
            var props = new JsonArray();
            foreach (var (k, v) in msg)
            {
                props.Add(Prop(k, v));
            }
            return new JsonObject { ["inject"] = id, ["props"] = props };
        }
        foreach (var m in Source["send"]?.AsArray().OfType<JsonObject>() ?? [])
        {
            steps.Add(InjectFor(m, Source["to"]?.GetValue<string>()));
        }
        foreach (var s in Source["steps"]?.AsArray().OfType<JsonObject>() ?? [])
        {
            steps.Add(s["send"] is JsonObject m ? InjectFor(m, s["to"]?.GetValue<string>()) : (JsonObject)s.DeepClone());
        }
        foreach (var s in steps)
        {
            Rename(s, ids, prefix);
        }
        // Undefined wire targets become debug nodes showing the whole message.
        foreach (var target in nodes.ToList().SelectMany(n => n["wires"]?.AsArray().OfType<JsonArray>().SelectMany(p => p).Select(x => x!.GetValue<string>()) ?? []))
        {
            if (ids.Add(target))
            {
                nodes.Add(new JsonObject
                {
                    ["id"] = target, ["type"] = "debug", ["name"] = "", ["active"] = true, ["tosidebar"] = true, ["console"] = false,
                    ["tostatus"] = false, ["complete"] = "true", ["targetType"] = "full", ["statusVal"] = "", ["statusType"] = "auto", ["wires"] = new JsonArray(),
                });
            }
        }
        var tabNode = new JsonObject { ["id"] = tab, ["type"] = "tab", ["label"] = Key, ["disabled"] = false, ["info"] = "", ["env"] = Source["env"]?.DeepClone() ?? new JsonArray() };
        ids.Add(tab);
        foreach (var n in nodes)
        {
            // global-config only counts where Node-RED looks for it: global, on no tab.
            if (!n.ContainsKey("z") && n["type"]!.GetValue<string>() is not ("tab" or "subflow" or "global-config"))
            {
                n["z"] = tab;
            }
            if (n.ContainsKey("wires") && !n.ContainsKey("x"))
            {
                n["x"] = 200;
                n["y"] = 100;
            }
        }
        var all = new JsonArray { tabNode };
        foreach (var n in nodes)
        {
            all.Add(n);
        }
        Rename(all, ids, prefix);
        return new ExpandedCase(this, prefix, prefix + tab, all, steps);
    }

    private static JsonObject Prop(string key, JsonNode? value)
    {
        var (v, vt) = value switch
        {
            JsonValue s when s.GetValueKind() == JsonValueKind.String => (s.GetValue<string>(), "str"),
            JsonValue n when n.GetValueKind() == JsonValueKind.Number => (n.ToJsonString(), "num"),
            JsonValue b when b.GetValueKind() is JsonValueKind.True or JsonValueKind.False => (b.ToJsonString(), "bool"),
            JsonObject o when o.Count == 2 && o["type"]?.GetValue<string>() == "Buffer" && o["data"] is JsonArray d => (d.ToJsonString(), "bin"),
            _ => (value?.ToJsonString() ?? "null", "json"),
        };
        return new JsonObject { ["p"] = key, ["v"] = v, ["vt"] = vt };
    }

    /// <summary>Prefixes every string that names one of the case's ids (ids, wires, links, scopes, group members).</summary>
    private static void Rename(JsonNode node, HashSet<string> ids, string prefix)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var key in o.Select(kv => kv.Key).ToList())
                {
                    if (key is "props" or "rules" or "func" or "template" or "payload" or "info")
                    {
                        continue;
                    }
                    if (o[key] is JsonValue v && v.TryGetValue<string>(out var s))
                    {
                        o[key] = key == "type" ? (s.StartsWith("subflow:", StringComparison.Ordinal) ? Renamed(s, ids, prefix) : s) : Renamed(s, ids, prefix);
                    }
                    else if (o[key] is { } child)
                    {
                        Rename(child, ids, prefix);
                    }
                }
                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    if (a[i] is JsonValue v && v.TryGetValue<string>(out var s))
                    {
                        a[i] = Renamed(s, ids, prefix);
                    }
                    else if (a[i] is { } child)
                    {
                        Rename(child, ids, prefix);
                    }
                }
                break;
        }
    }

    private static string Renamed(string s, HashSet<string> ids, string prefix) =>
        ids.Contains(s) ? prefix + s
        : s.StartsWith("subflow:", StringComparison.Ordinal) && ids.Contains(s[8..]) ? "subflow:" + prefix + s[8..]
        : s;
}

/// <summary>A case laid out for deployment: its tab, nodes and the steps that drive it.</summary>
public sealed record ExpandedCase(DiffCase Case, string Prefix, string TabId, JsonArray Nodes, IReadOnlyList<JsonObject> Steps);
