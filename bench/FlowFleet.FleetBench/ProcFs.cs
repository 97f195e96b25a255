using System.Globalization;

/// <summary>What <c>/proc</c> says about a process and the machine (0 when the process is unknown).</summary>
internal static class ProcFs
{
    /// <summary>User + system CPU seconds the process has used.</summary>
    public static double CpuSeconds(int pid) => pid > 0 && File.Exists($"/proc/{pid}/stat")
        ? File.ReadAllText($"/proc/{pid}/stat").Split(' ') is var f ? (double.Parse(f[13], CultureInfo.InvariantCulture) + double.Parse(f[14], CultureInfo.InvariantCulture)) / 100.0 : 0
        : 0;

    /// <summary>Resident set size in bytes.</summary>
    public static long RssBytes(int pid) => StatusBytes(pid, "VmRSS:");

    /// <summary>
    /// The anonymous part of the resident set in bytes (GC heap, native heap, stacks): RSS without mapped files, which grow
    /// with the code a process has come to use, not with its devices.
    /// </summary>
    public static long RssAnonBytes(int pid) => StatusBytes(pid, "RssAnon:");

    private static long StatusBytes(int pid, string field) => pid > 0 && File.Exists($"/proc/{pid}/status")
        ? long.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(field, StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024
        : 0;

    /// <summary>Idle and total jiffies of all CPUs since boot.</summary>
    public static (long Idle, long Total) MachineTimes()
    {
        var f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(x => long.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        return (f[3] + f[4], f.Sum());
    }
}
