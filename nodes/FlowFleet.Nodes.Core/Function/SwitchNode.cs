using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;
using FlowFleet.Runtime.Scripting.Jsonata;

namespace FlowFleet.Nodes.Core.Function;

/// <summary>Node-RED's switch: routes a message to the outputs whose rules match a property.</summary>
[NodeType("switch", Category = "function", Color = "#e2d96e", Icon = "call_split", OutputsProperty = "outputs",
    Help = """
    Tests a property (`msg`, `flow`, `global` or `env`) against rules, one output per rule: ==, !=, <, <=, >, >=, between,
    contains, matches regex, is true/false/null/not null, is empty/not empty, is of type, has key, sequence head/tail/index,
    JSONata expression is true (with `$I`/`$N` in a sequence), otherwise. Property and values may be JSONata expressions. With **checking all rules** (`checkall` not "false") a message goes to every matching output; else to the first.
    """)]
public sealed partial class SwitchNode : FlowNode<SwitchConfig>
{
    public override bool RunsInline => true;

    // Operand types whose value does not depend on the message or any context: evaluated once per rule.
    private static readonly HashSet<string> ConstantTypes = new(StringComparer.Ordinal) { "num", "str", "bool", "json", "bin", "re" };

    private readonly Dictionary<(int Rule, string Key), JsonNode?> _constants = [];
    private JsonNode? _previous;
    private bool _hasPrevious;
    private bool _usesPrevious;
    private readonly Dictionary<(int Rule, string Key), JsonataExpression> _expressions = [];
    private JsonataExpression? _propertyExpression;

    /// <summary>False when an expression is invalid: Node-RED's switch then never handles messages.</summary>
    private bool _valid = true;

    /// <summary>A rule's JSONata expression failed for this message (already reported).</summary>
    private sealed class RuleFailedException : Exception;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _checkAll = CheckAll(Node.Config);
        // Only a rule comparing with the previous value needs a copy of each value kept.
        _usesPrevious = (Config.Rules ?? []).OfType<JsonObject>().Any(r => r["vt"]?.ToString() == "prev" || r["v2t"]?.ToString() == "prev");
        if (Config.PropertyType == "jsonata")
        {
            _propertyExpression = PrepareOrReport(Config.Property ?? "");
        }
        var rules = Config.Rules ?? [];
        for (var i = 0; i < rules.Count && _valid; i++)
        {
            foreach (var (valueKey, typeKey) in new[] { ("v", "vt"), ("v2", "v2t") })
            {
                if (rules[i] is JsonObject rule && rule[typeKey]?.ToString() == "jsonata" && (valueKey == "v" || rule.ContainsKey("v2"))
                    && PrepareOrReport(rule[valueKey] is { } v ? JsonTools.ToJsString(v) : "") is { } expression)
                {
                    _expressions[(i, valueKey)] = expression;
                }
            }
        }
        return Task.CompletedTask;
    }

    private JsonataExpression? PrepareOrReport(string text)
    {
        var expression = JsonataExpression.PrepareOrReport(text, Node);
        _valid &= expression is not null;
        return expression;
    }

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        if (!_valid)
        {
            return ValueTask.CompletedTask;
        }
        JsonNode? value;
        bool exists;
        if (_propertyExpression is not null)
        {
            try
            {
                var result = _propertyExpression.Evaluate(msg);
                (value, exists) = (result.Value, result.IsDefined);
            }
            catch (JsonataException ex)
            {
                // Node-RED warns (not catchable) and drops the message.
                Node.Warn("Invalid JSONata expression: " + ex.Message);
                return ValueTask.CompletedTask;
            }
        }
        else
        {
            (value, exists) = Property(msg);
        }
        try
        {
            Route(msg, value, exists);
        }
        catch (RuleFailedException)
        {
            // Reported with the message (catch nodes see it); nothing is sent.
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>A rule's operator, value type and case flag, read from its JSON once: per message they were string decodes.</summary>
    private readonly record struct RuleInfo(JsonObject Rule, string Op, bool OpIsString, string? Vt, bool VtIsString, bool IgnoreCase);

    private RuleInfo[]? _ruleInfos;

    // Read at start: per message, reading it was a string decode behind a generic virtual call (~6 % of a switch-heavy
    // flow's CPU in the throughput bench).
    private bool _checkAll;

    /// <summary>Only the string "false" turns checkall off; boolean false still checks all rules (Node-RED's quirk).</summary>
    private static bool CheckAll(JsonObject config) =>
        config["checkall"] is not JsonValue cv || !cv.TryGetValue<string>(out var s) || s != "false";

    private static RuleInfo[] ReadRules(JsonArray rules)
    {
        var infos = new RuleInfo[rules.Count];
        for (var i = 0; i < infos.Length; i++)
        {
            var rule = rules[i] as JsonObject ?? [];
            var t = rule["t"];
            var vt = rule["vt"];
            string? op = null, type = null;
            var opIsString = t is null || (t is JsonValue tv && tv.TryGetValue(out op));
            var vtIsString = vt is null || (vt is JsonValue vv && vv.TryGetValue(out type));
            infos[i] = new RuleInfo(rule, op ?? "eq", opIsString, type, vtIsString, JsonTools.IsTruthy(rule["case"]));
        }
        return infos;
    }

    private void Route(FlowMessage msg, JsonNode? value, bool exists)
    {
        var rules = Config.Rules ?? [];
        var infos = _ruleInfos ??= ReadRules(rules);
        var checkAll = _checkAll;
        var parts = msg.Data["parts"] as JsonObject;
        var repair = Config.Repair && parts is not null && parts.ContainsKey("id") && parts.ContainsKey("index");
        // The ports list is built only for a second hit or a repair: the usual single hit goes straight to its port.
        var ports = repair ? NoPorts(rules.Count) : null;
        var hits = 0;
        var lastHit = -1;
        var matched = false;
        for (var i = 0; i < rules.Count; i++)
        {
            var info = infos[i];
            var rule = info.Rule;
            if (!info.OpIsString)
            {
                // A rule whose "t" is not a string fails each message, as reading it did before it was cached.
                _ = rule["t"]!.GetValue<string>();
            }
            var op = info.Op;
            bool hit;
            if (op == "else")
            {
                hit = !matched;
            }
            else
            {
                if (!info.VtIsString)
                {
                    _ = rule["vt"]!.GetValue<string>();
                }
                // istype keeps the type name in vt (Node-RED's editor writes v and vt alike).
                var b = op == "istype" ? JsonValue.Create(info.Vt ?? JsonTools.ToJsString(rule["v"])) : Operand(i, rule, "v", "vt", msg);
                if (info.Vt is "json" or "null" && op != "istype")
                {
                    // Node-RED compares json/null-typed rule values as the strings "json"/"null" (its own TODO says so).
                    b = JsonValue.Create(info.Vt);
                }
                var c = op is "btwn" or "index" ? Operand(i, rule, "v2", "v2t", msg) : null;
                hit = SwitchRules.Test(op, value, exists, b, c, info.IgnoreCase, parts);
            }
            if (op == "else")
            {
                // Node-RED's elseflag: "otherwise" matches when nothing matched since the previous "otherwise".
                matched = hit;
                if (hit)
                {
                    (hits, lastHit) = Hit(ref ports, rules.Count, msg, hits, lastHit, i);
                    if (!checkAll)
                    {
                        break;
                    }
                }
                continue;
            }
            if (hit)
            {
                matched = true;
                (hits, lastHit) = Hit(ref ports, rules.Count, msg, hits, lastHit, i);
                if (!checkAll)
                {
                    break;
                }
            }
        }
        if (_usesPrevious)
        {
            _previous = JsonDepth.Clone(value);
            _hasPrevious = true;
        }
        if (repair)
        {
            Repair(ports!, msg, parts!);
        }
        else if (hits == 1)
        {
            // The usual case, one matching rule: straight to its port.
            Node.Send(lastHit, msg);
        }
        else if (hits > 1)
        {
            Node.Send(ports!);
        }
    }

    private static List<IReadOnlyList<FlowMessage>?> NoPorts(int count)
    {
        var ports = new List<IReadOnlyList<FlowMessage>?>(count);
        for (var i = 0; i < count; i++)
        {
            ports.Add(null);
        }
        return ports;
    }

    /// <summary>
    /// Records a matching rule; the ports list (every matching port holding the same one-message list) is made once a
    /// second rule matches, or up front for a repair.
    /// </summary>
    private static (int Hits, int LastHit) Hit(ref List<IReadOnlyList<FlowMessage>?>? ports, int count, FlowMessage msg, int hits, int lastHit, int port)
    {
        if (ports is null && hits > 0)
        {
            ports = NoPorts(count);
            ports[lastHit] = [msg];
        }
        if (ports is not null)
        {
            ports[port] = hits > 0 ? ports[lastHit] : [msg];
        }
        return (hits + 1, port);
    }

    private (JsonNode? Value, bool Exists) Property(FlowMessage msg)
    {
        var type = Config.PropertyType ?? "msg";
        var path = Config.Property ?? "payload";
        if (type == "msg")
        {
            // Read only (compared, or copied as the previous value): an unread component of a device report stays unbuilt.
            var found = PropertyPath.Parse(path).TryRead(msg.Data, out var v);
            return (v, found);
        }
        var value = Node.Evaluate(type, JsonValue.Create(path), msg);
        return (value, value is not null);
    }

    private JsonNode? Operand(int index, JsonObject rule, string valueKey, string typeKey, FlowMessage msg)
    {
        if (_constants.TryGetValue((index, valueKey), out var constant))
        {
            return constant;
        }
        var raw = rule[valueKey];
        var text = raw is null ? null : JsonTools.ToJsString(raw);
        var type = rule[typeKey]?.GetValue<string>() ?? SwitchRules.DefaultValueType(text);
        if (_expressions.TryGetValue((index, valueKey), out var expression))
        {
            return EvaluateRule(expression, rule, msg);
        }
        var value = type switch
        {
            "prev" => _hasPrevious ? _previous : null,
            "re" => JsonValue.Create(text ?? ""),
            _ => Node.Evaluate(type, JsonValue.Create(text ?? ""), msg),
        };
        if (ConstantTypes.Contains(type))
        {
            _constants[(index, valueKey)] = value;
        }
        return value;
    }
}

/// <summary>The switch node's JSONata rule values.</summary>
public sealed partial class SwitchNode
{
    private JsonNode? EvaluateRule(JsonataExpression expression, JsonObject rule, FlowMessage msg)
    {
        // A "JSONata expression is true" rule sees the position in a message sequence as $I and $N.
        Dictionary<string, JsonNode?>? bindings = null;
        if (rule["t"]?.ToString() == "jsonata_exp" && msg.Data["parts"] is JsonObject parts && parts.ContainsKey("id") && parts.ContainsKey("index"))
        {
            bindings = new() { ["I"] = parts["index"]?.DeepClone(), ["N"] = parts["count"]?.DeepClone() };
        }
        try
        {
            return expression.Evaluate(msg, bindings).Value;
        }
        catch (JsonataException ex)
        {
            Node.Error("Invalid JSONata expression: " + ex.Message, msg);
            throw new RuleFailedException();
        }
    }
}

public sealed class SwitchConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"payload\"", UiHint = PropertyUi.Typed, TypeProperty = "propertyType", Types = ["msg", "flow", "global", "jsonata", "env"], Label = "Property")]
    public string? Property { get; set; } = "payload";

    [NodeProperty(Default = "\"msg\"", UiHint = PropertyUi.Hidden)]
    public string? PropertyType { get; set; } = "msg";

    [NodeProperty(Default = """[{"t":"eq","v":"","vt":"str"}]""", Rules = RuleList.Switch, OutputPerRule = true, Label = "Rules")]
    public JsonArray? Rules { get; set; }

    [NodeProperty(Default = "\"true\"", UiHint = PropertyUi.Select, Options = ["true:checking all rules", "false:stopping after first match"], Label = "Mode")]
    public string? Checkall { get; set; } = "true";

    [NodeProperty(Default = "false", UiHint = PropertyUi.Checkbox, Label = "Recreate message sequences")]
    public bool Repair { get; set; }

    [NodeProperty(Default = "1", UiHint = PropertyUi.Hidden)]
    public int Outputs { get; set; } = 1;
}
