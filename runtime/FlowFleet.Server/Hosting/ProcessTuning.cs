using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace FlowFleet.Server.Hosting;

/// <summary>
/// Settings the runtime and the C library read only from the environment, at process start: the server restarts itself
/// in place (<c>execve</c>, same process id, same arguments) with them added when they are missing, so that
/// <c>dotnet flowfleet.dll</c>, <c>dotnet run</c> and the container all run the same way. Values already set win;
/// <c>FLOWFLEET_NO_TUNING=1</c> turns it off.
/// </summary>
public static partial class ProcessTuning
{
    private const string Marker = "FLOWFLEET_TUNED";

    /// <summary>
    /// <c>MALLOC_ARENA_MAX=2</c>: glibc gives every thread that allocates its own heap arena (up to 8 per core) and keeps
    /// freed memory in each; at 5,500 devices that was ~30 MiB of the process (11.5 instead of 14.5 KiB per device, measured).
    /// <c>DOTNET_GCgen0size</c>: the GC sizes its youngest generation from the L3 cache, which this kind of VM reports as
    /// 300 MiB (gen 0 ~150 MiB); 16 MiB (see bench/README.md).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> Settings = new Dictionary<string, string>
    {
        ["MALLOC_ARENA_MAX"] = "2",
        ["DOTNET_GCgen0size"] = "0x1000000",
    };

    /// <summary>The variables to add to <paramref name="environment"/>; empty when nothing is missing or tuning is off.</summary>
    public static IReadOnlyDictionary<string, string> Missing(IReadOnlyDictionary<string, string?> environment)
    {
        if (environment.ContainsKey(Marker) || environment.GetValueOrDefault("FLOWFLEET_NO_TUNING") == "1")
        {
            return new Dictionary<string, string>();
        }
        return Settings.Where(s => string.IsNullOrEmpty(environment.GetValueOrDefault(s.Key))).ToDictionary();
    }

    /// <summary>Restarts the process with the missing settings (Linux, no debugger); returns only if it did not.</summary>
    public static void Apply()
    {
        if (!OperatingSystem.IsLinux() || Debugger.IsAttached)
        {
            return;
        }
        var current = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value, StringComparer.Ordinal);
        var missing = Missing(current);
        if (missing.Count == 0)
        {
            return;
        }
        string[] argv;
        try
        {
            argv = Arguments(File.ReadAllText("/proc/self/cmdline"));
        }
        catch (IOException)
        {
            return;
        }
        var env = current.Where(e => e.Value is not null).Select(e => $"{e.Key}={e.Value}")
            .Concat(missing.Select(m => $"{m.Key}={m.Value}")).Append($"{Marker}=1");
        var args = Utf8Array(argv);
        var envp = Utf8Array(env);
        var path = Marshal.StringToCoTaskMemUTF8("/proc/self/exe");
        try
        {
            Execve(path, args, envp);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
        }
        // Only reached when execve failed: go on untuned.
        Marshal.FreeCoTaskMem(path);
        foreach (var p in args.Concat(envp))
        {
            Marshal.FreeCoTaskMem(p);
        }
    }

    /// <summary>The arguments in a <c>/proc/PID/cmdline</c> text: a NUL after each one (an empty argument is kept).</summary>
    public static string[] Arguments(string cmdline) => (cmdline.EndsWith('\0') ? cmdline[..^1] : cmdline).Split('\0');

    private static nint[] Utf8Array(IEnumerable<string> items) => [.. items.Select(s => Marshal.StringToCoTaskMemUTF8(s)), 0];

    [LibraryImport("libc", EntryPoint = "execve", SetLastError = true)]
    private static partial int Execve(nint path, [In] nint[] argv, [In] nint[] envp);
}
