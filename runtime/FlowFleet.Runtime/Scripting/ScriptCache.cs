using System.Collections.Concurrent;
using Acornima;
using Acornima.Ast;
using Jint;
using Jint.Runtime;

namespace FlowFleet.Runtime.Scripting;

/// <summary>
/// Parsed function code, shared by every node that runs the same source (Jint's prepared scripts are immutable and may be
/// evaluated by many engines). A deploy checks each distinct script's syntax once, so a syntax error is found at deploy, not
/// at the first message; Jint prepares it when the first engine that runs it is built.
/// </summary>
internal static class ScriptCache
{
    // Bounded: a server that sees many distinct scripts over its life (every edit is a new key) starts over.
    private const int MaxEntries = 1024;
    private static readonly ConcurrentDictionary<string, Prepared<Script>> s_scripts = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, bool> s_checked = new(StringComparer.Ordinal);

    /// <summary>
    /// Jint's parser options for scripts (<c>ScriptParsingOptions.Default</c> in Jint 4.18), written out: touching any of
    /// Jint's option types runs <c>Jint.Engine</c>'s static constructor, which sorts .NET's list of time zones by display
    /// name for Temporal — ~300 ms of CPU through ICU, a sixth of the server's start-up, paid before it served anything
    /// whenever the stored flows had a function node. <c>ScriptCacheTests</c> holds these equal to Jint's own.
    /// </summary>
    internal static readonly ParserOptions SyntaxOptions = ParserOptions.Default with
    {
        ExperimentalESFeatures = ExperimentalESFeatures.Decorators | ExperimentalESFeatures.SourcePhaseImports | ExperimentalESFeatures.DeferImportEvaluation,
        AllowReturnOutsideFunction = true,
        AllowTopLevelUsing = true,
    };

    /// <summary>Throws a <see cref="ScriptException"/> when the code has a syntax error (Acornima, Jint's parser, as Jint parses).</summary>
    public static void CheckSyntax(string code)
    {
        if (s_scripts.ContainsKey(code) || s_checked.ContainsKey(code))
        {
            return;
        }
        try
        {
            new Parser(SyntaxOptions).ParseScript(code, "function");
        }
        catch (ParseErrorException ex)
        {
            // Worded as Jint's PrepareScript words it.
            throw new ScriptException("Function code has a syntax error: Could not prepare script: " + ex.Message, ex);
        }
        if (s_checked.Count >= MaxEntries)
        {
            s_checked.Clear();
        }
        s_checked[code] = true;
    }

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
        catch (Exception ex) when (ex is JintException or ParseErrorException)
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
