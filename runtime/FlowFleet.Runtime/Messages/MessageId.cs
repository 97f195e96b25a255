namespace FlowFleet.Runtime.Messages;

/// <summary>Node-RED style message ids: 16 lowercase hex characters.</summary>
public static class MessageId
{
    public static string New()
    {
        Span<byte> bytes = stackalloc byte[8];
        Random.Shared.NextBytes(bytes);
        return Convert.ToHexStringLower(bytes);
    }
}
