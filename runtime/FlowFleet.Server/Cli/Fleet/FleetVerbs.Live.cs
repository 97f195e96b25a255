using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace FlowFleet.Server.Cli.Fleet;

public static partial class FleetVerbs
{
    /// <summary>When a live view ends: Enter, after <c>count</c> events, or after <c>seconds</c>.</summary>
    public sealed record LiveLimit(int? Count, double? Seconds);

    /// <summary><c>track devices</c>: online/offline and status of the selection, live until Enter.</summary>
    public static Task<int> TrackDevicesAsync(FleetSession s, FleetSelection selection, LiveLimit limit, CancellationToken ct) =>
        TrackAsync(s, selection, ["Shelly.Connect", "Shelly.Disconnect", "Shelly.Status"], limit, devicesView: true, ct);

    /// <summary><c>track events</c>: every event of the selection (connects, status, device events, OTA), until Enter.</summary>
    public static Task<int> TrackEventsAsync(FleetSession s, FleetSelection selection, LiveLimit limit, CancellationToken ct) =>
        TrackAsync(s, selection, ["Shelly.Connect", "Shelly.Disconnect", "Shelly.Status", "Shelly.Event", "Shelly.OtaProgress", "Shelly.Pending"], limit, devicesView: false, ct);

    private static async Task<int> TrackAsync(FleetSession s, FleetSelection selection, string[] events, LiveLimit limit, bool devicesView, CancellationToken ct)
    {
        var devices = await selection.DevicesAsync(s.Client, ct);
        var ids = devices.Select(d => d["id"]!.ToString()).ToList();
        DrainEvents(s);
        await s.Client.SubscribeAsync(events, selection.IsAll ? null : ids, ct);
        var rows = devices.ToDictionary(d => d["id"]!.ToString(), d => (Online: d["online"]?.GetValue<bool>() == true, Status: new JsonObject(), Last: ""), StringComparer.Ordinal);
        var live = devicesView && !s.Json && s.Console.Profile.Capabilities.Interactive;
        if (s.Json)
        {
            s.WriteJson(new JsonObject { ["tracking"] = new JsonArray(ids.Select(i => (JsonNode?)i).ToArray()) }, indented: false);
        }
        else
        {
            s.Console.MarkupLine($"Tracking {E(selection.ToString())} ({ids.Count} device(s)){(limit.Count is null && limit.Seconds is null ? " — press Enter to stop" : "")}");
        }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (limit.Seconds is { } seconds)
        {
            stop.CancelAfter(TimeSpan.FromSeconds(seconds));
        }
        var enter = s.WaitForEnter(stop.Token).ContinueWith(_ => stop.Cancel(), TaskScheduler.Default);
        var seen = 0;
        async Task Loop(Action changed)
        {
            try
            {
                while (limit.Count is not { } max || seen < max)
                {
                    var e = await s.Client.Events.Reader.ReadAsync(stop.Token);
                    var p = e["params"] as JsonObject ?? [];
                    var id = p["shellyID"]?.ToString() ?? "";
                    var method = e["method"]?.ToString() ?? "";
                    if (!selection.IsAll && !rows.ContainsKey(id))
                    {
                        continue;
                    }
                    seen++;
                    var row = rows.TryGetValue(id, out var known) ? known : (Online: false, Status: new JsonObject(), Last: "");
                    var what = method switch
                    {
                        "Shelly.Connect" => "online",
                        "Shelly.Disconnect" => "offline",
                        "Shelly.Status" => Summary(p["status"]),
                        "Shelly.OtaProgress" => $"ota {p["event"]?["event"]} {p["event"]?["progress_percent"]}",
                        _ => $"{method} {(p["event"] is { } ev ? Compact(ev) : "")}",
                    };
                    row.Online = method switch { "Shelly.Connect" => true, "Shelly.Disconnect" => false, _ => row.Online || method == "Shelly.Status" };
                    if (p["status"] is JsonObject delta)
                    {
                        foreach (var (k, v) in delta)
                        {
                            row.Status[k] = v?.DeepClone();
                        }
                    }
                    row.Last = what;
                    rows[id] = row;
                    if (s.Json)
                    {
                        s.WriteJson(new JsonObject { ["ts"] = p["ts"]?.DeepClone(), ["device"] = id, ["event"] = method, ["params"] = p.DeepClone() }, indented: false);
                    }
                    else if (!live)
                    {
                        s.Console.WriteLine($"{DateTime.Now:HH:mm:ss} {id,-32} {what}");
                    }
                    changed();
                }
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // Enter or the time limit ended the view.
            }
        }
        if (live)
        {
            var table = new Table().AddColumns("device", "state", "status", "last change");
            await s.Console.Live(table).StartAsync(async ctx =>
            {
                void Redraw()
                {
                    table.Rows.Clear();
                    foreach (var (id, row) in rows.OrderBy(r => r.Key, StringComparer.Ordinal).Take(Math.Max(5, s.Console.Profile.Height - 8)))
                    {
                        table.AddRow(E(id), row.Online ? "[green]online[/]" : "[grey]offline[/]", E(Summary(row.Status)), E(row.Last));
                    }
                    ctx.Refresh();
                }
                Redraw();
                await Loop(Redraw);
            });
        }
        else
        {
            await Loop(() => { });
        }
        await stop.CancelAsync();
        await s.Client.UnsubscribeAsync(ct);
        if (!s.Json)
        {
            s.Console.MarkupLine($"{seen} event(s); {rows.Count(r => r.Value.Online)} of {rows.Count} online");
        }
        return 0;
    }

    // Events left over from an earlier view of the same shell session.
    internal static void DrainEvents(FleetSession s)
    {
        while (s.Client.Events.Reader.TryRead(out _))
        {
        }
    }

    /// <summary>What a person wants to see of a status: outputs, power, covers, temperatures.</summary>
    internal static string Summary(JsonNode? status)
    {
        if (status is not JsonObject o)
        {
            return "";
        }
        var parts = new List<string>();
        foreach (var (key, value) in o.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (value is not JsonObject c)
            {
                continue;
            }
            if (c["output"] is JsonValue output && output.TryGetValue<bool>(out var on))
            {
                parts.Add($"{key} {(on ? "on" : "off")}");
            }
            if (c["apower"] is JsonValue power && power.TryGetValue<double>(out var w))
            {
                parts.Add($"{key} {w.ToString("0.#", CultureInfo.InvariantCulture)} W");
            }
            if (c["state"] is JsonValue state && key.StartsWith("cover", StringComparison.Ordinal))
            {
                parts.Add($"{key} {state}");
            }
            if (c["tC"] is JsonValue t && t.TryGetValue<double>(out var celsius))
            {
                parts.Add($"{key} {celsius.ToString("0.#", CultureInfo.InvariantCulture)} °C");
            }
        }
        return parts.Count == 0 ? string.Join(",", o.Select(kv => kv.Key).Take(4)) : string.Join(", ", parts.Take(6));
    }
}
