using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Server.Red;

namespace FlowFleet.Server.Auth;

/// <summary>
/// <c>/api/users</c> for admins: list, add, change (role, password, device groups) and delete users. Every change but adding
/// ends the user's sessions at once (see <see cref="TokenService"/>).
/// </summary>
public static class UsersApi
{
    public static void MapUsersApi(this IEndpointRouteBuilder app)
    {
        var users = app.MapGroup("/api/users").WithTags("users").RequireAuthorization(Policies.UsersAdmin);
        users.MapGet("", async (UserService service, CancellationToken ct) =>
            Results.Json((await service.ListAsync(ct)).Select(Describe))).WithName("ListUsers");
        users.MapPost("", async (JsonObject? body, UserService service, CancellationToken ct) => await Guard(async () =>
        {
            var name = Text(body, "name") ?? throw new ArgumentException("name is required");
            var generated = Text(body, "password") is null;
            var password = Text(body, "password") ?? UserService.GeneratePassword();
            await service.AddAsync(name, Text(body, "role") ?? Roles.Viewer, password, ct);
            if (body!.ContainsKey("groups"))
            {
                await service.SetGroupsAsync(name, GroupsOf(body), ct);
            }
            var o = Describe((await service.FindAsync(name, ct))!);
            if (generated)
            {
                o["password"] = password;
            }
            return Results.Json(o, statusCode: 201);
        })).WithName("AddUser");
        users.MapPatch("/{name}", async (string name, JsonObject? body, UserService service, CancellationToken ct) => await Guard(async () =>
        {
            if (body is null || body.Count == 0)
            {
                throw new ArgumentException("Send role, password and/or groups");
            }
            if (await service.FindAsync(name, ct) is null)
            {
                throw new KeyNotFoundException($"No user '{name}'");
            }
            if (Text(body, "role") is { } role)
            {
                await service.SetRoleAsync(name, role, ct);
            }
            if (Text(body, "password") is { } password)
            {
                await service.SetPasswordAsync(name, password, ct);
            }
            if (body.ContainsKey("groups"))
            {
                await service.SetGroupsAsync(name, GroupsOf(body), ct);
            }
            return Results.Json(Describe((await service.FindAsync(name, ct))!));
        })).WithName("UpdateUser");
        users.MapDelete("/{name}", async (string name, UserService service, CancellationToken ct) => await Guard(async () =>
        {
            await service.DeleteAsync(name, ct);
            return Results.NoContent();
        })).WithName("DeleteUser");
    }

    public static JsonObject Describe(UserAccount u)
    {
        ArgumentNullException.ThrowIfNull(u);
        return new JsonObject
        {
            ["name"] = u.Name, ["role"] = u.Role, ["createdAt"] = u.CreatedAt.ToString("O"),
            ["groups"] = u.Groups is null ? null : JsonNode.Parse(u.Groups),
        };
    }

    private static async Task<IResult> Guard(Func<Task<IResult>> action)
    {
        try
        {
            return await action();
        }
        catch (ArgumentException ex)
        {
            return RedErrors.BadRequest(ex.Message);
        }
        catch (KeyNotFoundException ex)
        {
            return RedErrors.Json(404, "not_found", ex.Message);
        }
        catch (InvalidOperationException ex)
        {
            return RedErrors.Json(409, "conflict", ex.Message);
        }
    }

    private static string? Text(JsonObject? body, string field) => body?[field] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => throw new ArgumentException($"{field} must be a string"),
    };

    /// <summary><c>groups</c>: null for all devices, or an array of group names (empty: none).</summary>
    private static List<string>? GroupsOf(JsonObject body) => body["groups"] switch
    {
        null => null,
        JsonArray a when a.All(g => g is JsonValue v && v.GetValueKind() == JsonValueKind.String) => [.. a.Select(g => g!.GetValue<string>())],
        _ => throw new ArgumentException("groups must be null (all devices) or an array of group names"),
    };
}
