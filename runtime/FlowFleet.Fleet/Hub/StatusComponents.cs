using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace FlowFleet.Fleet.Hub;

/// <summary>
/// The components of a device's status report: the members of its <c>params</c> object other than <c>ts</c> (not part of
/// the status), read from the report's element (<see cref="DeviceEvent.Components"/>). Enumerating allocates nothing.
/// </summary>
public readonly struct StatusComponents
{
    private readonly JsonElement _report;

    internal StatusComponents(JsonElement report) => _report = report;

    /// <summary>True when there is no report to read (not a status event from a device's frame).</summary>
    public bool IsEmpty => _report.ValueKind != JsonValueKind.Object;

    public Enumerator GetEnumerator() => new(_report);

    /// <summary>The report's members but <c>ts</c>, in the report's order.</summary>
    public struct Enumerator
    {
        private JsonElement.ObjectEnumerator _members;
        private readonly bool _any;

        internal Enumerator(JsonElement report) => (_members, _any) = report.ValueKind == JsonValueKind.Object ? (report.EnumerateObject(), true) : (default, false);

        public readonly JsonProperty Current => _members.Current;

        public bool MoveNext()
        {
            while (_any && _members.MoveNext())
            {
                if (!_members.Current.NameEquals("ts"u8))
                {
                    return true;
                }
            }
            return false;
        }
    }

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    /// <summary>The report as its own JSON without <c>ts</c>: its raw members, copied once.</summary>
    internal static byte[] WriteJson(JsonElement report)
    {
        if (!report.TryGetProperty("ts"u8, out _))
        {
            return JsonMarshal.GetRawUtf8Value(report).ToArray();
        }
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        buffer.Write("{"u8);
        var first = true;
        foreach (var property in new StatusComponents(report))
        {
            buffer.Write(first ? "\""u8 : ",\""u8);
            first = false;
            buffer.Write(JsonMarshal.GetRawUtf8PropertyName(property));
            buffer.Write("\":"u8);
            buffer.Write(JsonMarshal.GetRawUtf8Value(property.Value));
        }
        buffer.Write("}"u8);
        return buffer.WrittenSpan.ToArray();
    }
}
