using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Plugins.Sample;

/// <summary>Averages the last N numeric payloads (per topic) — a sample .NET plugin node type.</summary>
[NodeType("rolling average", Category = "function", Color = "#c0deed", Icon = "functions", Help = """
    Sends the average of the last **size** numeric payloads received on the same `msg.topic`, in `msg.payload`,
    with the window in `msg.window`. Non-numeric payloads are reported as errors.
    """)]
public sealed class RollingAverageNode : FlowNode<RollingAverageConfig>
{
    private readonly Dictionary<string, Queue<double>> _windows = new(StringComparer.Ordinal);

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(msg);
        var value = JsonTools.ToNumber(msg.Payload);
        if (double.IsNaN(value))
        {
            throw new InvalidOperationException("payload is not a number");
        }
        var key = msg.Topic ?? "";
        if (!_windows.TryGetValue(key, out var window))
        {
            _windows[key] = window = new Queue<double>();
        }
        window.Enqueue(value);
        while (window.Count > Math.Max(1, Config.Size))
        {
            window.Dequeue();
        }
        msg.Payload = JsonTools.Number(window.Average());
        msg["window"] = window.Count;
        Node.Send(msg);
        return ValueTask.CompletedTask;
    }
}

public sealed class RollingAverageConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "5", UiHint = PropertyUi.Number, Label = "Window size", Required = true)]
    public int Size { get; set; } = 5;
}
