using System.Diagnostics.Metrics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.Server.Red;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Server.Tests;

public sealed class DropCounterTests
{
    [Fact]
    public async Task Debug_messages_an_editor_cannot_take_are_counted_and_the_sidebar_is_told()
    {
        using var stream = new MemoryStream();
        using var socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = true });
        var connection = new CommsConnection(socket, authenticated: true);
        connection.Subscribe("debug");
        var before = CommsConnection.DroppedTotal;
        // A flood while the client is not reading: the queue keeps the newest 2,000.
        for (var i = 0; i < CommsConnection.QueueCapacity + 500; i++)
        {
            connection.Offer("debug", new JsonObject { ["msg"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }
        connection.Complete();
        await connection.RunSenderAsync(CancellationToken.None);
        Assert.True(CommsConnection.DroppedTotal - before >= 500);
        var sent = Encoding.UTF8.GetString(stream.ToArray());
        Assert.Contains("500 messages dropped: the editor could not keep up", sent, StringComparison.Ordinal);

        // The comms hub publishes the count as flowfleet.comms.dropped (flowfleet_comms_dropped_total on /metrics).
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<IMeterFactory>();
        using var hub = new CommsHub(new FlowFleet.Runtime.FlowEvents(), meters);
        long observed = -1;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, meters) && instrument.Name == "flowfleet.comms.dropped")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => observed = value);
        listener.Start();
        listener.RecordObservableInstruments();
        Assert.True(observed >= before + 500, $"observed {observed}, before {before}");
    }
}
