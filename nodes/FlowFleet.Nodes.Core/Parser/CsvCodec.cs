using System.Text;

namespace FlowFleet.Nodes.Core.Parser;

/// <summary>
/// Node-RED's RFC 4180 CSV parser (<c>parsers/lib/csv</c>): the same cells, nulls for missing cells, the same relaxed
/// handling of stray quotes in data rows and the same errors in strict mode, so flows see exactly what Node-RED gives.
/// </summary>
internal static class CsvCodec
{
    public sealed record Result(List<string?> Headers, List<List<string?>> Rows, int Cursor);

    public static Result Parse(string input, char separator, char quote = '"', int cursor = 0, bool headersOnly = false, bool strict = false)
    {
        var cell = new StringBuilder();
        var row = new List<string?>();
        var output = new List<List<string?>>();
        var newCell = true;
        var inQuote = false;
        var closed = false;

        void FinaliseCell()
        {
            var text = cell.ToString();
            cell.Clear();
            row.Add(text.Length > 0 ? text : newCell ? null : "");
        }

        void FinaliseRow()
        {
            // As in Node-RED, an empty last cell (quoted or not) is not added: the row is shorter and reads as null.
            if (cell.Length > 0)
            {
                FinaliseCell();
            }
            if (row.Count > 0)
            {
                output.Add(row);
                row = [];
            }
        }

        void Push(char c) => cell.Append(c);

        while (cursor < input.Length)
        {
            var c = input[cursor];
            if (inQuote)
            {
                if (c == quote && cursor + 1 < input.Length && input[cursor + 1] == quote)
                {
                    Push(quote);
                    cursor += 2;
                    closed = false;
                }
                else if (c == quote)
                {
                    inQuote = false;
                    cursor++;
                    closed = true;
                }
                else
                {
                    Push(c);
                    closed = false;
                    cursor++;
                }
                newCell = false;
            }
            else if (c == separator)
            {
                FinaliseCell();
                cursor++;
                newCell = true;
                closed = false;
            }
            else if (c == quote)
            {
                if (newCell)
                {
                    inQuote = true;
                    cursor++;
                    newCell = false;
                    closed = false;
                }
                else if (strict)
                {
                    throw new FormatException($"Quote found in the middle of an unquoted field (at {cursor})");
                }
                else
                {
                    cursor++;
                    if (cursor < input.Length && input[cursor] is not '\n' and not '\r' && input[cursor] != separator)
                    {
                        Push(c);
                        if (input[cursor] == quote)
                        {
                            cursor++;
                        }
                    }
                }
            }
            else if (c is '\n' or '\r')
            {
                FinaliseRow();
                cursor += cursor + 1 < input.Length && input[cursor + 1] == '\n' ? 2 : 1;
                newCell = true;
                closed = false;
                if (headersOnly)
                {
                    break;
                }
            }
            else if (closed)
            {
                if (strict)
                {
                    throw new FormatException($"Data found after closing quote (at {cursor})");
                }
                // Node-RED steps back onto the closing quote, which then reads as a stray quote in the cell.
                cursor--;
                closed = false;
            }
            else
            {
                Push(c);
                newCell = false;
                cursor++;
            }
        }
        if (strict && inQuote)
        {
            throw new FormatException($"Missing quote, unclosed cell (at {cursor})");
        }
        FinaliseRow();
        return new Result([], output, cursor);
    }

    /// <summary>Quotes a cell when it holds a quoteable character, doubling quotes inside (Node-RED's <c>quoteCell</c>).</summary>
    public static string QuoteCell(string cell, char separator, char quote = '"', IReadOnlyList<string>? quoteables = null)
    {
        quoteables ??= [quote.ToString(), separator.ToString(), "\r", "\n"];
        var doubleUp = cell.Contains(quote, StringComparison.Ordinal);
        var q = quoteables.Any(x => x.Length > 0 && cell.Contains(x, StringComparison.Ordinal)) ? quote.ToString() : "";
        return q + (doubleUp ? cell.Replace("\"", "\"\"", StringComparison.Ordinal) : cell) + q;
    }

    /// <summary><c>msg.columns</c>: non-empty headers, quoted as needed, joined with commas.</summary>
    public static string ColumnString(IEnumerable<string?> headers) =>
        string.Join(",", headers.Where(h => !string.IsNullOrEmpty(h)).Select(h => QuoteCell(h!, ',')));
}
