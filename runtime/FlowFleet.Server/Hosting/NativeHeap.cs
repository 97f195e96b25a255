using System.Runtime.InteropServices;

namespace FlowFleet.Server.Hosting;

/// <summary>
/// The C library's heap, which the GC does not manage: SQLite, compression and the runtime itself allocate there. glibc
/// keeps what a connect storm freed in its per-thread arenas (~30 MiB at 5,500 devices, measured) until asked to give it
/// back with <c>malloc_trim</c>.
/// </summary>
public static partial class NativeHeap
{
    private static bool _unavailable = !OperatingSystem.IsLinux();

    /// <summary>Returns free native heap memory to the system; false where the C library has no <c>malloc_trim</c> (musl, not Linux).</summary>
    public static bool Trim()
    {
        if (_unavailable)
        {
            return false;
        }
        try
        {
            MallocTrim(0);
            return true;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            _unavailable = true;
            return false;
        }
    }

    // glibc's mallopt parameter for MALLOC_ARENA_MAX.
    private const int ArenaMax = -8;

    /// <summary>
    /// Caps glibc's heap arenas at <paramref name="arenas"/> unless <c>MALLOC_ARENA_MAX</c> says otherwise (its value then
    /// wins). glibc gives every thread that allocates an arena of its own (up to 8 per core) and keeps freed memory in
    /// each: at 5,500 devices that was ~30 MiB (11.5 instead of 14.5 KiB per device, measured). Called first thing in
    /// <c>Main</c>, so the thread pool's threads share the arenas there are instead of making more; but the runtime's own
    /// threads have made ~6 by then (measured: 6 arenas holding 20–25 MiB at 19,000 devices, against one with ~12 MiB when
    /// the variable is set before the process starts, as the Docker image does). False where the C library has no
    /// <c>mallopt</c>.
    /// </summary>
    public static bool LimitArenas(int arenas = 2)
    {
        if (_unavailable || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX")))
        {
            return false;
        }
        try
        {
            return MallOpt(ArenaMax, arenas) == 1;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            _unavailable = true;
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int MallOpt(int parameter, int value);

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
