using System.Text.Json.Nodes;
using FlowFleet.Runtime;
using FlowFleet.Runtime.Context;
using FlowFleet.Server.Auth;

namespace FlowFleet.Server.Red;

/// <summary>Node-RED's context endpoints: <c>GET|DELETE /context/(global|flow/:id|node/:id)[/key]</c>.</summary>
public static class RedContextApi
{
    public static void MapRedContext(this RouteGroupBuilder red)
    {
        red.MapGet("/context/global/{key?}", (string? key, HttpContext ctx, ContextManager contexts) => Read(contexts, "global", key, ctx))
            .RequireAuthorization(Policies.ContextRead);
        red.MapGet("/context/flow/{id}/{key?}", (string id, string? key, HttpContext ctx, ContextManager contexts) => Read(contexts, id, key, ctx))
            .RequireAuthorization(Policies.ContextRead);
        red.MapGet("/context/node/{id}/{key?}", (string id, string? key, HttpContext ctx, ContextManager contexts, FlowEngine engine) =>
            engine.GetHost(id) is { } host ? Read(contexts, ContextManager.NodeScope(host.Alias, host.FlowId), key, ctx) : RedErrors.NotFound("Node " + id))
            .RequireAuthorization(Policies.ContextRead);
        red.MapDelete("/context/global/{key}", (string key, HttpContext ctx, ContextManager contexts) => Delete(contexts, "global", key, ctx))
            .RequireAuthorization(Policies.ContextWrite);
        red.MapDelete("/context/flow/{id}/{key}", (string id, string key, HttpContext ctx, ContextManager contexts) => Delete(contexts, id, key, ctx))
            .RequireAuthorization(Policies.ContextWrite);
        red.MapDelete("/context/node/{id}/{key}", (string id, string key, HttpContext ctx, ContextManager contexts, FlowEngine engine) =>
            engine.GetHost(id) is { } host ? Delete(contexts, ContextManager.NodeScope(host.Alias, host.FlowId), key, ctx) : RedErrors.NotFound("Node " + id))
            .RequireAuthorization(Policies.ContextWrite);
    }

    private static IResult Read(ContextManager contexts, string scope, string? key, HttpContext ctx)
    {
        if (key is not null && !ValidKey(key, out var problem))
        {
            return RedErrors.BadRequest(problem);
        }
        var storeFilter = ctx.Request.Query["store"].ToString();
        if (!string.IsNullOrEmpty(storeFilter) && !contexts.StoreNames.Contains(storeFilter))
        {
            return RedErrors.BadRequest($"Unknown context store '{storeFilter}'");
        }
        var stores = string.IsNullOrEmpty(storeFilter) ? contexts.StoreNames.ToList() : [storeFilter];
        var result = new JsonObject();
        foreach (var storeName in stores)
        {
            var scoped = contexts.Scope(scope);
            if (key is not null)
            {
                var v = scoped.Get(key, storeName);
                if (v is not null || !string.IsNullOrEmpty(storeFilter))
                {
                    var (msg, format) = DebugFormatter.Encode(v);
                    result[storeName] = new JsonObject { ["msg"] = msg, ["format"] = format };
                }
                continue;
            }
            var entries = new JsonObject();
            foreach (var k in scoped.Keys(storeName))
            {
                var (msg, format) = DebugFormatter.Encode(scoped.Get(k, storeName));
                entries[k] = new JsonObject { ["msg"] = msg, ["format"] = format };
            }
            result[storeName] = entries;
        }
        return Results.Json(key is not null && !string.IsNullOrEmpty(storeFilter) ? result[storeFilter] : result);
    }

    private static bool ValidKey(string key, out string problem)
    {
        try
        {
            Runtime.Messages.PropertyPath.Parse(key);
            problem = "";
            return true;
        }
        catch (FormatException ex)
        {
            problem = ex.Message;
            return false;
        }
    }

    private static IResult Delete(ContextManager contexts, string scope, string key, HttpContext ctx)
    {
        if (!ValidKey(key, out var problem))
        {
            return RedErrors.BadRequest(problem);
        }
        var store = ctx.Request.Query["store"].ToString();
        if (!string.IsNullOrEmpty(store) && !contexts.StoreNames.Contains(store))
        {
            return RedErrors.BadRequest($"Unknown context store '{store}'");
        }
        contexts.Scope(scope).Set(key, null, string.IsNullOrEmpty(store) ? null : store);
        return Results.NoContent();
    }
}
