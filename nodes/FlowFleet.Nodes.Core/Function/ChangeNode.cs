using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using FlowFleet.Runtime.Scripting.Jsonata;

namespace FlowFleet.Nodes.Core.Function;

/// <summary>Node-RED's change: set, change (search/replace), delete and move message and context properties.</summary>
[NodeType("change", Category = "function", Color = "#e2d96e", Icon = "shuffle",
    Help = """
    Applies rules in order: **set** a property to a value, **change** (search and replace, regex with `fromt: re`),
    **delete** a property, **move** it elsewhere. Properties may be `msg`, `flow` or `global` (with a store as
    `#:(store)::key`). Values are typed: string, number, boolean, JSON, buffer, timestamp, msg/flow/global, env, or a
    JSONata expression evaluated against the message.
    """)]
public sealed partial class ChangeNode : FlowNode<ChangeConfig>, INodeLabel
{
    public override bool RunsInline => true;

    private readonly List<Rule> _rules = [];

    private sealed record Rule(string T, string P, string Pt, string? To, string Tot, JsonNode? Constant, Regex? From, JsonNode? FromValue, string Fromt, bool Dc)
    {
        public JsonataExpression? Expression { get; init; }
    }

    /// <summary>False when a rule could not be prepared (an invalid JSONata expression): the node then ignores messages, as Node-RED's does.</summary>
    private bool _valid = true;

    /// <summary>A rule's JSONata expression failed for this message: reported, and the message goes no further.</summary>
    private sealed class RuleFailedException : Exception;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var raw in RawRules())
        {
            var t = raw["t"]?.GetValue<string>() ?? "set";
            var tot = raw["tot"]?.GetValue<string>() ?? "str";
            var to = raw["to"] is { } toNode ? JsonTools.ToJsString(toNode) : "";
            JsonataExpression? expression = null;
            if (tot == "jsonata" && t is "set" or "change")
            {
                expression = JsonataExpression.PrepareOrReport(to, Node);
                if (expression is null)
                {
                    _valid = false;
                    continue;
                }
            }
            // num, bool and env values are fixed when the node starts, as Node-RED does.
            var constant = tot is "num" or "bool" or "env" ? Node.Evaluate(tot, JsonValue.Create(to), null) : null;
            // Node-RED migrates the old `re` flag of change rules to fromt "re".
            var fromt = t == "change" && JsonTools.IsTruthy(raw["re"]) ? "re" : raw["fromt"]?.GetValue<string>() ?? "str";
            Regex? from = null;
            JsonNode? fromValue = null;
            if (t == "change")
            {
                var fromText = raw["from"] is { } f ? JsonTools.ToJsString(f) : "";
                if (fromt is "msg" or "flow" or "global" or "env")
                {
                    fromValue = JsonValue.Create(fromText);
                }
                else
                {
                    try
                    {
                        from = new Regex(fromt == "re" ? fromText : Regex.Escape(fromText), RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
                    }
                    catch (ArgumentException ex)
                    {
                        // As Node-RED: reported once, and the node then ignores its input.
                        _valid = false;
                        Node.Error("Invalid 'from' property: " + (JsRegExp.SyntaxError(fromText, "g") ?? ex.Message));
                        continue;
                    }
                    fromValue = fromt is "num" or "bool" ? Node.Evaluate(fromt, JsonValue.Create(fromText), null) : JsonValue.Create(fromText);
                }
            }
            _rules.Add(new Rule(t, raw["p"]?.GetValue<string>() ?? "payload", raw["pt"]?.GetValue<string>() ?? "msg", to, tot, constant,
                from, fromValue, fromt, JsonTools.IsTruthy(raw["dc"])) { Expression = expression });
        }
        return Task.CompletedTask;
    }

    /// <summary>Rules, or the single rule of flows saved before Node-RED 0.12 (action/property/from/to/reg).</summary>
    private IEnumerable<JsonNode> RawRules()
    {
        if (Node.Config["rules"] is JsonArray rules)
        {
            return rules.OfType<JsonNode>();
        }
        var action = Node.Config["action"]?.GetValue<string>();
        if (string.IsNullOrEmpty(action))
        {
            return [];
        }
        var rule = new JsonObject
        {
            ["t"] = action == "replace" ? "set" : action,
            ["p"] = Node.Config["property"]?.DeepClone() ?? "payload",
            ["pt"] = "msg",
            ["to"] = Node.Config["to"]?.DeepClone() ?? "",
            ["tot"] = "str",
            ["from"] = Node.Config["from"]?.DeepClone() ?? "",
            ["fromt"] = JsonTools.IsTruthy(Node.Config["reg"]) ? "re" : "str",
        };
        return [rule];
    }

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        if (!_valid)
        {
            return ValueTask.CompletedTask;
        }
        try
        {
            foreach (var rule in _rules)
            {
                Apply(rule, msg);
            }
        }
        catch (RuleFailedException)
        {
            return ValueTask.CompletedTask;
        }
        Node.Send(msg);
        return ValueTask.CompletedTask;
    }

    private void Apply(Rule rule, FlowMessage msg)
    {
        switch (rule.T)
        {
            case "set":
                {
                    var v = ValueOf(rule, msg, out var defined);
                    // Setting undefined (a missing msg property or context key) deletes, as Node-RED's setMessageProperty does.
                    if (!defined || v is null && rule.Constant is null && rule.Expression is null && !TypedInput.IsDefined(rule.Tot, JsonValue.Create(rule.To), msg, v))
                    {
                        Delete(rule.Pt, rule.P, msg);
                    }
                    else
                    {
                        Set(rule.Pt, rule.P, v, msg);
                    }
                }
                break;
            case "delete":
                Delete(rule.Pt, rule.P, msg);
                break;
            case "move":
                if (rule.Pt == rule.Tot && rule.P == rule.To)
                {
                    break;
                }
                // Deleting a msg property detaches its value, which can then move without a copy.
                var value = Get(rule.Pt, rule.P, msg);
                if (rule.Pt != "msg")
                {
                    value = JsonDepth.Clone(value);
                }
                Delete(rule.Pt, rule.P, msg);
                Set(rule.Tot, rule.To ?? "", value, msg);
                break;
            case "change":
                Change(rule, msg);
                break;
        }
    }

    private JsonNode? ValueOf(Rule rule, FlowMessage msg) => ValueOf(rule, msg, out _);

    private JsonNode? ValueOf(Rule rule, FlowMessage msg, out bool defined)
    {
        defined = true;
        JsonNode? value;
        if (rule.Expression is { } expression)
        {
            JsonataResult result;
            try
            {
                result = expression.Evaluate(msg);
            }
            catch (JsonataException ex)
            {
                // Node-RED: node.error(err, msg) reaches catch nodes; the message is not sent on.
                Node.Error("Invalid JSONata expression: " + ex.Message, msg);
                throw new RuleFailedException();
            }
            defined = result.IsDefined;
            value = result.Value;
        }
        else
        {
            // A plain string is the string itself (what the typed input would make of it, without a second node per message).
            value = rule.Constant is not null ? rule.Constant.DeepClone()
                : rule.Tot == "str" ? JsonValue.Create(rule.To ?? "")
                : Node.Evaluate(rule.Tot, JsonValue.Create(rule.To), msg);
        }
        return rule.Dc || value?.Parent is not null ? JsonDepth.Clone(value) : value;
    }

    private void Change(Rule rule, FlowMessage msg)
    {
        var current = Get(rule.Pt, rule.P, msg);
        var from = rule.Fromt is "msg" or "flow" or "global" or "env"
            ? Node.Evaluate(rule.Fromt, rule.FromValue, msg)
            : rule.FromValue;
        if (JsonTools.IsString(current, out var text))
        {
            var regex = rule.From ?? new Regex(Regex.Escape(JsonTools.ToJsString(from)), RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            var to = ValueOf(rule, msg);
            var match = regex.Match(text);
            if (!match.Success)
            {
                return;
            }
            if (match.Value == text && rule.Tot is "num" or "bool" or "json" or "bin" or "msg" or "flow" or "global")
            {
                // The whole string matched: the typed value replaces it (a number stays a number).
                Set(rule.Pt, rule.P, to, msg);
                return;
            }
            var replacement = JsonTools.ToJsString(to);
            Set(rule.Pt, rule.P, JsonValue.Create(rule.Fromt == "re" ? regex.Replace(text, replacement) : regex.Replace(text, replacement.Replace("$", "$$", StringComparison.Ordinal))), msg);
        }
        else if (current is JsonValue && from is JsonValue && JsonTools.LooseEquals(current, from) && JsonTools.TypeOf(current) == JsonTools.TypeOf(from))
        {
            Set(rule.Pt, rule.P, ValueOf(rule, msg), msg);
        }
    }

    private JsonNode? Get(string scope, string path, FlowMessage msg) => scope switch
    {
        "msg" => PropertyPath.Parse(NestedPath.Resolve(path, msg.Data)).Get(msg.Data),
        "flow" or "global" => Context(scope, path, out var store, out var key).Get(key, store),
        _ => null,
    };

    private void Set(string scope, string path, JsonNode? value, FlowMessage msg)
    {
        if (scope == "msg")
        {
            PropertyPath.Parse(NestedPath.Resolve(path, msg.Data)).Set(msg.Data, value);
        }
        else
        {
            Context(scope, path, out var store, out var key).Set(key, value, store);
        }
    }

    private void Delete(string scope, string path, FlowMessage msg)
    {
        if (scope == "msg")
        {
            PropertyPath.Parse(NestedPath.Resolve(path, msg.Data)).Delete(msg.Data);
        }
        else
        {
            Context(scope, path, out var store, out var key).Set(key, null, store);
        }
    }

    private Runtime.Context.IContextScope Context(string scope, string path, out string? store, out string key)
    {
        (store, key) = TypedInput.ParseContextKey(path);
        return scope == "flow" ? Node.FlowContext : Node.GlobalContext;
    }
}

public sealed class ChangeConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = """[{"t":"set","p":"payload","pt":"msg","to":"","tot":"str"}]""", Rules = RuleList.Change, Label = "Rules")]
    public JsonArray? Rules { get; set; }
}
