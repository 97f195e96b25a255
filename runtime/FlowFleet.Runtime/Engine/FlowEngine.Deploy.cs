using System.Text.Json.Nodes;
using FlowFleet.Runtime.Context;
using FlowFleet.Runtime.Engine;
using FlowFleet.Runtime.Flows;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using Microsoft.Extensions.Logging;

namespace FlowFleet.Runtime;

public sealed partial class FlowEngine
{
    private HashSet<string> Changed(Dictionary<string, NodeSpec> newSpecs, DeployType type)
    {
        var all = newSpecs.Keys.ToHashSet(StringComparer.Ordinal);
        if (type == DeployType.Full)
        {
            return all;
        }
        var changed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (id, spec) in newSpecs)
        {
            if (!_specs.TryGetValue(id, out var old) || !spec.SameAs(old))
            {
                changed.Add(id);
            }
        }
        // A config node that changed or went away: every node naming it must restart; a global one makes the deploy full.
        var changedConfigs = _specs.Values.Where(s => s.IsConfig && (!newSpecs.TryGetValue(s.Id, out var n) || !n.SameAs(s)))
            .Select(s => s.Alias).Concat(newSpecs.Values.Where(s => s.IsConfig && changed.Contains(s.Id)).Select(s => s.Alias))
            .ToHashSet(StringComparer.Ordinal);
        if (changedConfigs.Count > 0)
        {
            if (_specs.Values.Concat(newSpecs.Values).Any(s => s.IsConfig && s.Scope.Id == "global" && changedConfigs.Contains(s.Alias)))
            {
                return all;
            }
            foreach (var spec in newSpecs.Values.Where(s => References(s.Config, changedConfigs)))
            {
                changed.Add(spec.Id);
            }
        }
        if (type == DeployType.Flows)
        {
            ExpandToConnected(newSpecs, changed);
        }
        return changed;
    }

    private void ExpandToConnected(Dictionary<string, NodeSpec> newSpecs, HashSet<string> changed)
    {
        var neighbours = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        void Link(string a, string b)
        {
            (neighbours.TryGetValue(a, out var l) ? l : neighbours[a] = []).Add(b);
        }
        foreach (var spec in newSpecs.Values)
        {
            foreach (var t in spec.Wires.SelectMany(w => w))
            {
                Link(spec.Id, t);
                Link(t, spec.Id);
            }
        }
        var tabsChanged = newSpecs.Values.Where(s => _specs.TryGetValue(s.Id, out var o) && o.Scope.Signature != s.Scope.Signature)
            .Select(s => s.Scope.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var s in newSpecs.Values.Where(s => tabsChanged.Contains(s.Scope.Id)))
        {
            changed.Add(s.Id);
        }
        var queue = new Queue<string>(changed);
        while (queue.TryDequeue(out var id))
        {
            foreach (var n in neighbours.GetValueOrDefault(id) ?? [])
            {
                if (changed.Add(n))
                {
                    queue.Enqueue(n);
                }
            }
        }
    }

    private static bool References(JsonNode? node, HashSet<string> ids) => node switch
    {
        JsonObject o => o.Any(kv => kv.Key is not "id" and not "z" and not "wires" && References(kv.Value, ids)),
        JsonArray a => a.Any(x => References(x, ids)),
        JsonValue v => v.TryGetValue<string>(out var s) && ids.Contains(s),
        _ => false,
    };

    private async Task CloseAsync(List<RunningNode> nodes, HashSet<string> removedIds)
    {
        // Flow nodes first, config nodes last (they may hold connections the others use).
        foreach (var batch in new[] { nodes.Where(n => !n.Spec.IsConfig), nodes.Where(n => n.Spec.IsConfig) })
        {
            await Task.WhenAll(batch.Select(n => n.CloseAsync(removedIds.Contains(n.Id))));
        }
        // A full deploy closes every node: no copy of all 1,000 to remove them from again.
        var next = nodes.Count == _running.Count ? new Dictionary<string, RunningNode>(StringComparer.Ordinal)
            : new Dictionary<string, RunningNode>(_running, StringComparer.Ordinal);
        foreach (var n in nodes)
        {
            next.Remove(n.Id);
            if (removedIds.Contains(n.Id))
            {
                Contexts.DeleteScope(ContextManager.NodeScope(n.Alias, n.FlowId));
            }
        }
        _running = next;
    }

    /// <summary>The nodes a deploy puts in place before they are built (<see cref="Prepare"/>) and started (<see cref="Start"/>).</summary>
    private sealed record PendingStart(List<RunningNode> Created, List<(RunningNode Node, NodeDescriptor Descriptor)> ToBuild, List<string> Warnings);

    /// <summary>
    /// Puts a node in place for every spec to start, without building it yet: wired in, so messages for it wait in its
    /// queue until it runs (its loop starts once it is built). Unknown types are reported here and wired to nobody.
    /// </summary>
    private PendingStart Prepare(Dictionary<string, NodeSpec> specs, HashSet<string> toStart)
    {
        var warnings = new List<string>();
        // Sized for what is added (a copy of the nodes left running is sized for those alone).
        var next = new Dictionary<string, RunningNode>(_running.Count + toStart.Count, StringComparer.Ordinal);
        foreach (var (id, running) in _running)
        {
            next[id] = running;
        }
        var scopes = BuildScopes(specs);
        var created = new List<RunningNode>();
        var toBuild = new List<(RunningNode, NodeDescriptor)>();
        // Config nodes first so flow nodes can find them while they start.
        // Filtered before sorted: a `nodes` deploy of one change sorts one node, not all 1,000.
        foreach (var spec in specs.Values.Where(s => toStart.Contains(s.Id)).OrderBy(s => s.IsConfig ? 0 : 1))
        {
            var descriptor = spec.IsSubflowInstance ? SubflowInstanceNode.Descriptor : Registry.Find(spec.Type);
            var node = new RunningNode(this, spec, scopes[spec.Scope.Id], hasInput: !spec.IsConfig);
            next[spec.Id] = node;
            created.Add(node);
            if (descriptor is null)
            {
                if (!spec.IsConfig || !IsEditorOnlyConfig(spec.Type))
                {
                    warnings.Add($"Unknown node type '{spec.Type}' ({spec.Id}): kept in the flows, not run");
                    node.Status(new NodeStatus("red", "ring", "unknown type"));
                }
                continue;
            }
            node.Building = true;
            toBuild.Add((node, descriptor));
        }
        foreach (var (id, running) in next)
        {
            var spec = specs[id];
            running.Spec = spec;
            running.Scope = scopes[spec.Scope.Id];
        }
        foreach (var scope in scopes.Values)
        {
            scope.InstanceNode = scope.Spec.InstanceNodeId is { } instanceId ? next.GetValueOrDefault(instanceId) : null;
        }
        foreach (var running in next.Values)
        {
            // A node left running keeps its targets unless one of them was replaced (a `nodes` deploy of one change re-wires
            // that node and its senders, not all 1,000).
            if (toStart.Contains(running.Id) || WiredTo(running.Spec, toStart))
            {
                Wire(running, next);
            }
            if (running.Instance is not null)
            {
                running.Scope.AddObserver(running);
            }
        }
        _running = next;
        return new PendingStart(created, toBuild, warnings);
    }

    private static bool WiredTo(NodeSpec spec, HashSet<string> ids)
    {
        foreach (var port in spec.Wires)
        {
            foreach (var target in port)
            {
                if (ids.Contains(target))
                {
                    return true;
                }
            }
        }
        return false;
    }

    /// <summary>A node's targets per port: those built or being built (a node that failed to build, or of an unknown type, takes nothing).</summary>
    private static void Wire(RunningNode running, Dictionary<string, RunningNode> nodes)
    {
        var ports = running.Spec.Wires;
        var wires = new RunningNode[ports.Count][];
        for (var p = 0; p < wires.Length; p++)
        {
            // Filled in place (no list per port per node): cut short only when a target is missing.
            var targets = ports[p].Count == 0 ? [] : new RunningNode[ports[p].Count];
            var n = 0;
            foreach (var id in ports[p])
            {
                if (nodes.TryGetValue(id, out var t) && (t.Instance is not null || t.Building))
                {
                    targets[n++] = t;
                }
            }
            wires[p] = n == targets.Length ? targets : targets[..n];
        }
        running.Wires = wires;
    }

    /// <summary>Builds and starts the nodes <see cref="Prepare"/> put in place; the deploy lock is held.</summary>
    private (int Started, List<string> Warnings) Start(PendingStart pending)
    {
        var warnings = pending.Warnings;
        var failed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (node, descriptor) in pending.ToBuild)
        {
            var spec = node.Spec;
            try
            {
                // "${" cannot be escaped in serialized JSON: a node without it in its bytes has nothing to substitute.
                var config = !spec.Json.IsEmpty && spec.Json.Span.IndexOf("${"u8) < 0 ? spec.Config : WithEnv(node);
                node.Instance = descriptor.Create(new NodeFactoryContext(config, node, Services)
                {
                    ConfigJson = ReferenceEquals(config, spec.Config) ? spec.Json : default,
                });
                node.Scope.AddObserver(node);
            }
#pragma warning disable CA1031 // A node that fails to build is reported; the rest of the flows still run.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                warnings.Add($"Node {spec.Id} ({spec.Type}) failed to start: {ex.Message}");
                node.Error($"Failed to start: {ex.Message}");
                node.Status(new NodeStatus("red", "ring", "error"));
                failed.Add(spec.Id);
            }
            finally
            {
                node.Building = false;
            }
        }
        if (failed.Count > 0)
        {
            // Nobody sends to a node that failed to build (as to one of an unknown type).
            var running = _running;
            foreach (var n in running.Values.Where(n => WiredTo(n.Spec, failed)))
            {
                Wire(n, running);
            }
        }
        foreach (var node in pending.Created)
        {
            if (node.Instance is { } instance)
            {
                try
                {
                    instance.StartAsync(node.Closing).GetAwaiter().GetResult();
                }
#pragma warning disable CA1031 // As above: one failing node does not stop the deploy.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    warnings.Add($"Node {node.Id} ({node.Type}) failed to start: {ex.Message}");
                    node.Error($"Failed to start: {ex.Message}");
                }
            }
            // Its input runs only once it is started (change and switch nodes prepare their rules in StartAsync): what was
            // sent to it while the deploy built and started the nodes before it waits in its queue until now.
            node.StartLoop();
        }
        _warnings = warnings;
        return (pending.Created.Count, warnings);
    }

    /// <summary>
    /// A node's config with <c>${NAME}</c> substituted. Its own method: a lambda capturing the node inside the build loop
    /// made the loop allocate a closure for every node, substitution or not.
    /// </summary>
    private JsonObject WithEnv(RunningNode node) => EnvSubstitution.Apply(node.Spec.Config, n => GetEnv(node, n));

    /// <summary>Config node types that exist only for the editor (Node-RED's UI themes and the like) are not worth a warning.</summary>
    private static bool IsEditorOnlyConfig(string type) => type.StartsWith("ui_", StringComparison.Ordinal) || type.StartsWith("ui-", StringComparison.Ordinal);

    private Dictionary<string, RuntimeScope> BuildScopes(Dictionary<string, NodeSpec> specs)
    {
        var result = new Dictionary<string, RuntimeScope>(StringComparer.Ordinal);
        RuntimeScope Get(ScopeSpec s)
        {
            if (result.TryGetValue(s.Id, out var existing))
            {
                return existing;
            }
            var parent = s.Parent is null ? null : Get(s.Parent);
            var scope = new RuntimeScope(s, parent);
            result[s.Id] = scope;
            return scope;
        }
        foreach (var spec in specs.Values)
        {
            Get(spec.Scope);
        }
        return result;
    }

    private static HashSet<string> ActiveScopes(Dictionary<string, NodeSpec> specs)
    {
        var set = new HashSet<string>(StringComparer.Ordinal) { "global" };
        foreach (var s in specs.Values)
        {
            set.Add(s.Scope.Id);
            set.Add(ContextManager.NodeScope(s.Alias, s.Scope.Id));
        }
        return set;
    }

    /// <summary>Finds a node by runtime id, or by its flow-file id inside the caller's subflow instance.</summary>
    internal RunningNode? Find(string id, RuntimeScope? from)
    {
        var running = _running;
        for (var s = from; s is not null; s = s.Parent)
        {
            if (s.Spec.InstanceNodeId is { } prefix && running.TryGetValue(prefix + "-" + id, out var inner))
            {
                return inner;
            }
        }
        return running.GetValueOrDefault(id);
    }

    internal string? GetEnv(RunningNode node, string name) =>
        GetEnvValue(node, name) is { } v ? JsonTools.ToJsString(v) : null;

    /// <summary>An environment value as Node-RED evaluates it: typed flow/group env (num, bool, json) keeps its type.</summary>
    internal JsonNode? GetEnvValue(RunningNode node, string name)
    {
        switch (name)
        {
            case "NR_NODE_ID": return node.Alias;
            case "NR_NODE_NAME": return node.Name;
            case "NR_FLOW_ID": return node.Scope.Id;
            case "NR_FLOW_NAME": return node.Scope.Spec.Label;
            case "NR_GROUP_ID": return node.Spec.Config["g"]?.GetValue<string>();
            case "NR_GROUP_NAME":
                return node.Spec.Config["g"]?.GetValue<string>() is { } gid && Current.ById.TryGetValue(gid, out var grp) ? grp["name"]?.GetValue<string>() : null;
            case "NR_NODE_PATH": return PathOf(node.Scope) + "/" + node.Alias;
        }
        for (var g = node.Spec.Config["g"]?.GetValue<string>(); g is not null && Current.ById.TryGetValue(g, out var group);
             g = group["g"]?.GetValue<string>())
        {
            if (Lookup(group["env"] as JsonArray, name, node.Scope) is { } v)
            {
                return v;
            }
        }
        for (var s = node.Scope.Spec; s is not null; s = s.Parent)
        {
            foreach (var env in s.Env)
            {
                if (Lookup(env, name, node.Scope) is { } v)
                {
                    return v;
                }
            }
        }
        // Node-RED 4: the global-config node's env comes after every flow level, before the process's.
        if (Lookup(Current.GlobalEnv, name, node.Scope) is { } global)
        {
            return global;
        }
        return Options.Env.TryGetValue(name, out var o) ? o : Environment.GetEnvironmentVariable(name);
    }

    private static JsonNode? ParseEnvJson(string value)
    {
        try
        {
            return JsonTools.Parse(value);
        }
        catch (System.Text.Json.JsonException)
        {
            // Node-RED leaves an env value that is not valid JSON as it is written.
            return value;
        }
    }

    /// <summary>Node-RED's flow path: the tab id, then the id of each subflow instance down to the node's own scope.</summary>
    private static string PathOf(RuntimeScope scope) =>
        scope.Parent is { } parent && scope.InstanceNode is { } instance ? PathOf(parent) + "/" + instance.Alias : scope.Id;

    private JsonNode? Lookup(JsonArray? env, string name, RuntimeScope scope)
    {
        if (env is null)
        {
            return null;
        }
        foreach (var e in env)
        {
            if (e is JsonObject o && o["name"]?.GetValue<string>() == name)
            {
                var value = o["value"] is { } v ? JsonTools.ToJsString(v) : "";
                return o["type"]?.GetValue<string>() switch
                {
                    "env" => scope.Parent is not null ? Environment.GetEnvironmentVariable(value) : Options.Env.GetValueOrDefault(value) ?? Environment.GetEnvironmentVariable(value),
                    // Node-RED's evaluateEnvProperties: typed values keep their type.
                    "num" => JsonTools.Number(JsonTools.StringToNumber(value)),
                    "bool" => value == "true",
                    "json" => ParseEnvJson(value),
                    _ => value,
                };
            }
        }
        return null;
    }
}

/// <summary>The node standing for a subflow instance in its parent flow: its input feeds the subflow's input.</summary>
internal sealed class SubflowInstanceNode : FlowNode
{
    public static readonly NodeDescriptor Descriptor = new()
    {
        Type = "subflow",
        Category = "subflows",
        Inputs = 1,
        Outputs = 1,
        Create = ctx => new SubflowInstanceNode { Node = ctx.Host },
    };

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        Node.Send(msg);
        return ValueTask.CompletedTask;
    }
}
