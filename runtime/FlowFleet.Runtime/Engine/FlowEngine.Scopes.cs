using System.Text.Json.Nodes;
using FlowFleet.Runtime.Context;
using FlowFleet.Runtime.Engine;
using FlowFleet.Runtime.Flows;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Runtime;

/// <summary>
/// Subflow scopes and environment variables: the scope each node runs in (its tab, then each subflow instance down to it),
/// how a node finds another inside its caller's instance, and how <c>env</c> values resolve as Node-RED resolves them.
/// </summary>
public sealed partial class FlowEngine
{
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
