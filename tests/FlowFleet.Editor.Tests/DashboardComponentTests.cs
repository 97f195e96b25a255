using System.Security.Claims;
using System.Text.Json.Nodes;
using Bunit;
using FlowFleet.Editor.Components;
using FlowFleet.Editor.Pages.Devices;
using FlowFleet.Fleet;
using FlowFleet.Fleet.Registry;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MudBlazor.Services;

namespace FlowFleet.Editor.Tests;

/// <summary>bUnit tests of the dashboard: a device card, and pages over a real registry (SQLite in a temp file).</summary>
public sealed class DashboardComponentTests : IAsyncLifetime
{
    private readonly BunitContext _ctx = new();

    private readonly TestAuth _auth = new();

    private sealed class TestAuth : AuthenticationStateProvider
    {
        public string Permission { get; set; } = "devices.read";

        /// <summary>The device groups the user is limited to; null: not limited.</summary>
        public string[]? Groups { get; set; }

        public override Task<AuthenticationState> GetAuthenticationStateAsync()
        {
            List<Claim> claims = [new(ClaimTypes.Name, "t"), new("perm", Permission)];
            if (Groups is not null)
            {
                claims.Add(new Claim(DeviceAccess.LimitedClaim, "true"));
                claims.AddRange(Groups.Select(g => new Claim(DeviceAccess.GroupClaim, g)));
            }
            return Task.FromResult(new AuthenticationState(new ClaimsPrincipal(new ClaimsIdentity(claims, "test"))));
        }
    }

    public async Task InitializeAsync()
    {
        _ctx.Services.AddMudServices();
        _ctx.Services.AddSingleton<AuthenticationStateProvider>(_auth);
        _ctx.Services.AddLogging();
        _ctx.Services.AddOptions<FleetOptions>();
        _ctx.Services.AddFleet(Path.Combine(Directory.CreateTempSubdirectory("flowfleet-bunit-").FullName, "fleet.db"));
        _ctx.JSInterop.Mode = JSRuntimeMode.Loose;
        var devices = _ctx.Services.GetRequiredService<IDeviceStore>();
        await devices.InitializeAsync();
        foreach (var (id, app, on) in new[] { ("shellyplus1pm-000000000001", "Plus1PM", true), ("shellyplus1pm-000000000002", "Plus1PM", false), ("shellyplus2pm-000000000003", "Plus2PM", false) })
        {
            var d = devices.Touch(id, out _);
            d.Admission = AdmissionStates.Accepted;
            devices.ApplyIdentity(d, new JsonObject { ["id"] = id, ["app"] = app, ["model"] = "M", ["ver"] = "1.4.2", ["gen"] = 2 }, null,
                app == "Plus1PM"
                    ? new JsonObject { ["switch:0"] = new JsonObject { ["id"] = 0, ["output"] = on, ["apower"] = on ? 42.5 : 0.0, ["aenergy"] = new JsonObject { ["total"] = 1234.0 } } }
                    : new JsonObject { ["cover:0"] = new JsonObject { ["id"] = 0, ["state"] = "stopped", ["current_pos"] = 30 } }, null);
        }
        var groups = _ctx.Services.GetRequiredService<IGroupStore>();
        await groups.CreateGroupAsync("kitchen");
        await groups.SetMembershipAsync("kitchen", "shellyplus1pm-000000000002", true);
    }

    public Task DisposeAsync() => _ctx.DisposeAsync().AsTask();

    private DeviceState Device(string id) => _ctx.Services.GetRequiredService<IDeviceStore>().Get(id)!;

    [Fact]
    public void Device_card_shows_readings_and_controls_only_when_allowed()
    {
        var d = Device("shellyplus1pm-000000000001");
        d.Online = true;
        (string, JsonObject)? sent = null;
        var card = _ctx.Render<DeviceCard>(p => p.Add(x => x.Device, d).Add(x => x.Status, d.Status).Add(x => x.Readings, d.Readings()).Add(x => x.CanControl, true)
            .Add(x => x.Command, c => sent = c));
        Assert.Contains("42.5 W", card.Markup, StringComparison.Ordinal);
        Assert.Contains("1.234 kWh", card.Markup, StringComparison.Ordinal);
        card.Find("input[data-testid=switch-toggle]").Change(false);
        Assert.Equal("Switch.Set", sent!.Value.Item1);
        Assert.False(sent.Value.Item2["on"]!.GetValue<bool>());

        var viewer = _ctx.Render<DeviceCard>(p => p.Add(x => x.Device, d).Add(x => x.Status, d.Status).Add(x => x.Readings, d.Readings()).Add(x => x.CanControl, false));
        Assert.Empty(viewer.FindAll("[data-testid=controls]"));

        var cover = Device("shellyplus2pm-000000000003");
        cover.Online = true;
        var coverCard = _ctx.Render<DeviceCard>(p => p.Add(x => x.Device, cover).Add(x => x.Status, cover.Status).Add(x => x.Readings, cover.Readings()).Add(x => x.CanControl, true));
        Assert.Contains("30 %", coverCard.Markup, StringComparison.Ordinal);
        Assert.NotEmpty(coverCard.FindAll("[title=open]"));
    }

    [Fact]
    public void Device_card_and_devices_page_show_a_device_whose_status_has_wrong_types()
    {
        // Issue 13 item 4: "apower":"abc", arrays where numbers belong, a number where an object belongs.
        var d = Device("shellyplus1pm-000000000001");
        d.Online = true;
        lock (d.Gate)
        {
            d.ReplaceStatus(JsonNode.Parse("""
                {"switch:0":{"id":0,"output":"yes","apower":"abc","aenergy":[1,2]},"wifi":[1,2],"cover:0":{"current_pos":"x","state":7},
                 "temperature:0":{"tC":{"a":1}},"light:0":{"output":1,"brightness":[]},"devicepower:0":{"battery":3},
                 "switch:1":{"output":true,"apower":1.5,"aenergy":{"total":[]}},"sys":5}
                """)!.AsObject());
        }
        var card = _ctx.Render<DeviceCard>(p => p.Add(x => x.Device, d).Add(x => x.Status, d.Status).Add(x => x.Readings, d.Readings()).Add(x => x.CanControl, true));
        Assert.Contains("1.5 W", card.Markup, StringComparison.Ordinal);
        Assert.Equal(2, card.FindAll("[data-testid=switch-toggle]").Count);
        var page = _ctx.Render<Devices>();
        page.WaitForAssertion(() => Assert.Contains("3 devices", page.Find("[data-testid=device-count]").TextContent, StringComparison.Ordinal));
    }

    [Fact]
    public void Device_card_and_page_show_a_device_that_came_over_mqtt()
    {
        var d = Device("shellyplus1pm-000000000001");
        d.Transport = "mqtt";
        var card = _ctx.Render<DeviceCard>(p => p.Add(x => x.Device, d).Add(x => x.Status, d.Status).Add(x => x.Readings, d.Readings()));
        Assert.Contains("· MQTT", card.Markup, StringComparison.Ordinal);
        var ws = Device("shellyplus1pm-000000000002");
        ws.Transport = "websocket";
        Assert.DoesNotContain("MQTT", _ctx.Render<DeviceCard>(p => p.Add(x => x.Device, ws).Add(x => x.Status, ws.Status).Add(x => x.Readings, ws.Readings())).Markup, StringComparison.Ordinal);
        var page = _ctx.Render<DevicePage>(p => p.Add(x => x.Id, d.Id));
        page.WaitForAssertion(() => Assert.Contains("· mqtt", page.Markup, StringComparison.Ordinal));
    }

    [Fact]
    public void Devices_page_lists_and_filters_server_side()
    {
        _auth.Permission = "devices.read";
        var page = _ctx.Render<Devices>();
        page.WaitForAssertion(() => Assert.Contains("3 devices", page.Find("[data-testid=device-count]").TextContent, StringComparison.Ordinal));
        page.Find("input[data-testid=device-search]").Input("2pm");
        page.WaitForAssertion(() => Assert.Contains("1 devices", page.Find("[data-testid=device-count]").TextContent, StringComparison.Ordinal), TimeSpan.FromSeconds(3));
    }

    [Fact]
    public void A_user_limited_to_a_group_sees_only_its_devices_on_the_dashboard()
    {
        _auth.Groups = ["kitchen"];
        var page = _ctx.Render<Devices>();
        page.WaitForAssertion(() => Assert.Contains("1 devices", page.Find("[data-testid=device-count]").TextContent, StringComparison.Ordinal));
        Assert.Contains("shellyplus1pm-000000000002", page.Markup, StringComparison.Ordinal);
        Assert.DoesNotContain("shellyplus2pm-000000000003", page.Markup, StringComparison.Ordinal);
        var other = _ctx.Render<DevicePage>(p => p.Add(x => x.Id, "shellyplus2pm-000000000003"));
        other.WaitForAssertion(() => Assert.Contains("No device", other.Markup, StringComparison.Ordinal));
        var own = _ctx.Render<DevicePage>(p => p.Add(x => x.Id, "shellyplus1pm-000000000002"));
        own.WaitForAssertion(() => Assert.DoesNotContain("No device", own.Markup, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_limited_operator_cannot_change_groups_from_the_groups_page()
    {
        await _ctx.Services.GetRequiredService<IGroupStore>().CreateGroupAsync("plant");
        _auth.Permission = "devices.control";
        _auth.Groups = ["kitchen"];
        var page = _ctx.Render<Groups>();
        page.WaitForAssertion(() => Assert.Contains("kitchen (1)", page.Markup, StringComparison.Ordinal));
        Assert.DoesNotContain("plant", page.Markup, StringComparison.Ordinal);
        Assert.Empty(page.FindAll("input[placeholder='new group']"));
        _auth.Groups = null;
        var full = _ctx.Render<Groups>();
        full.WaitForAssertion(() => Assert.Contains("plant", full.Markup, StringComparison.Ordinal));
        Assert.NotEmpty(full.FindAll("input[placeholder='new group']"));
    }

    [Fact]
    public void Groups_page_shows_groups_and_members()
    {
        _auth.Permission = "*";
        var page = _ctx.Render<Groups>();
        Assert.Contains("kitchen (1)", page.Markup, StringComparison.Ordinal);
    }

    [Fact]
    public void Waiting_room_lists_pending_devices_with_accept_for_operators()
    {
        var devices = _ctx.Services.GetRequiredService<IDeviceStore>();
        var pending = devices.Touch("shellyplusi4-000000000009", out _);
        pending.App = "PlusI4";
        _auth.Permission = "devices.control";
        var page = _ctx.Render<WaitingRoom>();
        page.WaitForAssertion(() => Assert.Contains("shellyplusi4-000000000009", page.Markup, StringComparison.Ordinal));
        Assert.NotEmpty(page.FindAll("[data-testid=accept]"));
        Assert.NotEmpty(page.FindAll("[data-testid=create-token]"));
    }

    [Theory]
    [InlineData(-20, -10, "1h")]        // online for a while: the last hour, per minute
    [InlineData(-300, -180, "24h")]     // quiet for two hours: the last day
    [InlineData(-4_000, -3_000, "7d")]  // quiet for two days: the week
    public async Task Telemetry_opens_on_the_shortest_range_that_has_data(int fromMinutes, int toMinutes, string range)
    {
        var telemetry = _ctx.Services.GetRequiredService<ITelemetryStore>();
        var id = "shellyplus1pm-000000000001";
        var now = DateTimeOffset.UtcNow;
        foreach (var minutes in new[] { fromMinutes, (fromMinutes + toMinutes) / 2, toMinutes })
        {
            telemetry.RecordPoint(id, "switch:0.apower", 40 + minutes % 7, now.AddMinutes(minutes).ToUnixTimeMilliseconds());
        }
        await _ctx.Services.GetRequiredService<FleetRecordWriter>().WriteQueuedAsync();
        var page = _ctx.Render<DevicePage>(p => p.Add(x => x.Id, id));
        page.WaitForAssertion(() => Assert.Contains(page.FindAll(".mud-tab"), t => t.TextContent.Contains("telemetry", StringComparison.Ordinal)));
        page.FindAll(".mud-tab").First(t => t.TextContent.Contains("telemetry", StringComparison.Ordinal)).Click();
        page.WaitForAssertion(() => Assert.Equal(range, page.Find("[data-range]").GetAttribute("data-range")), TimeSpan.FromSeconds(5));
        Assert.NotEmpty(page.FindAll("[data-testid=telemetry-chart], .mud-chart"));
        Assert.DoesNotContain("No telemetry for this field and range yet", page.Markup, StringComparison.Ordinal);
    }
}
