namespace FlowFleet.Server.Auth;

/// <summary>Roles and the Node-RED permissions they carry; policy names other components use.</summary>
public static class Roles
{
    public const string Admin = "admin";
    public const string Editor = "editor";
    public const string Operator = "operator";
    public const string Viewer = "viewer";

    public static readonly IReadOnlyList<string> All = [Admin, Editor, Operator, Viewer];

    /// <summary>Node-RED permission names (plus FlowFleet's device ones) per role; <c>*</c> is everything.</summary>
    public static IReadOnlyList<string> Permissions(string role) => role switch
    {
        Admin => ["*"],
        Editor => ["flows.read", "flows.write", "nodes.read", "nodes.write", "inject.write", "context.read", "context.write", "settings.read", "debug.write", "devices.read", "devices.control"],
        Operator => ["flows.read", "nodes.read", "context.read", "settings.read", "devices.read", "devices.control"],
        _ => ["flows.read", "nodes.read", "context.read", "settings.read", "devices.read"],
    };

    public static bool IsValid(string role) => All.Contains(role);
}

/// <summary>Authorization policy names; each requires the permission of the same name (admins pass all).</summary>
public static class Policies
{
    public const string FlowsRead = "flows.read";
    public const string FlowsWrite = "flows.write";
    public const string InjectWrite = "inject.write";
    public const string ContextRead = "context.read";
    public const string ContextWrite = "context.write";
    public const string SettingsRead = "settings.read";
    public const string DevicesRead = "devices.read";
    public const string DevicesControl = "devices.control";
    public const string UsersAdmin = "users.admin";

    public static readonly IReadOnlyList<string> All = [FlowsRead, FlowsWrite, InjectWrite, ContextRead, ContextWrite, SettingsRead, DevicesRead, DevicesControl, UsersAdmin];

    /// <summary>The claim type holding a permission.</summary>
    public const string PermissionClaim = "perm";
}
