using System.Globalization;
using System.Security.Claims;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Registry;

namespace FlowFleet.Editor.Model;

/// <summary>What the dashboard pages share: permissions, channels of a device, number formatting.</summary>
public static class FleetUi
{
    /// <summary>The signed-in user's permission (admins have <c>*</c>); mirrors the server's policies.</summary>
    public static bool Can(ClaimsPrincipal? user, string permission) =>
        user is not null && (user.HasClaim("perm", "*") || user.HasClaim("perm", permission));

    /// <summary>Component keys of one type present in a status (<c>switch:0</c>, <c>switch:1</c>).</summary>
    public static IReadOnlyList<string> Channels(JsonObject status, string type) =>
        status.Select(kv => kv.Key).Where(k => k.StartsWith(type + ":", StringComparison.Ordinal))
            .OrderBy(k => int.TryParse(k[(type.Length + 1)..], CultureInfo.InvariantCulture, out var n) ? n : 0).ToList();

    public static int ChannelId(string key) => int.Parse(key[(key.IndexOf(':', StringComparison.Ordinal) + 1)..], CultureInfo.InvariantCulture);

    /// <summary>A finite number, or null for anything else a device might have sent there.</summary>
    public static double? Number(JsonNode? n) => JsonRead.Number(n);

    public static string Format(double? value, string unit, int decimals = 1) =>
        value is null ? "–" : value.Value.ToString("F" + decimals, CultureInfo.InvariantCulture) + " " + unit;

    public static string DisplayName(DeviceState d) => string.IsNullOrWhiteSpace(d.Name) ? d.Id : d.Name!;
}
