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

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
