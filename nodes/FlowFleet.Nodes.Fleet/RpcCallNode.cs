using System.Text.Json.Nodes;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Registry;
using FlowFleet.Fleet.Rpc;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Fleet;

/// <summary>Calls any RPC method on one device, a group, a tag or a list of devices.</summary>
[NodeType("rpc call", Category = "fleet", Inputs = 1, Outputs = 1, Color = "#7fb7df", Icon = "call_split", LabelProperty = "method",
    Help = """
    Calls `method` (or `msg.method`) with `params` (JSON; empty = `msg.params`, or `msg.payload` when it is an object).
    One device: `msg.payload` = the device's result (an error goes to catch nodes with `msg.error`). Several devices: `output`
    `array` sends one message with `[{id, ok, result|error, durationMs}]`, `each` sends one message per device with `msg.topic` = id.
    `timeout` in seconds.
    """)]
public sealed class RpcCallNode(DeviceHub hub, IDeviceStore devices) : FlowNode<RpcCallConfig>
{
    /// <summary>Calls in flight at once: a slow or silent device must not hold up the messages behind it.</summary>
    public const int MaxInFlight = 64;

    private readonly SemaphoreSlim _slots = new(MaxInFlight);

    public override async ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken);
        Node.DeferDone();
        _ = Task.Run(async () =>
        {
            try
            {
                await CallAsync(msg, Node.Closing);
            }
            catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
            {
                if (!Node.Closing.IsCancellationRequested)
                {
                    Node.Error(ex.Message, msg);
                }
            }
            finally
            {
                _slots.Release();
                Node.Done(msg);
            }
        }, CancellationToken.None);
    }

    private async Task CallAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        var method = string.IsNullOrWhiteSpace(Config.Method) ? JsonTools.ToJsString(msg.Data["method"]) : Config.Method.Trim();
        if (string.IsNullOrWhiteSpace(method) || method == "undefined")
        {
            throw new InvalidOperationException("rpc call: no method (set one or send msg.method)");
        }
        var parameters = Params(msg);
        var ids = FleetTargets.Resolve(devices, Config.TargetType, Config.Target, msg);
        if (ids.Count == 0)
        {
            throw new InvalidOperationException("rpc call: no target device");
        }
        var server = FleetServerLookup.Of(Node, Config.Server);
        var timeout = Config.Timeout is > 0 ? TimeSpan.FromSeconds(Config.Timeout.Value) : server?.Timeout;
        var single = ids.Count == 1 && Config.TargetType is "device" or "msg" && msg.Data["device"] is not JsonArray;
        if (single)
        {
            var r = await FleetRpc.CallOneAsync(hub, ids[0], method, parameters, timeout, "flow:" + Node.Id, cancellationToken);
            Node.Status(r.Ok ? new NodeStatus("green", "dot", $"{method} ok {r.DurationMs:0} ms") : new NodeStatus("red", "ring", $"{r.ErrorCode}"));
            msg.Data["topic"] = ids[0];
            if (!r.Ok)
            {
                msg.Data["error"] = new JsonObject { ["message"] = r.Error, ["code"] = r.ErrorCode, ["device"] = ids[0] };
                Node.Error($"{method} on {ids[0]} failed: {r.Error}", msg);
                return;
            }
            msg.Payload = r.Result?.DeepClone();
            Node.Send(msg);
            return;
        }
        var results = await FleetRpc.CallManyAsync(hub, ids, method, parameters, timeout, "flow:" + Node.Id, server?.Concurrency ?? 64, ct: cancellationToken);
        var failed = results.Count(r => !r.Ok);
        Node.Status(failed == 0 ? new NodeStatus("green", "dot", $"{method}: {results.Count} ok") : new NodeStatus("yellow", "ring", $"{method}: {failed}/{results.Count} failed"));
        if (Config.Output == "each")
        {
            foreach (var r in results)
            {
                var m = msg.Clone();
                m.Data["topic"] = r.DeviceId;
                m.Payload = r.Ok ? r.Result?.DeepClone() : null;
                if (!r.Ok)
                {
                    m.Data["error"] = new JsonObject { ["message"] = r.Error, ["code"] = r.ErrorCode, ["device"] = r.DeviceId };
                }
                Node.Send(m);
            }
            return;
        }
        msg.Payload = new JsonArray(results.Select(r => (JsonNode?)r.ToJson()).ToArray());
        Node.Send(msg);
    }

    private JsonNode? Params(FlowMessage msg)
    {
        if (!string.IsNullOrWhiteSpace(Config.Params))
        {
            try
            {
                return JsonNode.Parse(Mustache(Config.Params, msg));
            }
            catch (System.Text.Json.JsonException ex)
            {
                throw new InvalidOperationException("rpc call: params is not valid JSON: " + ex.Message, ex);
            }
        }
        return msg.Data["params"]?.DeepClone() ?? (msg.Payload is JsonObject o ? o.DeepClone() : null);
    }

    /// <summary>Replaces <c>{{payload}}</c>-style references in the params template with message values (as JSON).</summary>
    private static string Mustache(string template, FlowMessage msg)
    {
        if (!template.Contains("{{", StringComparison.Ordinal))
        {
            return template;
        }
        var sb = new System.Text.StringBuilder();
        var i = 0;
        while (i < template.Length)
        {
            var open = template.IndexOf("{{", i, StringComparison.Ordinal);
            var close = open < 0 ? -1 : template.IndexOf("}}", open, StringComparison.Ordinal);
            if (open < 0 || close < 0)
            {
                sb.Append(template, i, template.Length - i);
                break;
            }
            sb.Append(template, i, open - i);
            var path = template[(open + 2)..close].Trim();
            var value = PropertyPath.Parse(path).Get(msg.Data);
            sb.Append(value?.ToJsonString() ?? "null");
            i = close + 2;
        }
        return sb.ToString();
    }
}

public sealed class RpcCallConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Config, ConfigType = "fleet server", Label = "Fleet")]
    public string? Server { get; set; }

    [NodeProperty(Default = "\"msg\"", UiHint = PropertyUi.Select, Options = ["device:Device", "group:Group", "tag:Tag", "all:All devices", "msg:From msg.topic / msg.device"], Label = "Devices")]
    public string? TargetType { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Device id / group / tag")]
    public string? Target { get; set; }

    [NodeProperty(Default = "\"Shelly.GetStatus\"", Label = "Method")]
    public string? Method { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Json, Label = "Params", Help = "JSON; {{payload}} inserts a message value; empty = msg.params or msg.payload")]
    public string? Params { get; set; }

    [NodeProperty(Default = "\"array\"", UiHint = PropertyUi.Select, Options = ["array:One message with all results", "each:One message per device"], Label = "Output")]
    public string? Output { get; set; }

    [NodeProperty(Default = "10", UiHint = PropertyUi.Number, Label = "Timeout (s)")]
    public double? Timeout { get; set; }
}
