using System.Text.Json.Nodes;
using FlowFleet.DeviceSim;
using FlowFleet.DeviceSim.Ble;
using FlowFleet.Fleet.Ble;
using FlowFleet.Fleet.Protocol;
using Microsoft.Extensions.Time.Testing;

namespace FlowFleet.Fleet.Tests.Ble;

/// <summary>Shelly RPC over GATT against the simulated adapter: lengths, chunking, polling, timeouts, retries, errors.</summary>
public sealed class BleFramingTests : IAsyncLifetime
{
    private readonly SimBleAdapter _adapter = new();
    private SimBleDevice _device = default!;

    public Task InitializeAsync()
    {
        _device = _adapter.Add(new SimDevice(SimProfile.Plus1PM, 7, macPrefix: "A1B2C3"), -50);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _adapter.DisposeAsync();

    [Fact]
    public void Advertisement_test_vector_decodes_flags_model_and_reversed_mac()
    {
        var data = Convert.FromHexString("0105000b30100a70d6c297bacc");
        var adv = new BleAdvertisement("CC:BA:97:C2:D6:72", "ShellyPlus2PM-CCBA97C2D670", -61, new Dictionary<ushort, byte[]> { [0x0BA9] = data }, "hci0");
        var info = ShellyAdvertisement.Decode(adv)!;
        Assert.Equal(ShellyBleFlags.Discoverable | ShellyBleFlags.RpcEnabled, info.Flags);
        Assert.Equal(0x1030, info.ModelId);
        Assert.Equal("CC:BA:97:C2:D6:70", info.Mac);
        Assert.Equal("shellyplus2pm-ccba97c2d670", info.DeviceId);
        var again = ShellyAdvertisement.DecodeBlocks(ShellyAdvertisement.EncodeBlocks(info.Flags, info.Mac!, 0x1030));
        Assert.Equal((info.Flags, info.Mac, (int?)0x1030), again);
    }

    [Fact]
    public void Advertisements_of_other_vendors_are_ignored_and_name_only_shellies_are_kept()
    {
        var other = new BleAdvertisement("11:22:33:44:55:66", "Thermo", -70, new Dictionary<ushort, byte[]> { [0x004C] = [1, 2, 3] }, "hci0");
        Assert.Null(ShellyAdvertisement.Decode(other));
        var nameOnly = ShellyAdvertisement.Decode(new BleAdvertisement("C0:49:EF:88:73:EA", "shellyplus1-c049ef8873e8", -70, new Dictionary<ushort, byte[]>(), "hci0"))!;
        Assert.Equal("C0:49:EF:88:73:E8", nameOnly.Mac);
        Assert.Null(nameOnly.ModelId);
        // A truncated block ends the walk instead of reading past the data.
        Assert.Equal((ShellyBleFlags.Discoverable, (string?)null, (int?)null), ShellyAdvertisement.DecodeBlocks(Convert.FromHexString("0101000b30")));
    }

    [Fact]
    public async Task A_request_longer_than_one_chunk_is_written_in_chunks_and_a_long_answer_read_in_chunks()
    {
        _device.MaxChunk = 32;
        await using var link = await _adapter.ConnectAsync(_device.Address);
        await using var rpc = new ShellyBleRpc(link);
        var value = new string('x', 250);
        await rpc.CallAsync("KVS.Set", new JsonObject { ["key"] = "note", ["value"] = value });
        Assert.True(_device.LargestRequest > 250);
        Assert.Equal((_device.LargestRequest + 31) / 32, _device.LastRequestWrites);
        var got = await rpc.CallAsync("KVS.Get", new JsonObject { ["key"] = "note" });
        Assert.Equal(value, got!["value"]!.GetValue<string>());
        var status = await rpc.CallAsync("Shelly.GetStatus");
        Assert.NotNull(status!["switch:0"]);
        Assert.True(rpc.Notifying);
        Assert.Equal(1, rpc.LastAttempts);
    }

    [Fact]
    public async Task Without_notifications_the_answer_length_is_polled_from_rx_ctl()
    {
        _device.NotifySupported = false;
        await using var link = await _adapter.ConnectAsync(_device.Address);
        await using var rpc = new ShellyBleRpc(link, new ShellyBleRpcOptions { PollInterval = TimeSpan.FromMilliseconds(5) });
        var info = await rpc.CallAsync("Shelly.GetDeviceInfo");
        Assert.Equal(_device.Device.Id, info!["id"]!.GetValue<string>());
        Assert.False(rpc.Notifying);
    }

    [Fact]
    public async Task A_dropped_answer_times_out_and_the_call_is_retried()
    {
        var time = new FakeTimeProvider();
        _device.DropAnswers = 1;
        _device.NotifySupported = false;
        await using var link = await _adapter.ConnectAsync(_device.Address);
        await using var rpc = new ShellyBleRpc(link, new ShellyBleRpcOptions { Timeout = TimeSpan.FromSeconds(2), Retries = 2 }, time);
        var call = rpc.CallAsync("Shelly.GetDeviceInfo");
        await AdvanceUntil(time, call);
        Assert.Equal(_device.Device.Id, (await call)!["id"]!.GetValue<string>());
        Assert.Equal(2, rpc.LastAttempts);
        Assert.Equal(2, _device.Frames);
    }

    [Fact]
    public async Task A_device_that_never_answers_fails_after_the_retries_with_the_step_named()
    {
        var time = new FakeTimeProvider();
        _device.DropAnswers = 10;
        await using var link = await _adapter.ConnectAsync(_device.Address);
        await using var rpc = new ShellyBleRpc(link, new ShellyBleRpcOptions { Timeout = TimeSpan.FromSeconds(2), Retries = 2 }, time);
        var call = rpc.CallAsync("Shelly.GetDeviceInfo");
        await AdvanceUntil(time, call);
        var ex = await Assert.ThrowsAsync<BleException>(() => call);
        Assert.Contains("no answer within 2 s while waiting for the answer's length on rx_ctl", ex.Message, StringComparison.Ordinal);
        Assert.Contains("after 3 attempts", ex.Message, StringComparison.Ordinal);
        Assert.Equal(3, _device.Frames);
    }

    [Fact]
    public async Task A_failed_write_is_retried_and_named_when_it_keeps_failing()
    {
        _device.FailWrites = 1;
        await using var link = await _adapter.ConnectAsync(_device.Address);
        await using var rpc = new ShellyBleRpc(link, new ShellyBleRpcOptions { Retries = 1 });
        Assert.NotNull(await rpc.CallAsync("Sys.GetStatus"));
        Assert.Equal(2, rpc.LastAttempts);
        _device.FailWrites = 5;
        var ex = await Assert.ThrowsAsync<BleException>(() => rpc.CallAsync("Sys.GetStatus"));
        Assert.Contains("writing the length to tx_ctl failed: GATT write failed", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_device_error_is_not_retried_and_keeps_its_code()
    {
        await using var link = await _adapter.ConnectAsync(_device.Address);
        await using var rpc = new ShellyBleRpc(link);
        var ex = await Assert.ThrowsAsync<ShellyRpcException>(() => rpc.CallAsync("Cover.Open", new JsonObject { ["id"] = 0 }));
        Assert.Equal(404, ex.Code);
        Assert.Equal(1, rpc.LastAttempts);
        Assert.Equal(1, _device.Frames);
    }

    [Fact]
    public async Task Calls_on_one_connection_run_one_frame_at_a_time()
    {
        _device.MaxChunk = 20;
        await using var link = await _adapter.ConnectAsync(_device.Address);
        await using var rpc = new ShellyBleRpc(link);
        var calls = Enumerable.Range(0, 8).Select(i => rpc.CallAsync("KVS.Set", new JsonObject { ["key"] = "k" + i, ["value"] = new string('v', 100 + i) })).ToList();
        await Task.WhenAll(calls);
        for (var i = 0; i < 8; i++)
        {
            Assert.Equal(100 + i, (await rpc.CallAsync("KVS.Get", new JsonObject { ["key"] = "k" + i }))!["value"]!.GetValue<string>().Length);
        }
        Assert.Equal(16, _device.Frames);
    }

    [Fact]
    public async Task Oversized_requests_and_unknown_devices_get_clear_errors()
    {
        await using var link = await _adapter.ConnectAsync(_device.Address);
        await using var rpc = new ShellyBleRpc(link);
        var big = await Assert.ThrowsAsync<ArgumentException>(() => rpc.CallAsync("KVS.Set", new JsonObject { ["key"] = "k", ["value"] = new string('v', 5000) }));
        Assert.Contains("at most 4096", big.Message, StringComparison.Ordinal);
        var missing = await Assert.ThrowsAsync<BleException>(() => _adapter.ConnectAsync("00:00:00:00:00:01"));
        Assert.Contains("not in range", missing.Message, StringComparison.Ordinal);
    }

    /// <summary>Moves fake time forward in poll-sized steps until the call finishes (real time bounded).</summary>
    private static async Task AdvanceUntil(FakeTimeProvider time, Task call)
    {
        var guard = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!call.IsCompleted && DateTime.UtcNow < guard)
        {
            await Task.Delay(1);
            time.Advance(TimeSpan.FromMilliseconds(100));
        }
        Assert.True(call.IsCompleted, "the call did not finish");
    }
}
