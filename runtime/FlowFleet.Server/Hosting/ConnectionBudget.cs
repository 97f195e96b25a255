using System.Globalization;

namespace FlowFleet.Server.Hosting;

/// <summary>
/// How many connections the process may hold: every socket is a file descriptor, and a process at its open-file limit
/// cannot even map code for the JIT (it dies with "Out of memory."). The process's own files (~300: assemblies, database,
/// logs) get <see cref="ProcessFiles"/>; plain HTTP connections (requests, handshakes in flight) a tenth of the limit
/// (64 to 2,048, of which they may use three quarters); websockets (devices, the UI) the rest.
/// </summary>
public sealed record ConnectionBudget(long Upgraded, long Plain)
{
    public const int ProcessFiles = 400;

    /// <summary>A tenth of the limit, between 64 and 2,048 descriptors.</summary>
    public static long ReserveFor(long softLimit) => Math.Clamp(softLimit / 10, 64, 2048);

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
        var reserve = ReserveFor(soft);
        return new ConnectionBudget(Math.Max(16, soft - ProcessFiles - reserve), Math.Max(16, reserve * 3 / 4));
    }
}
