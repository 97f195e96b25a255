using System.Diagnostics;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Fleet.Registry;
using FlowFleet.Fleet.Rpc;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FlowFleet.Fleet.Tests;

/// <summary>Issue 13 item 16: adopting by address is no port scanner — a refused port, an unreachable host, a service that
/// wants a password and one that is not a Shelly all get the same error after the same time.</summary>
public sealed class AdoptProbeTests
{
    private static readonly TimeSpan Probe = TimeSpan.FromSeconds(1);

    private static async Task<WebApplication> ServiceAsync(Func<HttpContext, Task> answer)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.Run(new RequestDelegate(answer));
        await app.StartAsync();
        return app;
    }

    private static string Address(WebApplication app) => app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    /// <summary>A port nothing listens on: a free one, released.</summary>
    private static int ClosedPort() => Loopback.FreePort();

    [Fact]
    public async Task Refused_unreachable_unauthorised_and_foreign_services_fail_alike()
    {
        await using var host = await FleetHost.StartAsync();
        await using var locked = await ServiceAsync(ctx =>
        {
            ctx.Response.StatusCode = 401;
            ctx.Response.Headers.WWWAuthenticate = "Digest qop=\"auth\", realm=\"shellyplus1-aa\", nonce=\"1\", algorithm=SHA-256";
            return Task.CompletedTask;
        });
        await using var web = await ServiceAsync(ctx => ctx.Response.WriteAsync("<html>router</html>"));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        var adopter = new DeviceAdopter(host.Devices, http, Probe);
        var addresses = new[]
        {
            $"127.0.0.1:{ClosedPort()}", // refused
            "http://192.0.2.1:80", // TEST-NET-1: unreachable (never answers or fails at once, depending on the network)
            Address(locked), // a device that wants a password
            Address(web), // something else
        };
        var outcomes = new List<(string Message, int Code, TimeSpan Took)>();
        foreach (var a in addresses)
        {
            var started = Stopwatch.GetTimestamp();
            var ex = await Assert.ThrowsAsync<ShellyRpcException>(() => adopter.AdoptAsync(a, null, "ws://fleet/shelly"));
            outcomes.Add((ex.Message, ex.Code, Stopwatch.GetElapsedTime(started)));
        }
        Assert.Single(outcomes.Select(o => (o.Message, o.Code)).Distinct());
        Assert.Equal(DeviceAdopter.NotFoundMessage, outcomes[0].Message);
        // No answer comes back before the probe time, and none long after it.
        Assert.All(outcomes, o => Assert.InRange(o.Took, Probe - TimeSpan.FromMilliseconds(50), Probe + TimeSpan.FromSeconds(2)));
        Assert.DoesNotContain(host.Devices.All, d => d.Admission == AdmissionStates.Accepted);
    }
}
