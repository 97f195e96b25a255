using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Scripting.Jsonata;

namespace FlowFleet.Nodes.Core.Sequence;

/// <summary>
/// The join node's reduce mode (Node-RED's <c>reduceMessageGroup</c>): once every part of a sequence has arrived, a JSONata
/// expression folds them in <c>parts.index</c> order (reversed with <c>reduceRight</c>) with <c>$A</c> the accumulator
/// (starting from the typed <c>reduceInit</c>), <c>$I</c> the index and <c>$N</c> the count; an optional fixup
/// expression sees <c>$A</c> and <c>$N</c>. The last message folded carries the result as its payload.
/// </summary>
public sealed partial class JoinNode
{
    private readonly Dictionary<string, List<FlowMessage>> _reduceGroups = new(StringComparer.Ordinal);
    private readonly Dictionary<string, JsonNode?> _reduceCounts = new(StringComparer.Ordinal);
    private JsonataExpression? _reduce;
    private JsonataExpression? _fixup;
    private bool _reduceValid = true;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (Config.Mode == "reduce")
        {
            // As Node-RED: an invalid expression is reported once, and the node then ignores messages.
            _reduceValid = (_reduce = JsonataExpression.PrepareOrReport(Config.ReduceExp ?? "", Node)) is not null
                && (string.IsNullOrEmpty(Config.ReduceFixup) || (_fixup = JsonataExpression.PrepareOrReport(Config.ReduceFixup, Node)) is not null);
        }
        return Task.CompletedTask;
    }

    private void Reduce(FlowMessage msg)
    {
        if (!_reduceValid)
        {
            return;
        }
        if (msg.Data["parts"] is not JsonObject parts)
        {
            Node.Send(msg);
            return;
        }
        var id = parts["id"] is { } idNode ? JsonTools.ToJsString(idNode) : "undefined";
        List<FlowMessage> group;
        JsonNode? count;
        lock (_lock)
        {
            if (!_reduceGroups.TryGetValue(id, out group!))
            {
                _reduceGroups[id] = group = [];
                _reduceCounts[id] = null;
            }
            if (parts.ContainsKey("count") && _reduceCounts[id] is null)
            {
                _reduceCounts[id] = parts["count"]?.DeepClone();
            }
            group.Add(msg);
            count = _reduceCounts[id];
            if (count is null || !JsonTools.IsNumber(count, out var n) || group.Count != n)
            {
                return;
            }
            _reduceGroups.Remove(id);
            _reduceCounts.Remove(id);
        }
        ReduceGroup(group, count);
    }

    private void ReduceGroup(List<FlowMessage> group, JsonNode? count)
    {
        var flag = Config.ReduceRight ? -1 : 1;
        var ordered = group.OrderBy(m => JsonTools.ToNumber((m.Data["parts"] as JsonObject)?["index"]) * flag).ToList();
        JsonNode? accumulator;
        try
        {
            accumulator = Node.Evaluate(Config.ReduceInitType ?? "num", JsonValue.Create(Config.ReduceInit ?? ""), new FlowMessage([]));
        }
        catch (InvalidOperationException ex)
        {
            Node.Error("Invalid JSONata expression: " + ex.Message, ordered[^1]);
            return;
        }
        var last = ordered[^1];
        try
        {
            foreach (var m in ordered)
            {
                var bindings = new Dictionary<string, JsonNode?>
                {
                    ["I"] = (m.Data["parts"] as JsonObject)?["index"]?.DeepClone(), ["N"] = count?.DeepClone(), ["A"] = accumulator,
                };
                accumulator = _reduce!.Evaluate(m, bindings).Value;
            }
            if (_fixup is not null)
            {
                accumulator = _fixup.Evaluate(new JsonObject(), new Dictionary<string, JsonNode?> { ["N"] = count?.DeepClone(), ["A"] = accumulator }).Value;
            }
        }
        catch (JsonataException ex)
        {
            // Node-RED calls done(err) with what JSONata threw: a plain object, not an Error.
            if (ex.Thrown is { } thrown)
            {
                Node.ErrorValue(thrown, last);
            }
            else
            {
                Node.Error(ex.Message, last);
            }
            return;
        }
        last.Data["payload"] = JsonTools.Detach(accumulator);
        Node.Send(last);
    }
}
