using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Nodes.Core.Function;

/// <summary>
/// "Recreate message sequences": the messages of one sequence (<c>msg.parts.id</c>) are held until all arrived, then
/// each output gets its own sequence with a new id, indexes from 0 and the count of what went to that output.
/// </summary>
public sealed partial class SwitchNode
{
    private const int MaxHeldSequences = 1000;

    private readonly Dictionary<string, List<IReadOnlyList<FlowMessage>?[]>> _held = new(StringComparer.Ordinal);

    private void Repair(List<IReadOnlyList<FlowMessage>?> ports, FlowMessage msg, JsonObject parts)
    {
        var id = JsonTools.ToJsString(parts["id"]);
        if (!_held.TryGetValue(id, out var group))
        {
            if (_held.Count >= MaxHeldSequences)
            {
                _held.Clear();
                Node.Error("Too many pending messages", msg);
            }
            group = [];
            _held[id] = group;
        }
        group.Add([.. ports]);
        if (group.Count < JsonTools.ToNumber(parts["count"]))
        {
            return;
        }
        _held.Remove(id);
        var width = ports.Count;
        var counts = new int[width];
        foreach (var onward in group)
        {
            for (var j = 0; j < width; j++)
            {
                counts[j] += onward[j] is null ? 0 : 1;
            }
        }
        var ids = Enumerable.Range(0, width).Select(_ => MessageId.New()).ToArray();
        var indexes = new int[width];
        foreach (var onward in group)
        {
            var send = new List<IReadOnlyList<FlowMessage>?>(width);
            for (var j = 0; j < width; j++)
            {
                if (onward[j] is [var m, ..])
                {
                    var copy = m.Clone();
                    var p = copy.Data["parts"]!.AsObject();
                    p["id"] = ids[j];
                    p["index"] = indexes[j]++;
                    p["count"] = counts[j];
                    send.Add([copy]);
                }
                else
                {
                    send.Add(null);
                }
            }
            Node.Send(send);
        }
    }
}
