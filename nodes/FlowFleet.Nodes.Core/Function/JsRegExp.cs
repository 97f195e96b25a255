using System.Text.Json;
using Jint;
using Jint.Runtime;

namespace FlowFleet.Nodes.Core.Function;

/// <summary>JavaScript's own wording of a bad regular expression (Jint's parser words it as V8 does).</summary>
public static class JsRegExp
{
    /// <summary>The SyntaxError message of <c>new RegExp(pattern, flags)</c>, or null when JavaScript accepts it.</summary>
    public static string? SyntaxError(string pattern, string flags)
    {
        using var engine = new Jint.Engine(o => o.TimeoutInterval(TimeSpan.FromSeconds(1)).LimitRecursion(64));
        try
        {
            engine.Evaluate("new RegExp(" + JsonSerializer.Serialize(pattern) + ", " + JsonSerializer.Serialize(flags) + ")");
            return null;
        }
        catch (JavaScriptException ex)
        {
            return ex.Error.IsObject() ? ex.Error.AsObject().Get("message").ToString() : ex.Message;
        }
    }
}
