using System.Text.Json.Nodes;
using FlowFleet.Runtime;
using FlowFleet.Runtime.Flows;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Storage;
using FlowFleet.Server.Auth;

namespace FlowFleet.Server.Red;

/// <summary>Node-RED's single-flow endpoints: <c>GET/POST /flow</c>, <c>GET/PUT/DELETE /flow/:id</c> (a tab with its nodes).</summary>
public static class RedFlowApi
{
    public static void MapRedFlow(this RouteGroupBuilder red)
    {
        red.MapGet("/flow/{id}", (string id, FlowService flows) =>
        {
            var all = flows.GetFlows();
            if (id == "global")
            {
                return Results.Json(new JsonObject
                {
                    ["id"] = "global",
                    ["configs"] = new JsonArray(all.OfType<JsonObject>().Where(IsGlobalConfig).Select(n => (JsonNode?)n.DeepClone()).ToArray()),
                    ["subflows"] = new JsonArray(all.OfType<JsonObject>().Where(n => Type(n) == "subflow").Select(n => (JsonNode?)n.DeepClone()).ToArray()),
                });
            }
            var tab = all.OfType<JsonObject>().FirstOrDefault(n => Id(n) == id && Type(n) == "tab");
            return tab is null ? RedErrors.NotFound("Flow " + id) : Results.Json(ToFlow(tab, all));
        }).RequireAuthorization(Policies.FlowsRead);
        red.MapPost("/flow", async (HttpContext ctx, FlowService flows) =>
        {
            if (await RedFlowsApi.ReadJsonAsync(ctx) is not JsonObject body)
            {
                return RedErrors.BadRequest("Body must be a flow object {label, nodes}");
            }
            var id = JsonTools.Text(body["id"]) is { Length: > 0 } given && !flows.GetFlows().OfType<JsonObject>().Any(n => Id(n) == given) ? given : MessageId.New();
            return await ReplaceAsync(flows, id, body, ctx.RequestAborted, create: true);
        }).RequireAuthorization(Policies.FlowsWrite);
        red.MapPut("/flow/{id}", async (string id, HttpContext ctx, FlowService flows) =>
        {
            if (!flows.GetFlows().OfType<JsonObject>().Any(n => Id(n) == id && Type(n) == "tab"))
            {
                return RedErrors.NotFound("Flow " + id);
            }
            return await RedFlowsApi.ReadJsonAsync(ctx) is JsonObject body
                ? await ReplaceAsync(flows, id, body, ctx.RequestAborted, create: false)
                : RedErrors.BadRequest("Body must be a flow object {label, nodes}");
        }).RequireAuthorization(Policies.FlowsWrite);
        red.MapDelete("/flow/{id}", async (string id, FlowService flows, CancellationToken ct) =>
        {
            var all = flows.GetFlows();
            if (!all.OfType<JsonObject>().Any(n => Id(n) == id && Type(n) == "tab"))
            {
                return RedErrors.NotFound("Flow " + id);
            }
            var kept = new JsonArray(all.OfType<JsonObject>().Where(n => Id(n) != id && n["z"]?.GetValue<string>() != id).Select(n => (JsonNode?)n.DeepClone()).ToArray());
            await flows.DeployAsync(kept, DeployType.Flows, null, ct);
            return Results.NoContent();
        }).RequireAuthorization(Policies.FlowsWrite);
    }

    private static async Task<IResult> ReplaceAsync(FlowService flows, string id, JsonObject body, CancellationToken ct, bool create)
    {
        var all = flows.GetFlows();
        var kept = all.OfType<JsonObject>().Where(n => Id(n) != id && n["z"]?.GetValue<string>() != id).Select(n => (JsonNode?)n.DeepClone()).ToList();
        var tab = new JsonObject { ["id"] = id, ["type"] = "tab", ["label"] = body["label"]?.DeepClone() ?? "Flow", ["disabled"] = body["disabled"]?.DeepClone() ?? false, ["info"] = body["info"]?.DeepClone() ?? "" };
        if (body["env"] is JsonArray env)
        {
            tab["env"] = env.DeepClone();
        }
        var insertAt = create ? kept.Count : Math.Max(0, all.OfType<JsonObject>().TakeWhile(n => Id(n) != id).Count(n => Id(n) != id && n["z"]?.GetValue<string>() != id));
        kept.Insert(Math.Min(insertAt, kept.Count), tab);
        foreach (var n in (body["nodes"] as JsonArray ?? []).Concat(body["configs"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var copy = (JsonObject)n.DeepClone();
            copy["z"] = id;
            kept.Add(copy);
        }
        try
        {
            await flows.DeployAsync(new JsonArray(kept.ToArray()), DeployType.Flows, null, ct);
        }
        catch (FlowValidationException ex)
        {
            return RedErrors.BadRequest(ex.Message);
        }
        return Results.Json(new { id });
    }

    private static JsonObject ToFlow(JsonObject tab, JsonArray all)
    {
        var id = Id(tab);
        var flow = new JsonObject { ["id"] = id, ["label"] = tab["label"]?.DeepClone(), ["disabled"] = tab["disabled"]?.DeepClone() ?? false, ["info"] = tab["info"]?.DeepClone() ?? "" };
        if (tab["env"] is JsonArray env)
        {
            flow["env"] = env.DeepClone();
        }
        var members = all.OfType<JsonObject>().Where(n => n["z"]?.GetValue<string>() == id).ToList();
        flow["nodes"] = new JsonArray(members.Where(n => n.ContainsKey("x") || Type(n) == "group").Select(n => (JsonNode?)n.DeepClone()).ToArray());
        var configs = members.Where(n => !n.ContainsKey("x") && Type(n) != "group").ToList();
        if (configs.Count > 0)
        {
            flow["configs"] = new JsonArray(configs.Select(n => (JsonNode?)n.DeepClone()).ToArray());
        }
        return flow;
    }

    private static bool IsGlobalConfig(JsonObject n) =>
        string.IsNullOrEmpty(n["z"]?.GetValue<string>()) && !n.ContainsKey("x") && Type(n) is not "tab" and not "subflow" and not "group";

    private static string? Id(JsonObject n) => FlowDocument.Str(n, "id");

    private static string? Type(JsonObject n) => FlowDocument.Str(n, "type");
}
