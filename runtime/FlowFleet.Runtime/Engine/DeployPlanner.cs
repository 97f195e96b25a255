using System.Text.Json.Nodes;
using FlowFleet.Runtime.Flows;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Runtime.Engine;

/// <summary>Turns a flow document into the nodes to run: skips disabled tabs and nodes, expands subflow instances.</summary>
internal static class DeployPlanner
{
    private static readonly string[] s_positionKeys = ["x", "y", "w", "h"];

    public static Dictionary<string, NodeSpec> Plan(FlowDocument doc)
    {
        var specs = new Dictionary<string, NodeSpec>(doc.FlowNodes.Count + doc.ConfigNodes.Count, StringComparer.Ordinal);
        var plan = new Input(doc);
        var global = new ScopeSpec { Id = "global", Label = "global" };
        foreach (var c in doc.ConfigNodes.Where(c => string.IsNullOrEmpty(doc.ZOf(c))))
        {
            AddConfig(plan, specs, c, global, "", "");
        }
        foreach (var tab in doc.Tabs)
        {
            if (FlowDocument.Flag(tab, "disabled"))
            {
                continue;
            }
            var tabId = doc.IdOf(tab);
            var scope = new ScopeSpec
            {
                Id = tabId,
                Label = FlowDocument.Str(tab, "label"),
                Env = tab["env"] is JsonArray env ? [env] : [],
                Signature = Signature(tab),
            };
            AddContainer(plan, specs, tabId, scope, prefix: "", outMap: null);
        }
        return specs;
    }

    /// <summary>The document with its nodes grouped by container once, instead of a scan of every node per tab and subflow.</summary>
    private sealed class Input
    {
        public Input(FlowDocument doc)
        {
            Doc = doc;
            Groups = doc.Groups.ToDictionary(doc.IdOf, StringComparer.Ordinal);
            foreach (var n in doc.FlowNodes)
            {
                Add(doc, FlowNodes, n);
            }
            foreach (var c in doc.ConfigNodes)
            {
                Add(doc, ConfigNodes, c);
            }
        }

        public FlowDocument Doc { get; }

        public Dictionary<string, JsonObject> Groups { get; }

        /// <summary>Enabled flow nodes by their <c>z</c>.</summary>
        public Dictionary<string, List<JsonObject>> FlowNodes { get; } = new(StringComparer.Ordinal);

        /// <summary>Enabled config nodes by their <c>z</c>.</summary>
        public Dictionary<string, List<JsonObject>> ConfigNodes { get; } = new(StringComparer.Ordinal);

        public List<JsonObject> In(Dictionary<string, List<JsonObject>> byContainer, string containerId) =>
            byContainer.GetValueOrDefault(containerId) ?? [];

        private static void Add(FlowDocument doc, Dictionary<string, List<JsonObject>> byContainer, JsonObject n)
        {
            if (doc.ZOf(n) is { Length: > 0 } z && !doc.IsDisabled(n))
            {
                (byContainer.TryGetValue(z, out var list) ? list : byContainer[z] = []).Add(n);
            }
        }
    }

    private static void AddContainer(Input plan, Dictionary<string, NodeSpec> specs,
        string containerId, ScopeSpec scope, string prefix, Func<string, int, List<string>>? outMap)
    {
        var enabled = plan.In(plan.FlowNodes, containerId).ToDictionary(plan.Doc.IdOf, StringComparer.Ordinal);
        foreach (var c in plan.In(plan.ConfigNodes, containerId))
        {
            AddConfig(plan, specs, c, scope, prefix, scope.Signature);
        }
        foreach (var (id, n) in enabled)
        {
            var keys = plan.Doc.KeysOf(n);
            var type = keys.Type!;
            var wires = Wires(keys, enabled, prefix);
            if (outMap is not null)
            {
                for (var port = 0; port < wires.Count; port++)
                {
                    wires[port].AddRange(outMap(id, port));
                }
                // A subflow output can be fed by a port that has no wires of its own.
                for (var port = wires.Count; port < 16; port++)
                {
                    var extra = outMap(id, port);
                    if (extra.Count == 0)
                    {
                        break;
                    }
                    wires.Add(extra);
                }
            }
            var runtimeId = prefix + id;
            var groupId = keys.G;
            if (type.StartsWith("subflow:", StringComparison.Ordinal) && plan.Doc.Subflows.TryGetValue(type["subflow:".Length..], out var def))
            {
                AddSubflowInstance(plan, specs, n, def, runtimeId, scope, wires);
                continue;
            }
            specs[runtimeId] = new NodeSpec
            {
                Id = runtimeId,
                Alias = id,
                Type = type,
                Config = n,
                Json = plan.Doc.JsonOf(id),
                Scope = scope,
                Wires = wires,
                GroupId = groupId is not null ? prefix + groupId : null,
                // Wires are compared as lists (NodeSpec.SameAs): no string per node per deploy.
                Signature = GroupEnv(plan.Groups, groupId) is { Length: > 0 } env ? scope.Signature + env : scope.Signature,
            };
        }
    }

    /// <summary>
    /// A node's wire targets per port that are enabled in its container, as runtime ids (loops, not LINQ: this runs for
    /// every node of every deploy).
    /// </summary>
    private static List<List<string>> Wires(ItemKeys node, Dictionary<string, JsonObject> enabled, string prefix)
    {
        if (node.Ports is not { } ports)
        {
            return [];
        }
        var result = new List<List<string>>(ports.Count);
        foreach (var targets in ports)
        {
            var list = new List<string>(targets?.Count ?? 0);
            foreach (var target in targets ?? [])
            {
                if (target.Length > 0 && enabled.ContainsKey(target))
                {
                    list.Add(prefix.Length == 0 ? target : prefix + target);
                }
            }
            result.Add(list);
        }
        return result;
    }

    private static void AddSubflowInstance(Input plan, Dictionary<string, NodeSpec> specs,
        JsonObject instance, JsonObject def, string runtimeId, ScopeSpec parent, List<List<string>> instanceWires)
    {
        var defId = plan.Doc.IdOf(def);
        var prefix = runtimeId + "-";
        var inner = new ScopeSpec
        {
            Id = runtimeId,
            Label = FlowDocument.Str(def, "name"),
            Parent = parent,
            InstanceNodeId = runtimeId,
            Env = new[] { instance["env"] as JsonArray, def["env"] as JsonArray }.OfType<JsonArray>().ToList(),
            Signature = Signature(instance) + "|" + Signature(def) + "|" + parent.Signature,
        };
        var outs = def["out"] as JsonArray ?? [];
        List<string> OutMap(string innerId, int port)
        {
            var result = new List<string>();
            for (var k = 0; k < outs.Count; k++)
            {
                if (outs[k]?["wires"] is not JsonArray ws)
                {
                    continue;
                }
                foreach (var w in ws)
                {
                    if (w?["id"]?.GetValue<string>() == innerId && (int)JsonTools.ToNumber(w["port"]) == port && k < instanceWires.Count)
                    {
                        result.AddRange(instanceWires[k]);
                    }
                }
            }
            return result;
        }
        var inputTargets = new List<string>();
        if (def["in"] is JsonArray ins && ins.Count > 0 && ins[0]?["wires"] is JsonArray inWires)
        {
            foreach (var w in inWires)
            {
                var target = w?["id"]?.GetValue<string>();
                if (target is not null)
                {
                    inputTargets.Add(prefix + target);
                }
            }
        }
        // Input wired straight through to an output.
        inputTargets.AddRange(OutMap(defId, 0));
        specs[runtimeId] = new NodeSpec
        {
            Id = runtimeId,
            Alias = plan.Doc.IdOf(instance),
            Type = plan.Doc.TypeOf(instance),
            Config = instance,
            Json = plan.Doc.JsonOf(plan.Doc.IdOf(instance)),
            Scope = parent,
            Wires = [inputTargets],
            IsSubflowInstance = true,
            Signature = inner.Signature + "|" + string.Join(";", instanceWires.Select(w => string.Join(",", w))),
        };
        AddContainer(plan, specs, defId, inner, prefix, OutMap);
    }

    private static void AddConfig(Input plan, Dictionary<string, NodeSpec> specs, JsonObject c, ScopeSpec scope, string prefix, string scopeSignature)
    {
        var id = plan.Doc.IdOf(c);
        specs[prefix + id] = new NodeSpec
        {
            Id = prefix + id,
            Alias = id,
            Type = plan.Doc.TypeOf(c),
            Config = c,
            Json = plan.Doc.JsonOf(id),
            Scope = scope,
            IsConfig = true,
            Signature = scopeSignature,
        };
    }

    private static string GroupEnv(Dictionary<string, JsonObject> groups, string? groupId) =>
        groupId is not null && groups.TryGetValue(groupId, out var g) && g["env"] is JsonArray env ? "|" + env.ToJsonString() : "";

    /// <summary>
    /// Whether two node objects are the same but for position and wires (moving a node does not restart it). Compared in
    /// place: a deploy of 1,000 unchanged nodes no longer copies and serialises each of them to tell.
    /// </summary>
    public static bool SameConfig(JsonObject a, JsonObject b)
    {
        var count = 0;
        foreach (var (k, v) in a)
        {
            if (Ignored(k))
            {
                continue;
            }
            count++;
            if (!b.TryGetPropertyValue(k, out var other) || !JsonNode.DeepEquals(v, other))
            {
                return false;
            }
        }
        foreach (var (k, _) in b)
        {
            if (!Ignored(k))
            {
                count--;
            }
        }
        return count == 0;
    }

    private static bool Ignored(string key) => key == "wires" || Array.IndexOf(s_positionKeys, key) >= 0;

    /// <summary>The node's JSON without its position, so moving a node does not restart it (tabs and subflows).</summary>
    public static string Signature(JsonObject node)
    {
        var copy = new JsonObject();
        foreach (var (k, v) in node)
        {
            if (Array.IndexOf(s_positionKeys, k) < 0 && k != "wires")
            {
                copy[k] = v?.DeepClone();
            }
        }
        return copy.ToJsonString();
    }
}
