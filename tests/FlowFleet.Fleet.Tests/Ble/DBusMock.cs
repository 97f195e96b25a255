using System.Diagnostics;
using Tmds.DBus.Protocol;

namespace FlowFleet.Fleet.Tests.Ble;

/// <summary>A private <c>dbus-daemon</c> on a socket in a temp directory (never the system bus); killed on dispose.</summary>
public sealed class DBusDaemon : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dir;

    private DBusDaemon(Process process, string dir, string address)
    {
        _process = process;
        _dir = dir;
        Address = address;
    }

    public string Address { get; }

    public static async Task<DBusDaemon> StartAsync()
    {
        var dir = Directory.CreateTempSubdirectory("flowfleet-dbus-").FullName;
        var socket = Path.Combine(dir, "bus");
        var config = Path.Combine(dir, "bus.conf");
        await File.WriteAllTextAsync(config, $"""
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>session</type>
              <listen>unix:path={socket}</listen>
              <auth>EXTERNAL</auth>
              <policy context="default">
                <allow send_destination="*" eavesdrop="true"/>
                <allow eavesdrop="true"/>
                <allow own="*"/>
              </policy>
            </busconfig>
            """);
        var daemon = File.Exists("/usr/bin/dbus-daemon") ? "/usr/bin/dbus-daemon" : "dbus-daemon";
        var process = Process.Start(new ProcessStartInfo(daemon, ["--config-file=" + config, "--nofork", "--nopidfile"]) { RedirectStandardError = true, RedirectStandardOutput = true })
            ?? throw new InvalidOperationException("dbus-daemon did not start (./test.sh installs the dbus package)");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!File.Exists(socket))
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException("dbus-daemon did not open its socket: " + await process.StandardError.ReadToEndAsync());
            }
            await Task.Delay(20);
        }
        return new DBusDaemon(process, dir, "unix:path=" + socket);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}

/// <summary>
/// BlueZ as Debian's <c>python3-dbusmock</c> <c>bluez5</c> template emulates it, on a private bus, extended with
/// <c>shelly_bluez.py</c> (Shelly's GATT RPC service) and one adapter <c>hci0</c>.
/// </summary>
public sealed class DBusMockBlueZ : IAsyncDisposable
{
    private readonly DBusDaemon _bus;
    private readonly Process _mock;
    private readonly DBusConnection _control;

    private DBusMockBlueZ(DBusDaemon bus, Process mock, DBusConnection control)
    {
        _bus = bus;
        _mock = mock;
        _control = control;
    }

    public string Address => _bus.Address;

    public static async Task<DBusMockBlueZ> StartAsync()
    {
        var bus = await DBusDaemon.StartAsync();
        var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        var start = new ProcessStartInfo(python, ["-m", "dbusmock", "--system", "--template", "bluez5"]) { RedirectStandardError = true, RedirectStandardOutput = true };
        start.Environment["DBUS_SYSTEM_BUS_ADDRESS"] = bus.Address;
        var mock = Process.Start(start) ?? throw new InvalidOperationException("python3 -m dbusmock did not start");
        var control = new DBusConnection(bus.Address);
        await control.ConnectAsync();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!(await control.ListServicesAsync()).Contains("org.bluez"))
        {
            if (mock.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException("dbusmock's bluez5 template did not start (./test.sh installs python3-dbusmock): " + await mock.StandardError.ReadToEndAsync());
            }
            await Task.Delay(50);
        }
        var self = new DBusMockBlueZ(bus, mock, control);
        var template = Path.Combine(AppContext.BaseDirectory, "Ble", "shelly_bluez.py");
        await self.CallAsync("/", "org.freedesktop.DBus.Mock", "AddTemplate", "sa{sv}", (ref MessageWriter w) =>
        {
            w.WriteString(template);
            w.WriteDictionary(new Dictionary<string, VariantValue>());
        });
        await self.CallAsync("/", "org.bluez.Mock", "AddAdapter", "ss", (ref MessageWriter w) =>
        {
            w.WriteString("hci0");
            w.WriteString("flowfleet-test");
        });
        return self;
    }

    /// <summary>A Shelly comes in range: named <c>ShellyPlus1PM-MAC</c>, advertising <paramref name="rssi"/>.</summary>
    public Task<string> AddShellyAsync(string address, string mac, int rssi) =>
        CallAsync("/", "org.bluez.Mock", "AddShelly", "sssn", (ref MessageWriter w) =>
        {
            w.WriteString("hci0");
            w.WriteString(address);
            w.WriteString("ShellyPlus1PM-" + mac);
            w.WriteInt16((short)rssi);
        }, static (m, _) => m.GetBodyReader().ReadObjectPathAsString());

    public Task<string[]> CallsAsync(string devicePath) =>
        CallAsync("/", "org.bluez.Mock", "ShellyCalls", "s", (ref MessageWriter w) => w.WriteString(devicePath), static (m, _) => m.GetBodyReader().ReadArrayOfString());

    public Task<bool> DiscoveringAsync() =>
        CallAsync("/org/bluez/hci0", "org.freedesktop.DBus.Properties", "Get", "ss", (ref MessageWriter w) =>
        {
            w.WriteString("org.bluez.Adapter1");
            w.WriteString("Discovering");
        }, static (m, _) => m.GetBodyReader().ReadVariantValue().GetBool());

    private delegate void Body(ref MessageWriter w);

    private Task<bool> CallAsync(string path, string iface, string member, string signature, Body body) =>
        CallAsync(path, iface, member, signature, body, static (_, _) => true);

    private async Task<T> CallAsync<T>(string path, string iface, string member, string signature, Body body, MessageValueReader<T> reader)
    {
        MessageBuffer message;
        var w = _control.GetMessageWriter();
        try
        {
            w.WriteMethodCallHeader("org.bluez", path, iface, member, signature, MessageFlags.None);
            body(ref w);
            message = w.CreateMessage();
        }
        finally
        {
            w.Dispose();
        }
        return await _control.CallMethodAsync(message, reader, null);
    }

    public async ValueTask DisposeAsync()
    {
        _control.Dispose();
        if (!_mock.HasExited)
        {
            _mock.Kill(entireProcessTree: true);
            await _mock.WaitForExitAsync();
        }
        _mock.Dispose();
        await _bus.DisposeAsync();
    }
}
