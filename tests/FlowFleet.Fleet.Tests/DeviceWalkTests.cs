using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Registry;

namespace FlowFleet.Fleet.Tests;

/// <summary>
/// Walking every device or session must not copy them. <c>ConcurrentDictionary.Values</c> takes every lock and copies all
/// values into a new array: at 19,000 devices the hub's sweep (four times a second) left a 150 KB array on the large object
/// heap each time, garbage that stayed resident until the next full collection (bench/README.md, fleet, 2026-12-07). What a
/// walk allocates on the calling thread is counted exactly, so these fail with a copy however loaded the machine is.
/// </summary>
public sealed class DeviceWalkTests
{
    [Fact]
    public async Task Counting_devices_does_not_copy_the_device_table()
    {
        await using var host = await FleetHost.StartAsync();
        for (var i = 0; i < 5_000; i++)
        {
            host.Devices.Touch($"walk-{i:D5}", out _);
        }
        static int Pending(IDeviceStore devices) => devices.All.Count(d => d.Admission == AdmissionStates.Pending);
        Assert.Equal(5_000, Pending(host.Devices));
        var before = GC.GetAllocatedBytesForCurrentThread();
        var pending = Pending(host.Devices);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(5_000, pending);
        // A copy of 5,000 references alone is 40 KB; a walk is an enumerator or two.
        Assert.True(allocated < 1024, $"counting 5,000 devices allocated {allocated} bytes");
    }

    [Fact]
    public async Task The_sweep_walks_the_sessions_without_copying_them()
    {
        await using var host = await FleetHost.StartAsync();
        await using var fleet = new SimFleet(host.ShellyUrl, 100, "plus1pm", new SimOptions { ReportInterval = TimeSpan.FromMinutes(5) });
        await fleet.StartAsync();
        await Poll.UntilAsync(() => host.Hub.OnlineCount == 100, "100 online");
        host.Hub.Sweep();
        var before = GC.GetAllocatedBytesForCurrentThread();
        host.Hub.Sweep();
        var sessions = host.Hub.Sessions.Count(s => s.Admitted);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(100, sessions);
        // Copies of the 100 sessions would be 800 bytes each (sweep and count); walks are a few enumerators.
        Assert.True(allocated < 512, $"a sweep and a count over 100 sessions allocated {allocated} bytes");
    }
}
