using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FlowFleet.Runtime;
using Microsoft.Extensions.DependencyInjection;

namespace FlowFleet.Server.Tests;

/// <summary>Every file in <c>flows/</c> deploys through the admin API and runs with no unknown node or start failure.</summary>
public sealed class ExampleFlowTests
{
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Path.Combine(CommsAndHttpTests.RepoRoot(), "flows"), "*.json").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(f));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public async Task Example_flow_deploys_and_starts_cleanly(string file)
    {
        await using var s = await ServerFixture.StartAsync();
        using var admin = await s.AdminAsync();
        var json = await File.ReadAllTextAsync(Path.Combine(CommsAndHttpTests.RepoRoot(), "flows", file));
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync("/red/flows", AuthTests.Json(json))).StatusCode);
        var engine = s.App.Services.GetRequiredService<FlowEngine>();
        Assert.Empty(engine.Warnings);
        Assert.All(engine.Nodes, n => Assert.True(n.Known, n.Type));
    }

    [Fact]
    public async Task Hello_http_answers_and_counts()
    {
        await using var s = await ServerFixture.StartAsync();
        using var admin = await s.AdminAsync();
        await admin.PostAsync("/red/flows", AuthTests.Json(await File.ReadAllTextAsync(Path.Combine(CommsAndHttpTests.RepoRoot(), "flows", "hello-http.json"))));
        await admin.GetAsync("/hello?name=x");
        var reply = await admin.GetFromJsonAsync<JsonObject>("/hello?name=Ada");
        Assert.Equal("Hello, Ada!", reply!["greeting"]!.GetValue<string>());
        Assert.Equal(2, reply["served"]!.GetValue<double>());
    }
}
