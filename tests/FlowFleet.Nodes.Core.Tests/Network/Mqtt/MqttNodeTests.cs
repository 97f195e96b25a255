using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.Runtime.Messages;
using FlowFleet.Runtime.Tests.Harness;
using Microsoft.Extensions.DependencyInjection;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace FlowFleet.Nodes.Core.Tests.Network.Mqtt;

/// <summary>mqtt in / mqtt out / mqtt-broker against an MQTTnet server and a real Mosquitto, both on loopback ports.</summary>
public sealed class MqttNodeTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static Task<FlowHarness> LoadAsync(string nodes, int port, string protocol = "4") => FlowHarness.LoadAsync($$"""
        [{"id":"t","type":"tab"},
         {"id":"b","type":"mqtt-broker","broker":"127.0.0.1","port":"{{port}}","clientid":"","protocolVersion":"{{protocol}}","keepalive":"60","cleansession":true},
         {{nodes}}]
        """, services: s => s.Configure<CoreNodesOptions>(o => o.Mqtt.ReconnectTime = 100));

    /// <summary>A test-side client that records what it receives.</summary>
    private sealed class Peer : IAsyncDisposable
    {
        public IMqttClient Client { get; } = new MqttClientFactory().CreateMqttClient();

        public System.Threading.Channels.Channel<MqttApplicationMessage> Received { get; } = System.Threading.Channels.Channel.CreateUnbounded<MqttApplicationMessage>();

        public static async Task<Peer> ConnectAsync(int port, MqttProtocolVersion version = MqttProtocolVersion.V311, params string[] topics)
        {
            var p = new Peer();
            p.Client.ApplicationMessageReceivedAsync += e =>
            {
                p.Received.Writer.TryWrite(e.ApplicationMessage);
                return Task.CompletedTask;
            };
            await p.Client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithProtocolVersion(version).Build());
            foreach (var t in topics)
            {
                await p.Client.SubscribeAsync(t, MqttQualityOfServiceLevel.AtLeastOnce);
            }
            return p;
        }

        public async Task<MqttApplicationMessage> NextAsync()
        {
            using var cts = new CancellationTokenSource(Wait);
            return await Received.Reader.ReadAsync(cts.Token);
        }

        public async ValueTask DisposeAsync()
        {
            await Client.TryDisconnectAsync();
            Client.Dispose();
        }
    }

    private static async Task<string> StatusAsync(FlowHarness h, string text)
    {
        while (true)
        {
            var m = await h.NextAsync("st", Wait);
            if (m.Data["status"]?["source"]?["id"]?.GetValue<string>() == "in" && m.Data["status"]!["text"]!.GetValue<string>() == text)
            {
                return text;
            }
        }
    }

    [Theory]
    [InlineData("mqttnet")]
    [InlineData("mosquitto")]
    public async Task In_function_out_works_both_ways_with_qos1_and_retained_and_survives_a_broker_restart(string kind)
    {
        await using var broker = await TestBrokers.StartAsync(kind);
        await using var peer = await Peer.ConnectAsync(broker.Port, topics: "ff/out/#");
        // Retained before the flow starts: the flow's subscription gets it with retain = true.
        await peer.Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("ff/in/early").WithPayload("""{"n":0}""").WithRetainFlag().WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        await using var h = await LoadAsync("""
            {"id":"in","type":"mqtt in","z":"t","topic":"ff/in/+","qos":"1","datatype":"auto-detect","broker":"b","nl":false,"rap":true,"rh":0,"inputs":0,"x":0,"y":0,"wires":[["f","cap"]]},
            {"id":"f","type":"function","z":"t","func":"msg.topic = 'ff/out/' + msg.topic.split('/')[2]; msg.payload = { got: msg.payload.n * 2 }; msg.qos = 1; msg.retain = true; return msg;","outputs":1,"x":0,"y":0,"wires":[["out"]]},
            {"id":"out","type":"mqtt out","z":"t","topic":"","qos":"","retain":"","broker":"b","x":0,"y":0,"wires":[]},
            {"id":"cap","type":"helper","z":"t","x":0,"y":0,"wires":[]},
            {"id":"s","type":"status","z":"t","scope":null,"x":0,"y":0,"wires":[["st"]]},
            {"id":"st","type":"helper","z":"t","x":0,"y":0,"wires":[]}
            """, broker.Port);

        var early = await h.NextAsync("cap", Wait);
        Assert.Equal(["_msgid", "_topic", "payload", "qos", "retain", "topic"], early.Data.Select(kv => kv.Key).Order(StringComparer.Ordinal));
        Assert.Equal("ff/in/early", early.Topic);
        Assert.Equal(0, Flows.Num(early.Payload!["n"]));
        Assert.Equal(1, Flows.Num(early.Data["qos"]));
        Assert.True(early.Data["retain"]!.GetValue<bool>());
        Assert.Equal("""{"got":0}""", Encoding.UTF8.GetString((await peer.NextAsync()).Payload));

        await peer.Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("ff/in/a").WithPayload("""{"n":21}""").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        var live = await h.NextAsync("cap", Wait);
        Assert.False(live.Data["retain"]!.GetValue<bool>());
        var answer = await peer.NextAsync();
        Assert.Equal("ff/out/a", answer.Topic);
        Assert.Equal("""{"got":42}""", Encoding.UTF8.GetString(answer.Payload));
        Assert.Equal(MqttQualityOfServiceLevel.AtLeastOnce, answer.QualityOfServiceLevel);

        // The flow's answer was retained: a client that subscribes later still gets it.
        await using (var late = await Peer.ConnectAsync(broker.Port, topics: "ff/out/a"))
        {
            var retained = await late.NextAsync();
            Assert.True(retained.Retain);
            Assert.Equal("""{"got":42}""", Encoding.UTF8.GetString(retained.Payload));
        }

        // The broker goes away and comes back on the same port: the status says so, the subscription is restored.
        await peer.Client.TryDisconnectAsync();
        await broker.StopAsync();
        await StatusAsync(h, "disconnected");
        await broker.StartAsync();
        await StatusAsync(h, "connected");
        await using var again = await Peer.ConnectAsync(broker.Port, topics: "ff/out/#");
        // Mosquitto without persistence forgot the retained message; the MQTTnet broker (new instance) too.
        var deadline = DateTime.UtcNow + Wait;
        MqttApplicationMessage reply;
        do
        {
            // The flow re-subscribes right after the connected status: publish until its subscription is in place.
            await again.Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("ff/in/b").WithPayload("""{"n":5}""").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
            try
            {
                reply = await again.Received.Reader.ReadAsync(cts.Token);
                break;
            }
            catch (OperationCanceledException) when (DateTime.UtcNow < deadline)
            {
            }
        }
        while (true);
        Assert.Equal("ff/out/b", reply.Topic);
        Assert.Equal("""{"got":10}""", Encoding.UTF8.GetString(reply.Payload));
    }

    [Theory]
    [InlineData("mqttnet")]
    [InlineData("mosquitto")]
    public async Task Mqtt5_properties_travel_from_mqtt_out_to_mqtt_in(string kind)
    {
        await using var broker = await TestBrokers.StartAsync(kind);
        await using var h = await LoadAsync("""
            {"id":"in","type":"mqtt in","z":"t","topic":"v5/#","qos":"2","datatype":"auto-detect","broker":"b","x":0,"y":0,"wires":[["cap"]]},
            {"id":"out","type":"mqtt out","z":"t","topic":"v5/x","qos":"1","retain":"false","respTopic":"v5reply","contentType":"application/json","userProps":"{\"site\":\"north\"}","correl":"abc","expiry":"60","broker":"b","x":0,"y":0,"wires":[]},
            {"id":"cap","type":"helper","z":"t","x":0,"y":0,"wires":[]}
            """, broker.Port, protocol: "5");
        var broker0 = (FlowFleet.Nodes.Core.Network.Mqtt.MqttBrokerNode)h.Engine.GetNode("b")!;
        await Flows.UntilAsync(() => broker0.Connected, "the broker connection");
        // Subscriptions go out right after connecting: send until the first copy arrives.
        FlowMessage? got = null;
        for (var i = 0; i < 50 && got is null; i++)
        {
            h.SendJson("out", """{"payload":{"a":[1,2]},"userProperties":{"ignored":"node wins"}}""");
            try
            {
                got = await h.NextAsync("cap", TimeSpan.FromMilliseconds(200));
            }
            catch (TimeoutException)
            {
            }
        }
        Assert.NotNull(got);
        Assert.Equal("""{"a":[1,2]}""", got.Payload!.ToJsonString());
        Assert.Equal("v5reply", got.Data["responseTopic"]!.GetValue<string>());
        Assert.Equal("application/json", got.Data["contentType"]!.GetValue<string>());
        Assert.Equal("north", got.Data["userProperties"]!["site"]!.GetValue<string>());
        Assert.Equal("abc", Encoding.UTF8.GetString(JsonTools.BufferBytes(got.Data["correlationData"]!)));
        Assert.InRange(Flows.Num(got.Data["messageExpiryInterval"]), 1, 60);
        Assert.Equal(1, Flows.Num(got.Data["qos"]));
    }

    [Fact]
    public async Task Dynamic_subscriptions_follow_msg_action_and_payload_datatypes_apply()
    {
        await using var broker = await TestBrokers.StartAsync("mqttnet");
        await using var peer = await Peer.ConnectAsync(broker.Port);
        await using var h = await LoadAsync("""
            {"id":"in","type":"mqtt in","z":"t","topic":"","qos":"2","datatype":"utf8","broker":"b","inputs":1,"x":0,"y":0,"wires":[["cap"]]},
            {"id":"cap","type":"helper","z":"t","x":0,"y":0,"wires":[]}
            """, broker.Port);
        var b = (FlowFleet.Nodes.Core.Network.Mqtt.MqttBrokerNode)h.Engine.GetNode("b")!;
        await Flows.UntilAsync(() => b.Connected, "the broker connection");
        h.SendJson("in", """{"action":"subscribe","topic":[{"topic":"dyn/buf","qos":1,"datatype":"buffer"},"dyn/text"]}""");
        h.SendJson("in", """{"action":"getSubscriptions"}""");
        var subs = await h.NextAsync("cap", Wait);
        Assert.Equal("subscriptions", subs.Topic);
        Assert.Equal("""[{"topic":"dyn/buf","qos":1,"datatype":"buffer"},{"topic":"dyn/text","qos":2}]""", subs.Payload!.ToJsonString());
        async Task<FlowMessage> RoundAsync(string topic, byte[] payload)
        {
            for (var i = 0; i < 50; i++)
            {
                await peer.Client.PublishBinaryAsync(topic, payload);
                try
                {
                    return await h.NextAsync("cap", TimeSpan.FromMilliseconds(200));
                }
                catch (TimeoutException)
                {
                }
            }
            throw new TimeoutException(topic);
        }
        Assert.Equal(new byte[] { 0xff, 1 }, JsonTools.BufferBytes((await RoundAsync("dyn/buf", [0xff, 1])).Payload!));
        Assert.Equal("{\"x\":1}", (await RoundAsync("dyn/text", "{\"x\":1}"u8.ToArray())).Payload!.GetValue<string>());
        h.SendJson("in", """{"action":"unsubscribe","topic":true}""");
        h.SendJson("in", """{"action":"getSubscriptions"}""");
        Assert.Equal("[]", (await h.NextAsync("cap", Wait)).Payload!.ToJsonString());
        h.SendJson("in", """{"action":"bogus"}""");
        await Flows.UntilAsync(() => h.Logs.Any(l => l.Message.Contains("Invalid action specified", StringComparison.Ordinal)), "the invalid action error");
    }

    [Fact]
    public async Task Birth_and_close_messages_are_published()
    {
        await using var broker = await TestBrokers.StartAsync("mosquitto");
        await using var peer = await Peer.ConnectAsync(broker.Port, topics: "life/#");
        var h = await FlowHarness.LoadAsync($$"""
            [{"id":"t","type":"tab"},
             {"id":"b","type":"mqtt-broker","broker":"127.0.0.1","port":"{{broker.Port}}","protocolVersion":"4","birthTopic":"life/birth","birthPayload":"up","birthQos":"1","closeTopic":"life/close","closePayload":"down","willTopic":"life/will","willPayload":"lost"},
             {"id":"out","type":"mqtt out","z":"t","topic":"x","broker":"b","x":0,"y":0,"wires":[]}]
            """);
        var birth = await peer.NextAsync();
        Assert.Equal(("life/birth", "up"), (birth.Topic, Encoding.UTF8.GetString(birth.Payload)));
        await h.DisposeAsync();
        var close = await peer.NextAsync();
        Assert.Equal(("life/close", "down"), (close.Topic, Encoding.UTF8.GetString(close.Payload)));
    }

    [Fact]
    public async Task Will_message_is_published_when_the_connection_is_lost_uncleanly()
    {
        // Node-RED's mqtt-broker sets the will on connect; the broker publishes it when the connection drops without DISCONNECT.
        await using var broker = await TestBrokers.StartAsync("mosquitto");
        await using var peer = await Peer.ConnectAsync(broker.Port, topics: "life/#");
        await using var relay = new TcpRelay(broker.Port);
        await using var h = await FlowHarness.LoadAsync($$"""
            [{"id":"t","type":"tab"},
             {"id":"b","type":"mqtt-broker","broker":"127.0.0.1","port":"{{relay.Port}}","protocolVersion":"4","birthTopic":"life/birth","birthPayload":"up","willTopic":"life/will","willPayload":"lost","willQos":"1"},
             {"id":"out","type":"mqtt out","z":"t","topic":"x","broker":"b","x":0,"y":0,"wires":[]}]
            """, services: s => s.Configure<CoreNodesOptions>(o => o.Mqtt.ReconnectTime = 100));
        var birth = await peer.NextAsync();
        Assert.Equal(("life/birth", "up"), (birth.Topic, Encoding.UTF8.GetString(birth.Payload)));
        Assert.False(peer.Received.Reader.TryRead(out _));
        await relay.CutAsync();
        var will = await peer.NextAsync();
        Assert.Equal(("life/will", "lost"), (will.Topic, Encoding.UTF8.GetString(will.Payload)));
        // And it reconnects through the relay: a new birth message.
        var again = await peer.NextAsync();
        Assert.Equal(("life/birth", "up"), (again.Topic, Encoding.UTF8.GetString(again.Payload)));
    }

    [Fact]
    public async Task The_broker_connection_leaves_its_receive_window_free_to_grow()
    {
        // MQTTnet sets SO_RCVBUF to 8 KiB unless told otherwise: no window scaling, and on loopback a window that small is not
        // reopened by a window update once the reader fell behind — the broker waits on zero-window probes with exponential
        // back-off (the 13-36 s pauses of bench/server/mqtt-throughput.sh). A scaled window is what the kernel gives a socket
        // whose buffer is large (or left to autotuning, as Node-RED's mqtt.js leaves it). TCP_INFO is read the Linux way.
        await using var broker = await TestBrokers.StartAsync("mqttnet");
        await using var relay = new TcpRelay(broker.Port);
        await using var h = await LoadAsync("""
            {"id":"out","type":"mqtt out","z":"t","topic":"x","broker":"b","x":0,"y":0,"wires":[]}
            """, relay.Port);
        var node = (FlowFleet.Nodes.Core.Network.Mqtt.MqttBrokerNode)h.Engine.GetNode("b")!;
        await Poll.UntilAsync(() => node.Connected, "the mqtt-broker node to connect through the relay");
        var scale = Assert.Single(relay.ClientWindowScales());
        Assert.True(scale >= 5, $"window scale {scale}: the receive window is capped below {65535 << scale} bytes");
    }

    [Fact]
    public void Topic_matching_and_validation_follow_node_red()
    {
        Assert.True(FlowFleet.Nodes.Core.Network.Mqtt.MqttCodec.Matches("a/+/c", "a/b/c"));
        Assert.True(FlowFleet.Nodes.Core.Network.Mqtt.MqttCodec.Matches("a/#", "a"));
        Assert.True(FlowFleet.Nodes.Core.Network.Mqtt.MqttCodec.Matches("$share/g/a/#", "a/b"));
        Assert.False(FlowFleet.Nodes.Core.Network.Mqtt.MqttCodec.Matches("a/+", "a/b/c"));
        Assert.False(FlowFleet.Nodes.Core.Network.Mqtt.MqttCodec.IsValidSubscriptionTopic("a/#/b"));
        Assert.False(FlowFleet.Nodes.Core.Network.Mqtt.MqttCodec.IsValidPublishTopic("a/+"));
    }
}
