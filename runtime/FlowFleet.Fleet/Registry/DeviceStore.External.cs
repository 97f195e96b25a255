using System.Text.Json.Nodes;

namespace FlowFleet.Fleet.Registry;

public sealed partial class DeviceStore
{
    /// <summary>
    /// Creates or updates a device that is not a Shelly on the hub's transports — one a flow speaks to (a vendor websocket,
    /// a gateway): <c>name, model, app, fw, ip, transport, online</c> and <c>status</c> (deep-merged, within the status
    /// limits). A new one is admitted at once: the flow that knows it vouches for it.
    /// </summary>
    public DeviceState UpsertExternal(string id, JsonObject fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        if (string.IsNullOrWhiteSpace(id) || id.Length > 128 || id.Any(char.IsControl))
        {
            throw new ArgumentException("A device id of 1 to 128 printable characters is required", nameof(id));
        }
        var d = Touch(id, out var created);
        lock (d.Gate)
        {
            if (created)
            {
                d.Admission = AdmissionStates.Accepted;
            }
            Rename(d, JsonRead.Text(fields["name"]));
            d.Model = JsonRead.Text(fields["model"]) ?? d.Model;
            d.App = JsonRead.Text(fields["app"]) ?? d.App ?? d.Model;
            d.FirmwareVersion = JsonRead.Text(fields["fw"]) ?? d.FirmwareVersion;
            d.Ip = JsonRead.Text(fields["ip"]) ?? d.Ip;
            d.Transport = JsonRead.Text(fields["transport"]) ?? d.Transport ?? "flow";
            d.Online = JsonRead.Bool(fields["online"]) ?? true;
            d.LastSeen = DateTime.UtcNow;
            if (fields["status"] is JsonObject status)
            {
                d.MergeStatus(status, _limits ??= _options.StatusLimits);
            }
            d.Dirty = true;
        }
        _changed?.Invoke(id, created ? "added" : "updated");
        return d;
    }
}
