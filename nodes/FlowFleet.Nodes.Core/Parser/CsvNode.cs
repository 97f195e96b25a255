using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Parser;

/// <summary>Node-RED's csv: converts between CSV text and objects/arrays, in RFC 4180 mode or the legacy mode of older flows.</summary>
[NodeType("csv", Category = "parser", Color = "#debd5c", Icon = "table_view",
    Help = """
    A string payload is parsed into one message per row (`multi: one`, with `msg.parts`) or one array of row objects
    (`multi: mult`); column names come from `temp` (comma separated), from the first line (`hdrin`) or are `col1`,
    `col2`, ... An object or array payload becomes CSV text, with a header line per `hdrout` (none, all, once; reset by
    `msg.reset`). `sep` separator, `ret` line end, `skip` lines to skip, `strings` parses numbers, `include_empty_strings`
    and `include_null_values` keep empty cells. `spec: rfc` follows RFC 4180; flows without it keep Node-RED's older parser.
    """)]
public sealed partial class CsvNode : FlowNode<CsvConfig>
{
    private readonly List<JsonNode?> _store = [];
    private bool _headerSent;
    private bool _warnedTemplate;

    private bool Rfc => Config.Spec == "rfc";

    private string Sep => Unescape(string.IsNullOrEmpty(Config.Sep) ? "," : Config.Sep);

    private string Ret => Unescape(string.IsNullOrEmpty(Config.Ret) ? Rfc ? "\r\n" : "\n" : Config.Ret);

    private string HeaderOut => Config.Hdrout switch
    {
        JsonValue v when v.TryGetValue<bool>(out var b) => b ? "all" : "none",
        JsonValue v when v.TryGetValue<string>(out var s) && s.Length > 0 => s,
        _ => "none",
    };

    private bool HeaderIn => Config.Hdrin is JsonValue v && (v.TryGetValue<bool>(out var b) ? b : v.TryGetValue<string>(out var s) && s == "true");

    private int Skip => int.TryParse(Config.Skip, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : 0;

    private bool ParseNumbers => Config.Strings is not JsonValue v || JsonTools.IsTruthy(v);

    private bool IncludeEmpty => JsonTools.IsTruthy(Config.IncludeEmptyStrings);

    private bool IncludeNull => JsonTools.IsTruthy(Config.IncludeNullValues);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        Node.Status(NodeStatus.Clear);
        if (Rfc)
        {
            try
            {
                _template = ColumnsToTemplate(Config.Temp ?? "") ?? [""];
            }
            catch (FormatException)
            {
                Node.Warn("Malformed columns template.");
                Node.Status(new NodeStatus("red", "dot", "Malformed columns template."));
            }
        }
        return Task.CompletedTask;
    }

    public override ValueTask OnInputAsync(FlowMessage msg, CancellationToken cancellationToken)
    {
        if (Rfc)
        {
            Node.Status(NodeStatus.Clear);
        }
        if (msg.Data.ContainsKey("reset"))
        {
            _headerSent = false;
        }
        if (!msg.Data.ContainsKey("payload"))
        {
            if (!msg.Data.ContainsKey("reset"))
            {
                Node.Send(msg);
            }
            return ValueTask.CompletedTask;
        }
        var payload = msg.Payload;
        if (payload is JsonObject or JsonArray)
        {
            if (Rfc)
            {
                RfcToCsv(msg);
            }
            else
            {
                LegacyToCsv(msg);
            }
        }
        else if (JsonTools.IsString(payload, out var text))
        {
            if (Rfc)
            {
                RfcFromCsv(msg, text);
            }
            else
            {
                LegacyFromCsv(msg, text);
            }
        }
        else if (Rfc)
        {
            Node.Status(new NodeStatus("red", "dot", "This node only handles CSV strings or js objects."));
            // Node-RED passes the Error itself to done(), so the message reads as its toString().
            throw new JsErrorException("This node only handles CSV strings or js objects.");
        }
        else
        {
            Node.Warn("This node only handles CSV strings or js objects.");
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>Sends parsed rows: one message per row with <c>msg.parts</c>, or one array (collected across parts).</summary>
    private void SendRows(FlowMessage msg, List<JsonObject> rows, string columns, bool hasParts, bool last, int newlines)
    {
        if (Config.Multi is not null and not "one")
        {
            if (hasParts && newlines <= 1)
            {
                _store.AddRange(rows);
                var parts = msg.Data["parts"];
                if (JsonTools.ToNumber(parts?["index"]) + 1 == JsonTools.ToNumber(parts?["count"]))
                {
                    msg.Payload = new JsonArray(_store.ToArray());
                    msg.Data["columns"] = columns;
                    msg.Data.Remove("parts");
                    _store.Clear();
                    Node.Send(msg);
                }
            }
            else
            {
                msg.Data["columns"] = columns;
                msg.Payload = new JsonArray(rows.Cast<JsonNode?>().ToArray());
                Node.Send(msg);
            }
            return;
        }
        for (var i = 0; i < rows.Count; i++)
        {
            var m = msg.Clone();
            m.Data["columns"] = columns;
            m.Payload = rows[i];
            if (!hasParts)
            {
                var parts = new JsonObject { ["id"] = msg.MsgId, ["index"] = i, ["count"] = rows.Count };
                if (msg.MsgId is null)
                {
                    parts.Remove("id");
                }
                m.Data["parts"] = parts;
            }
            else
            {
                var p = m.Data["parts"]!;
                var shift = Skip + (HeaderIn ? 1 : 0);
                p["index"] = JsonTools.Number(JsonTools.ToNumber(p["index"]) - shift);
                p["count"] = JsonTools.Number(JsonTools.ToNumber(p["count"]) - shift);
            }
            if (last)
            {
                m.Data["complete"] = true;
            }
            Node.Send(m);
        }
        if (hasParts && last && rows.Count == 0)
        {
            Node.Send(new FlowMessage(new JsonObject { ["complete"] = true }));
        }
    }

    /// <summary>Node-RED's <c>RED.util.ensureString</c> (a JSON null is an object to it: "null").</summary>
    private static string EnsureString(JsonNode? v) => v switch
    {
        null => "null",
        JsonObject o when JsonTools.IsBuffer(o) => System.Text.Encoding.UTF8.GetString(JsonTools.BufferBytes(o)),
        JsonObject or JsonArray => v.ToJsonString(),
        _ => JsonTools.ToJsString(v),
    };

    private static string Unescape(string s) => s.Replace("\\t", "\t", StringComparison.Ordinal).Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\r", "\r", StringComparison.Ordinal);

    private static int CountNewlines(string s) => s.Count(c => c is '\r' or '\n');

    [GeneratedRegex(@"^[-]?(?!E)(?!0\d)\d*\.?\d*(E-?\+?)?\d+$", RegexOptions.IgnoreCase)]
    private static partial Regex LegacyNumber();

    [GeneratedRegex(@"^ *(\+|-0\d|0\d)")]
    private static partial Regex SkipNumber();
}

public sealed class CsvConfig
{
    [NodeProperty(Default = "\"\"")]
    public string? Name { get; set; }

    [NodeProperty(Default = "\"rfc\"", UiHint = PropertyUi.Select, Options = ["rfc:RFC 4180", ":Legacy"], Label = "Parser")]
    public string? Spec { get; set; }

    [NodeProperty(Default = "\",\"", Required = true, UiHint = PropertyUi.Select, Options = [",:comma", "\\t:tab", " :space", ";:semicolon", "::colon", "#:hashtag"], Label = "Separator")]
    public string? Sep { get; set; } = ",";

    [NodeProperty(Default = "\"\"", Label = "Columns")]
    public string? Temp { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Checkbox, Label = "First row contains column names")]
    public JsonNode? Hdrin { get; set; }

    [NodeProperty(Default = "\"none\"", UiHint = PropertyUi.Select, Options = ["none:never send column headers", "all:always send column headers", "once:send headers once, until msg.reset"], Label = "Output")]
    public JsonNode? Hdrout { get; set; }

    [NodeProperty(Default = "\"one\"", Required = true, UiHint = PropertyUi.Select, Options = ["one:a message per row", "mult:a single message [array]"], Label = "Output (CSV to object)")]
    public string? Multi { get; set; } = "one";

    [NodeProperty(Default = "\"\\\\r\\\\n\"", UiHint = PropertyUi.Select, Options = ["\\r\\n:Windows (\\r\\n)", "\\n:Linux (\\n)", "\\r:Mac (\\r)"], Label = "Newline")]
    public string? Ret { get; set; }

    [NodeProperty(Default = "\"0\"", UiHint = PropertyUi.Number, Label = "Skip first lines")]
    public string? Skip { get; set; } = "0";

    [NodeProperty(Default = "true", UiHint = PropertyUi.Checkbox, Label = "Parse numerical values")]
    public JsonNode? Strings { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Checkbox, Label = "Include empty strings")]
    [System.Text.Json.Serialization.JsonPropertyName("include_empty_strings")]
    public JsonNode? IncludeEmptyStrings { get; set; }

    [NodeProperty(Default = "\"\"", UiHint = PropertyUi.Checkbox, Label = "Include null values")]
    [System.Text.Json.Serialization.JsonPropertyName("include_null_values")]
    public JsonNode? IncludeNullValues { get; set; }
}
