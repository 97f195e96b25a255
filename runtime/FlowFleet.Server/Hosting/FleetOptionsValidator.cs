using FlowFleet.Fleet;
using Microsoft.Extensions.Options;

namespace FlowFleet.Server.Hosting;

/// <summary>Checks the <c>Fleet</c> settings when the server starts, with the setting's name and the value it got.</summary>
internal sealed class FleetOptionsValidator : IValidateOptions<FleetOptions>
{
    public ValidateOptionsResult Validate(string? name, FleetOptions options)
    {
        var errors = new List<string>();
        if (options.Admission.ToLowerInvariant() is not ("manual" or "auto"))
        {
            errors.Add($"Fleet:Admission must be manual or auto, got '{options.Admission}'");
        }
        foreach (var (key, value) in new (string, TimeSpan)[]
                 {
                     ("RpcTimeout", options.RpcTimeout), ("FirstFrameTimeout", options.FirstFrameTimeout), ("HeadTimeout", options.HeadTimeout),
                     ("PingInterval", options.PingInterval), ("TelemetryInterval", options.TelemetryInterval),
                 })
        {
            if (value <= TimeSpan.Zero)
            {
                errors.Add($"Fleet:{key} must be a positive time span (e.g. 00:00:30), got {value}");
            }
        }
        foreach (var (key, value) in new (string, long)[]
                 {
                     ("MaxConcurrentRpc", options.MaxConcurrentRpc), ("MaxFrameBytes", options.MaxFrameBytes),
                     ("MaxFirstFrameBytes", options.MaxFirstFrameBytes), ("MaxPendingDevices", options.MaxPendingDevices),
                 })
        {
            if (value < 1)
            {
                errors.Add($"Fleet:{key} must be at least 1, got {value}");
            }
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
