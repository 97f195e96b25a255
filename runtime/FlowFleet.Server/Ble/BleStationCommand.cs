using System.CommandLine;
using FlowFleet.DeviceSim.Ble;
using FlowFleet.Fleet.Ble;
using FlowFleet.Fleet.Ble.BlueZ;
using FlowFleet.Fleet.Ble.Station;

namespace FlowFleet.Server.Ble;

/// <summary><c>flowfleet ble-station</c>: runs near the devices (a Raspberry Pi) and lends its Bluetooth adapter to a fleet server.</summary>
public static class BleStationCommand
{
    public static Command Create(TextWriter output)
    {
        var server = new Option<string>("--server") { Description = "The fleet server's BLE endpoint, e.g. ws://fleet:7011/ble", Required = true };
        var token = new Option<string?>("--token") { Description = "Station token (or FLOWFLEET_STATION_TOKEN)" };
        var name = new Option<string?>("--name") { Description = "Station name shown by the server (default: host name)" };
        var adapter = new Option<string>("--adapter") { Description = "Local BlueZ adapter", DefaultValueFactory = _ => "hci0" };
        var bus = new Option<string?>("--bus") { Description = "D-Bus address (default: the system bus)" };
        var simulate = new Option<int>("--simulate") { Description = "Use N simulated unprovisioned Shellies instead of Bluetooth (try-out without hardware)" };
        var command = new Command("ble-station", "Run a BLE station: serve scan/RPC/provision requests of a fleet server with the local Bluetooth adapter")
        {
            server, token, name, adapter, bus, simulate,
        };
        command.SetAction(async (pr, ct) =>
        {
            var secret = pr.GetValue(token) ?? Environment.GetEnvironmentVariable("FLOWFLEET_STATION_TOKEN");
            if (string.IsNullOrWhiteSpace(secret) || !Uri.TryCreate(pr.GetValue(server), UriKind.Absolute, out var uri) || uri.Scheme is not ("ws" or "wss"))
            {
                await output.WriteLineAsync("ble-station needs --server ws://host:port/ble and --token (or FLOWFLEET_STATION_TOKEN)");
                return 2;
            }
            using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true));
            IBleAdapter local;
            if (pr.GetValue(simulate) is > 0 and var n)
            {
                var sim = new SimBleAdapter("sim");
                sim.AddUnprovisioned(Math.Min(n, 200), "5A7000");
                local = sim;
            }
            else
            {
                var bluez = new BlueZAdapter(pr.GetValue(adapter)!, pr.GetValue(bus), loggers.CreateLogger<BlueZAdapter>());
                await bluez.InitializeAsync(ct);
                // Without BlueZ the station still connects: the server shows why it cannot scan.
                await output.WriteLineAsync($"adapter {bluez.Name}: {bluez.Status}");
                local = bluez;
            }
            await using (local)
            {
                var client = new BleStationClient(uri, secret, pr.GetValue(name) ?? Environment.MachineName, local, loggers.CreateLogger<BleStationClient>());
                await client.RunAsync(ct);
            }
            return 0;
        });
        return command;
    }
}
