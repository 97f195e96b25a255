namespace FlowFleet.Nodes.Fleet.Tests;

/// <summary>The <c>db write</c> node: rows into named tables, numbers as device telemetry.</summary>
public sealed class DbWriteNodeTests
{
    [Fact]
    public async Task Rows_go_to_the_table_named_by_the_message_and_carry_their_row_id()
    {
        await using var rig = await FleetFlow.StartAsync("""{"type":"db write","mode":"row","table":""}""", devices: 0);
        rig.Send("""{"table":"energy","payload":{"kwh":2.5}}""");
        var first = await rig.OutAsync();
        rig.Send("""{"table":"energy","payload":{"kwh":3}}""");
        var second = await rig.OutAsync();
        Assert.True(second.Data["rowId"]!.GetValue<long>() > first.Data["rowId"]!.GetValue<long>());
        var rows = await rig.Host.Tables.RowsAsync("energy", 10);
        Assert.Equal(["""{"kwh":3}""", """{"kwh":2.5}"""], rows.Select(r => r.Json));
        var status = await rig.StatusAsync(t => t == "2 written");
        Assert.Equal("green", status["fill"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_bare_number_is_telemetry_under_the_configured_field_name()
    {
        await using var rig = await FleetFlow.StartAsync("""{"type":"db write","mode":"telemetry","table":"power"}""", devices: 0);
        rig.Send("""{"topic":"meter-7","payload":"812.5"}""");
        await rig.OutAsync();
        rig.Send("""{"topic":"meter-7","payload":{"em:0":{"total":4,"label":"x"}}}""");
        await rig.OutAsync();
        await rig.Host.Writer.WriteQueuedAsync();
        Assert.Equal(812.5, Assert.Single(await rig.Host.Telemetry.TelemetryAsync("meter-7", "power", 0, long.MaxValue, 1000)).Last);
        Assert.Equal(4, Assert.Single(await rig.Host.Telemetry.TelemetryAsync("meter-7", "em:0.total", 0, long.MaxValue, 1000)).Last);
    }

    [Theory]
    [InlineData("""{"payload":5}""", "db write: telemetry needs the device id in msg.topic")]
    [InlineData("""{"topic":"meter-7","payload":"high"}""", "db write: msg.payload has no numbers to store")]
    [InlineData("""{"topic":"meter-7","payload":{"state":"on"}}""", "db write: msg.payload has no numbers to store")]
    public async Task Telemetry_without_a_device_or_numbers_is_an_error(string msg, string error)
    {
        await using var rig = await FleetFlow.StartAsync("""{"type":"db write","mode":"telemetry"}""", devices: 0);
        rig.Send(msg);
        Assert.Equal(error, await rig.ErrorAsync());
        await rig.Flow.AssertNothingAsync("out");
    }
}
