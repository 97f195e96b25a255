using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FlowFleet.Runtime.Messages;

namespace FlowFleet.Nodes.Core.Parser;

/// <summary>
/// The legacy mode (no <c>spec</c>): the parser of Node-RED before 4.0, which flows written then (and Node-RED's own
/// examples) still use. It differs from RFC 4180 in its details, which flows may depend on, so it is kept as it was.
/// </summary>
public sealed partial class CsvNode
{
    private List<string>? _legacyTemplate;
    private bool _goodTemplate = true;
    private string _splitSep = ",";

    /// <summary>Node-RED's <c>clean</c>: splits a column list on separators outside quotes, drops quotes, trims.</summary>
    private List<string> Clean(string columns, string? sep = null)
    {
        if (sep is not null)
        {
            _splitSep = sep;
        }
        var cols = SplitColumns(columns, _splitSep);
        _goodTemplate = !(cols.Count == 1 && cols[0] == "");
        return cols;
    }

    private static List<string> SplitColumns(string columns, string sep) =>
        new Regex(Regex.Escape(sep) + "(?=(?:(?:[^\"]*\"){2})*[^\"]*$)").Split(columns.Trim())
            .Select(x => x.Replace("\"", "", StringComparison.Ordinal).Trim()).ToList();

    private List<string> LegacyTemplate => _legacyTemplate ??= Clean(Config.Temp ?? "", ",");

    private string LegacyQuote(string cell, bool quoteOnNewline = true)
    {
        if (cell.Contains('"', StringComparison.Ordinal))
        {
            return "\"" + cell.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
        }
        return cell.Contains(Sep, StringComparison.Ordinal) || (quoteOnNewline && cell.Contains('\n', StringComparison.Ordinal)) ? "\"" + cell + "\"" : cell;
    }

    private static string LegacyColumns(IEnumerable<string> template) =>
        string.Join(",", template.Select(v => v.Contains(',', StringComparison.Ordinal) ? "\"" + v + "\"" : v));

    private void LegacyToCsv(FlowMessage msg)
    {
        var template = LegacyTemplate;
        var noTemplate = SplitColumns(Config.Temp ?? "", ",") is [""];
        if (!(noTemplate && msg.Data["parts"]?["index"] is { } pi && JsonTools.ToNumber(pi) > 0))
        {
            _legacyTemplate = template = Clean(Config.Temp ?? "");
        }
        var rows = msg.Payload as JsonArray ?? [msg.Payload!.DeepClone()];
        var lines = new List<string>();
        bool IsEmpty(List<string> t) => t.Count == 1 && t[0] == "";
        if (HeaderOut != "none" && !_headerSent)
        {
            if (IsEmpty(template))
            {
                template = msg.Data.ContainsKey("columns") ? Clean(JsonTools.ToJsString(msg.Data["columns"] ?? JsonValue.Create("")), ",")
                    : rows.Count > 0 && rows[0] is JsonObject first ? first.Select(kv => kv.Key).ToList() : [""];
            }
            lines.Add(string.Join(Sep, template.Select(v => v.Contains(Sep, StringComparison.Ordinal) ? "\"" + v + "\"" : v)));
            _headerSent = HeaderOut == "once";
        }
        if (rows.Count > 0 && rows[0] is not JsonObject and not JsonArray)
        {
            rows = [rows.DeepClone()];
        }
        foreach (var row in rows)
        {
            if (row is JsonArray cells)
            {
                lines.Add(string.Join(Sep, cells.Select(c => LegacyQuote(c is null ? "null" : JsonTools.ToJsString(c)))));
                continue;
            }
            var obj = row as JsonObject ?? [];
            if (IsEmpty(template) && msg.Data.ContainsKey("columns"))
            {
                template = Clean(JsonTools.ToJsString(msg.Data["columns"] ?? JsonValue.Create("")), ",");
            }
            if (IsEmpty(template))
            {
                if (!_warnedTemplate)
                {
                    Node.Warn("No columns template specified for object -> CSV.");
                    _warnedTemplate = true;
                }
                var firstRow = rows[0] as JsonObject ?? [];
                lines.Add(string.Join(Sep, firstRow.Where(kv => obj.ContainsKey(kv.Key) && obj[kv.Key] is not JsonObject and not JsonArray and not null)
                    .Select(kv => LegacyQuote(JsonTools.ToJsString(obj[kv.Key]), quoteOnNewline: false))));
            }
            else
            {
                lines.Add(string.Join(Sep, template.Select(h => h == "" ? ""
                    : LegacyQuote(obj.TryGetPropertyValue(h, out var v) ? EnsureString(v) : ""))));
            }
        }
        _legacyTemplate = template;
        msg.Payload = JsonValue.Create(string.Join(Ret, lines) + Ret);
        msg.Data["columns"] = LegacyColumns(template);
        Node.Send(msg);
    }

    private void LegacyFromCsv(FlowMessage msg, string line)
    {
        var template = LegacyTemplate;
        var (first, last, linecount, hasParts) = PartsState(msg);
        var newlines = CountNewlines(line);
        var tmp = new StringBuilder();
        if (hasParts && Config.Multi == "mult" && newlines > 1)
        {
            first = true;
        }
        var sep = Sep;
        var inside = false;
        var k = new List<JsonNode?> { JsonValue.Create("") };
        var j = 0;
        var o = new JsonObject();
        var rows = new List<JsonObject>();
        void Finish(bool nullBefore)
        {
            if (!_goodTemplate)
            {
                while (template.Count <= j)
                {
                    template.Add("");
                }
                template[j] = "col" + (j + 1).ToString(CultureInfo.InvariantCulture);
            }
            if (j >= template.Count || template[j] == "")
            {
                return;
            }
            if (nullBefore)
            {
                k[j] = null;
            }
            if (k[j] is JsonValue kv && kv.TryGetValue<string>(out var text) && ParseNumbers && LegacyNumber().IsMatch(text.Trim()))
            {
                k[j] = JsonTools.Number(double.Parse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture));
            }
            var isNull = k[j] is null;
            var isEmpty = k[j] is JsonValue ev && ev.TryGetValue<string>(out var es) && es.Length == 0;
            if ((isNull && IncludeNull) || (isEmpty && IncludeEmpty) || (!isNull && !isEmpty))
            {
                o[template[j]] = k[j]?.DeepClone();
            }
        }
        void Append(char c) => k[j] = JsonValue.Create((k[j] is JsonValue v && v.TryGetValue<string>(out var s) ? s : k[j] is null ? "null" : JsonTools.ToJsString(k[j])) + c);
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (first && linecount < Skip)
            {
                if (c == '\n')
                {
                    linecount++;
                }
                continue;
            }
            if (HeaderIn && first)
            {
                if (c is '\n' or '\r' || line.Length - i == 1)
                {
                    if (line.Length - i == 1)
                    {
                        tmp.Append(c);
                    }
                    _legacyTemplate = template = Clean(tmp.ToString(), sep);
                    first = false;
                }
                else
                {
                    tmp.Append(c);
                }
            }
            else if (c == '"')
            {
                inside = !inside;
                if (i > 0 && line[i - 1] == '"' && inside)
                {
                    Append('"');
                }
            }
            else if (c.ToString() == sep && !inside)
            {
                Finish(i > 0 && (line[i - 1].ToString() == sep || line[i - 1] == '\n'));
                j++;
                while (k.Count <= j)
                {
                    k.Add(null);
                }
                k[j] = line.Length - 1 == i ? null : JsonValue.Create("");
            }
            else if (c is '\n' or '\r' && !inside)
            {
                Finish(i > 0 && line[i - 1].ToString() == sep);
                if (o.Count > 0)
                {
                    rows.Add(o);
                }
                j = 0;
                k = [JsonValue.Create("")];
                o = [];
                inside = false;
            }
            else
            {
                Append(c);
            }
        }
        if (inside)
        {
            Node.Warn("Malformed CSV data - output probably corrupt.");
        }
        Finish(nullBefore: false);
        if (o.Count > 0)
        {
            rows.Add(o);
        }
        SendRows(msg, rows, LegacyColumns(template.Where(v => v.Length > 0)), hasParts, last, newlines);
    }
}
