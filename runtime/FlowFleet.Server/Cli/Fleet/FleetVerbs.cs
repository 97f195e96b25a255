using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace FlowFleet.Server.Cli.Fleet;

/// <summary>
/// The fleet CLI's verbs, the same for one-shot <c>flowfleet devices …</c> and the interactive <c>flowfleet shell</c>:
/// list, select, call, config, groups, pending (track and ota in <c>FleetVerbs.Live</c>). Each returns an exit code:
/// 0 when everything worked, 1 when some device failed.
/// </summary>
public static partial class FleetVerbs
{
    public static async Task<int> ListAsync(FleetSession s, FleetSelection? filter, CancellationToken ct)
    {
        var devices = await (filter ?? FleetSelection.All).DevicesAsync(s.Client, ct);
        if (s.Json)
        {
            s.WriteJson(new JsonArray(devices.Select(d => (JsonNode?)d.DeepClone()).ToArray()));
            return 0;
        }
        var table = new Table().AddColumns("id", "name", "model", "state", "fw", "ip", "groups");
        foreach (var d in devices)
        {
            table.AddRow(E(d["id"]), E(d["name"]), E(d["model"]), Online(d), E(d["fw"]), E(d["ip"]),
                E(string.Join(",", (d["groups"] as JsonArray ?? []).Select(g => g?.ToString()))));
        }
        s.Console.Write(table);
        s.Console.MarkupLine($"{devices.Count} device(s), {devices.Count(d => d["online"]?.GetValue<bool>() == true)} online");
        return 0;
    }

    public static async Task<int> SelectAsync(FleetSession s, string? text, CancellationToken ct)
    {
        var selection = string.IsNullOrWhiteSpace(text) ? FleetSelection.All : new FleetSelection(text.Trim());
        var devices = await selection.DevicesAsync(s.Client, ct);
        s.Selection = selection;
        s.SelectionCount = devices.Count;
        if (s.Json)
        {
            s.WriteJson(new JsonObject { ["selection"] = selection.Text, ["devices"] = new JsonArray(devices.Select(d => (JsonNode?)d["id"]!.ToString()).ToArray()) });
        }
        else
        {
            s.Console.MarkupLine($"Selected {E(selection.ToString())}: {devices.Count} device(s), {devices.Count(d => d["online"]?.GetValue<bool>() == true)} online");
        }
        return 0;
    }

    /// <summary>One method on every selected device, <see cref="FleetSettings.Parallel"/> at a time, with progress and per-device results.</summary>
    public static async Task<int> CallAsync(FleetSession s, FleetSelection selection, string method, string? paramsJson, CancellationToken ct)
    {
        var parameters = ParseObject(paramsJson, "parameters");
        var devices = await Targets(s, selection, ct);
        var results = await CallEachAsync(s, devices, $"{method} → {selection}", _ => (method, parameters.DeepClone().AsObject()), ct);
        return Report(s, results, r => r.Result is null ? "" : Compact(r.Result));
    }

    public static async Task<int> ConfigGetAsync(FleetSession s, FleetSelection selection, string? component, CancellationToken ct)
    {
        var devices = await Targets(s, selection, ct);
        var results = await CallEachAsync(s, devices, $"config of {selection}", _ => ("Shelly.GetConfig", []), ct);
        foreach (var r in results.Where(r => r.Ok && component is not null))
        {
            r.Result = r.Result?[component!]?.DeepClone() ?? throw new FleetCliException($"{r.Id} has no component \"{component}\"");
        }
        if (s.Json)
        {
            return Report(s, results, _ => "");
        }
        foreach (var r in results)
        {
            s.Console.MarkupLine($"[bold]{E(r.Id)}[/]" + (r.Ok ? "" : $" [red]{E(r.Error)}[/]"));
            if (r.Ok)
            {
                s.Console.WriteLine(r.Result?.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) ?? "null");
            }
        }
        return results.All(r => r.Ok) ? 0 : 1;
    }

    /// <summary><c>config set switch:0 {"name":"Heater"}</c> → <c>Switch.SetConfig {id:0, config}</c>; <c>sys</c> → <c>Sys.SetConfig</c>.</summary>
    public static async Task<int> ConfigSetAsync(FleetSession s, FleetSelection selection, string component, string configJson, CancellationToken ct)
    {
        var config = ParseObject(configJson, "config");
        var colon = component.IndexOf(':', StringComparison.Ordinal);
        var type = colon < 0 ? component : component[..colon];
        if (type.Length == 0 || (colon >= 0 && !int.TryParse(component[(colon + 1)..], NumberStyles.Integer, CultureInfo.InvariantCulture, out _)))
        {
            throw new FleetCliException($"\"{component}\" is not a component; give one like sys, wifi, switch:0");
        }
        var method = char.ToUpperInvariant(type[0]) + type[1..] + ".SetConfig";
        var p = new JsonObject { ["config"] = config };
        if (colon >= 0)
        {
            p["id"] = int.Parse(component[(colon + 1)..], CultureInfo.InvariantCulture);
        }
        var devices = await Targets(s, selection, ct);
        var results = await CallEachAsync(s, devices, $"{method} → {selection}", _ => (method, p.DeepClone().AsObject()), ct);
        return Report(s, results, r => r.Result?["restart_required"]?.GetValue<bool>() == true ? "restart required" : "saved");
    }

    public static async Task<int> GroupsAsync(FleetSession s, string? action, string? name, IReadOnlyList<string> ids, CancellationToken ct)
    {
        switch (action)
        {
            case null or "list":
                var groups = await s.Client.GetAsync("api/groups", ct) as JsonArray ?? [];
                if (s.Json)
                {
                    s.WriteJson(groups);
                    return 0;
                }
                var table = new Table().AddColumns("group", "devices", "members");
                foreach (var g in groups.OfType<JsonObject>())
                {
                    var members = (g["devices"] as JsonArray ?? []).Select(m => m?.ToString() ?? "").ToList();
                    table.AddRow(E(g["name"]), members.Count.ToString(CultureInfo.InvariantCulture), E(string.Join(", ", members.Take(6)) + (members.Count > 6 ? ", …" : "")));
                }
                s.Console.Write(table);
                return 0;
            case "create":
                await s.Client.PostAsync("api/groups", new JsonObject { ["name"] = Need(name, "a group name") }, ct);
                s.Console.MarkupLine($"Created group {E(name)}");
                return 0;
            case "add" or "remove":
                var targets = ids.Count > 0 ? ids : (await s.Selection.DevicesAsync(s.Client, ct)).Select(d => d["id"]!.ToString()).ToList();
                foreach (var id in targets)
                {
                    var path = $"api/groups/{Uri.EscapeDataString(Need(name, "a group name"))}/devices/{Uri.EscapeDataString(id)}";
                    await (action == "add" ? s.Client.PutAsync(path, null, ct) : s.Client.SendDeleteAsync(path, ct));
                }
                s.Console.MarkupLine($"{(action == "add" ? "Added" : "Removed")} {targets.Count} device(s) {(action == "add" ? "to" : "from")} {E(name)}");
                return 0;
            default:
                throw new FleetCliException($"groups: unknown action \"{action}\" (list, create NAME, add NAME [ID…], remove NAME [ID…])");
        }
    }

    public static async Task<int> PendingAsync(FleetSession s, string? action, IReadOnlyList<string> ids, bool all, CancellationToken ct)
    {
        var pending = (await s.Client.GetAsync("api/devices/pending", ct))?["items"] as JsonArray ?? [];
        if (action is null or "list")
        {
            if (s.Json)
            {
                s.WriteJson(pending);
                return 0;
            }
            var table = new Table().AddColumns("id", "model", "ip", "last seen");
            foreach (var d in pending.OfType<JsonObject>())
            {
                table.AddRow(E(d["id"]), E(d["model"]), E(d["ip"]), E(d["lastSeen"]));
            }
            s.Console.Write(table);
            s.Console.MarkupLine($"{pending.Count} device(s) waiting");
            return 0;
        }
        if (action is not ("accept" or "deny"))
        {
            throw new FleetCliException($"pending: unknown action \"{action}\" (list, accept ID…|--all, deny ID…|--all)");
        }
        var targets = all ? pending.Select(d => d!["id"]!.ToString()).ToList() : [.. ids];
        if (targets.Count == 0)
        {
            throw new FleetCliException($"pending {action}: name the devices, or --all");
        }
        var results = new JsonArray();
        foreach (var id in targets)
        {
            try
            {
                await s.Client.PostAsync($"api/devices/{Uri.EscapeDataString(id)}/{action}", null, ct);
                results.Add(new JsonObject { ["id"] = id, ["ok"] = true });
                if (!s.Json)
                {
                    s.Console.MarkupLine($"{(action == "accept" ? "[green]accepted[/]" : "[red]denied[/]")} {E(id)}");
                }
            }
            catch (FleetCliException ex) when (ex.ExitCode == 1)
            {
                results.Add(new JsonObject { ["id"] = id, ["ok"] = false, ["error"] = ex.Message });
                if (!s.Json)
                {
                    s.Console.MarkupLine($"[red]failed[/] {E(id)}: {E(ex.Message)}");
                }
            }
        }
        if (s.Json)
        {
            s.WriteJson(results);
        }
        return results.All(r => r!["ok"]!.GetValue<bool>()) ? 0 : 1;
    }

    public static async Task<int> LoginAsync(FleetSession s, string user, string password, string? save, CancellationToken ct)
    {
        var token = await s.Client.LoginAsync(user, password, ct);
        if (save is not null)
        {
            s.Settings.Token = token;
            s.Settings.Server = s.Client.Server.ToString().TrimEnd('/');
            s.Settings.Save(save);
            s.Console.MarkupLine($"Logged in as {E(user)}; server and token saved to {E(save)} (use --settings {E(save)})");
        }
        else if (s.Json)
        {
            s.WriteJson(new JsonObject { ["token"] = token });
        }
        else
        {
            s.Console.WriteLine(token);
        }
        return 0;
    }

    private static async Task<IReadOnlyList<JsonObject>> Targets(FleetSession s, FleetSelection selection, CancellationToken ct)
    {
        var devices = await selection.DevicesAsync(s.Client, ct);
        return devices.Count > 0 ? devices : throw new FleetCliException($"No devices in the selection ({selection})");
    }

    private static JsonObject ParseObject(string? json, string what)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return [];
        }
        try
        {
            return JsonNode.Parse(json) as JsonObject ?? throw new FleetCliException($"The {what} must be a JSON object, like {{\"id\":0}}");
        }
        catch (JsonException ex)
        {
            throw new FleetCliException($"The {what} are not valid JSON: {ex.Message}");
        }
    }

    private static string Need(string? value, string what) => string.IsNullOrWhiteSpace(value) ? throw new FleetCliException($"Give {what}") : value;

    internal static string E(object? value) => Markup.Escape(value?.ToString() ?? "");

    private static string Online(JsonObject d) => d["online"]?.GetValue<bool>() == true ? "[green]online[/]" : "[grey]offline[/]";

    internal static string Compact(JsonNode node)
    {
        var text = node.ToJsonString();
        return text.Length > 100 ? text[..97] + "…" : text;
    }

    internal static long Ms(long started) => (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
}
