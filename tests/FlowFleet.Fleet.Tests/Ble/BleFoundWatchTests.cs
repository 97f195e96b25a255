using FlowFleet.DeviceSim.Ble;
using FlowFleet.Fleet.Ble;
using Microsoft.Extensions.Time.Testing;

namespace FlowFleet.Fleet.Tests.Ble;

/// <summary><see cref="BleService.WatchFound"/>: the devices in range, then the ones found later, each reported once.</summary>
public sealed class BleFoundWatchTests
{
    [Fact]
    public async Task WatchFound_reports_devices_in_range_then_new_ones_each_once_until_disposed()
    {
        var time = new FakeTimeProvider();
        await using var adapter = new SimBleAdapter(time: time);
        adapter.AddUnprovisioned(2);
        var heard = 0;
        // Subscribed after the service: when this counts an advertisement, the service has handled it.
        await using var ble = new BleService([adapter], time: time);
        adapter.Advertisement += _ => Interlocked.Increment(ref heard);
        await ble.StartScanAsync();
        await Poll.UntilAsync(() => Volatile.Read(ref heard) >= 2, "the first advertising round");

        var found = new List<string>();
        void Found(BleDevice d)
        {
            lock (found)
            {
                found.Add(d.Address);
            }
        }
        List<string> Snapshot()
        {
            lock (found)
            {
                return [.. found];
            }
        }

        using (ble.WatchFound(Found, inRange: true))
        {
            Assert.Equal(ble.InRange().Select(d => d.Address).Order(), Snapshot().Order());
            var added = adapter.AddUnprovisioned(1, macPrefix: "B1E001")[0];
            foreach (var round in new[] { 5, 8 })
            {
                time.Advance(adapter.AdvertiseInterval);
                await Poll.UntilAsync(() => Volatile.Read(ref heard) >= round, "another advertising round");
            }
            var seen = Snapshot();
            Assert.Equal(3, seen.Count);
            Assert.Equal(3, seen.Distinct(StringComparer.OrdinalIgnoreCase).Count());
            Assert.Contains(added.Address, seen);
        }

        adapter.AddUnprovisioned(1, macPrefix: "B1E002");
        time.Advance(adapter.AdvertiseInterval);
        await Poll.UntilAsync(() => Volatile.Read(ref heard) >= 12, "a round after disposing");
        Assert.Equal(4, ble.InRange().Count);
        Assert.Equal(3, Snapshot().Count);
    }
}
