using System.Security.Claims;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Flows;
using FlowFleet.Runtime.Storage;
using FlowFleet.Server.Auth;
using FlowFleet.Server.Red;
using Microsoft.Extensions.Options;

namespace FlowFleet.Server.Flows;

/// <summary>
/// Deploy history under <c>/api/flows/history</c>: list, one version's flow set, a diff of any two versions (or a version
/// and what runs now), and restore (a new deploy). Viewers read, editors restore.
/// </summary>
public static class FlowHistoryApi
{
    public sealed record RestoreRequest(string? Message);

    public static void MapFlowHistoryApi(this IEndpointRouteBuilder app)
    {
        var history = app.MapGroup("/api/flows/history").WithTags("flow history");

        history.MapGet("", async (FlowService flows, IOptions<FlowHistoryOptions> options, int? limit, CancellationToken ct) =>
        {
            var items = await Store(flows).ListAsync(limit ?? 1000, ct);
            // The same flows may be kept twice (deployed again, restored): the newest of them is the live one.
            var live = items.FirstOrDefault(i => i.Rev == flows.Rev)?.Version;
            return Results.Json(new JsonObject
            {
                ["items"] = new JsonArray(items.Select(i => (JsonNode?)Describe(i, i.Version == live)).ToArray()),
                ["current"] = flows.Rev,
                ["retention"] = new JsonObject { ["maxCount"] = options.Value.MaxCount, ["maxAgeDays"] = options.Value.MaxAge.TotalDays },
            });
        }).RequireAuthorization(Policies.FlowsRead).WithName("ListFlowHistory")
          .WithSummary("Kept deploys, newest first: version, rev, who, when, deployment type, message.");

        history.MapGet("/diff", async (FlowService flows, string? from, string? to, CancellationToken ct) =>
        {
            if (string.IsNullOrWhiteSpace(from))
            {
                return RedErrors.BadRequest("from is required: a version number, a rev, or 'current'");
            }
            var a = await ResolveAsync(flows, from, ct);
            var b = await ResolveAsync(flows, string.IsNullOrWhiteSpace(to) ? "current" : to, ct);
            if (a is null || b is null)
            {
                return RedErrors.NotFound($"Version {(a is null ? from : to)}");
            }
            var diff = FlowDiff.Compute(a.Value.Flows, b.Value.Flows).ToJson();
            diff["from"] = a.Value.Label;
            diff["to"] = b.Value.Label;
            return Results.Json(diff);
        }).RequireAuthorization(Policies.FlowsRead).WithName("DiffFlowHistory")
          .WithSummary("What changed between two versions (from, to: a version number, a rev, or 'current'; to defaults to current).");

        history.MapGet("/{rev}", async (string rev, FlowService flows, CancellationToken ct) =>
        {
            var kept = await FindAsync(flows, rev, ct);
            if (kept is null)
            {
                return RedErrors.NotFound($"Version {rev}");
            }
            var o = Describe(kept.Info, kept.Info.Rev == flows.Rev);
            o["flows"] = kept.Flows;
            return Results.Json(o);
        }).RequireAuthorization(Policies.FlowsRead).WithName("GetFlowHistoryVersion")
          .WithSummary("One kept deploy with its full flow set ({rev}: the version number or the flows' rev).");

        history.MapPost("/{rev}/restore", async (string rev, HttpContext ctx, FlowService flows, ClaimsPrincipal user, CancellationToken ct) =>
        {
            var kept = await FindAsync(flows, rev, ct);
            if (kept is null)
            {
                return RedErrors.NotFound($"Version {rev}");
            }
            var body = ctx.Request.ContentLength is > 0 ? await RedFlowsApi.ReadJsonAsync(ctx) : null;
            var message = body?["message"] is JsonValue m && m.TryGetValue<string>(out var s) ? s : null;
            try
            {
                var (result, _) = await flows.RestoreAsync(kept.Info.Version, new DeployInfo(user.Identity?.Name, message), ct);
                var latest = (await Store(flows).ListAsync(1, ct)).FirstOrDefault();
                return Results.Json(new JsonObject
                {
                    ["rev"] = result.Rev, ["restoredFrom"] = kept.Info.Version, ["version"] = latest?.Version,
                    ["started"] = result.Started, ["warnings"] = new JsonArray(result.Warnings.Select(w => (JsonNode?)w).ToArray()),
                });
            }
            catch (FlowValidationException ex)
            {
                return RedErrors.BadRequest(ex.Message);
            }
        }).RequireAuthorization(Policies.FlowsWrite).WithName("RestoreFlowHistoryVersion")
          .WithSummary("Deploys a kept version again, as a new (full) deploy; the history keeps both.");
    }

    private static IFlowHistory Store(FlowService flows) =>
        flows.History ?? throw new InvalidOperationException("This server keeps no deploy history");

    private static JsonObject Describe(FlowVersionInfo info, bool live)
    {
        var o = info.ToJson();
        o["live"] = live;
        return o;
    }

    /// <summary>A version number, or a 64-digit rev (the newest version with it).</summary>
    private static async Task<FlowVersion?> FindAsync(FlowService flows, string key, CancellationToken ct)
    {
        var store = Store(flows);
        if (long.TryParse(key, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var version) && key.Length < 20)
        {
            return await store.GetAsync(version, ct);
        }
        return key.Length == 64 ? await store.FindByRevAsync(key.ToLowerInvariant(), ct) : null;
    }

    private static async Task<(JsonArray Flows, JsonObject Label)?> ResolveAsync(FlowService flows, string key, CancellationToken ct)
    {
        if (key == "current")
        {
            return (flows.GetFlows(), new JsonObject { ["version"] = "current", ["rev"] = flows.Rev });
        }
        var kept = await FindAsync(flows, key, ct);
        return kept is null ? null : (kept.Flows, new JsonObject { ["version"] = kept.Info.Version, ["rev"] = kept.Info.Rev });
    }
}
