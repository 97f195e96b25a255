using System.CommandLine;
using System.Globalization;
using FlowFleet.DeviceSim;

var server = new Option<string>("--server") { Description = "Outbound websocket URL of the fleet server", DefaultValueFactory = _ => "ws://127.0.0.1:7011/shelly" };
var count = new Option<int>("--count") { Description = "Number of devices", DefaultValueFactory = _ => 10 };
var profile = new Option<string>("--profile") { Description = "mix, " + string.Join(", ", SimProfile.All.Select(p => p.Key)), DefaultValueFactory = _ => "mix" };
var interval = new Option<double>("--interval") { Description = "Seconds between NotifyStatus reports per device", DefaultValueFactory = _ => 5 };
var first = new Option<int>("--first-index") { Description = "Index of the first device (run several processes with disjoint ranges)", DefaultValueFactory = _ => 0 };
var rate = new Option<int>("--rate") { Description = "New connections per second (0 = all at once)", DefaultValueFactory = _ => 500 };
var http = new Option<string?>("--http") { Description = "Serve the devices' local /rpc at this URL, e.g. http://127.0.0.1:8081" };
var password = new Option<string?>("--password") { Description = "Enable digest auth on the local channels with this password" };
var on = new Option<bool>("--on") { Description = "Start with every switch and light on (meters show load)" };
var mqtt = new Option<string?>("--mqtt") { Description = "Connect over MQTT to this broker instead (mqtt://[user:password@]host:1883), as Shelly devices with MQTT enabled" };
var mqttToken = new Option<string?>("--mqtt-token") { Description = "With --mqtt: sign in as user <device id> with this enrollment token as password" };
var seconds = new Option<int>("--seconds") { Description = "Stop after this many seconds (0 = run until Ctrl+C)" };

var root = new RootCommand("FlowFleet device simulator: Shelly Gen2+ devices on an outbound websocket")
{
    server, count, profile, interval, first, rate, http, password, seconds, on, mqtt, mqttToken,
};
root.SetAction(async (parse, ct) =>
{
    var options = new SimOptions { ReportInterval = TimeSpan.FromSeconds(parse.GetValue(interval)) };
    SimFleet fleet;
    try
    {
        Uri? broker = null;
        if (parse.GetValue(mqtt) is { } m && (!Uri.TryCreate(m, UriKind.Absolute, out broker) || broker.Scheme != "mqtt"))
        {
            throw new ArgumentException($"--mqtt '{m}' is not an mqtt://host:port URL");
        }
        fleet = new SimFleet(parse.GetValue(server), parse.GetValue(count), parse.GetValue(profile)!, options, parse.GetValue(first), parse.GetValue(password), mqtt: broker, mqttToken: parse.GetValue(mqttToken));
    }
    catch (ArgumentException ex)
    {
        await Console.Error.WriteLineAsync(ex.Message);
        return 2;
    }
    await using var _ = fleet;
    if (parse.GetValue(on))
    {
        foreach (var d in fleet.Devices)
        {
            d.SwitchAllOn();
        }
    }
    LocalRpcServer? local = null;
    if (parse.GetValue(http) is { } url)
    {
        local = await LocalRpcServer.StartAsync(fleet.Devices, url);
        Console.WriteLine($"Local RPC: {local.BaseUri}dev/<device id>/rpc");
    }
    Console.WriteLine($"Starting {fleet.Devices.Count()} devices → {parse.GetValue(mqtt) ?? parse.GetValue(server)}");
    using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
    if (parse.GetValue(seconds) > 0)
    {
        stop.CancelAfter(TimeSpan.FromSeconds(parse.GetValue(seconds)));
    }
    await fleet.StartAsync(parse.GetValue(rate), ct: stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
    var total = fleet.Devices.Count();
    try
    {
        while (!stop.IsCancellationRequested)
        {
            var connected = fleet.ConnectedCount;
            var requests = fleet.Devices.Sum(d => d.Requests);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{DateTime.Now:HH:mm:ss}] connected {connected}/{total} ({100.0 * connected / total:F0}%), requests answered {requests}"));
            await Task.Delay(TimeSpan.FromSeconds(5), stop.Token);
        }
    }
    catch (OperationCanceledException)
    {
    }
    if (local is not null)
    {
        await local.DisposeAsync();
    }
    return 0;
});
return await root.Parse(args).InvokeAsync();
