using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Runtime;
using FlowFleet.Runtime.Flows;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Storage;
using FlowFleet.Server.Auth;
using FlowFleet.Server.HttpNodes;

namespace FlowFleet.Server.Red;

/// <summary>Node-RED's flow endpoints: <c>/flows</c>, <c>/flows/state</c>, <c>/flow/:id</c>.</summary>
public static class RedFlowsApi
{
    public static void MapRedFlows(this RouteGroupBuilder red)
    {
        red.MapGet("/flows", (HttpContext ctx, FlowService flows) => IsV2(ctx)
            ? Results.Json(new JsonObject { ["rev"] = flows.Rev, ["flows"] = flows.GetFlows() })
            : Results.Json(flows.GetFlows())).RequireAuthorization(Policies.FlowsRead).WithName("RedGetFlows");
        red.MapPost("/flows", PostFlowsAsync).RequireAuthorization(Policies.FlowsWrite).WithName("RedPostFlows");
        red.MapGet("/flows/state", (FlowEngine engine, FlowService flows) => flows.SafeModeReason is { } reason
                ? Results.Json(new { state = "safe", reason })
                : Results.Json(new { state = engine.Started ? "start" : "stop" }))
            .RequireAuthorization(Policies.FlowsRead);
        red.MapPost("/flows/state", async (HttpContext ctx, FlowEngine engine) =>
        {
            var body = await ReadJsonAsync(ctx);
            switch (body is JsonObject o ? JsonTools.Text(o["state"]) : null)
            {
                case "start":
                    await engine.StartFlowsAsync();
                    break;
                case "stop":
                    await engine.StopFlowsAsync();
                    break;
                default:
                    return RedErrors.BadRequest("state must be start or stop");
            }
            return Results.Json(new { state = engine.Started ? "start" : "stop" });
        }).RequireAuthorization(Policies.FlowsWrite);
        red.MapRedFlow();
    }

    /// <summary>The last deploy body and its document (content-matched, so one for the process is right for any server in it).</summary>
    private static readonly FlowDocumentMemo s_memo = new();

    private static bool IsV2(HttpContext ctx) => ctx.Request.Headers["Node-RED-API-Version"].ToString() == "v2";

    private static async Task<IResult> PostFlowsAsync(HttpContext ctx, FlowService flows, HttpRouteTable routes)
    {
        DeployTrace.Mark("handler");
        var type = ctx.Request.Headers["Node-RED-Deployment-Type"].ToString();
        if (type == "reload")
        {
            try
            {
                var reloaded = await flows.LoadAsync(ctx.RequestAborted);
                return IsV2(ctx) ? Results.Json(new { rev = reloaded.Rev }) : Results.NoContent();
            }
            catch (Exception ex) when (ex is FlowValidationException or InvalidDataException)
            {
                return RedErrors.BadRequest(ex.Message);
            }
        }
        var deployType = type switch
        {
            "" or "full" => DeployType.Full,
            "nodes" => DeployType.Nodes,
            "flows" => DeployType.Flows,
            _ => (DeployType?)null,
        };
        if (deployType is null)
        {
            return RedErrors.BadRequest($"Unknown deployment type '{type}'");
        }
        using var sent = await SentBody.ReadAsync(ctx, withItems: true, s_memo);
        DeployTrace.Mark("body read and checked");
        // FlowFleet's deploy history keeps a note per deploy: a "message" beside v2's flows, or a header for v1 clients.
        var message = ctx.Request.Headers["FlowFleet-Deploy-Message"].ToString();
        string? rev = null;
        var wrapped = false;
        try
        {
            FlowDocument doc;
            if (sent.Items is { } items)
            {
                // A v1 body is the array itself: its objects are made item by item, those sent as last time taken from the
                // document made of it then.
                doc = s_memo.Adopt(sent.Bytes, items);
            }
            else
            {
                var body = sent.Json;
                JsonNode? flowArray;
                if (body is JsonObject o)
                {
                    wrapped = true;
                    flowArray = o["flows"];
                    if (o["rev"] is { } givenRev && JsonTools.Text(givenRev) is null)
                    {
                        return RedErrors.BadRequest("rev must be a string");
                    }
                    rev = JsonTools.Text(o["rev"]);
                    message = o["message"] is JsonValue m && m.TryGetValue<string>(out var text) ? text : message;
                    if (o["credentials"] is JsonObject creds && flowArray is JsonArray arr)
                    {
                        // v2 clients may send credentials apart from the nodes: put them back for the flow service to split off.
                        foreach (var n in arr.OfType<JsonObject>())
                        {
                            if (JsonTools.Text(n["id"]) is { } id && creds[id] is JsonObject c)
                            {
                                n["credentials"] = c.DeepClone();
                            }
                        }
                    }
                }
                else
                {
                    flowArray = body;
                }
                if (flowArray is not JsonArray flowsJson)
                {
                    return RedErrors.BadRequest("The body must be a flow array, or {rev, flows}");
                }
                // The body was parsed for this deploy alone: the document takes the array as it is (detached from a v2
                // wrapper), without a copy.
                (body as JsonObject)?.Remove("flows");
                doc = FlowDocument.Adopt(flowsJson);
            }
            DeployTrace.Mark("document");
            if (HttpPathProblem(doc, routes) is { } problem)
            {
                return RedErrors.BadRequest(problem);
            }
            // Answered as Node-RED answers: once the flows are saved and the changed nodes stopped. The new ones are built
            // and started after it; what a client sees meanwhile is FlowEngine.BeginDeployAsync's rule.
            // The deploy's log line and history version wait until the answer is sent.
            var answered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            ctx.Response.OnCompleted(() =>
            {
                answered.TrySetResult();
                return Task.CompletedTask;
            });
            var result = await flows.BeginDeployAsync(doc, deployType.Value, IsV2(ctx) ? rev : null,
                new DeployInfo(ctx.User.Identity?.Name, message), answered.Task, ctx.RequestAborted);
            DeployTrace.Mark("deployed");
            return IsV2(ctx) || wrapped ? Results.Json(new { rev = result.Rev }) : Results.NoContent();
        }
        catch (FlowRevisionConflictException)
        {
            return RedErrors.Json(409, "version_mismatch", "Error: version mismatch");
        }
        catch (FlowValidationException ex)
        {
            return RedErrors.BadRequest(ex.Message);
        }
    }

    /// <summary>An http in node may not claim FlowFleet's own paths; such a deploy is refused whole.</summary>
    public static string? HttpPathProblem(FlowDocument flows, HttpRouteTable routes)
    {
        ArgumentNullException.ThrowIfNull(flows);
        // Types from the document's index: only the http in nodes' objects are read.
        foreach (var n in flows.FlowNodes.Concat(flows.ConfigNodes))
        {
            if (flows.TypeOf(n) == "http in" && !flows.IsDisabled(n) &&
                n["url"] is JsonValue url && routes.IsReserved(url.ToString(), out var reason))
            {
                return $"Node {flows.IdOf(n)}: {reason}";
            }
        }
        return null;
    }

    /// <summary>The request body parsed as JSON (null when it is not JSON or holds text that cannot be read).</summary>
    internal static async Task<JsonNode?> ReadJsonAsync(HttpContext ctx)
    {
        using var sent = await SentBody.ReadAsync(ctx, withItems: false);
        return sent.Json;
    }
}
