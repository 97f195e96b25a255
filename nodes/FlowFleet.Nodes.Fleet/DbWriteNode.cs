using System.Text.Json.Nodes;
using FlowFleet.Fleet.Registry;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Fleet;

/// <summary>Writes rows into a named table, or numeric telemetry for a device, in FlowFleet's SQLite database.</summary>
[NodeType("db write", Category = "storage", Inputs = 1, Outputs = 1, Color = "#c0deed", Icon = "database", LabelProperty = "table",
    Help = """
    `mode` `row`: stores `msg.payload` (any JSON) as a row of `table` (or `msg.table`); read rows back at `GET /api/tables/{table}`.
    `telemetry`: stores every number of `msg.payload` (flattened: `{"switch:0":{"apower":5}}` → `switch:0.apower`) as telemetry of
    device `msg.topic`, charted on the device page and served by `/api/devices/{id}/telemetry`. Passes the message on with `msg.rowId`.
    """)]
public sealed class DbWriteNode(ITelemetryStore telemetry, IDataTableStore tables) : FlowNode<DbWriteConfig>
{
    private long _rows;

    public override async ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        if (Config.Mode == "telemetry")
        {
            var device = JsonTools.ToJsString(msg.Data["topic"]);
            if (string.IsNullOrWhiteSpace(device) || device == "undefined")
            {
                throw new InvalidOperationException("db write: telemetry needs the device id in msg.topic");
            }
            var fields = new List<KeyValuePair<string, double>>();
            switch (msg.Payload)
            {
                case JsonObject o:
                    FlowFleet.Fleet.Protocol.ShellyFrames.FlattenNumbers(o, "", fields);
                    break;
                case JsonValue v when !double.IsNaN(JsonTools.ToNumber(v)):
                    fields.Add(new(string.IsNullOrEmpty(Config.Table) ? "value" : Config.Table, JsonTools.ToNumber(v)));
                    break;
            }
            if (fields.Count == 0)
            {
                throw new InvalidOperationException("db write: msg.payload has no numbers to store");
            }
            foreach (var (field, value) in fields)
            {
                telemetry.RecordPoint(device, field, value);
            }
            _rows += fields.Count;
        }
        else
        {
            var table = string.IsNullOrWhiteSpace(Config.Table) ? JsonTools.ToJsString(msg.Data["table"]) : Config.Table;
            msg.Data["rowId"] = await tables.InsertRowAsync(table, msg.Payload ?? new JsonObject(), cancellationToken);
            _rows++;
        }
        Node.Status(new NodeStatus("green", "dot", $"{_rows} written"));
        Node.Send(msg);
    }
}

public sealed class DbWriteConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"row\"", UiHint = PropertyUi.Select, Options = ["row:Row into a table", "telemetry:Device telemetry"], Label = "Mode")]
    public string? Mode { get; set; }

    [NodeProperty(Default = "\"\"", Label = "Table / field", Help = "Table name for rows (empty = msg.table); field name for a bare number in telemetry mode")]
    public string? Table { get; set; }
}
