using System.Globalization;

namespace FlowFleet.Server.Hosting;

/// <summary>How many connections the process may hold: its open-file limit less a reserve for its own files.</summary>
public static class ConnectionBudget
{
    /// <summary>Descriptors kept free for plain HTTP requests in flight, the database, logs and the runtime (the JIT maps code through one).</summary>
    public const int Reserve = 1024;

    /// <summary>The connection limit from the soft <c>Max open files</c> of this process; null when unlimited or unknown.</summary>
    public static long? FromFileLimit() => Parse(File.Exists("/proc/self/limits") ? File.ReadAllText("/proc/self/limits") : null);

    /// <summary>Reads the soft limit from a <c>/proc/PID/limits</c> text.</summary>
    public static long? Parse(string? limits)
    {
        var line = limits?.Split('\n').FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        var fields = line?["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields is not { Length: > 0 } || !long.TryParse(fields[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var soft))
        {
            return null;
        }
        return Math.Max(64, soft - Reserve);
    }
}
