using System.Text.Json.Nodes;

namespace FlowFleet.Fleet.Protocol;

/// <summary>A JSON-RPC error as Shelly devices report it: <c>{"code":-105,"message":"Bad id=7"}</c>.</summary>
public sealed class ShellyRpcException(int code, string message) : Exception(message)
{
    public const int InvalidArgument = -103;
    public const int DeadlineExceeded = -104;
    public const int NotFound = -105;
    public const int ResourceExhausted = -108;
    public const int FailedPrecondition = -109;
    public const int Unavailable = -114;
    public const int Unauthorized = 401;
    public const int NoHandler = 404;

    public int Code { get; } = code;

    /// <summary>True when the device itself answered with this error; false when FlowFleet gave up (offline, no answer in time).</summary>
    public bool FromDevice { get; init; }

    public JsonObject ToJson() => new() { ["code"] = Code, ["message"] = Message };

    public static ShellyRpcException FromJson(JsonNode? error) =>
        new(error?["code"] is JsonValue c && c.TryGetValue<double>(out var d) ? (int)d : -1,
            error?["message"] is JsonValue m && m.TryGetValue<string>(out var text) ? text : "error") { FromDevice = true };
}
