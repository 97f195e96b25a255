using System.Text;
using System.Text.Json.Nodes;
using FlowFleet.DeviceSim;
using FlowFleet.Fleet.Hub;
using FlowFleet.Server.Cli;
using Microsoft.Extensions.DependencyInjection;
using static FlowFleet.Server.Tests.FleetApiTests;

namespace FlowFleet.Server.Tests;

/// <summary>The fleet CLI (<c>flowfleet devices …</c>) against a running server over its REST and <c>/client</c> API.</summary>
public sealed class FleetCliTests
{
    // Devices that only report when something changes, so a live view sees exactly what a test does.
    internal static readonly SimOptions QuietSim = new() { MinBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromSeconds(1), ReportInterval = TimeSpan.FromHours(1) };

    internal static async Task<(int Code, string Out, string Err)> Run(ServerFixture s, string? token, params string[] args)
    {
        var output = new CaptureWriter();
        var error = new CaptureWriter();
        string[] all = [.. args, "--server", s.BaseUri.ToString(), .. token is null ? Array.Empty<string>() : ["--token", token]];
        var code = await CliCommands.Build(all, output, error).Parse(all).InvokeAsync();
        return (code, output.Text, error.Text);
    }

    private static JsonNode Json(string text) => JsonNode.Parse(text)!;

    [Fact]
    public async Task Verbs_list_admit_group_call_and_configure_devices_with_clear_errors()
    {
        await using var s = await ServerFixture.StartAsync();
        var token = await s.TokenAsync();
        await using var fleet = new SimFleet(s.ShellyUrl, 3, "plus1pm", QuietSim);
        await fleet.StartAsync();
        var ids = fleet.Devices.Select(d => d.Id).Order(StringComparer.Ordinal).ToList();
        var hub = s.App.Services.GetRequiredService<DeviceHub>();
        await Poll.UntilAsync(() => hub.Sessions.Count() >= 3, "three devices connected");

        // The waiting room: three devices wait; two are accepted, one denied.
        var (code, output, _) = await Run(s, token, "devices", "pending", "--json");
        Assert.Equal(0, code);
        Assert.Equal(ids, Json(output).AsArray().Select(d => d!["id"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        (code, output, _) = await Run(s, token, "devices", "pending", "accept", ids[0], ids[1]);
        Assert.Equal(0, code);
        Assert.Contains($"accepted {ids[0]}", output, StringComparison.Ordinal);
        Assert.Equal(0, (await Run(s, token, "devices", "pending", "deny", ids[2])).Code);
        await WaitOnline(s, 2);

        (code, output, _) = await Run(s, token, "devices", "list", "online", "--json");
        Assert.Equal(ids[..2], Json(output).AsArray().Select(d => d!["id"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        (_, output, _) = await Run(s, token, "devices", "list");
        Assert.Contains(ids[0], output, StringComparison.Ordinal);
        Assert.Contains("online", output, StringComparison.Ordinal);

        // Groups, then a call to the group: progress lines and each device's result.
        Assert.Equal(0, (await Run(s, token, "devices", "groups", "create", "lab")).Code);
        Assert.Equal(0, (await Run(s, token, "devices", "groups", "add", "lab", ids[0])).Code);
        (_, output, _) = await Run(s, token, "devices", "groups", "--json");
        Assert.Equal(ids[0], Json(output).AsArray().Single(g => g!["name"]!.GetValue<string>() == "lab")!["devices"]![0]!.GetValue<string>());
        (code, output, _) = await Run(s, token, "devices", "call", "Switch.Set", """{"id":0,"on":true}""", "-s", "group:lab");
        Assert.Equal(0, code);
        Assert.Contains($"[1/1] {ids[0]} ok", output, StringComparison.Ordinal);
        Assert.Contains("1 ok, 0 failed", output, StringComparison.Ordinal);
        Assert.True(fleet[ids[0]].Status("switch:0")!["output"]!.GetValue<bool>());
        Assert.False(fleet[ids[1]].Status("switch:0")!["output"]!.GetValue<bool>());

        // A device that refuses: its error in its row, the others fine, exit code 1.
        fleet[ids[1]].Fault = (method, _) => method == "Switch.Toggle" ? new FlowFleet.Fleet.Protocol.ShellyRpcException(-103, "Overtemperature") : null;
        (code, output, _) = await Run(s, token, "devices", "call", "Switch.Toggle", """{"id":0}""", "-s", "online", "--json");
        Assert.Equal(1, code);
        var rows = Json(output).AsArray().ToDictionary(r => r!["id"]!.GetValue<string>(), r => r!);
        Assert.True(rows[ids[0]]["ok"]!.GetValue<bool>());
        Assert.Equal("Overtemperature", rows[ids[1]]["error"]!["message"]!.GetValue<string>());

        // Config: set a component's name, read it back.
        Assert.Equal(0, (await Run(s, token, "devices", "config", "set", "switch:0", """{"name":"Heater"}""", "-s", ids[0])).Code);
        (code, output, _) = await Run(s, token, "devices", "config", "get", "switch:0", "-s", ids[0], "--json");
        Assert.Equal(0, code);
        Assert.Equal("Heater", Json(output)[0]!["result"]!["name"]!.GetValue<string>());

        // A settings file carries server and token.
        var settings = Path.Combine(s.DataDir, "cli.yml");
        await File.WriteAllTextAsync(settings, $"server: {s.BaseUri}\ntoken: {token}\njson: true\n");
        var output2 = new CaptureWriter();
        string[] args = ["devices", "list", "--settings", settings];
        Assert.Equal(0, await CliCommands.Build(args, output2, new CaptureWriter()).Parse(args).InvokeAsync());
        Assert.Contains(ids[0], Json(output2.Text).AsArray().Select(d => d!["id"]!.GetValue<string>()));

        // Clear errors: a wrong server, a wrong or missing token, bad JSON, an unknown device.
        string[] nowhere = ["devices", "list", "--server", "http://127.0.0.1:1", "--token", token];
        var err = new CaptureWriter();
        Assert.Equal(2, await CliCommands.Build(nowhere, new CaptureWriter(), err).Parse(nowhere).InvokeAsync());
        Assert.Contains("Cannot reach a FlowFleet server at http://127.0.0.1:1/", err.Text, StringComparison.Ordinal);
        (code, _, var error) = await Run(s, "wrong-token", "devices", "list");
        Assert.Equal(3, code);
        Assert.Contains("refused the token (401)", error, StringComparison.Ordinal);
        (code, _, error) = await Run(s, null, "devices", "list");
        Assert.Equal(3, code);
        Assert.Contains("needs a token", error, StringComparison.Ordinal);
        (code, _, error) = await Run(s, token, "devices", "call", "Switch.Set", "{id:0", "-s", ids[0]);
        Assert.Equal(1, code);
        Assert.Contains("not valid JSON", error, StringComparison.Ordinal);
        (code, _, error) = await Run(s, token, "devices", "call", "Shelly.GetStatus", "-s", "shellyplus1pm-ffffffffffff");
        Assert.Equal(1, code);
        Assert.Contains("No device \"shellyplus1pm-ffffffffffff\"", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Track_follows_a_device_live_and_ota_updates_it_with_progress()
    {
        await using var s = await ServerFixture.StartAsync(extraArgs: ["--Fleet:Admission", "auto"]);
        var token = await s.TokenAsync();
        await using var fleet = new SimFleet(s.ShellyUrl, 2, "plus1pm", QuietSim);
        await fleet.StartAsync();
        await WaitOnline(s, 2);
        var id = fleet.Devices.Select(d => d.Id).Order(StringComparer.Ordinal).First();

        // track devices: a status change made elsewhere, then the device going away, as two JSON lines.
        var output = new CaptureWriter();
        string[] args = ["devices", "track", "devices", "-s", id, "--count", "2", "--json", "--server", s.BaseUri.ToString(), "--token", token];
        var tracking = CliCommands.Build(args, output, new CaptureWriter()).Parse(args).InvokeAsync();
        await output.WaitForAsync(t => t.Contains("\"tracking\"", StringComparison.Ordinal));
        await s.App.Services.GetRequiredService<DeviceHub>().CallAsync(id, "Switch.Set", new JsonObject { ["id"] = 0, ["on"] = true });
        await output.WaitForAsync(t => t.Contains("Shelly.Status", StringComparison.Ordinal));
        await fleet.Connections.Single(c => c.Device.Id == id).DisposeAsync();
        Assert.Equal(0, await tracking.WaitAsync(TimeSpan.FromSeconds(20)));
        var lines = output.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(l => Json(l)).ToList();
        Assert.Equal(["Shelly.Status", "Shelly.Disconnect"], lines.Select(l => l["event"]!.GetValue<string>()));
        Assert.True(lines[0]["params"]!["status"]!["switch:0"]!["output"]!.GetValue<bool>());
        Assert.All(lines, l => Assert.Equal(id, l["device"]!.GetValue<string>()));

        // ota: the other device downloads (progress lines), reboots, comes back with the new firmware.
        var other = fleet.Devices.Select(d => d.Id).Order(StringComparer.Ordinal).Last();
        var before = fleet[other].DeviceInfo()["ver"]!.GetValue<string>();
        var (code, text, _) = await Run(s, token, "devices", "ota", "-s", other);
        Assert.Equal(0, code);
        Assert.Contains($"{other} Downloading 40%", text, StringComparison.Ordinal);
        Assert.Contains($"{other} back online", text, StringComparison.Ordinal);
        var after = fleet[other].DeviceInfo()["ver"]!.GetValue<string>();
        Assert.NotEqual(before, after);
        Assert.Contains($"{before} → {after}", text, StringComparison.Ordinal);
        Assert.Contains("1 ok, 0 failed", text, StringComparison.Ordinal);

        // Nothing left to update: the device's own answer, exit code 1.
        (code, text, _) = await Run(s, token, "devices", "ota", "-s", other, "--json");
        Assert.Equal(1, code);
        Assert.Contains("No update available", Json(text)[0]!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}

/// <summary>A thread-safe text sink whose content a test can await.</summary>
internal sealed class CaptureWriter : TextWriter
{
    private readonly StringBuilder _text = new();
    private readonly Lock _gate = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override Encoding Encoding => Encoding.UTF8;

    public string Text
    {
        get
        {
            lock (_gate)
            {
                return _text.ToString();
            }
        }
    }

    public override void Write(char value) => Append(value.ToString());

    public override void Write(string? value) => Append(value);

    public override void Write(char[] buffer, int index, int count) => Append(new string(buffer, index, count));

    private void Append(string? value)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            _text.Append(value);
            changed = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.TrySetResult();
    }

    public async Task WaitForAsync(Func<string, bool> condition, int timeoutMs = 20_000)
    {
        using var cts = new CancellationTokenSource(timeoutMs);
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (condition(_text.ToString()))
                {
                    return;
                }
                changed = _changed.Task;
            }
            try
            {
                await changed.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException("Output never matched; it was:\n" + Text);
            }
        }
    }
}
