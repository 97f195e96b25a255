using System.Diagnostics;
using System.Globalization;
using MQTTnet;
using MQTTnet.Protocol;

// MQTT in → out throughput of a flow runtime: publishes COUNT messages to bench/in (QoS, WINDOW unacknowledged at a time)
// and times until all of them came back on bench/out. The same driver runs against FlowFleet and Node-RED on one broker.
// usage: FlowFleet.MqttBench HOST PORT [QOS=1] [COUNT=20000] [ROUNDS=3] [WINDOW=100]
var host = args.ElementAtOrDefault(0) ?? "127.0.0.1";
var port = int.Parse(args.ElementAtOrDefault(1) ?? "1883", CultureInfo.InvariantCulture);
var qos = (MqttQualityOfServiceLevel)int.Parse(args.ElementAtOrDefault(2) ?? "1", CultureInfo.InvariantCulture);
var count = int.Parse(args.ElementAtOrDefault(3) ?? "20000", CultureInfo.InvariantCulture);
var rounds = int.Parse(args.ElementAtOrDefault(4) ?? "3", CultureInfo.InvariantCulture);
var window = int.Parse(args.ElementAtOrDefault(5) ?? "100", CultureInfo.InvariantCulture);

// MQTTnet's default 8 KiB socket buffers (SO_RCVBUF) stall a loopback subscriber that falls behind for seconds (the broker
// waits on zero-window probes): the driver's own subscriber was one of the stalls this bench measured. 1 MiB as the nodes use.
MqttClientOptions Options(string id)
{
    var o = new MqttClientOptionsBuilder().WithTcpServer(host, port).WithClientId(id + Environment.ProcessId).Build();
    ((MqttClientTcpOptions)o.ChannelOptions).BufferSize = 1 << 20;
    return o;
}

var factory = new MqttClientFactory();
using var sub = factory.CreateMqttClient();
using var pub = factory.CreateMqttClient();
var received = 0;
var target = 1;
var done = new TaskCompletionSource();
sub.ApplicationMessageReceivedAsync += _ =>
{
    if (Interlocked.Increment(ref received) == Volatile.Read(ref target))
    {
        done.TrySetResult();
    }
    return Task.CompletedTask;
};
await sub.ConnectAsync(Options("bench-sub-"));
await sub.SubscribeAsync("bench/out", qos);
await pub.ConnectAsync(Options("bench-pub-"));

// Until the flow answers at all (its subscription may still be on its way).
var probe = Stopwatch.StartNew();
while (!done.Task.IsCompleted)
{
    await pub.PublishStringAsync("bench/in", """{"probe":true}""", qos);
    await Task.WhenAny(done.Task, Task.Delay(200));
    if (probe.Elapsed > TimeSpan.FromSeconds(30))
    {
        Console.Error.WriteLine("no answer on bench/out within 30 s");
        return 1;
    }
}
await Task.Delay(500);
var payload = """{"device":"shellyplus1pm-c0ffee000001","switch:0":{"output":true,"apower":42.5}}"""u8.ToArray();
for (var r = 1; r <= rounds; r++)
{
    Interlocked.Exchange(ref received, 0);
    done = new TaskCompletionSource();
    Volatile.Write(ref target, count);
    var sw = Stopwatch.StartNew();
    var inFlight = new SemaphoreSlim(window);
    var sends = new List<Task>(count);
    for (var i = 0; i < count; i++)
    {
        await inFlight.WaitAsync();
        sends.Add(pub.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("bench/in").WithPayload(payload).WithQualityOfServiceLevel(qos).Build())
            .ContinueWith(_ => inFlight.Release(), TaskScheduler.Default));
    }
    await Task.WhenAll(sends);
    var finished = await Task.WhenAny(done.Task, Task.Delay(TimeSpan.FromSeconds(60)));
    sw.Stop();
    var got = Volatile.Read(ref received);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"round {r}: {got}/{count} messages in {sw.Elapsed.TotalSeconds:F2} s = {got / sw.Elapsed.TotalSeconds:F0} msgs/s (QoS {(int)qos}){(finished == done.Task ? "" : " TIMED OUT")}"));
}
await pub.DisconnectAsync();
await sub.DisconnectAsync();
return 0;
