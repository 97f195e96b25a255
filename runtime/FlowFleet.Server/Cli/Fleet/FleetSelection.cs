using System.Text.Json.Nodes;

namespace FlowFleet.Server.Cli.Fleet;

/// <summary>
/// What a fleet CLI command works on: one device (its id), <c>group:NAME</c>, <c>tag:NAME</c>, a filter
/// (<c>model:X</c>, <c>search:TEXT</c>, <c>online</c>, <c>offline</c>, several joined with commas) or <c>*</c> (all).
/// It resolves to device ids through <c>GET /api/devices</c>, so the server's access rules apply.
/// </summary>
public sealed record FleetSelection(string Text)
{
    public static readonly FleetSelection All = new("*");

    public bool IsAll => Text is "*" or "all";

    /// <summary>The query string for <c>/api/devices</c>, or null when the text names one device.</summary>
    public string? Query()
    {
        if (IsAll)
        {
            return "";
        }
        var parts = new List<string>();
        foreach (var part in Text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = part.IndexOf(':', StringComparison.Ordinal);
            var (key, value) = colon < 0 ? (part, "") : (part[..colon].ToLowerInvariant(), part[(colon + 1)..]);
            switch (key)
            {
                case "group" or "tag" or "model" or "search":
                    parts.Add($"{key}={Uri.EscapeDataString(value)}");
                    break;
                case "online" or "offline" when colon < 0:
                    parts.Add($"online={(key == "online" ? "true" : "false")}");
                    break;
                default:
                    return null;
            }
        }
        return string.Join('&', parts);
    }

    public override string ToString() => IsAll ? "all devices" : Text;

    /// <summary>The ids of the selected devices (the device itself for an id; 404 is a clear error).</summary>
    public async Task<IReadOnlyList<JsonObject>> DevicesAsync(FleetApiClient client, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (Query() is not { } query)
        {
            try
            {
                var device = await client.GetAsync("api/devices/" + Uri.EscapeDataString(Text), ct);
                return device is JsonObject o ? [o] : [];
            }
            catch (FleetCliException ex) when (ex.Message.StartsWith("404", StringComparison.Ordinal))
            {
                throw new FleetCliException($"No device \"{Text}\" (select a device id, group:NAME, tag:NAME, model:X, search:TEXT, online, offline or *)");
            }
        }
        var list = await client.GetAsync("api/devices?limit=100000" + (query.Length > 0 ? "&" + query : ""), ct);
        return [.. (list?["items"] as JsonArray ?? []).OfType<JsonObject>()];
    }
}
