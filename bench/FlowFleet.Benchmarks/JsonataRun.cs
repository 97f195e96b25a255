using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Scripting.Jsonata;

namespace FlowFleet.Benchmarks;

/// <summary>
/// Cost of one JSONata evaluation (npm jsonata in Jint, as the change/switch nodes run it): µs and bytes allocated per
/// evaluation of typical Node-RED expressions against a throughput-flow message. bench/server/jsonata-node.mjs times
/// the same expressions in Node.js with Node-RED's own jsonata build.
/// </summary>
public static class JsonataRun
{
    public static readonly (string Name, string Expression)[] Cases =
    [
        ("constant", "42"),
        ("path", "payload.apower"),
        ("arithmetic", "payload.apower * 2 + 1"),
        ("condition", "payload.apower >= 50 ? 'high' : 'low'"),
        ("string", "$uppercase(topic) & '/' & $string(payload.seq)"),
        ("object", "{'site': 'plant-1', 'watts': payload.apower * 2, 'on': payload.output}"),
        ("array sum", "$sum(payload.samples)"),
        ("map filter", "payload.samples[$ > 2].($ * 10)"),
        ("merge (bench flow)", "$merge([payload, {'site': 'plant-1', 'watts': payload.apower * 2, 'level': payload.apower >= 50 ? 'high' : 'low'}])"),
        ("round", "$round(payload.apower / 3, 2)"),
    ];

    public static JsonObject Message() => new()
    {
        ["_msgid"] = "6b1d0a5c3e2f4a10",
        ["topic"] = "device/7",
        ["payload"] = new JsonObject { ["seq"] = 7, ["apower"] = 52.5, ["output"] = true, ["samples"] = new JsonArray(1, 2, 3, 4, 5) },
    };

    public static void Run(int n)
    {
        Console.WriteLine("| expression | direct µs/eval | direct bytes/eval | library (Jint) µs/eval | library bytes/eval | result |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
        foreach (var (name, text) in Cases)
        {
            var expr = JsonataExpression.Prepare(text, node: null);
            var msg = new FlowMessage(Message());
            var (directUs, directBytes, result) = expr.IsDirect ? Time(n, () => expr.Evaluate(msg)) : (double.NaN, 0L, default);
            var (libraryUs, libraryBytes, libraryResult) = Time(n / 10, () => expr.EvaluateInLibrary(msg.Data, null, message: true));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} `{text}` | {(expr.IsDirect ? directUs.ToString("0.00", CultureInfo.InvariantCulture) : "—")} | {(expr.IsDirect ? directBytes : "—")} | {libraryUs:0.0} | {libraryBytes} | {(expr.IsDirect ? result : libraryResult).Value?.ToJsonString()} |"));
        }
        var prepare = Stopwatch.StartNew();
        // Compiling runs the library's parser in Jint (and builds the direct form).
        for (var i = 0; i < 200; i++)
        {
            JsonataExpression.Prepare("payload.apower * " + i.ToString(CultureInfo.InvariantCulture), node: null);
        }
        Console.WriteLine($"prepare (compile a new expression): {prepare.Elapsed.TotalMicroseconds / 200:0} µs");
    }

    private static (double Us, long Bytes, JsonataResult Result) Time(int n, Func<JsonataResult> eval)
    {
        JsonataResult result = default;
        for (var i = 0; i < Math.Max(100, n / 10); i++)
        {
            result = eval();
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < n; i++)
        {
            result = eval();
        }
        sw.Stop();
        return (sw.Elapsed.TotalMicroseconds / n, (GC.GetAllocatedBytesForCurrentThread() - allocated) / n, result);
    }
}
