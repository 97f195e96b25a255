using System.Diagnostics;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Scripting;
using Jint;

namespace FlowFleet.Benchmarks;

/// <summary>Stopwatch figures for the pieces of a function-node call, to see where the time goes.</summary>
public static class MicroRun
{
    public static void Run(int n)
    {
        var msg = FlowMessage.Create(new JsonObject { ["seq"] = 1, ["apower"] = 10.5, ["output"] = true }, "device/1");
        Time("ToJs+ToJson (no limits)", n, new Jint.Engine(), (e, _) => JsConvert.ToJson(JsConvert.ToJs(e, msg.Data)));
        Time("ToJs", n, new Jint.Engine(), (e, _) => JsConvert.ToJs(e, msg.Data));
        var eng = new Jint.Engine();
        var js = JsConvert.ToJs(eng, msg.Data);
        Time("ToJson", n, eng, (_, _) => JsConvert.ToJson(js));
        Time("new JsonObject x2", n, eng, (_, _) => new JsonObject { ["_msgid"] = "abc", ["topic"] = "t", ["payload"] = new JsonObject { ["seq"] = 1, ["apower"] = 1.5, ["output"] = true } });
        Time("MessageId", n, eng, (_, _) => MessageId.New());
        var limited = new Jint.Engine(o => o.TimeoutInterval(TimeSpan.FromSeconds(10)).MaxStatements(100_000_000).LimitMemory(1L << 30).LimitRecursion(256));
        var fn = limited.Evaluate("(function(msg){ return msg; })");
        var arg = JsConvert.ToJs(limited, msg.Data);
        Time("Call (limits on)", n, limited, (e, _) => e.Call(fn, arg));
        var plain = new Jint.Engine();
        var fn2 = plain.Evaluate("(function(msg){ return msg; })");
        var arg2 = JsConvert.ToJs(plain, msg.Data);
        Time("Call (no limits)", n, plain, (e, _) => e.Call(fn2, arg2));
        var timeOnly = new Jint.Engine(o => o.TimeoutInterval(TimeSpan.FromSeconds(10)));
        var fn3 = timeOnly.Evaluate("(function(msg){ return msg; })");
        Time("Call (timeout only)", n, timeOnly, (e, _) => e.Call(fn3, arg2));
        var memOnly = new Jint.Engine(o => o.LimitMemory(1L << 30));
        var fn4 = memOnly.Evaluate("(function(msg){ return msg; })");
        Time("Call (memory only)", n, memOnly, (e, _) => e.Call(fn4, arg2));
        Time("Clone", n, plain, (_, _) => msg.Clone());
    }

    private static void Time(string label, int n, Jint.Engine e, Func<Jint.Engine, int, object?> body)
    {
        for (var i = 0; i < n / 10; i++)
        {
            body(e, i);
        }
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < n; i++)
        {
            body(e, i);
        }
        Console.WriteLine($"{label}: {sw.Elapsed.TotalNanoseconds / n:0} ns");
    }
}
