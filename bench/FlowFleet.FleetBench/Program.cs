using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

// Fleet load driver: watches a FlowFleet server under simulated device load and measures ingest, memory and RPC latency.
// Usage: FlowFleet.FleetBench --server http://127.0.0.1:7011 --pid PID --devices N --seconds S [--token T] [--rpc-interval-ms 50]
// FlowFleet.FleetBench ingest --server URL --pid PID --devices N --batch K --rates R1,R2,... : ingest headroom (IngestBench.cs).
if (args.Length > 0 && args[0] == "ingest")
{
    return await IngestBench.RunAsync(ParseArgs(args[1..]));
}
var opts = ParseArgs(args);
var server = opts.GetValueOrDefault("server", "http://127.0.0.1:7011");
var pid = int.Parse(opts.GetValueOrDefault("pid", "0"), CultureInfo.InvariantCulture);
var devices = int.Parse(opts.GetValueOrDefault("devices", "1000"), CultureInfo.InvariantCulture);
var seconds = int.Parse(opts.GetValueOrDefault("seconds", "60"), CultureInfo.InvariantCulture);
var rpcInterval = int.Parse(opts.GetValueOrDefault("rpc-interval-ms", "50"), CultureInfo.InvariantCulture);
// Battery devices sleep most of the time: "online" is expected of the others (mix: 11 of 12).
var expected = int.Parse(opts.GetValueOrDefault("expect", (devices - devices / 12).ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
var waitOnline = int.Parse(opts.GetValueOrDefault("wait-online-seconds", "300"), CultureInfo.InvariantCulture);
using var http = new HttpClient { BaseAddress = new Uri(server), Timeout = TimeSpan.FromSeconds(30) };
if (opts.TryGetValue("token", out var token))
{
    http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
}

async Task<JsonObject> Stats() => (await http.GetFromJsonAsync<JsonObject>("/api/fleet/stats"))!;
static long Num(JsonNode? n) => (long)double.Parse(n!.ToJsonString(), CultureInfo.InvariantCulture);
long Rss() => ProcFs.RssBytes(pid);
double Cpu() => ProcFs.CpuSeconds(pid);

var baselineHeap = long.Parse(opts.GetValueOrDefault("baseline-heap", "0"), CultureInfo.InvariantCulture);
var baseline = long.Parse(opts.GetValueOrDefault("baseline-rss", Rss().ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
// RSS less mapped files, from the same moment: code the server maps only once devices arrive (EF Core for the first device
// writes, the flow's nodes) counts into kib_per_device, whose baseline is the idle process, but not into anon_kib_per_device.
var baselineAnon = long.Parse(opts.GetValueOrDefault("baseline-anon", ProcFs.RssAnonBytes(pid).ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
Console.WriteLine($"baseline RSS {baseline / 1048576.0:F1} MiB; waiting for {expected} of {devices} devices online (progress every 5 s)");
var t0 = Stopwatch.StartNew();
var online = 0L;
var previous = -1L;
var steady = 0;
while (t0.Elapsed.TotalSeconds < waitOnline)
{
    JsonObject s;
    try
    {
        s = await Stats();
    }
    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
    {
        // On an overloaded machine (load 70, other builds) a request during the connect storm can take longer than the
        // client's 30 s: ask again rather than end the run.
        // A refused connection (the server gone) fails at once: wait as between answers, or the loop spins until the deadline.
        Console.WriteLine($"[{t0.Elapsed.TotalSeconds,5:F0}s] /api/fleet/stats did not answer: {ex.GetType().Name}; asking again");
        await Task.Delay(5000);
        continue;
    }
    online = Num(s["online"]);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{t0.Elapsed.TotalSeconds,5:F0}s] online {online}/{devices} ({100.0 * online / devices:F0}%), connections {Num(s["connections"])}, RSS {Rss() / 1048576.0:F0} MiB"));
    // Done when the expected devices are online, or when the count has stopped growing for 20 s (the server's
    // connection budget, see bench/README.md, can be below the device count).
    steady = online == previous && online > 0 ? steady + 1 : 0;
    previous = online;
    if (online >= expected || steady >= 4)
    {
        break;
    }
    await Task.Delay(5000);
}
// --settle-seconds: time between "online" and measuring. The last devices of a connect storm are still reading their
// identity then and the GC is collecting the storm's garbage (pauses of 50-500 ms, see bench/README.md); 0 measures from
// the moment the fleet is online.
var settle = int.Parse(opts.GetValueOrDefault("settle-seconds", "0"), CultureInfo.InvariantCulture);
if (settle > 0)
{
    Console.WriteLine($"settling for {settle} s");
    await Task.Delay(TimeSpan.FromSeconds(settle));
}
// --rpc-search: call only the devices whose id contains this (a small, otherwise idle simulator process), so the figure is
// the server's latency under load rather than that of a simulator process busy with thousands of devices.
var rpcSearch = opts.GetValueOrDefault("rpc-search", "");
var ids = (await http.GetFromJsonAsync<JsonObject>($"/api/devices?online=true&limit={Math.Min(devices, 5000)}&search={Uri.EscapeDataString(rpcSearch)}"))!["items"]!.AsArray().Select(i => i!["id"]!.GetValue<string>()).ToArray();
Console.WriteLine($"online: {online}; measuring for {seconds} s with an RPC every {rpcInterval} ms to {ids.Length} devices{(rpcSearch.Length > 0 ? $" matching '{rpcSearch}'" : "")}");

var latencies = new List<double>();
var rpcErrors = 0;
using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
var prober = Task.Run(async () =>
{
    var rnd = new Random(1);
    while (!stop.IsCancellationRequested)
    {
        var id = ids[rnd.Next(ids.Length)];
        var sw = Stopwatch.StartNew();
        try
        {
            using var r = await http.PostAsJsonAsync($"/api/devices/{id}/rpc", new { method = "Shelly.GetDeviceInfo" });
            if (r.IsSuccessStatusCode)
            {
                lock (latencies)
                {
                    latencies.Add(sw.Elapsed.TotalMilliseconds);
                }
            }
            else
            {
                Interlocked.Increment(ref rpcErrors);
                Console.WriteLine($"rpc error: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
            }
        }
        catch (HttpRequestException ex)
        {
            Interlocked.Increment(ref rpcErrors);
            Console.WriteLine($"rpc error: {ex.Message}");
        }
        try
        {
            await Task.Delay(rpcInterval, stop.Token);
        }
        catch (OperationCanceledException)
        {
        }
    }
});

// /metrics carries the runtime's own System.Runtime meter (exported by OpenTelemetry): samples look like
// dotnet_gc_pause_time_seconds_total{otel_scope_name="System.Runtime"} 0.0125
async Task<double> GcPauseSeconds()
{
    var text = await http.GetStringAsync("/metrics");
    var line = text.Split('\n').FirstOrDefault(l => l.StartsWith("dotnet_gc_pause_time_seconds_total", StringComparison.Ordinal));
    return line is null ? 0 : double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
}

async Task<string> GcCounts()
{
    var text = await http.GetStringAsync("/metrics");
    // gen0/gen1/gen2, whatever order the exporter writes them in.
    return string.Join("/", text.Split('\n').Where(l => l.StartsWith("dotnet_gc_collections_total{", StringComparison.Ordinal))
        .OrderBy(l => l, StringComparer.Ordinal).Select(l => l[(l.LastIndexOf(' ') + 1)..]));
}

var pause0 = await GcPauseSeconds();
var gcCounts0 = await GcCounts();
var start = await Stats();
var cpu0 = Cpu();
var clock = Stopwatch.StartNew();
long peakRss = 0;
var prev = Num(start["eventsProcessed"]);
var prevT = 0.0;
while (!stop.IsCancellationRequested)
{
    try
    {
        await Task.Delay(5000, stop.Token);
    }
    catch (OperationCanceledException)
    {
    }
    var s = await Stats();
    var now = clock.Elapsed.TotalSeconds;
    var ev = Num(s["eventsProcessed"]);
    var rss = Rss();
    peakRss = Math.Max(peakRss, rss);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{now,5:F0}s] events/s {(ev - prev) / (now - prevT),9:F0}  online {Num(s["online"])}  RSS {rss / 1048576.0:F0} MiB  telemetry dropped {Num(s["telemetryDropped"])}"));
    prev = ev;
    prevT = now;
}
await prober;
var end = await Stats();
var elapsed = clock.Elapsed.TotalSeconds;
var cpu = (Cpu() - cpu0) / elapsed;
var finalRss = Rss();
var finalAnon = ProcFs.RssAnonBytes(pid);
var gcPauseMs = (await GcPauseSeconds() - pause0) * 1000;
var gcCounts1 = await GcCounts();
var gc = await (await http.PostAsync("/api/ops/gc", null)).Content.ReadFromJsonAsync<JsonObject>();
var liveHeap = gc is null ? 0 : Num(gc["heapAfter"]);
var rssAfterGc = gc is null ? 0 : Num(gc["rssAfter"]);
double[] sorted;
lock (latencies)
{
    sorted = [.. latencies.Order()];
}
double P(double q) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))];
var eventsPerSecond = (Num(end["eventsProcessed"]) - Num(start["eventsProcessed"])) / elapsed;
Console.WriteLine();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"RESULT devices_online={Num(end["online"])} events_per_s={eventsPerSecond:F0} rss_mib={finalRss / 1048576.0:F0} peak_rss_mib={peakRss / 1048576.0:F0} " +
    $"kib_per_device={(finalRss - baseline) / 1024.0 / Math.Max(1, Num(end["online"])):F1} anon_kib_per_device={(finalAnon - baselineAnon) / 1024.0 / Math.Max(1, Num(end["online"])):F1} server_cpu_cores={cpu:F2} rpc_n={sorted.Length} rpc_errors={rpcErrors} " +
    $"rpc_p50_ms={P(0.5):F1} rpc_p99_ms={P(0.99):F1} rpc_max_ms={(sorted.Length > 0 ? sorted[^1] : double.NaN):F1} frames_rejected={Num(end["framesRejected"])} connections_refused={Num(end["connectionsRefused"])} " +
    $"live_heap_mib={liveHeap / 1048576.0:F0} rss_after_gc_mib={rssAfterGc / 1048576.0:F0} live_kib_per_device={(liveHeap - baselineHeap) / 1024.0 / Math.Max(1, Num(end["online"])):F1} " +
    $"gc_pause_ms={gcPauseMs:F0} gc_pause_share={gcPauseMs / 10.0 / elapsed:F1}% gc_collections_gen0/1/2={gcCounts0}->{gcCounts1}"));
return 0;

static Dictionary<string, string> ParseArgs(string[] args)
{
    var d = new Dictionary<string, string>(StringComparer.Ordinal);
    for (var i = 0; i + 1 < args.Length; i += 2)
    {
        d[args[i].TrimStart('-')] = args[i + 1];
    }
    return d;
}
