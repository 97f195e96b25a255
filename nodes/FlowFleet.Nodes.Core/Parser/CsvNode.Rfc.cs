using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Nodes;

namespace FlowFleet.Nodes.Core.Parser;

/// <summary>The RFC 4180 mode (<c>spec: "rfc"</c>), Node-RED 4's default for new csv nodes.</summary>
public sealed partial class CsvNode
{
    private List<string?> _template = [""];

    private static bool HasTemplate(List<string?> t) => t.Count > 0 && !(t.Count == 1 && string.IsNullOrEmpty(t[0]));

    /// <summary>Parses a column list strictly; null when it is not exactly one row.</summary>
    private static List<string?>? ColumnsToTemplate(string columns, char separator = ',')
    {
        var parsed = CsvCodec.Parse(columns, separator, strict: true);
        return parsed.Rows.Count == 1 ? parsed.Rows[0] : null;
    }

    private List<string?> RfcTemplate(string columns) => ColumnsToTemplate(columns) ?? [""];

    private string AddQuotes(string cell) => CsvCodec.QuoteCell(cell, Sep[0], '"', [Sep, "\"", "\n", "\r"]);

    private void RfcToCsv(FlowMessage msg)
    {
        var input = msg.Payload!;
        var rows = input as JsonArray;
        var arrays = rows is { Count: > 0 } && rows[0] is JsonArray;
        if (input is JsonObject)
        {
            rows = [input.DeepClone()];
        }
        else if (rows is { Count: > 0 } && rows[0] is not JsonObject and not JsonArray and not null)
        {
            rows = [input.DeepClone()];
            arrays = true;
        }
        var lines = new List<string>();
        var partIndex = msg.Data["parts"]?["index"] is { } pi ? JsonTools.ToNumber(pi) : 0;
        var noTemplate = !HasTemplate(RfcTemplate(Config.Temp ?? ""));
        if (!(noTemplate && partIndex > 0))
        {
            _template = RfcTemplate(Config.Temp ?? "");
        }
        var headerOut = HeaderOut;
        if (headerOut is "all" or "once" && !_headerSent)
        {
            if (!HasTemplate(_template))
            {
                _template = msg.Data.ContainsKey("columns") ? ColumnsToTemplate(JsonTools.ToJsString(msg.Data["columns"] ?? JsonValue.Create(""))) ?? [""]
                    : rows is { Count: > 0 } && rows[0] is JsonObject first ? first.Select(kv => (string?)kv.Key).ToList() : [""];
            }
            lines.Add(string.Join(Sep, _template.Select(h => AddQuotes(h ?? ""))));
            _headerSent = headerOut == "once";
        }
        foreach (var row in rows ?? [])
        {
            if (arrays)
            {
                var cells = row as JsonArray ?? [];
                var hasTemplate = HasTemplate(_template);
                var len = hasTemplate ? _template.Count : cells.Count;
                var result = new string[len];
                for (var t = 0; t < len; t++)
                {
                    var cell = t < cells.Count ? EnsureString(cells[t]) : "";
                    result[t] = !hasTemplate || !string.IsNullOrEmpty(_template[t]) ? AddQuotes(cell) : "";
                }
                lines.Add(string.Join(Sep, result));
                continue;
            }
            var obj = row as JsonObject ?? [];
            if (!HasTemplate(_template) && msg.Data.ContainsKey("columns"))
            {
                _template = ColumnsToTemplate(JsonTools.ToJsString(msg.Data["columns"] ?? JsonValue.Create(""))) ?? [""];
            }
            if (!HasTemplate(_template))
            {
                if (!_warnedTemplate)
                {
                    Node.Warn("No columns template specified for object -> CSV.");
                    _warnedTemplate = true;
                }
                _template = obj.Count > 0 ? obj.Select(kv => (string?)kv.Key).ToList() : [""];
                var firstRow = rows![0] as JsonObject ?? [];
                lines.Add(string.Join(Sep, firstRow.Where(kv => obj.ContainsKey(kv.Key) && obj[kv.Key] is not JsonObject and not JsonArray and not null)
                    .Select(kv => AddQuotes(JsonTools.ToJsString(obj[kv.Key])))));
            }
            else
            {
                lines.Add(string.Join(Sep, _template.Select(h => string.IsNullOrEmpty(h) ? ""
                    : AddQuotes(obj.TryGetPropertyValue(h, out var v) ? EnsureString(v) : ""))));
            }
        }
        msg.Payload = JsonValue.Create(string.Join(Ret, lines) + Ret);
        msg.Data["columns"] = CsvCodec.ColumnString(_template);
        if (msg.Payload!.GetValue<string>().Length > 0)
        {
            Node.Send(msg);
        }
    }

    private void RfcFromCsv(FlowMessage msg, string input)
    {
        var (firstLine, last, linecount, hasParts) = PartsState(msg);
        var cursor = 0;
        if (Skip > 0 && linecount < Skip)
        {
            for (; cursor < input.Length; cursor++)
            {
                if (firstLine && linecount < Skip)
                {
                    if (input[cursor] is '\r' or '\n')
                    {
                        linecount++;
                    }
                    continue;
                }
                break;
            }
            if (cursor >= input.Length)
            {
                return;
            }
        }
        var newlines = CountNewlines(input[cursor..]);
        if (hasParts && Config.Multi == "mult" && newlines > 1)
        {
            firstLine = true;
        }
        if (firstLine && HeaderIn)
        {
            try
            {
                var header = CsvCodec.Parse(input, Sep[0], cursor: cursor, headersOnly: true, strict: true);
                _template = header.Rows.Count > 0 ? header.Rows[0] : [];
                cursor = header.Cursor;
            }
            catch (FormatException)
            {
                Node.Status(new NodeStatus("red", "dot", "Malformed columns template."));
                throw;
            }
        }
        var parsed = CsvCodec.Parse(input, Sep[0], cursor: cursor);
        var headers = HasTemplate(_template) ? _template
            : parsed.Rows.Count > 0 ? Enumerable.Range(1, parsed.Rows[0].Count).Select(i => (string?)("col" + i)).ToList() : [];
        var rows = new List<JsonObject>();
        foreach (var cells in parsed.Rows)
        {
            var o = new JsonObject();
            for (var j = 0; j < headers.Count; j++)
            {
                if (string.IsNullOrEmpty(headers[j]))
                {
                    continue;
                }
                var v = j < cells.Count ? cells[j] : null;
                if ((v is null && !IncludeNull) || (v == "" && !IncludeEmpty))
                {
                    continue;
                }
                JsonNode? value = v is null ? null : JsonValue.Create(v);
                if (ParseNumbers && !string.IsNullOrEmpty(v) && !SkipNumber().IsMatch(v) && JsonTools.StringToNumber(v) is var d && !double.IsNaN(d))
                {
                    value = JsonTools.Number(d) ?? JsonValue.Create(d);
                }
                o[headers[j]!] = value;
            }
            if (o.Count > 0)
            {
                rows.Add(o);
            }
        }
        SendRows(msg, rows, CsvCodec.ColumnString(headers), hasParts, last, newlines);
    }

    private (bool FirstLine, bool Last, int LineCount, bool HasParts) PartsState(FlowMessage msg)
    {
        if (!msg.Data.ContainsKey("parts"))
        {
            return (true, false, 0, false);
        }
        var parts = msg.Data["parts"];
        var index = JsonTools.ToNumber(parts?["index"]);
        var last = parts is JsonObject po && po.ContainsKey("count") && index + 1 >= JsonTools.ToNumber(po["count"]);
        return (!(index > Skip), last, (int)index, true);
    }
}
