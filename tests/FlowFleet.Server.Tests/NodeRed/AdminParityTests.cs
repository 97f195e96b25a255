using System.Net;
using System.Text;
using FlowFleet.Nodes.Core.Common;
using FlowFleet.Runtime;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Server.Tests.NodeRed;

/// <summary>Admin API answers Node-RED gives that the debug channel does not show.</summary>
public sealed class AdminParityTests
{
    [Fact]
    public async Task Debug_state_routes_answer_as_Node_RED_and_all_nodes_toggle_together()
    {
        await using var s = await ServerFixture.StartAsync(noAuth: true);
        using var deploy = await s.Client.PostAsync("/red/flows", new StringContent("""
            [{"id":"t1","type":"tab"},
             {"id":"d1","type":"debug","z":"t1","active":true,"x":1,"y":1,"wires":[]},
             {"id":"d2","type":"debug","z":"t1","active":true,"x":1,"y":1,"wires":[]}]
            """, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NoContent, deploy.StatusCode);
        var engine = s.App.Services.GetRequiredService<FlowEngine>();
        bool Active(string id) => ((DebugNode)engine.GetNode(id)!).Active;

        Assert.Equal(HttpStatusCode.NotFound, (await s.Client.PostAsync("/red/debug/d1/bogus", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await s.Client.PostAsync("/red/debug/bogus", null)).StatusCode);
        Assert.True(Active("d1"));

        Assert.Equal(HttpStatusCode.OK, (await s.Client.PostAsync("/red/debug/disable", null)).StatusCode);
        Assert.False(Active("d1"));
        Assert.False(Active("d2"));
        Assert.Equal(HttpStatusCode.OK, (await s.Client.PostAsync("/red/debug/d2/enable", null)).StatusCode);
        Assert.False(Active("d1"));
        Assert.True(Active("d2"));
        Assert.Equal(HttpStatusCode.OK, (await s.Client.PostAsync("/red/debug/enable", null)).StatusCode);
        Assert.True(Active("d1"));
    }

    [Fact]
    public async Task Context_with_an_unknown_store_is_a_400_with_a_message()
    {
        await using var s = await ServerFixture.StartAsync(noAuth: true);
        using var response = await s.Client.GetAsync("/red/context/global/x?store=bogus");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("bogus", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
