using System.Text.Json.Nodes;
using FlowFleet.Fleet.Hub;
using FlowFleet.Fleet.Registry;

namespace FlowFleet.Fleet.Tests.Cluster;

/// <summary>
/// A claim held by A (a connection claiming an enrolled device's id without its token) is listed on B with its instance
/// and accepted through B's hub: A, which holds both connections, makes the claimant the device and closes the old one.
/// </summary>
public sealed class ClusterWaitingRoomTests
{
    private static Func<JsonObject, string?> Answers(string id) => request => request["method"]!.GetValue<string>() switch
    {
        "Shelly.GetDeviceInfo" => RawDevice.Result(request, id, RawDevice.Info(id)),
        "Shelly.GetConfig" or "Shelly.GetStatus" => RawDevice.Result(request, id, new JsonObject()),
        _ => RawDevice.Error(request, id, 404, "No handler for " + request["method"]),
    };

    [Fact]
    public async Task A_claim_held_by_A_is_listed_on_B_and_accepted_through_B()
    {
        await using var pair = await ClusterPair.StartAsync();
        const string id = "shellypro2-00000000c1a1";
        var token = await pair.A.Tokens.CreateTokenAsync("site");
        await using var device = await RawDevice.ConnectAsync(pair.A.ShellyUrl + "?token=" + token.Token, RawDevice.FullStatus(id), Answers(id));
        await Poll.UntilAsync(() => pair.A.Hub.IsOnline(id) && pair.B.Hub.InstanceOf(id) == "a", "the enrolled device is online on A, and B knows");

        // Another connection claims the id without the token: it waits on A, and B lists it as A's.
        await using var claimant = await RawDevice.ConnectAsync(pair.A.ShellyUrl, RawDevice.FullStatus(id), Answers(id));
        DeviceClaim? claim = null;
        await Poll.UntilAsync(() => (claim = pair.B.Hub.Claims.FirstOrDefault(c => c.Id == id)) is not null, "B lists the claim held by A");
        Assert.Equal("a", claim!.Instance);
        Assert.Equal(1, pair.B.Hub.Waiting(DeviceAccess.Everything));

        // Accepted through B: A makes the claimant the device (the old connection is closed as replaced) and reads it afresh.
        Assert.True(await pair.B.Hub.AcceptClaimAsync(claim.Key));
        Assert.Equal(DeviceHub.ClosedReplaced, await device.ClosedAsync());
        await Poll.UntilAsync(() => pair.A.Hub.IsOnline(id) && claimant.Requests.Any(r => (string?)r["method"] == "Shelly.GetConfig"), "A admits the claimant and reads its identity");
        await Poll.UntilAsync(() => pair.B.Hub.Claims.Count == 0 && pair.A.Hub.Claims.Count == 0, "no instance lists the claim any more");
        // Decided once: the same key is no longer waiting anywhere.
        Assert.False(await pair.B.Hub.AcceptClaimAsync(claim.Key));
    }
}
