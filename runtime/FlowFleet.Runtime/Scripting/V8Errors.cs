using System.Globalization;
using System.Text.RegularExpressions;

namespace FlowFleet.Runtime.Scripting;

/// <summary>
/// Words a script's runtime error as V8 (and so Node-RED) words it, where Jint's wording differs: users search for these
/// messages, and flows test <c>error.message</c>. Jint names no source text in some messages, so the rewrite reads the
/// code at the error's position (the first frame of its stack) when it needs the expression V8 shows.
/// </summary>
internal static partial class V8Errors
{
    /// <summary>Where an error was raised: the first frame of a Jint stack (<c>at f (source:line:col)</c> or <c>at source:line:col</c>).</summary>
    public static (string Source, int Line, int Column, bool Named)? FirstFrame(string? stack)
    {
        if (stack is null)
        {
            return null;
        }
        foreach (var raw in stack.Split('\n'))
        {
            var m = Frame().Match(raw);
            if (m.Success)
            {
                return (m.Groups["src"].Value, int.Parse(m.Groups["line"].Value, CultureInfo.InvariantCulture),
                    int.Parse(m.Groups["col"].Value, CultureInfo.InvariantCulture), m.Groups["named"].Success);
            }
        }
        return null;
    }

    /// <summary>
    /// V8's message for Jint's <paramref name="message"/>; <paramref name="codeAt"/> is the source text from the error's
    /// position to the end of its line (null when unknown).
    /// </summary>
    public static string Message(string name, string message, string? codeAt)
    {
        if (name != "TypeError")
        {
            return message;
        }
        if (ReadOldStyle().Match(message) is { Success: true } read)
        {
            return $"Cannot read properties of {read.Groups["of"].Value} (reading '{read.Groups["key"].Value}')";
        }
        if (NotCallable().Match(message) is { Success: true } call && codeAt is not null && Callee().Match(codeAt) is { Success: true } callee
            && LastKey(callee.Groups["callee"].Value) == call.Groups["key"].Value)
        {
            return Compact(callee.Groups["callee"].Value) + " is not a function";
        }
        if (message == "Cannot convert undefined or null to object" && codeAt is not null && Assignment().Match(codeAt) is { Success: true } set
            && LastKey(set.Groups["target"].Value) is { } key)
        {
            var target = set.Groups["target"].Value;
            var of = target.StartsWith("null", StringComparison.Ordinal) && !IdentifierPart(target, 4) ? "null" : "undefined";
            return $"Cannot set properties of {of} (setting '{key}')";
        }
        return message;
    }

    /// <summary>The key a member expression ends with (<c>a.b</c>, <c>a['b']</c>, <c>a[0]</c>); null for a computed one.</summary>
    private static string? LastKey(string expression)
    {
        var m = LastMember().Match(expression);
        if (!m.Success)
        {
            return null;
        }
        return m.Groups["dot"].Success ? m.Groups["dot"].Value
            : m.Groups["str"].Success ? m.Groups["str"].Value
            : m.Groups["num"].Success ? m.Groups["num"].Value
            : m.Groups["id"].Value;
    }

    private static bool IdentifierPart(string s, int i) => i < s.Length && (char.IsLetterOrDigit(s[i]) || s[i] is '_' or '$');

    private static string Compact(string expression) => Whitespace().Replace(expression, "");

    [GeneratedRegex(@"^\s*at (?:(?<named>[^()]*) \()?(?<src>[^():]+):(?<line>\d+):(?<col>\d+)\)?\s*$")]
    private static partial Regex Frame();

    [GeneratedRegex(@"^Cannot read property '(?<key>.*)' of (?<of>undefined|null)$")]
    private static partial Regex ReadOldStyle();

    [GeneratedRegex(@"^Property '(?<key>.*)' of object is not a function$")]
    private static partial Regex NotCallable();

    // A callee as written: a name, then .name / ?.name / [literal] steps, then the call's parenthesis.
    [GeneratedRegex(@"^(?<callee>[A-Za-z_$][\w$]*(?:\s*\??\.\s*[A-Za-z_$][\w$]*|\[\s*(?:'[^']*'|""[^""]*""|\d+)\s*\])*)\s*(?:\?\.\s*)?\(")]
    private static partial Regex Callee();

    // An assignment target (a member expression) followed by = or a compound assignment, not a comparison.
    [GeneratedRegex(@"^(?<target>[A-Za-z_$][\w$]*(?:\s*\.\s*[A-Za-z_$][\w$]*|\[[^\[\]]*\])+)\s*(?:\*\*|>>>|<<|>>|&&|\|\||\?\?|[-+*/%&|^])?=(?!=)")]
    private static partial Regex Assignment();

    [GeneratedRegex(@"(?:\.\s*(?<dot>[A-Za-z_$][\w$]*)|\[\s*(?:'(?<str>[^']*)'|""(?<str>[^""]*)""|(?<num>\d+))\s*\]|^(?<id>[A-Za-z_$][\w$]*))$")]
    private static partial Regex LastMember();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
