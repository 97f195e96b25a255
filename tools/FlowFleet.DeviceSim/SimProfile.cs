using System.Text.Json.Nodes;

namespace FlowFleet.DeviceSim;

/// <summary>A Shelly model the simulator can play: identity and its own components (status + config).</summary>
public sealed record SimProfile(string Key, string Name, string IdPrefix, string Model, string App, string? DeviceProfile, bool Sleeps,
    Func<int, IEnumerable<(string Key, JsonObject Status, JsonObject Config)>> Components)
{
    public static readonly SimProfile Plus1PM = new("plus1pm", "Shelly Plus 1PM", "shellyplus1pm", "SNSW-001P16EU", "Plus1PM", null, false, seed =>
    [
        Switch(0, seed),
        Input(0, "switch"),
    ]);

    public static readonly SimProfile Plus2PMCover = new("plus2pm-cover", "Shelly Plus 2PM", "shellyplus2pm", "SNSW-102P16EU", "Plus2PM", "cover", false, _ =>
    [
        ("cover:0",
            new JsonObject { ["id"] = 0, ["source"] = "init", ["state"] = "stopped", ["apower"] = 0.0, ["voltage"] = 231.2, ["current"] = 0.0, ["pf"] = 0.0,
                ["aenergy"] = Energy(12.5), ["current_pos"] = 50, ["pos_control"] = true, ["temperature"] = Temp(38.2) },
            new JsonObject { ["id"] = 0, ["name"] = null, ["in_mode"] = "dual", ["initial_state"] = "stopped", ["invert_directions"] = false,
                ["maxtime_open"] = 60.0, ["maxtime_close"] = 60.0, ["swap_inputs"] = false, ["power_limit"] = 2800 }),
        Input(0, "switch"),
        Input(1, "switch"),
    ]);

    public static readonly SimProfile PlusDimmer = new("dimmer", "Shelly Plus Wall Dimmer", "shellypluswdus", "SNDM-0013US", "PlusWallDimmer", null, false, _ =>
    [
        ("light:0",
            new JsonObject { ["id"] = 0, ["source"] = "init", ["output"] = false, ["brightness"] = 50, ["temperature"] = Temp(31.0) },
            new JsonObject { ["id"] = 0, ["name"] = null, ["initial_state"] = "restore_last", ["auto_on"] = false, ["auto_off"] = false, ["default"] = new JsonObject { ["brightness"] = 50 } }),
    ]);

    public static readonly SimProfile Pro3EM = new("pro3em", "Shelly Pro 3EM", "shellypro3em", "SPEM-003CEBEU", "Pro3EM", "triphase", false, seed =>
    [
        ("em:0", EmStatus(seed, 1.0), new JsonObject { ["id"] = 0, ["name"] = null, ["blink_mode_selector"] = "active_energy", ["phase_selector"] = "all", ["monitor_phase_sequence"] = true, ["ct_type"] = "120A" }),
        ("emdata:0", new JsonObject { ["id"] = 0, ["a_total_act_energy"] = 1200.0 + seed % 100, ["b_total_act_energy"] = 900.0, ["c_total_act_energy"] = 700.0,
            ["total_act"] = 2800.0 + seed % 100, ["a_total_act_ret_energy"] = 0.0, ["b_total_act_ret_energy"] = 0.0, ["c_total_act_ret_energy"] = 0.0, ["total_act_ret"] = 0.0 },
            new JsonObject()),
    ]);

    public static readonly SimProfile PlusI4 = new("i4", "Shelly Plus i4", "shellyplusi4", "SNSN-0024X", "PlusI4", null, false, _ =>
    [
        Input(0, "button"), Input(1, "button"), Input(2, "button"), Input(3, "button"),
    ]);

    public static readonly SimProfile PlusHT = new("ht", "Shelly Plus H&T", "shellyplusht", "SNSN-0013A", "PlusHT", null, true, seed =>
    [
        ("temperature:0", new JsonObject { ["id"] = 0, ["tC"] = 21.0 + seed % 5, ["tF"] = 69.8 }, new JsonObject { ["id"] = 0, ["name"] = null, ["report_thr_C"] = 1.0, ["offset_C"] = 0.0 }),
        ("humidity:0", new JsonObject { ["id"] = 0, ["rh"] = 45.0 + seed % 10 }, new JsonObject { ["id"] = 0, ["name"] = null, ["report_thr"] = 5.0, ["offset"] = 0.0 }),
        ("devicepower:0", new JsonObject { ["id"] = 0, ["battery"] = new JsonObject { ["V"] = 5.9, ["percent"] = 88 }, ["external"] = new JsonObject { ["present"] = false } }, new JsonObject { ["id"] = 0 }),
    ]);

    public static readonly IReadOnlyList<SimProfile> All = [Plus1PM, Plus2PMCover, PlusDimmer, Pro3EM, PlusI4, PlusHT];

    /// <summary>A profile by key, or <c>null</c> for <c>mix</c>.</summary>
    public static SimProfile? Find(string key) =>
        key.Equals("mix", StringComparison.OrdinalIgnoreCase) ? null
        : All.FirstOrDefault(p => p.Key.Equals(key, StringComparison.OrdinalIgnoreCase))
          ?? throw new ArgumentException($"Unknown profile '{key}'. Known: mix, {string.Join(", ", All.Select(p => p.Key))}");

    /// <summary>The profile of device number <paramref name="index"/> in a mixed fleet (mostly plugs, like real installations).</summary>
    public static SimProfile Mix(int index) => (index % 12) switch
    {
        0 or 1 or 2 or 3 or 4 => Plus1PM,
        5 or 6 => Plus2PMCover,
        7 or 8 => PlusDimmer,
        9 => Pro3EM,
        10 => PlusI4,
        _ => PlusHT,
    };

    internal static JsonObject Energy(double total) =>
        new() { ["total"] = total, ["by_minute"] = new JsonArray(0.0, 0.0, 0.0), ["minute_ts"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60 * 60 };

    internal static JsonObject Temp(double c) => new() { ["tC"] = c, ["tF"] = Math.Round(c * 9 / 5 + 32, 1) };

    private static (string, JsonObject, JsonObject) Switch(int id, int seed) =>
        ($"switch:{id}",
            new JsonObject { ["id"] = id, ["source"] = "init", ["output"] = false, ["apower"] = 0.0, ["voltage"] = 230.0, ["freq"] = 50.0, ["current"] = 0.0,
                ["pf"] = 0.0, ["aenergy"] = Energy(100.0 + seed % 1000), ["temperature"] = Temp(35.0) },
            new JsonObject { ["id"] = id, ["name"] = null, ["in_mode"] = "follow", ["initial_state"] = "match_input", ["auto_on"] = false, ["auto_on_delay"] = 60.0,
                ["auto_off"] = false, ["auto_off_delay"] = 60.0, ["power_limit"] = 4480, ["voltage_limit"] = 280, ["current_limit"] = 16.0 });

    private static (string, JsonObject, JsonObject) Input(int id, string type) =>
        ($"input:{id}", new JsonObject { ["id"] = id, ["state"] = type == "button" ? null : false },
            new JsonObject { ["id"] = id, ["name"] = null, ["type"] = type, ["enable"] = true, ["invert"] = false });

    internal static JsonObject EmStatus(int seed, double factor)
    {
        double a = Math.Round((400 + seed % 300) * factor, 1), b = Math.Round((250 + seed % 200) * factor, 1), c = Math.Round((150 + seed % 100) * factor, 1);
        return new JsonObject
        {
            ["id"] = 0, ["a_current"] = Math.Round(a / 230, 3), ["a_voltage"] = 230.1, ["a_act_power"] = a, ["a_pf"] = 0.95,
            ["b_current"] = Math.Round(b / 230, 3), ["b_voltage"] = 229.8, ["b_act_power"] = b, ["b_pf"] = 0.93,
            ["c_current"] = Math.Round(c / 230, 3), ["c_voltage"] = 231.0, ["c_act_power"] = c, ["c_pf"] = 0.91,
            ["total_current"] = Math.Round((a + b + c) / 230, 3), ["total_act_power"] = Math.Round(a + b + c, 1), ["total_aprt_power"] = Math.Round((a + b + c) * 1.05, 1),
        };
    }
}
