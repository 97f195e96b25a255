using System.Security.Claims;

namespace FlowFleet.Fleet.Registry;

/// <summary>
/// Which devices a user may see and drive (the "shared with" model of Shelly's fleet manager and mDash): a user limited to
/// some device groups reaches only the members of those groups; everyone else (admins, users without a limit) reaches all.
/// The limit travels as claims on the user's principal, set by the server from the user's account.
/// </summary>
public sealed class DeviceAccess
{
    /// <summary>Present on a limited user's principal.</summary>
    public const string LimitedClaim = "ff.limited";

    /// <summary>One per group a limited user may reach.</summary>
    public const string GroupClaim = "ff.group";

    public static readonly DeviceAccess Everything = new(null);

    private readonly HashSet<string>? _groups;

    private DeviceAccess(IEnumerable<string>? groups) =>
        _groups = groups?.ToHashSet(StringComparer.Ordinal);

    public static DeviceAccess For(ClaimsPrincipal? user) =>
        user?.HasClaim(c => c.Type == LimitedClaim) == true ? new DeviceAccess(user.FindAll(GroupClaim).Select(c => c.Value)) : Everything;

    public static DeviceAccess Only(IEnumerable<string> groups) => new(groups);

    public bool Limited => _groups is not null;

    public bool CanSeeGroup(string group) => _groups is null || _groups.Contains(group);

    public bool CanSee(IGroupStore groups, string deviceId)
    {
        ArgumentNullException.ThrowIfNull(groups);
        return _groups is null || groups.GroupsOf(deviceId).Any(_groups.Contains);
    }

    /// <summary>The ids this user may reach, for <see cref="DeviceQuery.Within"/>; null when not limited.</summary>
    public IReadOnlySet<string>? Devices(IGroupStore groups)
    {
        ArgumentNullException.ThrowIfNull(groups);
        return _groups is null ? null : _groups.SelectMany(groups.Members).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The given ids less those out of reach.</summary>
    public IReadOnlyList<string> Filter(IGroupStore groups, IEnumerable<string> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var within = Devices(groups);
        return within is null ? ids.ToList() : ids.Where(within.Contains).ToList();
    }

    /// <summary>Group names this user may see.</summary>
    public IReadOnlyList<string> GroupNames(IGroupStore groups)
    {
        ArgumentNullException.ThrowIfNull(groups);
        return groups.GroupNames.Where(CanSeeGroup).ToList();
    }
}
