using System.Collections.Concurrent;
using Acornima.Ast;
using Jint;
using Jint.Runtime;

namespace FlowFleet.Runtime.Scripting;

/// <summary>
/// Parsed function code, shared by every node that runs the same source (Jint's prepared scripts are immutable and may be
/// evaluated by many engines). A deploy parses each distinct script once; a syntax error is found at deploy, not at the
/// first message.
/// </summary>
internal static class ScriptCache
{
    // Bounded: a server that sees many distinct scripts over its life (every edit is a new key) starts over.
    private const int MaxEntries = 1024;
    private static readonly ConcurrentDictionary<string, Prepared<Script>> s_scripts = new(StringComparer.Ordinal);

    public static Prepared<Script> Prepare(string code)
    {
        if (s_scripts.TryGetValue(code, out var prepared))
        {
            return prepared;
        }
        try
        {
            prepared = Jint.Engine.PrepareScript(code, "function");
        }
        catch (Exception ex) when (ex is JintException or Acornima.ParseErrorException)
        {
            throw new ScriptException("Function code has a syntax error: " + ex.Message, ex);
        }
        if (s_scripts.Count >= MaxEntries)
        {
            s_scripts.Clear();
        }
        s_scripts[code] = prepared;
        return prepared;
    }
}
