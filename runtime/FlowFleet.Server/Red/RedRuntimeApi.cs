using System.Text.Json.Nodes;
using FlowFleet.Nodes.Core.Common;
using FlowFleet.Runtime;
using FlowFleet.Runtime.Context;
using FlowFleet.Runtime.Nodes;
using FlowFleet.Server.Auth;

namespace FlowFleet.Server.Red;

/// <summary>Node-RED's <c>/inject/:id</c>, <c>/debug/:id/enable|disable</c>, <c>/nodes</c>, <c>/settings</c>, <c>/context/...</c>.</summary>
public static class RedRuntimeApi
{
    public const string Version = "4.0.0-flowfleet";

    public static void MapRedRuntime(this RouteGroupBuilder red, bool noAuth)
    {
        red.MapPost("/inject/{id}", async (string id, HttpContext ctx, FlowEngine engine) =>
        {
            var body = await RedFlowsApi.ReadJsonAsync(ctx);
            var props = (body as JsonObject)?["__user_inject_props__"] as JsonArray;
            // A press right after a deploy answered waits for the node to run (InjectAsync), so it is not lost.
            return await engine.InjectAsync(id, (JsonArray?)props?.DeepClone()) ? Results.Ok("OK") : RedErrors.NotFound("Inject node " + id);
        }).RequireAuthorization(Policies.InjectWrite).WithName("RedInject");
        red.MapPost("/debug/{id}/{state}", async (string id, string state, FlowEngine engine) =>
        {
            // As Node-RED: an unknown state is not a route (404), like an unknown node.
            if (state is not ("enable" or "disable"))
            {
                return RedErrors.NotFound("Debug state " + state);
            }
            if (await engine.GetNodeAsync(id) is not DebugNode debug)
            {
                return RedErrors.NotFound("Debug node " + id);
            }
            debug.Active = state == "enable";
            return Results.Ok("OK");
        }).RequireAuthorization(Policies.InjectWrite);
        // Node-RED's "activate/deactivate all" buttons: POST /debug/enable|disable.
        red.MapPost("/debug/{state}", async (string state, FlowEngine engine) =>
        {
            if (state is not ("enable" or "disable"))
            {
                return RedErrors.NotFound("Debug state " + state);
            }
            await engine.Ready.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            foreach (var debug in engine.Nodes.Where(n => n.Type == "debug").Select(n => engine.GetNode(n.Id)).OfType<DebugNode>())
            {
                debug.Active = state == "enable";
            }
            return Results.Ok("OK");
        }).RequireAuthorization(Policies.InjectWrite);
        red.MapGet("/nodes", (NodeRegistry registry) => Results.Json(NodeSets(registry))).RequireAuthorization(Policies.FlowsRead).WithName("RedNodes");
        red.MapGet("/nodes/{module}/{set}", (string module, string set, NodeRegistry registry) =>
            NodeSets(registry).OfType<JsonObject>().FirstOrDefault(n => n["id"]!.GetValue<string>() == module + "/" + set) is { } found
                ? Results.Json(found)
                : RedErrors.NotFound("Node set " + module + "/" + set)).RequireAuthorization(Policies.FlowsRead);
        red.MapGet("/nodes/descriptors", (NodeRegistry registry) =>
            Results.Json(new JsonArray(registry.All.Select(d => (JsonNode?)d.ToJson()).ToArray()))).RequireAuthorization(Policies.FlowsRead);
        red.MapGet("/settings", (HttpContext ctx, ContextManager contexts) =>
        {
            var settings = new JsonObject
            {
                ["httpNodeRoot"] = "/",
                ["version"] = Version,
                ["context"] = new JsonObject
                {
                    ["default"] = contexts.DefaultStoreName,
                    ["stores"] = new JsonArray(contexts.StoreNames.Select(s => (JsonNode?)s).ToArray()),
                },
                ["flowEncryptionType"] = "system",
                ["functionExternalModules"] = false,
                ["libraries"] = new JsonArray(),
                ["editorTheme"] = new JsonObject { ["projects"] = new JsonObject { ["enabled"] = false } },
            };
            if (!noAuth)
            {
                settings["user"] = new JsonObject
                {
                    ["username"] = ctx.User.Identity?.Name,
                    ["permissions"] = new JsonArray(Principals.PermissionsOf(ctx.User).Select(p => (JsonNode?)p).ToArray()),
                };
            }
            return Results.Json(settings);
        }).RequireAuthorization(Policies.SettingsRead);
        red.MapRedContext();
    }

    /// <summary>Node-RED's node-set list: one entry per node type with its module.</summary>
    private static JsonArray NodeSets(NodeRegistry registry) => new(registry.All.Select(d => (JsonNode?)new JsonObject
    {
        ["id"] = (d.Module == "core" ? "node-red" : "flowfleet-" + d.Module) + "/" + d.Type,
        ["name"] = d.Type,
        ["types"] = new JsonArray(d.Type),
        ["enabled"] = true,
        ["local"] = d.Module is not ("core" or "fleet"),
        ["user"] = false,
        ["module"] = d.Module == "core" ? "node-red" : "flowfleet-" + d.Module,
        ["version"] = Version,
    }).ToArray());
}
