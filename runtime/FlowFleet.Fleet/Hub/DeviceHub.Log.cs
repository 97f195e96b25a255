using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlowFleet.Fleet.Protocol;
using FlowFleet.Fleet.Registry;
using Microsoft.Extensions.Logging;

namespace FlowFleet.Fleet.Hub;

/// <summary>The hub's log messages (source-generated).</summary>
public sealed partial class DeviceHub
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Device connection from {Remote} rejected: first frame src={Src} method={Method}")]
    private partial void LogBadFirstFrame(string? remote, string? src, string? method);

    [LoggerMessage(Level = LogLevel.Information, Message = "Device {Id} reconnected: the previous connection is closed")]
    private partial void LogReplaced(string id);

    [LoggerMessage(Level = LogLevel.Information, Message = "Device {Id} from {Remote} is waiting for admission")]
    private partial void LogPending(string id, string? remote);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Device {Id}: {Error}")]
    private partial void LogIdentityFailed(string id, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Denied device {Id} told to stop connecting")]
    private partial void LogDenied(string id);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Device {Id}: {Dropped} status component(s) over the status limits (Fleet:MaxStatus*) were not stored")]
    private partial void LogStatusOverLimits(string id, int dropped);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Device {Id} sent more than {Limit} frames/min; disconnected")]
    private partial void LogRateLimited(string id, int limit);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Device connection closed ({What}): {Reason}")]
    private partial void LogRejected(string what, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Refused} device connection(s) refused since the last report: at the connection budget of {Budget} devices ({Connected} connected), set by the process's open-file limit (README, Performance); refused devices retry with their backoff and get in as others leave")]
    private partial void LogRefusedAtBudget(long refused, long budget, long connected);

    [LoggerMessage(Level = LogLevel.Error, Message = "A direct device connection failed")]
    internal partial void LogConnectionFailed(Exception ex);

    [LoggerMessage(Level = LogLevel.Error, Message = "A device event subscriber failed on {Kind} of {Id}")]
    private partial void LogSubscriberFailed(Exception ex, DeviceEventKind kind, string id);

    [LoggerMessage(Level = LogLevel.Information, Message = "Device {Id} connected to instance {Owner}: its stale session here is closed")]
    private partial void LogMoved(string id, string owner);
}
