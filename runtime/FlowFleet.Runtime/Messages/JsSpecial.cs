using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace FlowFleet.Runtime.Messages;

/// <summary>
/// A JavaScript value JSON has no word for, carried inside a message as Node-RED carries it: <c>undefined</c> (a property
/// a script set to undefined, a hole in an array), <c>NaN</c>/<c>Infinity</c>, and Error objects (<c>msg._error</c>).
/// </summary>
/// <remarks>
/// It sits in the JSON tree as a <see cref="JsonValue"/> that writes as <c>null</c> and reports
/// <see cref="JsonValueKind.Null"/>, so every node that does not know it sees what it saw before (null), and JSON output
/// matches <c>JSON.stringify</c> for array items. Scripts get the real value back (<c>JsConvert</c>), the debug sidebar shows
/// it as Node-RED encodes it, and message clones keep it (<see cref="JsonDepth.Clone"/>).
/// </remarks>
public sealed class JsSpecial
{
    public static readonly JsSpecial Undefined = new(JsSpecialKind.Undefined, double.NaN, null);
    public static readonly JsSpecial NaN = new(JsSpecialKind.Number, double.NaN, null);
    public static readonly JsSpecial PositiveInfinity = new(JsSpecialKind.Number, double.PositiveInfinity, null);
    public static readonly JsSpecial NegativeInfinity = new(JsSpecialKind.Number, double.NegativeInfinity, null);

    private JsSpecial(JsSpecialKind kind, double number, JsErrorInfo? error)
    {
        Kind = kind;
        Number = number;
        Error = error;
    }

    public JsSpecialKind Kind { get; }

    /// <summary>NaN or ±Infinity for <see cref="JsSpecialKind.Number"/>.</summary>
    public double Number { get; }

    /// <summary>Name, message and stack for <see cref="JsSpecialKind.Error"/>.</summary>
    public JsErrorInfo? Error { get; }

    public static JsSpecial ForNumber(double d) =>
        double.IsNaN(d) ? NaN : d > 0 ? PositiveInfinity : NegativeInfinity;

    public static JsSpecial ForError(string name, string message, string? stack) => ForError(new JsErrorInfo(name, message, stack));

    public static JsSpecial ForError(JsErrorInfo error) => new(JsSpecialKind.Error, double.NaN, error);

    /// <summary>A new tree node holding this value (a node can have one parent only, so each place gets its own).</summary>
    public JsonValue ToNode() => JsonValue.Create(this, JsSpecialJsonContext.Default.JsSpecial)!;

    public static JsonValue UndefinedNode() => Undefined.ToNode();

    /// <summary>The special value a node holds, or null.</summary>
    public static JsSpecial? Of(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue<JsSpecial>(out var s) ? s : null;

    public static bool IsUndefined(JsonNode? node) => Of(node)?.Kind == JsSpecialKind.Undefined;

    /// <summary>JavaScript's <c>String(x)</c> of the value.</summary>
    public override string ToString() => Kind switch
    {
        JsSpecialKind.Undefined => "undefined",
        JsSpecialKind.Number => JsonTools.FormatNumber(Number),
        _ => Error!.Text,
    };
}

public enum JsSpecialKind
{
    Undefined,
    Number,
    Error,
}

public sealed record JsErrorInfo(string Name, string Message, string? Stack)
{
    /// <summary>JavaScript's <c>String(err)</c>: "Name: message", or the name alone when the message is empty.</summary>
    public string Text => Format(Name, Message);

    /// <summary><see cref="Text"/> for a name and message not (yet) in a <see cref="JsErrorInfo"/>.</summary>
    public static string Format(string name, string message) => string.IsNullOrEmpty(message) ? name : name + ": " + message;
}

/// <summary>Writes a special value as JSON.stringify would inside an array: <c>null</c>.</summary>
internal sealed class JsSpecialConverter : JsonConverter<JsSpecial>
{
    public override JsSpecial Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        throw new NotSupportedException("special JavaScript values are not read from JSON");

    public override void Write(Utf8JsonWriter writer, JsSpecial value, JsonSerializerOptions options) => writer.WriteNullValue();
}

[JsonSourceGenerationOptions(Converters = [typeof(JsSpecialConverter)])]
[JsonSerializable(typeof(JsSpecial))]
internal sealed partial class JsSpecialJsonContext : JsonSerializerContext;
