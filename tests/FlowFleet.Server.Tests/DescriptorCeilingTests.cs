using System.Net.Http.Json;
using System.Text.Json.Nodes;
using FlowFleet.DeviceSim;
using FlowFleet.Server.Hosting;

namespace FlowFleet.Server.Tests;

/// <summary>
/// A fleet larger than the process's open-file limit allows: the server (a child process with <c>ulimit -n</c> lowered, as an
/// operator's would be) holds as many devices as its connection budget, turns the rest away without dying, says so in its
/// log, and lets the waiting devices in as others leave.
/// </summary>
public sealed class DescriptorCeilingTests
{
    private const int OpenFiles = 640;

    [Fact]
    public async Task At_the_open_file_limit_devices_are_refused_cleanly_and_get_in_as_others_leave()
    {
        var budget = ConnectionBudget.Parse($"Max open files            {OpenFiles}                 {OpenFiles}                 files\n")!.Devices;
        var data = Directory.CreateTempSubdirectory("flowfleet-ceiling-").FullName;
        await using var server = await ChildServer.StartWithFileLimitAsync(data, OpenFiles, "--Fleet:Admission", "auto", "--Fleet:RateLimitPerMinute", "0");
        var url = $"ws://{server.Client.BaseAddress!.Host}:{server.Client.BaseAddress.Port}/shelly";
        var quiet = new SimOptions { MinBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromSeconds(1), ReportInterval = TimeSpan.FromSeconds(5) };
        async Task<JsonObject> Stats() => (await server.Client.GetFromJsonAsync<JsonObject>("/api/fleet/stats"))!;
        async Task<long> Online() => (long)(await Stats())["online"]!;

        var first = new SimFleet(url, (int)budget - 16, "plus1pm", quiet, firstIndex: 0x7000);
        await using var waiting = new SimFleet(url, 40, "plus1pm", quiet, firstIndex: 0x7100);
        try
        {
            await first.StartAsync();
            await Poll.UntilAsync(async () => await Online() == budget - 16, () => $"{budget - 16} online", 60_000);
            await waiting.StartAsync();
            // The budget fills; the other 24 are refused (503 or closed at once) and keep retrying.
            await Poll.UntilAsync(async () => await Online() == budget && (long)(await Stats())["connectionsRefused"]! > 0,
                () => $"{budget} online and refusals counted", 60_000);
            Assert.True(await server.WaitForLogAsync($"at the connection budget of {budget} devices", TimeSpan.FromSeconds(10)), server.Log);
            await Task.Delay(1000);
            Assert.Equal(budget, await Online());
            Assert.Contains("\"ok\"", await server.Client.GetStringAsync(new Uri("/healthz", UriKind.Relative)), StringComparison.Ordinal);
        }
        finally
        {
            await first.DisposeAsync();
        }
        // The first devices left: every one of the waiting ones gets in.
        await Poll.UntilAsync(async () => await Online() == 40, "the 40 waiting devices online", 60_000);
        Assert.False(server.HasExited, server.Log);
        Assert.DoesNotContain("Out of memory", server.Log, StringComparison.Ordinal);
    }
}
