using System.Globalization;

namespace FlowFleet.Server.Hosting;

/// <summary>
/// How many connections the process may hold: every socket is a file descriptor, and a process at its open-file limit
/// cannot even map code for the JIT (it dies with "Out of memory."). Out of the soft limit come the process's own files
/// (<see cref="ProcessFiles"/>: assemblies, databases, logs; ~345 measured), a margin for sockets accepted in a burst before
/// they are turned away, a share for plain HTTP (API, editor, handshakes in flight) and one for websockets that go through
/// Kestrel's HTTP layer (the editor's circuits, <c>/client</c>, <c>/red/comms</c>); devices get the rest.
/// </summary>
/// <param name="Devices">Device websockets on <c>/shelly</c>.</param>
/// <param name="Plain">Plain HTTP connections beyond the devices' (Kestrel counts device connections as plain).</param>
/// <param name="Upgraded">Websockets upgraded through Kestrel's HTTP layer.</param>
public sealed record ConnectionBudget(long Devices, long Plain, long Upgraded)
{
    public const int ProcessFiles = 400;

    /// <summary>Sockets accepted in a burst beyond the devices' share, before they are sorted or turned away.</summary>
    public int Burst { get; init; } = 16;

    /// <summary>The budget for this process's soft <c>Max open files</c>; null when unlimited or unknown.</summary>
    public static ConnectionBudget? FromFileLimit() => Parse(File.Exists("/proc/self/limits") ? File.ReadAllText("/proc/self/limits") : null);

    /// <summary>The budget for a <c>/proc/PID/limits</c> text.</summary>
    public static ConnectionBudget? Parse(string? limits)
    {
        var line = limits?.Split('\n').FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        var fields = line?["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields is not { Length: > 0 } || !long.TryParse(fields[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var soft))
        {
            return null;
        }
        var margin = Math.Clamp(soft / 64, 16, 300);
        // Plain HTTP and Kestrel-upgraded websockets get at least 64 each (issue 13: 16 at a 1,024-file limit let 20 idle
        // connections lock the operator out).
        var share = Math.Clamp(soft / 100, 64, 256);
        return new ConnectionBudget(Math.Max(16, soft - ProcessFiles - margin - 2 * share), share, share) { Burst = (int)margin };
    }
}
