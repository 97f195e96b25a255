using System.Text.Json.Nodes;
using Spectre.Console;

namespace FlowFleet.Server.Cli.Fleet;

public static partial class FleetVerbs
{
    private sealed class OtaState(string id, string? from)
    {
        public string Id { get; } = id;
        public string? From { get; } = from;
        public string? To { get; set; }
        public string Stage { get; set; } = "requested";
        public double Percent { get; set; }
        public bool Applied { get; set; }
        public bool Finished { get; set; }
        public bool Failed { get; set; }
        public long Started { get; } = System.Diagnostics.Stopwatch.GetTimestamp();
        public long Ms { get; set; }
    }

    /// <summary>
    /// Bulk firmware update of the selection's online devices: <c>Shelly.Update</c> (<c>stage</c> or <c>url</c>) to each,
    /// then the devices' <c>ota_*</c> events as progress until each is back online (updated) or reports an error, or the
    /// time runs out. A device with nothing to update fails at once with its own message.
    /// </summary>
    public static async Task<int> OtaAsync(FleetSession s, FleetSelection selection, string stage, string? url, double minutes, CancellationToken ct)
    {
        var devices = (await Targets(s, selection, ct)).Where(d => d["online"]?.GetValue<bool>() == true).ToList();
        if (devices.Count == 0)
        {
            throw new FleetCliException($"No online devices in the selection ({selection})");
        }
        var states = devices.ToDictionary(d => d["id"]!.ToString(), d => new OtaState(d["id"]!.ToString(), d["fw"]?.ToString()), StringComparer.Ordinal);
        DrainEvents(s);
        await s.Client.SubscribeAsync(["Shelly.OtaProgress", "Shelly.Connect", "Shelly.Disconnect"], states.Keys, ct);
        var request = url is null ? new JsonObject { ["stage"] = stage } : new JsonObject { ["url"] = url };
        var calls = await CallEachQuietAsync(s, devices, "Shelly.Update", request, ct);
        foreach (var failed in calls.Where(r => !r.Ok))
        {
            var st = states[failed.Id];
            (st.Failed, st.Finished, st.Stage) = (true, true, failed.Error ?? "refused");
        }
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(TimeSpan.FromMinutes(minutes));
        async Task Follow(Action<OtaState> changed)
        {
            try
            {
                while (states.Values.Any(x => !x.Finished))
                {
                    var e = await s.Client.Events.Reader.ReadAsync(deadline.Token);
                    var p = e["params"] as JsonObject ?? [];
                    if (!states.TryGetValue(p["shellyID"]?.ToString() ?? "", out var st) || st.Finished)
                    {
                        continue;
                    }
                    switch (e["method"]?.ToString())
                    {
                        case "Shelly.OtaProgress":
                            var ev = p["event"];
                            var kind = ev?["event"]?.ToString();
                            st.Stage = ev?["msg"]?.ToString() ?? kind ?? "";
                            st.Percent = kind switch { "ota_success" => 100, "ota_progress" => ev?["progress_percent"]?.GetValue<double>() ?? st.Percent, _ => st.Percent };
                            st.Applied |= kind == "ota_success";
                            if (kind == "ota_error")
                            {
                                (st.Failed, st.Finished) = (true, true);
                            }
                            break;
                        case "Shelly.Disconnect" when st.Applied:
                            st.Stage = "rebooting";
                            break;
                        case "Shelly.Connect" when st.Applied:
                            (st.Stage, st.Finished) = ("back online", true);
                            break;
                    }
                    if (st.Finished)
                    {
                        st.Ms = Ms(st.Started);
                    }
                    changed(st);
                }
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                foreach (var st in states.Values.Where(x => !x.Finished))
                {
                    (st.Failed, st.Stage) = (!st.Applied, st.Applied ? "applied, not back online yet" : $"no progress in {minutes} min");
                }
            }
        }
        if (!s.Json && s.Console.Profile.Capabilities.Interactive)
        {
            await s.Console.Progress().StartAsync(async ctx =>
            {
                var tasks = states.Values.ToDictionary(x => x.Id, x => ctx.AddTask(E(x.Id), maxValue: 100));
                foreach (var st in states.Values.Where(x => x.Failed))
                {
                    tasks[st.Id].Description = $"[red]{E(st.Id)}: {E(st.Stage)}[/]";
                    tasks[st.Id].StopTask();
                }
                await Follow(st =>
                {
                    tasks[st.Id].Value = st.Percent;
                    tasks[st.Id].Description = E($"{st.Id}: {st.Stage}");
                });
            });
        }
        else
        {
            await Follow(st =>
            {
                if (!s.Json)
                {
                    s.Console.WriteLine($"{st.Id} {st.Stage} {st.Percent:0}%");
                }
            });
        }
        await s.Client.UnsubscribeAsync(ct);
        foreach (var st in states.Values.Where(x => x.Finished && !x.Failed))
        {
            st.To = (await s.Client.GetAsync("api/devices/" + Uri.EscapeDataString(st.Id), ct))?["fw"]?.ToString();
        }
        var results = states.Values.Select(st => new DeviceResult(st.Id)
        {
            Ok = st.Finished && !st.Failed, Error = st.Failed ? st.Stage : null, Ms = st.Ms,
            Result = new JsonObject { ["from"] = st.From, ["to"] = st.To, ["stage"] = st.Stage },
        }).ToList();
        return Report(s, results, r => $"{r.Result?["from"]} → {r.Result?["to"]}");
    }

    private static async Task<IReadOnlyList<DeviceResult>> CallEachQuietAsync(FleetSession s, IReadOnlyList<JsonObject> devices, string method, JsonObject p, CancellationToken ct) =>
        await CallAllAsync(s, devices, _ => (method, (JsonObject)p.DeepClone()), _ => { }, ct);
}
