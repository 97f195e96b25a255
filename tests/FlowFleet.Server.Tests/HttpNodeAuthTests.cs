using System.Net;
using System.Text;

namespace FlowFleet.Server.Tests;

public sealed class HttpNodeAuthTests
{
    private const string Flows = """
        [{"id":"t","type":"tab"},
         {"id":"in","type":"http in","z":"t","url":"/hello","method":"get","x":1,"y":1,"wires":[["res"]]},
         {"id":"res","type":"http response","z":"t","x":1,"y":1,"wires":[]}]
        """;

    private static async Task DeployAsync(ServerFixture server)
    {
        using var admin = await server.AdminAsync();
        using var deployed = await admin.PostAsync("/red/flows", new StringContent(Flows, Encoding.UTF8, "application/json"));
        deployed.EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task Http_in_routes_are_anonymous_by_default_while_the_admin_api_stays_protected()
    {
        await using var server = await ServerFixture.StartAsync();
        await DeployAsync(server);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/hello")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client.GetAsync("/red/flows")).StatusCode);
    }

    [Fact]
    public async Task With_node_auth_set_to_user_they_need_a_token_or_a_signed_in_user()
    {
        await using var server = await ServerFixture.StartAsync(extraArgs: ["--Http:NodeAuth", "user"]);
        await DeployAsync(server);
        using var anonymous = await server.Client.GetAsync("/hello");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Contains("Http:NodeAuth=user", await anonymous.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var viewer = server.Authorized(await server.TokenAsync(scope: "read"));
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("/hello")).StatusCode);
    }
}
