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
}
